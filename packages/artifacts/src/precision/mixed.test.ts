import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inferShapes, loadModel, type Node } from '@ortrain/graph';
import { describe, expect, it } from 'vitest';
import { maxRelDiff } from '../../test/helpers.js';
import { ArtifactRunner, type Batch } from '../../test/runner.js';
import { type CompileOptions, compileArtifacts } from '../compile.js';

const fixtures = join(import.meta.dirname, '../../test/fixtures');
const ref = JSON.parse(readFileSync(join(fixtures, 'reference.json'), 'utf8')) as {
  train_batches: (Batch & { labels: number[] })[];
  runs: { classification: { learning_rates: number[]; steps: number } };
};
const noDropout = { hidden: 0, attention: 0, classifier: 0 };

function compile(options: Partial<CompileOptions> = {}) {
  return compileArtifacts(join(fixtures, 'bert_fe_opset14_folded.onnx'), {
    name: 'mixed',
    outDir: mkdtempSync(join(tmpdir(), 'ortrain-mixed-')),
    dropout: noDropout,
    ...options,
  });
}

/**
 * Element types of every node input of a compiled graph, by op type. The small embedding tables' gradient
 * sums (a Gemm over a one-hot Cast of Equal, see the Gather rule) count as 'one-hot sum', and the sums over
 * leading axes (a MatMul of a reshaped Expand of ones, see GradContext.leadingSum) as 'row sum', not as products.
 */
