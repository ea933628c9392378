import { checkNumber, fail, type NumericVector } from './validate.js';

/** Model outputs of shape [n, numLabels], row-major in one flat array (e.g. an ONNX Runtime tensor's data). */
export interface FlatLogits {
  data: NumericVector;
  shape: readonly number[];
}

/** Logits as one row per example (`number[][]`) or as a flat array plus shape. */
export type Logits = readonly NumericVector[] | FlatLogits;

/** Logits validated into a flat, row-major view. */
export interface LogitsView {
  data: NumericVector;
  rows: number;
  cols: number;
}

/** Validates logits (rectangular, non-empty, finite) and views them as flat rows; rows are not copied when flat. */
export function readLogits(where: string, logits: Logits): LogitsView {
  if (Array.isArray(logits)) return readRows(where, logits as readonly NumericVector[]);
  if (logits === null || typeof logits !== 'object' || !('data' in logits) || !('shape' in logits)) {
    fail(where, 'logits must be number[][] or { data, shape: [n, numLabels] }');
  }
  const { data, shape } = logits;
  if (!Array.isArray(shape) || shape.length !== 2 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    fail(where, `logits.shape must be [n, numLabels] with positive integers, got ${JSON.stringify(shape)}`);
  }
  const [rows, cols] = shape as [number, number];
  if (data === null || typeof data !== 'object' || typeof data.length !== 'number') {
    fail(where, 'logits.data must be an array or typed array of numbers');
  }
  if (data.length !== rows * cols) {
    fail(where, `logits.data has ${data.length} values but shape [${rows}, ${cols}] needs ${rows * cols}`);
  }
  for (let i = 0; i < data.length; i++) {
    checkNumber(where, `logits.data[${i}] (row ${Math.floor(i / cols)}, column ${i % cols})`, data[i]);
  }
  return { data, rows, cols };
}

function readRows(where: string, rows: readonly NumericVector[]): LogitsView {
  if (rows.length === 0) fail(where, 'logits is empty');
  const cols = rows[0]?.length;
  if (typeof cols !== 'number' || cols === 0) fail(where, 'logits[0] must be a non-empty array of numbers');
  const data = new Float64Array(rows.length * cols);
  rows.forEach((row, r) => {
    if (row?.length !== cols) {
      fail(
        where,
        `logits[${r}] has ${row?.length ?? 'no'} values but logits[0] has ${cols}; rows must match`,
      );
    }
    for (let c = 0; c < cols; c++) {
      checkNumber(where, `logits[${r}][${c}]`, row[c]);
      data[r * cols + c] = row[c]!;
    }
  });
  return { data, rows: rows.length, cols };
}

/** Index of the largest logit of each row; the first one wins a tie (numpy `argmax(axis=-1)`). */
export function argmax(logits: Logits): number[] {
  return argmaxRows(readLogits('argmax', logits));
}

export function argmaxRows({ data, rows, cols }: LogitsView): number[] {
  const out = new Array<number>(rows);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let best = 0;
    for (let c = 1; c < cols; c++) if (data[base + c]! > data[base + best]!) best = c;
    out[r] = best;
  }
  return out;
}

/**
 * Row-wise softmax in float64, stable for large logits (the row maximum is subtracted before exp, as scipy's
 * `softmax`). Returns the same layout it was given: rows for rows, `{ data, shape }` for flat input.
 */
export function softmax(logits: readonly NumericVector[]): number[][];
export function softmax(logits: FlatLogits): { data: Float64Array; shape: [number, number] };
export function softmax(logits: Logits): number[][] | { data: Float64Array; shape: [number, number] } {
  const { data, rows, cols } = readLogits('softmax', logits);
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < cols; c++) max = Math.max(max, data[base + c]!);
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += out[base + c] = Math.exp(data[base + c]! - max);
    for (let c = 0; c < cols; c++) out[base + c]! /= sum;
  }
  if (!Array.isArray(logits)) return { data: out, shape: [rows, cols] };
  return Array.from({ length: rows }, (_, r) => Array.from(out.subarray(r * cols, (r + 1) * cols)));
}

/** The single output of a regression head, shape [n, 1] -> n values (numpy `squeeze(axis=-1)`). */
export function squeezeLogits(logits: Logits): number[] {
  return squeezeRows('squeezeLogits', readLogits('squeezeLogits', logits));
}

export function squeezeRows(where: string, { data, rows, cols }: LogitsView): number[] {
  if (cols !== 1) fail(where, `expected regression outputs of shape [n, 1], got [${rows}, ${cols}]`);
  return Array.from(data);
}
