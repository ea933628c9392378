import { accuracyOf, averagedScoresOf, matthewsOf, type ReferencesName, tally } from './classification.js';
import { checkPairs, meanSquaredErrorOf, pearsonOf, spearmanOf } from './correlation.js';
import { argmaxRows, type Logits, readLogits, squeezeRows } from './logits.js';
import { fail, type NumericVector } from './validate.js';

/** The configuration names of `evaluate.load("glue", task)`. */
export const GLUE_TASKS = [
  'sst2',
  'mnli',
  'mnli_mismatched',
  'mnli_matched',
  'cola',
  'stsb',
  'mrpc',
  'qqp',
  'qnli',
  'rte',
  'wnli',
  'hans',
] as const;

export type GlueTask = (typeof GLUE_TASKS)[number];

/** The keys `evaluate`'s GLUE metric returns for each task. */
export type GlueMetricName<T extends GlueTask> = T extends 'mrpc' | 'qqp'
  ? 'accuracy' | 'f1'
  : T extends 'stsb'
    ? 'pearson' | 'spearmanr'
    : T extends 'cola'
      ? 'matthews_correlation'
      : 'accuracy';

export type GlueResult<T extends GlueTask> = { [K in GlueMetricName<T>]: number };

export interface GlueMetric<T extends GlueTask> {
  readonly task: T;
  /** Result keys, in the order `evaluate` returns them. */
  readonly keys: readonly GlueMetricName<T>[];
  /** Size of the model head: 1 for the stsb regression, else the number of classes. */
  readonly numLabels: number;
  /**
   * Scores predictions against references: class ids (0..numLabels-1; anything else is an error) or, for
   * stsb, similarity scores. Same values as `evaluate.load("glue", task).compute(predictions, references)`.
   */
  compute(input: { predictions: NumericVector; references: NumericVector }): GlueResult<T>;
}

/** What a Trainer hands to `compute_metrics` (Hugging Face's `EvalPrediction`). */
export interface EvalPrediction {
  /** Logits of shape [n, numLabels] ([n, 1] for stsb). */
  predictions: Logits;
  labelIds: NumericVector;
}

interface Spec {
  keys: readonly string[];
  numLabels: number;
  score(
    where: string,
    predictions: NumericVector,
    references: NumericVector,
    referencesName: ReferencesName,
  ): Record<string, number>;
}

/** F1 is binary (class 1 positive) for two classes, else the macro average, as evaluate's `f1` is asked. */
function classification(
  numLabels: number,
  keys: readonly ('accuracy' | 'f1' | 'matthews_correlation')[],
): Spec {
  const labels = Array.from({ length: numLabels }, (_, i) => i);
  return {
    keys,
    numLabels,
    score(where, predictions, references, referencesName) {
      const cm = tally(where, { predictions, references, labels }, referencesName);
      const scorers = {
        accuracy: () => accuracyOf(cm),
        f1: () => averagedScoresOf(where, cm, numLabels === 2 ? 'binary' : 'macro', 1, true).f1,
        matthews_correlation: () => matthewsOf(cm),
      };
      return Object.fromEntries(keys.map((key) => [key, scorers[key]()]));
    },
  };
}

const correlations = (extra: { mse?: true } = {}): Spec => ({
  keys: [...(extra.mse ? ['mse'] : []), 'pearson', 'spearmanr'],
  numLabels: 1,
  score(where, predictions, references, referencesName) {
    checkPairs(where, 'predictions', predictions, referencesName, references);
    return {
      ...(extra.mse && { mse: meanSquaredErrorOf(predictions, references) }),
      pearson: pearsonOf(predictions, references),
      spearmanr: spearmanOf(predictions, references),
    };
  },
});

const SPECS: Record<GlueTask, Spec> = {
  sst2: classification(2, ['accuracy']),
  mnli: classification(3, ['accuracy']),
  mnli_mismatched: classification(3, ['accuracy']),
  mnli_matched: classification(3, ['accuracy']),
  cola: classification(2, ['matthews_correlation']),
  stsb: correlations(),
  mrpc: classification(2, ['accuracy', 'f1']),
  qqp: classification(2, ['accuracy', 'f1']),
  qnli: classification(2, ['accuracy']),
  rte: classification(2, ['accuracy']),
  wnli: classification(2, ['accuracy']),
  hans: classification(2, ['accuracy']),
};

export function isGlueTask(name: string): name is GlueTask {
  return (GLUE_TASKS as readonly string[]).includes(name);
}

function specOf(where: string, task: string): Spec {
  if (!isGlueTask(task))
    fail(where, `unknown GLUE task ${JSON.stringify(task)}; one of ${GLUE_TASKS.join(', ')}`);
  return SPECS[task];
}

/**
 * run_glue's metric for your own files (no task name): `accuracy` for classes, `mse` for a regression target
 * (1 label). ortrain adds F1 (binary for two classes, else macro) and Pearson / Spearman, which say more than
 * accuracy on skewed labels and more than the mse alone.
 */
function fileSpec(numLabels: number): Spec {
  if (!Number.isInteger(numLabels) || numLabels < 1) {
    fail('fileComputeMetrics', `numLabels must be a positive integer, got ${numLabels}`);
  }
  return numLabels === 1 ? correlations({ mse: true }) : classification(numLabels, ['accuracy', 'f1']);
}

/** The GLUE metric of a task, like `evaluate.load("glue", task)`. */
export function glueMetric<T extends GlueTask>(task: T): GlueMetric<T> {
  const spec = specOf('glueMetric', task);
  return {
    task,
    keys: spec.keys as readonly GlueMetricName<T>[],
    numLabels: spec.numLabels,
    compute: ({ predictions, references }) =>
      spec.score(`glue(${task})`, predictions, references, 'references') as GlueResult<T>,
  };
}

/**
 * The course's `compute_metrics(eval_preds)` for a GLUE task: argmax over the logits (squeeze for stsb),
 * then the task's metric.
 */
export function glueComputeMetrics<T extends GlueTask>(task: T): (evalPred: EvalPrediction) => GlueResult<T> {
  return computeMetricsOf(specOf('glueComputeMetrics', task), task) as (
    evalPred: EvalPrediction,
  ) => GlueResult<T>;
}

/** `compute_metrics` for a model trained on your own files with `numLabels` classes (1: regression). */
export function fileComputeMetrics(numLabels: number): (evalPred: EvalPrediction) => Record<string, number> {
  return computeMetricsOf(fileSpec(numLabels), numLabels === 1 ? 'regression' : `${numLabels} classes`);
}

function computeMetricsOf(spec: Spec, task: string): (evalPred: EvalPrediction) => Record<string, number> {
  const where = `computeMetrics(${task})`;
  return ({ predictions, labelIds }) => {
    const view = readLogits(where, predictions);
    if (view.cols !== spec.numLabels) {
      fail(where, `${task} needs logits of shape [n, ${spec.numLabels}], got [${view.rows}, ${view.cols}]`);
    }
    const values = spec.numLabels === 1 ? squeezeRows(where, view) : argmaxRows(view);
    return spec.score(where, values, labelIds, 'labelIds');
  };
}
