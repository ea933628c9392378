import { describe, expect, it } from 'vitest';
import {
  type Average,
  accuracy,
  argmax,
  confusionMatrix,
  f1,
  fileComputeMetrics,
  GLUE_TASKS,
  type GlueTask,
  glueComputeMetrics,
  glueMetric,
  isGlueTask,
  matthewsCorrcoef,
  meanSquaredError,
  pearson,
  perClassScores,
  precision,
  precisionRecallF1,
  rankData,
  recall,
  softmax,
  spearman,
} from '../src/index.js';
import { expectAllGolden, expectGolden, golden, toRows } from './helpers.js';

describe('classification metrics match sklearn', () => {
  it('covers the planned cases', () => {
    expect(golden.versions.sklearn).toMatch(/^1\.2\./);
    expect(golden.classification.length).toBeGreaterThan(30);
  });

  for (const c of golden.classification) {
    it(c.name, () => {
      const input = { references: c.references, predictions: c.predictions, labels: c.labels };
      const e = c.expected;
      expectGolden(accuracy(input), e.accuracy, 'accuracy');
      expectGolden(matthewsCorrcoef(input), e.mcc, 'mcc');
      expect(confusionMatrix(input)).toEqual(e.confusion);

      const per = perClassScores(input);
      expect(per.labels).toEqual(e.perClass.labels);
      expect(per.support).toEqual(e.perClass.support);
      expectAllGolden(per.precision, e.perClass.precision, 'per-class precision');
      expectAllGolden(per.recall, e.perClass.recall, 'per-class recall');
      expectAllGolden(per.f1, e.perClass.f1, 'per-class f1');

      const averages: Average[] = ['macro', 'micro', 'weighted'];
      if (e.binary) averages.push('binary');
      for (const average of averages) {
        const want = e[average]!;
        const args = { ...input, average, posLabel: c.posLabel };
        const got = precisionRecallF1(args);
        expectGolden(got.precision, want.precision, `${average} precision`);
        expectGolden(got.recall, want.recall, `${average} recall`);
        expectGolden(got.f1, want.f1, `${average} f1`);
        expect([precision(args), recall(args), f1(args)]).toEqual([got.precision, got.recall, got.f1]);
      }
    });
  }

  it('defaults to binary F1 of class 1, as sklearn', () => {
    const c = golden.classification.find((k) => k.name === 'binary small')!;
    expectGolden(f1({ references: c.references, predictions: c.predictions }), c.expected.binary!.f1, 'f1');
  });
});

describe('correlations match scipy', () => {
  for (const c of golden.correlation) {
    it(c.name, () => {
      expectGolden(pearson(c.x, c.y), c.pearson, 'pearson');
      expectGolden(spearman(c.x, c.y), c.spearman, 'spearman');
      expect(Array.from(rankData(c.x))).toEqual(c.rankX);
      expect(Array.from(rankData(c.y))).toEqual(c.rankY);
      // Typed arrays are accepted as well as plain arrays.
      expectGolden(pearson(Float64Array.from(c.x), Float64Array.from(c.y)), c.pearson, 'pearson (typed)');
    });
  }
});

describe('logits match numpy argmax and scipy softmax', () => {
  for (const c of golden.logits) {
    it(c.name, () => {
      const flat = { data: Float32Array.from(c.data), shape: c.shape };
      const rows = toRows(c.data, c.shape[1]);
      expect(argmax(flat)).toEqual(c.argmax);
      expect(argmax(rows)).toEqual(c.argmax);
      const s = softmax(flat);
      expect(s.shape).toEqual(c.shape);
      expectAllGolden(s.data, c.softmax, 'softmax');
      expectAllGolden(softmax(rows).flat(), c.softmax, 'softmax of rows');
    });
  }
});

