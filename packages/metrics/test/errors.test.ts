import { describe, expect, it } from 'vitest';
import {
  accuracy,
  argmax,
  confusionMatrix,
  f1,
  type GlueTask,
  glueComputeMetrics,
  glueMetric,
  MetricInputError,
  matthewsCorrcoef,
  pearson,
  precisionRecallF1,
  rankData,
  softmax,
  spearman,
  squeezeLogits,
} from '../src/index.js';

/** Calls `run` and returns the MetricInputError message it must throw. */
function errorOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(MetricInputError);
    return (error as Error).message;
  }
  throw new Error('expected a MetricInputError, but nothing was thrown');
}

describe('classification input errors name the function, argument, index and value', () => {
  it('rejects empty input', () => {
    expect(errorOf(() => accuracy({ references: [], predictions: [] }))).toBe(
      'accuracy: references is empty',
    );
  });

  it('rejects a length mismatch', () => {
    expect(errorOf(() => f1({ references: [0, 1, 1], predictions: [0, 1] }))).toBe(
      'f1: references has 3 entries but predictions has 2; they must pair up',
    );
  });

  it('rejects NaN, infinities and non-numbers', () => {
    expect(errorOf(() => matthewsCorrcoef({ references: [0, 1], predictions: [0, Number.NaN] }))).toBe(
      'matthewsCorrcoef: predictions[1] is NaN, expected a finite number',
    );
    expect(errorOf(() => accuracy({ references: Float32Array.of(0, Infinity), predictions: [0, 1] }))).toBe(
      'accuracy: references[1] is Infinity, expected a finite number',
    );
    const strings = ['0', '1'] as unknown as number[];
    expect(errorOf(() => accuracy({ references: [0, 1], predictions: strings }))).toBe(
      'accuracy: predictions[0] is the string "0", expected a number',
    );
    expect(errorOf(() => accuracy({ references: undefined as unknown as number[], predictions: [0] }))).toBe(
      'accuracy: references must be an array or typed array of numbers, got undefined',
    );
  });

  it('rejects class ids that are not integers', () => {
    expect(errorOf(() => confusionMatrix({ references: [0, 0.5], predictions: [0, 1] }))).toBe(
      'confusionMatrix: references[1] = 0.5 is not an integer class id',
    );
  });

  it('rejects a label outside the declared set, and bad declarations', () => {
    expect(errorOf(() => accuracy({ references: [0, 1, 1], predictions: [0, 1, 2], labels: [0, 1] }))).toBe(
      'accuracy: predictions[2] = 2 is not one of the declared labels [0, 1]',
    );
    expect(errorOf(() => accuracy({ references: [0, 1], predictions: [0, 1], labels: [0, 1, 0] }))).toBe(
      'accuracy: labels[2] = 0 is repeated; class ids must be distinct',
    );
    expect(errorOf(() => accuracy({ references: [0, 1], predictions: [0, 1], labels: [] }))).toBe(
      'accuracy: labels must be a non-empty array of class ids',
    );
  });

  it("refuses average 'binary' for more than two classes, an unknown average, and an absent posLabel", () => {
    expect(errorOf(() => f1({ references: [0, 1, 2], predictions: [0, 1, 1] }))).toBe(
      "f1: average 'binary' needs at most two classes but the labels are [0, 1, 2]; use average 'macro', " +
        "'micro' or 'weighted'",
    );
    const average = 'samples' as 'macro';
    expect(errorOf(() => precisionRecallF1({ references: [0], predictions: [0], average }))).toBe(
      "precisionRecallF1: average must be one of 'binary', 'macro', 'micro', 'weighted', got samples",
    );
    expect(errorOf(() => f1({ references: [2, 3], predictions: [3, 2] }))).toBe(
      'f1: posLabel 1 is not one of the labels [2, 3]',
    );
    expect(errorOf(() => f1({ references: [0, 0], predictions: [0, 0], labels: [0, 2] }))).toBe(
      'f1: posLabel 1 is not one of the labels [0, 2]',
    );
  });
});

describe('correlation input errors', () => {
  it('rejects fewer than two pairs, mismatched lengths and non-finite values', () => {
    expect(errorOf(() => pearson([1], [2]))).toBe(
      'pearson: a correlation needs at least 2 (x, y) pairs, got 1',
    );
    expect(errorOf(() => spearman([1, 2, 3], [1, 2]))).toBe(
      'spearman: x has 3 entries but y has 2; they must pair up',
    );
    expect(errorOf(() => spearman([1, 2, 3], [1, Number.NaN, 2]))).toBe(
      'spearman: y[1] is NaN, expected a finite number',
    );
    expect(errorOf(() => pearson([], []))).toBe('pearson: x is empty');
    expect(errorOf(() => rankData([3, -Infinity]))).toBe(
      'rankData: values[1] is -Infinity, expected a finite number',
    );
  });
});

