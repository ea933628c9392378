import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '@ortrain/graph';
import { describe, expect, it } from 'vitest';
import { type CompileOptions, compileArtifacts } from '../src/compile.js';
import type { ArtifactManifest } from '../src/manifest.js';
import { maxAbsDiff } from './helpers.js';
import { ArtifactRunner, type Batch } from './runner.js';

const fixtures = join(import.meta.dirname, 'fixtures');
const ref = JSON.parse(readFileSync(join(fixtures, 'reference.json'), 'utf8')) as {
  train_batches: (Batch & { labels: number[] })[];
};
const batch = ref.train_batches[0]!;

function compile(options: Partial<CompileOptions> = {}, source = 'bert_fe_opset14_folded.onnx') {
  return compileArtifacts(join(fixtures, source), {
    name: 'test',
    outDir: mkdtempSync(join(tmpdir(), 'ortrain-artifacts-')),
    ...options,
  });
}

describe('compileArtifacts', () => {
  const { dir, manifest, report } = compile();

  it('writes every graph the manifest names, with default-domain ops only', () => {
    const onDisk = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ArtifactManifest;
    expect(onDisk).toEqual(manifest);
    for (const io of Object.values(manifest.graphs)) {
      const m = loadModel(join(dir, io.file));
      expect(m.graph.inputs.map((v) => v.name)).toEqual(io.inputs);
      expect(m.graph.outputs.map((v) => v.name)).toEqual(io.outputs);
      expect(m.graph.nodes.filter((n) => n.domain !== '')).toEqual([]);
      expect(m.opsets.get('')).toBe(17);
    }
  });

  it('names inputs and outputs per the manifest contract', () => {
    const params = manifest.parameters.map((p) => p.name);
    const trainable = manifest.parameters.filter((p) => p.trainable).map((p) => p.name);
    const { train, gradient, optimizer, eval: evaluation, predict } = manifest.graphs;
    expect(train.inputs).toEqual([
      ...manifest.inputs,
      ...params,
      'dropout_seed',
      'labels',
      ...trainable.flatMap((p) => [`${p}.exp_avg`, `${p}.exp_avg_sq`]),
      'learning_rate',
      'step',
    ]);
    expect(train.outputs).toEqual([
      'loss',
      'grad_norm',
      ...trainable.flatMap((p) => [`${p}.new`, `${p}.exp_avg.new`, `${p}.exp_avg_sq.new`]),
    ]);
    expect(gradient.inputs).toEqual([
      ...manifest.inputs,
      ...params,
      'dropout_seed',
      'labels',
      'grad_scale',
      ...trainable.map((p) => `${p}.grad`),
    ]);
    expect(gradient.outputs).toEqual(['loss', ...trainable.map((p) => `${p}.grad.new`)]);
    expect(optimizer.outputs[0]).toBe('grad_norm');
    expect(evaluation.outputs).toEqual(['logits', 'loss']);
    expect(predict.inputs).toEqual([...manifest.inputs, ...params]);
    expect(predict.outputs).toEqual(['logits']);
  });

  it('marks 1-D parameters (biases, LayerNorm weights) as exempt from weight decay', () => {
    for (const p of manifest.parameters) expect(p.weightDecay).toBe(p.shape.length > 1);
    expect(
      manifest.parameters.find((p) => p.name === 'bert.encoder.layer.0.attention.output.LayerNorm.weight')!
        .weightDecay,
    ).toBe(false);
  });

  it('reports the newly initialized head like HF does, with HF init statistics', async () => {
    expect(manifest.newlyInitialized).toEqual(['classifier.weight', 'classifier.bias']);
    expect(report.messages[0]).toMatch(/newly initialized: \[classifier\.weight, classifier\.bias\]/);
    const r = new ArtifactRunner(dir);
    const w = r.params.get('classifier.weight')!;
    const mean = w.reduce((a, x) => a + x, 0) / w.length;
    const std = Math.sqrt(w.reduce((a, x) => a + (x - mean) ** 2, 0) / w.length);
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(std).toBeGreaterThan(0.014);
    expect(std).toBeLessThan(0.026); // initializer_range 0.02 over 64 samples
    expect(Array.from(r.params.get('classifier.bias')!)).toEqual([0, 0]);
  });

  it('puts dropout at BERT sites with config rates in training graphs only', () => {
    expect(manifest.dropout).toEqual({ hidden: 0.1, attention: 0.1, classifier: 0.1 });
    // Seeded masks replace the Dropout nodes: one threshold comparison per site.
    const count = (file: string) =>
      loadModel(join(dir, file)).graph.nodes.filter((n) => n.opType === 'Less' || n.opType === 'Dropout')
        .length;
    // embeddings + per layer (attention probs, attention output, FFN output) x 2 + classifier input
    expect(report.dropoutNodes).toBe(8);
    expect(count(manifest.graphs.train.file)).toBe(8);
    expect(count(manifest.graphs.gradient.file)).toBe(8);
    expect(count(manifest.graphs.eval.file)).toBe(0);
    expect(count(manifest.graphs.predict.file)).toBe(0);
  });

  it('dropout masks follow dropout_seed (same seed, same loss) while eval stays deterministic', async () => {
    const { dir: d, report: rep } = compile({ dropout: { hidden: 0.5, attention: 0, classifier: 0 } });
    const runLoss = async (seed: bigint) => {
      const runner = new ArtifactRunner(d);
      runner.dropoutSeed = seed;
      return (await runner.trainStep(batch, batch.labels, 0, 1))[0];
    };
    const losses = [await runLoss(1n), await runLoss(2n), await runLoss(3n)];
    expect(new Set(losses).size).toBeGreaterThan(1);
    expect(await runLoss(2n)).toBe(losses[1]);
    const r = new ArtifactRunner(d);
    const a = await r.evaluate(batch, batch.labels);
    const b = await r.evaluate(batch, batch.labels);
    expect(a.loss).toBe(b.loss);
    expect(rep.dropoutNodes).toBe(5); // hidden sites only
  });

  it('frozen parameters are fed to the graphs but not updated', async () => {
    const { dir: d, manifest: m, report: rep } = compile({ freeze: ['bert.embeddings.'] });
    const frozen = m.parameters.filter((p) => !p.trainable).map((p) => p.name);
    expect(frozen).toEqual(rep.frozen);
    expect(frozen.sort()).toEqual(
      [
        'LayerNorm.bias',
        'LayerNorm.weight',
        'position_embeddings.weight',
        'token_type_embeddings.weight',
        'word_embeddings.weight',
      ]
        .map((n) => `bert.embeddings.${n}`)
        .sort(),
    );
    expect(m.graphs.train.outputs.some((o) => o.startsWith('bert.embeddings.'))).toBe(false);
    const r = new ArtifactRunner(d);
    const before = Float32Array.from(r.params.get('bert.embeddings.word_embeddings.weight')!);
    const query = Float32Array.from(r.params.get('bert.encoder.layer.0.attention.self.query.weight')!);
    await r.trainStep(batch, batch.labels, 1e-3, 1);
    expect(r.params.get('bert.embeddings.word_embeddings.weight')).toEqual(before);
    expect(
      maxAbsDiff(r.params.get('bert.encoder.layer.0.attention.self.query.weight')!, query),
    ).toBeGreaterThan(0);
  });

  it('reads config.json of an Optimum / transformers.js folder (onnx/model.onnx) for dropout rates', () => {
    const folder = mkdtempSync(join(tmpdir(), 'ortrain-optimum-'));
    mkdirSync(join(folder, 'onnx'));
    copyFileSync(join(fixtures, 'bert_fe_opset14_folded.onnx'), join(folder, 'onnx', 'model.onnx'));
    const config = JSON.parse(readFileSync(join(fixtures, 'hf_checkpoint', 'config.json'), 'utf8'));
    writeFileSync(
      join(folder, 'config.json'),
      JSON.stringify({ ...config, hidden_dropout_prob: 0.2, classifier_dropout: 0.3 }),
    );
    const { manifest: m } = compileArtifacts(folder, {
      name: 'optimum',
      outDir: folder,
      dropout: { attention: 0 },
    });
    expect(m.dropout).toEqual({ hidden: 0.2, attention: 0, classifier: 0.3 });
    expect(m.model.numAttentionHeads).toBe(4);
  });

  it('bakes label smoothing into the eval and train losses and records it in the manifest', async () => {
    const eps = 0.1;
    const { dir: d, manifest: m } = compile({
      labelSmoothing: eps,
      dropout: { hidden: 0, attention: 0, classifier: 0 },
    });
    expect(m.labelSmoothing).toBe(eps);
    expect(manifest.labelSmoothing).toBeUndefined();
    const { logits, loss } = await new ArtifactRunner(d).evaluate(batch, batch.labels);
    // LabelSmoother on the graph's own logits, in float64.
    let expected = 0;
    const n = batch.labels.length;
    for (let i = 0; i < n; i++) {
      const row = [logits[2 * i]!, logits[2 * i + 1]!];
      const lse = Math.log(Math.exp(row[0]!) + Math.exp(row[1]!));
      const nll = lse - row[batch.labels[i]!]!;
      const mean = (2 * lse - row[0]! - row[1]!) / 2;
      expected += ((1 - eps) * nll + eps * mean) / n;
    }
    expect(loss).toBeCloseTo(expected, 5);
    const [trainLoss] = await new ArtifactRunner(d).trainStep(batch, batch.labels, 0, 1);
    expect(trainLoss).toBeCloseTo(loss, 5);
  });

  it('rejects bad options with clear errors', () => {
    expect(() => compile({ numLabels: 1, labelSmoothing: 0.1 })).toThrow(
      /labelSmoothing .* 0 for regression/,
    );
    expect(() => compile({ numLabels: 0 })).toThrow(/numLabels must be a positive integer/);
    expect(() => compile({ dropout: { hidden: 1 } })).toThrow(/dropout\.hidden must be in \[0, 1\)/);
    expect(() => compile({ numLabels: 3 }, 'bert_cls_opset14.onnx')).toThrow(
      /classifier has 2 labels, 3 were asked for/,
    );
    expect(() => compile({ freeze: [/./] })).toThrow(/every parameter is frozen/);
    expect(() => compile({}, 'missing.onnx')).toThrow(/missing\.onnx: no such file or folder/);
  });
});
