import { checkPaired, fail, type NumericVector } from './validate.js';

/** Integer class ids of the references (true labels) and predictions, paired by index. */
export interface ClassificationInput {
  references: NumericVector;
  predictions: NumericVector;
  /**
   * The complete set of class ids, in the order the per-class outputs use. When given, a reference or
   * prediction outside it is an error and classes absent from the data still count (with zero scores) in
   * macro averages. When omitted: the sorted union of the ids seen, like sklearn's `unique_labels`.
   */
  labels?: readonly number[];
}

/** How per-class scores are combined, as sklearn's `average` argument. */
export type Average = 'binary' | 'macro' | 'micro' | 'weighted';

export interface AveragedInput extends ClassificationInput {
  /** Default `'binary'`, like sklearn: the scores of `posLabel` alone (needs at most two classes). */
  average?: Average;
  /** The positive class for `average: 'binary'`; default 1. */
  posLabel?: number;
}

export interface ConfusionMatrix {
  labels: number[];
  /** `matrix[i][j]`: how many samples of true class `labels[i]` were predicted as `labels[j]` (sklearn). */
  matrix: number[][];
}

export interface PrecisionRecallF1 {
  precision: number;
  recall: number;
  f1: number;
}

export interface PerClassScores {
  labels: number[];
  precision: number[];
  recall: number[];
  f1: number[];
  /** Number of references of each class. */
  support: number[];
}

const AVERAGES: readonly Average[] = ['binary', 'macro', 'micro', 'weighted'];

/** What error messages call the references; computeMetrics receives them as labelIds. */
export type ReferencesName = 'references' | 'labelIds';

/** Validates the input and counts it into a confusion matrix; `where` prefixes error messages. */
export function tally(
  where: string,
  input: ClassificationInput,
  referencesName: ReferencesName = 'references',
): ConfusionMatrix {
  const { references, predictions } = input;
  checkPaired(where, referencesName, references, 'predictions', predictions);
  const labels =
    input.labels === undefined
      ? presentLabels(where, input, referencesName)
      : declaredLabels(where, input.labels);
  const index = new Map(labels.map((label, i) => [label, i]));
  const lookup = (name: string, values: NumericVector, i: number): number => {
    const value = values[i]!;
    const at = index.get(value);
    if (at === undefined) {
      fail(where, `${name}[${i}] = ${value} is not one of the declared labels [${labels.join(', ')}]`);
    }
    return at;
  };
  const matrix = labels.map(() => new Array<number>(labels.length).fill(0));
  for (let i = 0; i < references.length; i++) {
    matrix[lookup(referencesName, references, i)]![lookup('predictions', predictions, i)]! += 1;
  }
  return { labels, matrix };
}

function checkClassId(where: string, name: string, value: number): void {
  if (!Number.isInteger(value)) fail(where, `${name} = ${value} is not an integer class id`);
}

function presentLabels(
  where: string,
  { references, predictions }: ClassificationInput,
  referencesName: ReferencesName,
): number[] {
  const seen = new Set<number>();
  for (const [name, values] of [
    [referencesName, references],
    ['predictions', predictions],
  ] as const) {
    for (let i = 0; i < values.length; i++) {
      checkClassId(where, `${name}[${i}]`, values[i]!);
      seen.add(values[i]!);
    }
  }
  return [...seen].sort((a, b) => a - b);
}

function declaredLabels(where: string, labels: readonly number[]): number[] {
  if (!Array.isArray(labels) || labels.length === 0)
    fail(where, 'labels must be a non-empty array of class ids');
  const seen = new Set<number>();
  labels.forEach((label, i) => {
    if (typeof label !== 'number')
      fail(where, `labels[${i}] is ${typeof label}, expected an integer class id`);
    checkClassId(where, `labels[${i}]`, label);
    if (seen.has(label)) fail(where, `labels[${i}] = ${label} is repeated; class ids must be distinct`);
    seen.add(label);
  });
  return [...labels];
}

/** The confusion matrix, rows = references, columns = predictions (sklearn `confusion_matrix`). */
export function confusionMatrix(input: ClassificationInput): ConfusionMatrix {
  return tally('confusionMatrix', input);
}

/** Fraction of predictions equal to their reference (sklearn `accuracy_score`). */
export function accuracy(input: ClassificationInput): number {
  return accuracyOf(tally('accuracy', input));
}

