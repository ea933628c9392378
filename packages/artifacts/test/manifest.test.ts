import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '@ortrain/graph';
import { afterAll, describe, expect, it } from 'vitest';
import { compileArtifacts } from '../src/compile.js';
import { openCompiled, readManifest } from '../src/compiled.js';

const fixtures = join(import.meta.dirname, 'fixtures');
const tmp = mkdtempSync(join(tmpdir(), 'ortrain-manifest-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const source = join(fixtures, 'bert_fe_opset14_folded.onnx');

describe('manifest state section', () => {
  const { dir, manifest: m } = compileArtifacts(source, {
    name: 'state',
    outDir: tmp,
    freeze: ['bert.embeddings.'],
    multiStep: true,
  });
  const byName = new Map(m.state.map((e) => [e.name, e]));

  it('lists parameters, moments and accumulators with shape, type, role and the graphs that use them', () => {
    const trainable = m.parameters.filter((p) => p.trainable).map((p) => p.name);
    expect(m.state.map((e) => e.name)).toEqual([
      ...m.parameters.map((p) => p.name),
      ...trainable.flatMap((p) => [`${p}.exp_avg`, `${p}.exp_avg_sq`]),
      ...trainable.map((p) => `${p}.grad`),
    ]);
    const all = ['train', 'gradient', 'optimizer', 'eval', 'predict', 'multistep'];
    for (const p of m.parameters) {
      const e = byName.get(p.name)!;
      expect(e).toMatchObject({
        role: 'parameter',
        dataType: 'float32',
        shape: p.shape,
        update: `${p.name}.new`,
      });
      expect(e.readBy).toEqual(p.trainable ? all : all.filter((g) => g !== 'optimizer'));
      expect(e.writtenBy).toEqual(p.trainable ? ['train', 'optimizer', 'multistep'] : []);
    }
    for (const p of trainable) {
      const w = byName.get(p)!.shape;
      for (const s of ['exp_avg', 'exp_avg_sq']) {
        expect(byName.get(`${p}.${s}`)).toMatchObject({
          role: 'moment',
          shape: w,
          readBy: ['train', 'optimizer', 'multistep'],
          writtenBy: ['train', 'optimizer', 'multistep'],
        });
      }
      expect(byName.get(`${p}.grad`)).toMatchObject({
        role: 'gradient',
        shape: w,
        readBy: ['gradient', 'optimizer'],
        writtenBy: ['gradient'],
      });
    }
  });

  it('describes every graph input and output that is not a batch input, label, scalar or result', () => {
    const fed = new Set([...m.inputs, 'labels', 'learning_rate', 'step', 'grad_scale', 'dropout_seed']);
    const results = new Set(['loss', 'grad_norm', 'logits']);
    for (const [kind, io] of Object.entries(m.graphs)) {
      const onDisk = loadModel(join(dir, io.file)).graph;
      for (const v of onDisk.inputs) {
        if (fed.has(v.name)) continue;
        const e = byName.get(v.name);
        expect(e?.readBy, `${kind} input ${v.name}`).toContain(kind);
        expect(v.type).toEqual({ dataType: e!.dataType, shape: e!.shape });
      }
      const updates = m.state.filter((e) => e.writtenBy.includes(kind as never)).map((e) => e.update);
      const written = onDisk.outputs.map((v) => v.name).filter((o) => !results.has(o));
      expect(written.sort()).toEqual(updates.sort());
    }
  });
});

describe('the multi-step graph', () => {
  it('is compiled on request: an ONNX Loop with the train graph names, listed like the other graphs', () => {
    const plain = compileArtifacts(source, { name: 'plain', outDir: tmp });
    expect(plain.manifest.graphs.multistep).toBeUndefined();
    expect(existsSync(join(plain.dir, 'multistep.onnx'))).toBe(false);
    const { dir, manifest: m } = compileArtifacts(source, { name: 'looped', outDir: tmp, multiStep: true });
    const io = m.graphs.multistep!;
    expect(io.file).toBe('multistep.onnx');
    expect(io.inputs).toEqual(m.graphs.train.inputs);
    expect(io.outputs.sort()).toEqual([...m.graphs.train.outputs].sort());
    const g = loadModel(join(dir, io.file)).graph;
    expect(g.nodes.map((n) => n.opType)).toEqual(['Shape', 'Gather', 'Loop']);
    // Per-step inputs gain the leading K axis; state keeps its shape.
    const type = (name: string) => g.inputs.find((v) => v.name === name)!.type!.shape;
    expect(type('input_ids')).toEqual(['steps', 'batch_size', 'sequence_length']);
    expect(type('learning_rate')).toEqual(['steps']);
    expect(type('dropout_seed')).toEqual(['steps']);
    expect(type('classifier.weight')).toEqual(
      m.parameters.find((p) => p.name === 'classifier.weight')!.shape,
    );
  });
});

describe('the compiled folder', () => {
  it('is replaced whole, and left as it was when compiling fails', () => {
    const first = compileArtifacts(source, { name: 'atomic', outDir: tmp, multiStep: true });
    const files = readdirSync(first.dir).sort();
    const again = compileArtifacts(source, { name: 'atomic', outDir: tmp });
    expect(readdirSync(again.dir).sort()).toEqual(files.filter((f) => f !== 'multistep.onnx'));
    const before = readFileSync(join(again.dir, 'manifest.json'), 'utf8');
    expect(() =>
      compileArtifacts(source, { name: 'atomic', outDir: tmp, labelNames: ['a', 'b', 'c'] }),
    ).toThrow(/labelNames has 3 names for 2 labels/);
    expect(readFileSync(join(again.dir, 'manifest.json'), 'utf8')).toBe(before);
    expect(readdirSync(tmp).filter((f) => f.startsWith('.tmp-'))).toEqual([]);
  });

  it('opens with the initial weights checked against the manifest', () => {
    const c = compileArtifacts(source, { name: 'open', outDir: tmp });
    const opened = openCompiled(c.dir);
    expect(opened.manifest).toEqual(c.manifest);
    for (const p of c.manifest.parameters)
      expect(opened.weights.get(p.name)!.data).toEqual(c.weights.get(p.name)!.data);
    const bad = {
      ...c.manifest,
      parameters: c.manifest.parameters.map((p, i) => (i === 0 ? { ...p, shape: [7] } : p)),
    };
    writeFileSync(join(c.dir, 'manifest.json'), JSON.stringify(bad));
    expect(() => openCompiled(c.dir)).toThrow(
      `${join(c.dir, 'weights.safetensors')}: '${bad.parameters[0]!.name}' is float32 [${c.manifest.parameters[0]!.shape}], the manifest says float32 [7]`,
    );
  });
});

describe('readManifest', () => {
  it('names the file when it is missing or not a manifest of this version', () => {
    const dir = mkdtempSync(join(tmp, 'bad-'));
    expect(() => readManifest(dir)).toThrow(
      `${join(dir, 'manifest.json')}: cannot read the artifacts manifest`,
    );
    writeFileSync(join(dir, 'manifest.json'), '{"format":"other","version":3}');
    expect(() => readManifest(dir)).toThrow(/not an ortrain artifacts manifest \(format other, version 3/);
    writeFileSync(join(dir, 'manifest.json'), '{"format":"ortrain-artifacts","version":1}');
    expect(() => readManifest(dir)).toThrow(/version 1; version 2 expected: compile the model again/);
  });
});