describe('logits input errors', () => {
  it('rejects empty, ragged and non-finite rows', () => {
    expect(errorOf(() => argmax([]))).toBe('argmax: logits is empty');
    expect(errorOf(() => argmax([[0, 1], [2]]))).toBe(
      'argmax: logits[1] has 1 values but logits[0] has 2; rows must match',
    );
    expect(
      errorOf(() =>
        softmax([
          [0, 1],
          [2, Number.NaN],
        ]),
      ),
    ).toBe('softmax: logits[1][1] is NaN, expected a finite number');
  });

  it('rejects a flat array whose shape does not fit, or whose values are not finite', () => {
    expect(errorOf(() => argmax({ data: new Float32Array(5), shape: [2, 2] }))).toBe(
      'argmax: logits.data has 5 values but shape [2, 2] needs 4',
    );
    expect(errorOf(() => argmax({ data: new Float32Array(4), shape: [4] }))).toBe(
      'argmax: logits.shape must be [n, numLabels] with positive integers, got [4]',
    );
    expect(errorOf(() => softmax({ data: Float32Array.of(0, 1, Number.NaN, 2), shape: [2, 2] }))).toBe(
      'softmax: logits.data[2] (row 1, column 0) is NaN, expected a finite number',
    );
    expect(errorOf(() => squeezeLogits({ data: new Float32Array(4), shape: [2, 2] }))).toBe(
      'squeezeLogits: expected regression outputs of shape [n, 1], got [2, 2]',
    );
  });
});

describe('GLUE input errors', () => {
  it('rejects an unknown task', () => {
    expect(errorOf(() => glueMetric('squad' as GlueTask))).toMatch(
      /^glueMetric: unknown GLUE task "squad"; one of sst2, mnli, .*hans$/,
    );
  });

  it('rejects labels outside the task classes, e.g. the -1 of an unlabelled GLUE test split', () => {
    expect(errorOf(() => glueMetric('mrpc').compute({ predictions: [0, 1], references: [1, -1] }))).toBe(
      'glue(mrpc): references[1] = -1 is not one of the declared labels [0, 1]',
    );
    expect(errorOf(() => glueMetric('sst2').compute({ predictions: [0, 2], references: [1, 1] }))).toBe(
      'glue(sst2): predictions[1] = 2 is not one of the declared labels [0, 1]',
    );
  });

  it('rejects logits whose width is not the task head size', () => {
    const computeMetrics = glueComputeMetrics('mnli');
    expect(errorOf(() => computeMetrics({ predictions: [[0, 1]], labelIds: [1] }))).toBe(
      'computeMetrics(mnli): mnli needs logits of shape [n, 3], got [1, 2]',
    );
    expect(
      errorOf(() =>
        glueComputeMetrics('stsb')({ predictions: { data: [1, 2], shape: [1, 2] }, labelIds: [3] }),
      ),
    ).toBe('computeMetrics(stsb): stsb needs logits of shape [n, 1], got [1, 2]');
  });

  it('names the arguments as the caller passed them', () => {
    expect(errorOf(() => glueMetric('stsb').compute({ predictions: [1, 2], references: [3] }))).toBe(
      'glue(stsb): predictions has 2 entries but references has 1; they must pair up',
    );
    const computeMetrics = glueComputeMetrics('mrpc');
    expect(
      errorOf(() =>
        computeMetrics({
          predictions: [
            [0, 1],
            [1, 0],
          ],
          labelIds: [1, Number.NaN],
        }),
      ),
    ).toBe('computeMetrics(mrpc): labelIds[1] is NaN, expected a finite number');
    expect(errorOf(() => computeMetrics({ predictions: [[0, 1]], labelIds: [1, 0] }))).toBe(
      'computeMetrics(mrpc): labelIds has 2 entries but predictions has 1; they must pair up',
    );
    expect(errorOf(() => computeMetrics({ predictions: [[0, 1]], labelIds: [2] }))).toBe(
      'computeMetrics(mrpc): labelIds[0] = 2 is not one of the declared labels [0, 1]',
    );
    expect(
      errorOf(() => glueComputeMetrics('stsb')({ predictions: [[1], [2]], labelIds: [1, Number.NaN] })),
    ).toBe('computeMetrics(stsb): labelIds[1] is NaN, expected a finite number');
  });
});
