import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '@ortrain/graph';
import { describe, expect, it } from 'vitest';
import { compileArtifacts } from '../src/compile.js';
import { readSafetensors } from '../src/safetensors.js';
import { f32, i64, maxAbsDiff, maxRelDiff, scalar, session } from './helpers.js';
import type { Batch } from './runner.js';

const fixtures = join(import.meta.dirname, 'fixtures');
const ref = JSON.parse(readFileSync(join(fixtures, 'reference.json'), 'utf8')) as {
  train_batches: (Batch & { labels: number[] })[];
};

/** Row 1 of a batch moved to the right end of its row, so that its padding comes first. */
function leftPadRow(batch: Batch & { labels: number[] }, row: number): Batch & { labels: number[] } {
  const [, seq] = batch.shape as [number, number];
  const out = structuredClone(batch);
  const real = batch.attention_mask.slice(row * seq, (row + 1) * seq).filter((m) => m === 1).length;
  for (const key of ['input_ids', 'attention_mask', 'token_type_ids'] as const) {
    const r = batch[key].slice(row * seq, row * seq + real);
    out[key].splice(row * seq, seq, ...Array(seq - real).fill(0), ...r);
  }
  return out;
}

const batches = [ref.train_batches[0]!, ref.train_batches[1]!, leftPadRow(ref.train_batches[0]!, 1)];

function compile(source: string, packing: boolean) {
  return compileArtifacts(join(fixtures, source), {
    name: packing ? 'packed' : 'padded',
    outDir: mkdtempSync(join(tmpdir(), 'ortrain-packing-')),
    dropout: { hidden: 0, attention: 0, classifier: 0 },
    packing,
  });
}

/** Runs one of the artifacts' graphs on a batch, parameters from the weights file, accumulators at zero. */
async function run(dir: string, graph: 'eval' | 'gradient', batch: Batch & { labels: number[] }) {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  const weights = readSafetensors(join(dir, manifest.weights));
  const io = manifest.graphs[graph];
  const s = await session(join(dir, io.file));
  const feeds: Record<string, ReturnType<typeof f32> | ReturnType<typeof i64>> = {
    labels: i64(batch.labels, [batch.labels.length]),
    grad_scale: scalar(1),
  };
  for (const name of manifest.inputs) feeds[name] = i64(batch[name as keyof Batch] as number[], batch.shape);
  for (const p of manifest.parameters) {
    const w = weights.get(p.name)!;
    feeds[p.name] = f32(w.data as Float32Array, p.shape);
    feeds[`${p.name}.grad`] = f32(new Float32Array(w.data.length), p.shape);
  }
  const out = await s.run(Object.fromEntries(io.inputs.map((n: string) => [n, feeds[n]!])));
  await s.release();
  return out;
}

describe('token packing', () => {
  it.each(['hf_checkpoint', 'bert_fe_opset17_unfolded.onnx', 'bert_cls_opset14.onnx'])(
    'gives the padded graphs’ logits, loss and gradients (right- and left-padded rows): %s',
    async (source) => {
      const packed = compile(source, true);
      const padded = compile(source, false);
      // Every row-wise node of both layers is packed, the last layer's after attention on [CLS] alone.
      expect(packed.report.packing.packed).toBeGreaterThan(30);
      expect(packed.report.packing.firstTokenOnly).toBeGreaterThan(10);
      expect(padded.report.packing.packed).toBe(0);
      const ops = loadModel(join(packed.dir, 'train.onnx')).graph.nodes.map((n) => n.opType);
      expect(ops).toContain('GatherND');
      expect(ops).toContain('ScatterND');

      for (const batch of batches) {
        const a = await run(packed.dir, 'eval', batch);
        const b = await run(padded.dir, 'eval', batch);
        expect(maxAbsDiff(a['logits']!.data as Float32Array, b['logits']!.data as Float32Array)).toBeLessThan(
          1e-5,
        );
        expect(maxRelDiff(a['loss']!.data as Float32Array, b['loss']!.data as Float32Array)).toBeLessThan(
          1e-5,
        );

        const ga = await run(packed.dir, 'gradient', batch);
        const gb = await run(padded.dir, 'gradient', batch);
        for (const p of packed.manifest.parameters) {
          const x = ga[`${p.name}.grad.new`]!.data as Float32Array;
          const y = gb[`${p.name}.grad.new`]!.data as Float32Array;
          // Relative to the tensor's largest gradient: summation order differs, values do not.
          const scale = Math.max(...Array.from(y, Math.abs), 1e-8);
          expect(maxAbsDiff(x, y) / scale, p.name).toBeLessThan(1e-4);
        }
      }
    },
  );
});
