import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { compileArtifacts } from '@ortrain/artifacts';
import { inferShapes, isFloat, loadModel } from '@ortrain/graph';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES } from './helpers/reference.js';
import { webgpuSkipWhy } from './helpers/webgpu.js';

/**
 * Which nodes of the compiled graphs ONNX Runtime assigns to the CPU on WebGPU (on SwiftShader without a GPU).
 * A node without a WebGPU kernel falls back silently; with verbose logging the session lists every node's
 * provider under "Node placements" on stderr, so a child process opens each graph and this test reads it.
 */
if (webgpuSkipWhy) console.warn(`SKIPPED the WebGPU placement test: ${webgpuSkipWhy}`);

const tmp = mkdtempSync(join(tmpdir(), 'ortrain-placement-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const OPEN_VERBOSE = `
import * as ort from 'onnxruntime-node';
const s = await ort.InferenceSession.create(process.argv[1], { executionProviders: ['webgpu'], logSeverityLevel: 0 });
await s.release();`;

/** [op type, node name] of every node the WebGPU session of `file` places on the CPU. */
async function cpuNodes(file: string): Promise<[string, string][]> {
  const { stderr } = await promisify(execFile)(
    process.execPath,
    ['--input-type=module', '-e', OPEN_VERBOSE, file],
    { maxBuffer: 256 << 20 },
  );
  const lines = stderr.split('\n').filter((l) => l.includes('VerifyEachNodeIsAssignedToAnEp'));
  const header = lines.findIndex((l) => l.includes('placed on [CPUExecutionProvider]'));
  if (!lines.some((l) => l.includes('placed on [WebGpuExecutionProvider]')))
    throw new Error(`no WebGPU placement logged for ${file}:\n${stderr.slice(-2000)}`);
  if (header < 0) return [];
  const nodes: [string, string][] = [];
  for (const l of lines.slice(header + 1)) {
    const m = /\]\s{3}(\S+) \((.*)\)$/.exec(l);
    if (!m) break;
    nodes.push([m[1]!, m[2]!]);
  }
  return nodes;
}

describe.skipIf(webgpuSkipWhy !== undefined)('graphs on WebGPU: what ONNX Runtime leaves on the CPU', () => {
  it('train, gradient and eval compute no float tensor on the CPU (dropout 0)', async () => {
    const { dir } = compileArtifacts(join(FIXTURES, 'bert_cls_opset14.onnx'), {
      name: 'placement',
      outDir: tmp,
      dropout: { hidden: 0, attention: 0, classifier: 0 },
    });
    for (const graph of ['train', 'gradient', 'eval']) {
      const file = join(dir, `${graph}.onnx`);
      const g = loadModel(file).graph;
      const { types } = inferShapes(g);
      const byName = new Map(g.nodes.map((n) => [n.name, n]));
      const onCpu = await cpuNodes(file);
      // What remains is index and shape arithmetic: NonZero (no WebGPU kernel: its output size depends on the
      // data), int64 ops (the WebGPU EP has none) and the shape ops ORT keeps on the CPU on purpose. Float
      // results only as scalars (counts from shapes) and the attention mask's float copy, read from the host.
      const floatOnCpu = onCpu.filter(([, name]) => {
        const node = byName.get(name);
        if (!node) throw new Error(`${graph}: CPU node '${name}' is not in the compiled graph`);
        if (name === '/bert/Cast') return false;
        return node.outputs.some((o) => {
          const t = types.get(o);
          return t === undefined || (isFloat(t.dataType) && t.shape?.length !== 0);
        });
      });
      expect([graph, floatOnCpu]).toEqual([graph, []]);
      // That exception is the mask's cast: attention_mask -> Unsqueeze -> Unsqueeze -> Cast.
      let v = byName.get('/bert/Cast')!.inputs[0]!;
      while (v !== 'attention_mask') {
        const p = g.nodes.find((n) => n.outputs.includes(v));
        expect(p?.opType).toBe('Unsqueeze');
        v = p!.inputs[0]!;
      }
      // The loss's one-hot and log-softmax run on the GPU; only the host labels' int32 cast stays.
      expect([graph, onCpu.filter(([, name]) => name.startsWith('/loss/'))]).toEqual([
        graph,
        [['Cast', '/loss/labels_int32']],
      ]);
    }
  }, 300_000);
});
