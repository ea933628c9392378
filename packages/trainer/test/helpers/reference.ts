import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TokenizedDataset } from '@ortrain/data';

/**
 * The artifacts package's PyTorch reference (packages/artifacts/scripts/make_fixtures.py): a small HF-style
 * BERT trained with dropout 0 on fixed, dynamically padded batches.
 */
export const FIXTURES = join(artifactsPackage(dirname(fileURLToPath(import.meta.url))), 'test', 'fixtures');

/** The @ortrain/artifacts package folder as this package resolves it (also from compiled copies of this file). */
function artifactsPackage(from: string): string {
  for (let d = from; d !== dirname(d); d = dirname(d)) {
    const candidate = join(d, 'node_modules', '@ortrain', 'artifacts');
    if (existsSync(candidate)) return realpathSync(candidate);
  }
  throw new Error(`@ortrain/artifacts not found above ${from}`);
}

export interface RefBatch {
  shape: [number, number];
  input_ids: number[];
  attention_mask: number[];
  token_type_ids: number[];
  labels: number[];
}
export interface RefRun {
  lr: number;
  warmup: number;
  steps: number;
  accumulation: number;
  max_grad_norm: number;
  weight_decay: number;
  learning_rates: number[];
  micro_losses: number[];
  grad_norms: number[];
  logits_after: number[];
}
export interface Reference {
  train_batches: RefBatch[];
  regression_labels: number[][];
  regression_head: Record<string, { shape: number[]; data: number[] }>;
  eval_batch: RefBatch;
  logits_before: { classification: number[]; regression: number[] };
  runs: { classification: RefRun; accumulation: RefRun; regression: RefRun };
}

export const reference: Reference = JSON.parse(readFileSync(join(FIXTURES, 'reference.json'), 'utf8'));

/**
 * A dataset whose rows, collated by DataCollatorWithPadding in order, rebuild the reference batches exactly:
 * each row is cut to its attention-mask length and the batch's first row always has the full length.
 */
export function datasetOf(batches: RefBatch[], labels?: number[][]): TokenizedDataset {
  const ids: number[] = [];
  const types: number[] = [];
  const offsets = [0];
  const rowLabels: number[] = [];
  batches.forEach((b, bi) => {
    const [rows, seq] = b.shape;
    for (let r = 0; r < rows; r++) {
      let n = 0;
      while (n < seq && b.attention_mask[r * seq + n] === 1) n++;
      ids.push(...b.input_ids.slice(r * seq, r * seq + n));
      types.push(...b.token_type_ids.slice(r * seq, r * seq + n));
      offsets.push(ids.length);
      rowLabels.push((labels ? labels[bi]! : b.labels)[r]!);
    }
  });
  const off = Uint32Array.from(offsets);
  const regression = labels !== undefined;
  return {
    numRows: off.length - 1,
    inputIds: Int32Array.from(ids),
    tokenTypeIds: Uint8Array.from(types),
    offsets: off,
    labels: regression ? Float32Array.from(rowLabels) : Int32Array.from(rowLabels),
    idx: Int32Array.from({ length: off.length - 1 }, (_, i) => i),
    numLabels: regression ? 1 : 2,
    maxLength: 64,
    padTokenId: 0,
    length: (i: number) => off[i + 1]! - off[i]!,
  };
}

export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++)
    m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(b[i]!), 1e-6));
  return a.length === b.length ? m : Number.POSITIVE_INFINITY;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return a.length === b.length ? m : Number.POSITIVE_INFINITY;
}