function inputTypes(dir: string, file: string): Map<string, Set<string>> {
  const g = loadModel(join(dir, file)).graph;
  const types = inferShapes(g).types;
  const producer = new Map(g.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  // Whether n's first input comes from `ops` (the nearest producer last), each through its first input.
  const fedBy = (n: Node, ...ops: string[]): boolean =>
    ops.length === 0 ||
    (producer.get(n.inputs[0]!)?.opType === ops[0] && fedBy(producer.get(n.inputs[0]!)!, ...ops.slice(1)));
  const byOp = new Map<string, Set<string>>();
  for (const n of g.nodes) {
    const sum =
      n.opType === 'Gemm' && fedBy(n, 'Cast', 'Equal')
        ? 'one-hot sum'
        : n.opType === 'MatMul' && fedBy(n, 'Reshape', 'Expand')
          ? 'row sum'
          : undefined;
    const op = sum ?? n.opType;
    const set = byOp.get(op) ?? new Set<string>();
    for (const i of n.inputs) {
      const t = types.get(i)?.dataType;
      if (t?.startsWith('float') || t === 'bfloat16') set.add(t);
    }
    byOp.set(op, set);
  }
  return byOp;
}

describe('mixed-precision pass (autocast)', () => {
  it.each([
    ['fp16', 'float16'],
    ['bf16', 'bfloat16'],
  ] as const)(
    '%s: MatMul/Gemm in half, Softmax, LayerNorm, reductions and the loss in float32',
    (mode, half) => {
      const { dir, manifest, report } = compile({ mixedPrecision: mode });
      expect(manifest.mixedPrecision?.dtype).toBe(half);
      // 2 layers x 6 projections, the pooler and the classifier, plus the element-wise ops around them.
      expect(report.mixedPrecision!.halfNodes).toBeGreaterThan(14);
      expect(report.mixedPrecision!.casts).toBeGreaterThan(0);
      for (const file of ['train.onnx', 'gradient.onnx', 'eval.onnx']) {
        const types = inputTypes(dir, file);
        expect(types.get('MatMul')).toEqual(new Set([half]));
        expect(types.get('Gemm')).toEqual(new Set([half]));
        // The token-type and position tables' gradients are summed in float32, as torch's embedding backward.
        expect(types.get('one-hot sum')).toEqual(file === 'eval.onnx' ? undefined : new Set(['float32']));
        // The float32 parameters' (LayerNorm's) gradients are summed by a product; the half ones by ReduceSum.
        expect(types.get('row sum')).toEqual(file === 'eval.onnx' ? undefined : new Set(['float32']));
        if (file !== 'eval.onnx') expect(types.get('ReduceSum')).toContain(half);
        // Log: the loss's log-softmax (expanded into element-wise ops).
        for (const op of ['Softmax', 'LayerNormalization', 'Log'])
          expect([op, types.get(op)]).toEqual([op, new Set(['float32'])]);
      }
      // Forward reductions stay float32 (backward ones follow their half operands, as torch's do).
      const forward = inputTypes(dir, 'eval.onnx');
      for (const op of ['ReduceMean', 'ReduceSum', 'ReduceMax', 'Sqrt'])
        expect([op, forward.get(op)?.has(half)]).not.toEqual([op, true]);
      // The inference export's graph and all state stay float32.
      expect(inputTypes(dir, 'predict.onnx').get('MatMul')).toEqual(new Set(['float32']));
      expect(manifest.state.every((e) => e.dataType === 'float32')).toBe(true);
      const g = loadModel(join(dir, 'train.onnx')).graph;
      expect(g.outputs.find((o) => o.name === 'loss')?.type?.dataType ?? 'float32').toBe('float32');
    },
  );

  it('fp16 training follows the float32 run within half-precision tolerance (8 AdamW steps)', async () => {
    const run = ref.runs.classification;
    const runs: number[][] = [];
    const norms: number[][] = [];
    for (const mixedPrecision of [undefined, 'fp16'] as const) {
      const r = new ArtifactRunner(compile(mixedPrecision ? { mixedPrecision } : {}).dir);
      const losses: number[] = [];
      const gradNorms: number[] = [];
      for (let step = 0; step < run.steps; step++) {
        const b = ref.train_batches[step]!;
        const [loss, norm] = await r.trainStep(b, b.labels, run.learning_rates[step]!, step + 1);
        losses.push(loss);
        gradNorms.push(norm);
      }
      norms.push(gradNorms);
      if (mixedPrecision) {
        expect((r.last['found_inf']!.data as Float32Array)[0]).toBe(0);
        expect(r.value('loss_scale')[0]).toBe(2 ** 16);
        expect(r.value('loss_scale.growth_tracker')[0]).toBe(run.steps);
      }
      runs.push(losses);
    }
    expect(maxRelDiff(runs[1]!, runs[0]!)).toBeLessThan(1e-2);
    expect(maxRelDiff(runs[1]!, runs[0]!)).toBeGreaterThan(0); // it did compute in half precision
    expect(maxRelDiff(norms[1]!, norms[0]!)).toBeLessThan(2e-2); // unscaled, as GradScaler.unscale_ leaves it
  });

  it('gradients through the casts match the float32 gradients (loss-scaled, then unscaled)', async () => {
    const b = ref.train_batches[0]!;
    const grads: Map<string, Float32Array>[] = [];
    for (const mixedPrecision of [undefined, 'fp16'] as const) {
      const { dir, manifest } = compile(mixedPrecision ? { mixedPrecision } : {});
      const r = new ArtifactRunner(dir);
      await r.accumulate(b, b.labels, 1);
      const scale = mixedPrecision ? 2 ** 16 : 1;
      const trainable = manifest.parameters.filter((p) => p.trainable);
      grads.push(new Map(trainable.map((p) => [p.name, r.value(`${p.name}.grad`).map((g) => g / scale)])));
    }
    // Relative to each gradient's norm: elementwise relative error is meaningless for near-zero entries.
    expect(grads[0]!.size).toBeGreaterThan(10);
    for (const [name, g32] of grads[0]!) {
      const g16 = grads[1]!.get(name)!;
      let diff = 0;
      let norm = 0;
      for (let i = 0; i < g32.length; i++) {
        diff += (g16[i]! - g32[i]!) ** 2;
        norm += g32[i]! ** 2;
      }
      // Key biases have a zero gradient (softmax is shift-invariant): only rounding noise is left there.
      expect([name, Math.sqrt(diff)]).toEqual([name, expect.any(Number)]);
      expect(Math.sqrt(diff)).toBeLessThan(2e-2 * Math.sqrt(norm) + 1e-9);
    }
  });
});
