import { readFileSync } from 'node:fs';
import { expect } from 'vitest';

/** A golden number from the fixture; "NaN" stands for NaN, which JSON cannot hold. */
export type Golden = number | 'NaN';

/** Within 1e-12 relative of the sklearn/scipy value (exactly, when that value is 0; NaN when it is NaN). */
export function expectGolden(actual: number, expected: Golden, what: string): void {
  if (expected === 'NaN') {
    expect(actual, what).toBeNaN();
    return;
  }
  const tolerance = 1e-12 * Math.max(Math.abs(actual), Math.abs(expected));
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance);
}

export function expectAllGolden(actual: ArrayLike<number>, expected: readonly Golden[], what: string): void {
  expect(actual.length, `${what} length`).toBe(expected.length);
  expected.forEach((e, i) => {
    expectGolden(actual[i]!, e, `${what}[${i}]`);
  });
}

interface Scores {
  precision: Golden;
  recall: Golden;
  f1: Golden;
}

export interface ClassificationCase {
  name: string;
  references: number[];
  predictions: number[];
  labels?: number[];
  posLabel?: number;
  expected: {
    accuracy: Golden;
    mcc: Golden;
    confusion: { labels: number[]; matrix: number[][] };
    perClass: { labels: number[]; precision: Golden[]; recall: Golden[]; f1: Golden[]; support: number[] };
    macro: Scores;
    micro: Scores;
    weighted: Scores;
    binary?: Scores;
  };
}

export interface CorrelationCase {
  name: string;
  x: number[];
  y: number[];
  pearson: Golden;
  spearman: Golden;
  rankX: number[];
  rankY: number[];
}

export interface LogitsCase {
  name: string;
  shape: [number, number];
  data: number[];
  argmax: number[];
  softmax: number[];
}

export interface GlueCase {
  name: string;
  task: string;
  shape: [number, number];
  logits: number[];
  labelIds: number[];
  expected: Record<string, Golden>;
}

export interface GoldenFixture {
  versions: Record<string, string>;
  classification: ClassificationCase[];
  correlation: CorrelationCase[];
  logits: LogitsCase[];
  glue: GlueCase[];
}

/** Written by scripts/golden.py from sklearn 1.2 / scipy 1.10. */
export const golden: GoldenFixture = JSON.parse(
  readFileSync(new URL('./fixtures/golden.json', import.meta.url), 'utf8'),
);

/** Splits flat row-major values into rows of `cols`. */
export function toRows(data: ArrayLike<number>, cols: number): number[][] {
  return Array.from({ length: data.length / cols }, (_, r) =>
    Array.from(data).slice(r * cols, (r + 1) * cols),
  );
}