describe('GLUE metrics match evaluate.load("glue", task)', () => {
  it('knows exactly the evaluate task names', () => {
    expect([...GLUE_TASKS].sort()).toEqual(
      [
        ...['cola', 'hans', 'mnli', 'mnli_matched', 'mnli_mismatched', 'mrpc', 'qnli', 'qqp', 'rte', 'sst2'],
        ...['stsb', 'wnli'],
      ].sort(),
    );
    expect(new Set(golden.glue.map((c) => c.task))).toEqual(new Set(GLUE_TASKS));
    expect(isGlueTask('mrpc')).toBe(true);
    expect(isGlueTask('squad')).toBe(false);
  });

  it('reproduces the course figure shape: MRPC validation, 408 examples', () => {
    const c = golden.glue[0]!;
    expect([c.task, c.shape]).toEqual(['mrpc', [408, 2]]);
    const result = glueComputeMetrics('mrpc')({
      predictions: { data: Float32Array.from(c.logits), shape: c.shape },
      labelIds: c.labelIds,
    });
    expect(Object.keys(result)).toEqual(['accuracy', 'f1']);
    expectGolden(result.accuracy, c.expected.accuracy!, 'accuracy');
    expectGolden(result.f1, c.expected.f1!, 'f1');
  });

  for (const c of golden.glue) {
    it(`${c.name}: compute_metrics from flat and row logits, and glueMetric on argmax`, () => {
      const task = c.task as GlueTask;
      const metric = glueMetric(task);
      expect(metric.numLabels).toBe(c.shape[1]);
      const fromFlat: Record<string, number> = glueComputeMetrics(task)({
        predictions: { data: Float32Array.from(c.logits), shape: c.shape },
        labelIds: Float64Array.from(c.labelIds),
      });
      const fromRows: Record<string, number> = glueComputeMetrics(task)({
        predictions: toRows(Float32Array.from(c.logits), c.shape[1]),
        labelIds: c.labelIds,
      });
      expect(Object.keys(fromFlat)).toEqual(Object.keys(c.expected));
      expect(metric.keys).toEqual(Object.keys(c.expected));
      for (const [key, want] of Object.entries(c.expected)) expectGolden(fromFlat[key]!, want, key);
      expect(fromRows).toEqual(fromFlat);

      const flat = { data: Float32Array.from(c.logits), shape: c.shape };
      const predictions = task === 'stsb' ? Array.from(flat.data) : argmax(flat);
      expect(metric.compute({ predictions, references: c.labelIds })).toEqual(fromFlat);
    });
  }
});

describe('fileComputeMetrics (run_glue on your own files) scores like sklearn', () => {
  // One-hot logits of each golden case whose classes are 0..k-1: argmax gives back its predictions.
  const contiguous = golden.classification.filter((c) => {
    const k = c.expected.confusion.labels.length;
    return k >= 2 && (c.posLabel ?? 1) === 1 && c.expected.confusion.labels.every((l, i) => l === i);
  });

  it('covers binary and multi-class cases', () => {
    const sizes = new Set(contiguous.map((c) => c.expected.confusion.labels.length));
    expect(sizes.has(2)).toBe(true);
    expect([...sizes].some((k) => k > 2)).toBe(true);
  });

  for (const c of contiguous) {
    it(`${c.name}: accuracy and F1 (binary for 2 classes, else macro)`, () => {
      const k = c.expected.confusion.labels.length;
      const data = new Float32Array(c.predictions.length * k);
      c.predictions.forEach((p, i) => {
        data[i * k + p] = 1;
      });
      const got = fileComputeMetrics(k)({
        predictions: { data, shape: [c.predictions.length, k] },
        labelIds: c.references,
      });
      expect(Object.keys(got)).toEqual(['accuracy', 'f1']);
      expectGolden(got['accuracy']!, c.expected.accuracy, 'accuracy');
      expectGolden(got['f1']!, k === 2 ? c.expected.binary!.f1 : c.expected.macro.f1, 'f1');
    });
  }

  it('a regression target: mse, and Pearson / Spearman like scipy', () => {
    const c = golden.correlation.find((k) => k.x.length > 2 && k.pearson !== 'NaN')!;
    const got = fileComputeMetrics(1)({ predictions: c.x.map((v) => [v]), labelIds: c.y });
    expect(Object.keys(got)).toEqual(['mse', 'pearson', 'spearmanr']);
    expectGolden(got['pearson']!, c.pearson, 'pearson');
    expectGolden(got['spearmanr']!, c.spearman, 'spearman');
    const mse = c.y.reduce((s, y, i) => s + (c.x[i]! - y) ** 2, 0) / c.y.length;
    expect(got['mse']).toBe(mse);
    expect(meanSquaredError([1, 2, 3], [1, 2, 5])).toBe(4 / 3);
  });

  it('refuses logits of the wrong width and a non-positive label count', () => {
    const f = fileComputeMetrics(3);
    expect(() => f({ predictions: { data: new Float32Array(4), shape: [2, 2] }, labelIds: [0, 1] })).toThrow(
      /\[n, 3\]/,
    );
    expect(() => fileComputeMetrics(0)).toThrow(/numLabels must be a positive integer/);
  });
});
