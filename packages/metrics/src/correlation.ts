import { checkPaired, checkVector, fail, type NumericVector } from './validate.js';

/**
 * 1-based ranks with ties given the average of the ranks they span (scipy `rankdata(method='average')`).
 */
export function rankData(values: NumericVector): Float64Array {
  checkVector('rankData', 'values', values);
  return averageRanks(values);
}

function averageRanks(values: NumericVector): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const ranks = new Float64Array(n);
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && values[order[end]!] === values[order[start]!]) end++;
    // Positions start..end-1 hold equal values: ranks start+1..end, whose mean is (start + 1 + end) / 2.
    const rank = (start + 1 + end) / 2;
    for (let i = start; i < end; i++) ranks[order[i]!] = rank;
    start = end;
  }
  return ranks;
}

/**
 * Pearson's r (scipy `pearsonr(x, y)[0]`, same algorithm: centre, normalise, dot, clip to [-1, 1]).
 * NaN when either vector is constant, as scipy; at least two pairs are required.
 */
export function pearson(x: NumericVector, y: NumericVector): number {
  checkPairs('pearson', 'x', x, 'y', y);
  return pearsonOf(x, y);
}

/** Spearman's rho: Pearson's r of the average ranks (scipy `spearmanr(x, y)[0]`); NaN for constant input. */
export function spearman(x: NumericVector, y: NumericVector): number {
  checkPairs('spearman', 'x', x, 'y', y);
  return spearmanOf(x, y);
}

/** Validates two vectors to correlate; `where` and the names go into error messages. */
export function checkPairs(where: string, xName: string, x: unknown, yName: string, y: unknown): void {
  checkPaired(where, xName, x, yName, y);
  if ((x as NumericVector).length < 2)
    fail(where, `a correlation needs at least 2 (${xName}, ${yName}) pairs, got 1`);
}

/** Mean squared error (sklearn `mean_squared_error`, evaluate's `mse`). */
export function meanSquaredError(predictions: NumericVector, references: NumericVector): number {
  checkPaired('meanSquaredError', 'predictions', predictions, 'references', references);
  return meanSquaredErrorOf(predictions, references);
}

export function meanSquaredErrorOf(predictions: NumericVector, references: NumericVector): number {
  let sum = 0;
  for (let i = 0; i < predictions.length; i++) sum += (predictions[i]! - references[i]!) ** 2;
  return sum / predictions.length;
}

export function spearmanOf(x: NumericVector, y: NumericVector): number {
  return pearsonOf(averageRanks(x), averageRanks(y));
}

export function pearsonOf(x: NumericVector, y: NumericVector): number {
  const n = x.length;
  if (isConstant(x) || isConstant(y)) return Number.NaN;
  // scipy special-cases two points: the line through them has slope sign(dx) * sign(dy), exactly.
  if (n === 2) return Math.sign(x[1]! - x[0]!) * Math.sign(y[1]! - y[0]!);
  const xm = centred(x);
  const ym = centred(y);
  const nx = norm(xm);
  const ny = norm(ym);
  let r = 0;
  for (let i = 0; i < n; i++) r += (xm[i]! / nx) * (ym[i]! / ny);
  return Math.max(Math.min(r, 1), -1);
}

function isConstant(v: NumericVector): boolean {
  for (let i = 1; i < v.length; i++) if (v[i] !== v[0]) return false;
  return true;
}

function centred(v: NumericVector): Float64Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]!;
  const mean = sum / v.length;
  return Float64Array.from(v, (value) => value - mean);
}

/** Euclidean norm, scaled by the largest magnitude so squares of huge or tiny values cannot over/underflow. */
function norm(v: Float64Array): number {
  let scale = 0;
  for (const value of v) scale = Math.max(scale, Math.abs(value));
  if (scale === 0) return 0;
  let sum = 0;
  for (const value of v) sum += (value / scale) ** 2;
  return scale * Math.sqrt(sum);
}