export function accuracyOf(cm: ConfusionMatrix): number {
  const c = counts(cm);
  return sum(c.tp) / sum(c.actual);
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

interface Counts {
  tp: number[];
  predicted: number[];
  actual: number[];
}

function counts({ matrix }: ConfusionMatrix): Counts {
  const k = matrix.length;
  const c: Counts = { tp: [], predicted: new Array(k).fill(0), actual: new Array(k).fill(0) };
  matrix.forEach((row, i) => {
    c.tp.push(row[i]!);
    row.forEach((count, j) => {
      c.actual[i]! += count;
      c.predicted[j]! += count;
    });
  });
  return c;
}

// sklearn's zero_division default: an ill-defined ratio (nothing predicted / no true samples) scores 0.
const ratio = (num: number, den: number): number => (den === 0 ? 0 : num / den);
// Same operation order as sklearn's fbeta (beta = 1): (1 + 1) * p * r / (p + r), with a zero denominator -> 0.
const harmonic = (p: number, r: number): number => (2 * p * r) / (p + r === 0 ? 1 : p + r);

function scoresOf(c: Counts): { precision: number[]; recall: number[]; f1: number[] } {
  const precision = c.tp.map((tp, i) => ratio(tp, c.predicted[i]!));
  const recall = c.tp.map((tp, i) => ratio(tp, c.actual[i]!));
  return { precision, recall, f1: precision.map((p, i) => harmonic(p, recall[i]!)) };
}

/** Precision, recall, F1 and support of every class (sklearn `precision_recall_fscore_support(average=None)`). */
export function perClassScores(input: ClassificationInput): PerClassScores {
  const cm = tally('perClassScores', input);
  const c = counts(cm);
  return { labels: cm.labels, ...scoresOf(c), support: c.actual };
}

/**
 * Precision, recall and F1 under one averaging (sklearn `precision_recall_fscore_support` with the default
 * zero_division: 0 where a ratio is ill-defined).
 */
export function precisionRecallF1(input: AveragedInput): PrecisionRecallF1 {
  return averagedScores('precisionRecallF1', input);
}

export function precision(input: AveragedInput): number {
  return averagedScores('precision', input).precision;
}

export function recall(input: AveragedInput): number {
  return averagedScores('recall', input).recall;
}

export function f1(input: AveragedInput): number {
  return averagedScores('f1', input).f1;
}

function averagedScores(where: string, input: AveragedInput): PrecisionRecallF1 {
  const average = input.average ?? 'binary';
  if (!AVERAGES.includes(average)) {
    fail(where, `average must be one of ${AVERAGES.map((a) => `'${a}'`).join(', ')}, got ${String(average)}`);
  }
  return averagedScoresOf(
    where,
    tally(where, input),
    average,
    input.posLabel ?? 1,
    input.labels !== undefined,
  );
}

/** Scores of a validated tally; `declared` says whether its labels were given rather than discovered. */
export function averagedScoresOf(
  where: string,
  cm: ConfusionMatrix,
  average: Average,
  posLabel: number,
  declared: boolean,
): PrecisionRecallF1 {
  const c = counts(cm);
  if (average === 'binary') return binaryScores(where, cm, c, posLabel, declared);
  if (average === 'micro') {
    const p = ratio(sum(c.tp), sum(c.predicted));
    const r = ratio(sum(c.tp), sum(c.actual));
    return { precision: p, recall: r, f1: harmonic(p, r) };
  }
  const s = scoresOf(c);
  // Every reference is one of the labels, so the weights (supports) sum to n > 0.
  const weights = average === 'weighted' ? c.actual : undefined;
  return { precision: mean(s.precision, weights), recall: mean(s.recall, weights), f1: mean(s.f1, weights) };
}

function binaryScores(
  where: string,
  { labels }: ConfusionMatrix,
  c: Counts,
  posLabel: number,
  declared: boolean,
): PrecisionRecallF1 {
  if (labels.length > 2) {
    fail(
      where,
      `average 'binary' needs at most two classes but the labels are [${labels.join(', ')}]; ` +
        `use average 'macro', 'micro' or 'weighted'`,
    );
  }
  const at = labels.indexOf(posLabel);
  if (at < 0) {
    // Like sklearn: an absent positive class is only acceptable when the data shows fewer than two classes
    // (e.g. everything negative), and then every score is 0.
    if (labels.length === 2 || declared) {
      fail(where, `posLabel ${posLabel} is not one of the labels [${labels.join(', ')}]`);
    }
    return { precision: 0, recall: 0, f1: 0 };
  }
  const p = ratio(c.tp[at]!, c.predicted[at]!);
  const r = ratio(c.tp[at]!, c.actual[at]!);
  return { precision: p, recall: r, f1: harmonic(p, r) };
}

function mean(values: number[], weights?: number[]): number {
  let num = 0;
  let den = 0;
  values.forEach((v, i) => {
    const w = weights ? weights[i]! : 1;
    num += v * w;
    den += w;
  });
  return num / den;
}

/**
 * Matthews correlation coefficient, binary or multiclass (sklearn `matthews_corrcoef`, same formula and
 * operation order); 0 when either side is constant.
 */
export function matthewsCorrcoef(input: ClassificationInput): number {
  return matthewsOf(tally('matthewsCorrcoef', input));
}

export function matthewsOf(cm: ConfusionMatrix): number {
  const c = counts(cm);
  const n = sum(c.actual);
  let correct = 0;
  let truePred = 0;
  let predPred = 0;
  let trueTrue = 0;
  c.tp.forEach((tp, i) => {
    correct += tp;
    truePred += c.actual[i]! * c.predicted[i]!;
    predPred += c.predicted[i]! * c.predicted[i]!;
    trueTrue += c.actual[i]! * c.actual[i]!;
  });
  const covYtYp = correct * n - truePred;
  const covYpYp = n * n - predPred;
  const covYtYt = n * n - trueTrue;
  return covYpYp * covYtYt === 0 ? 0 : covYtYp / Math.sqrt(covYtYt * covYpYp);
}
