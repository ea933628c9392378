import { readFileSync } from 'node:fs';
import type { Batch } from '@ortrain/data';
import { mulberry32 } from '@ortrain/data';
import { VOCAB_SIZE } from './geometry.js';

const CLS = 101;
const SEP = 102;
/** First id after bert-base-uncased's special and unused tokens. */
const FIRST_WORD = 1000;

/**
 * A fixed-length sentence-pair batch: `[CLS] a [SEP] b [SEP]` with random word ids, no padding, token type 1
 * on the second segment, random binary labels. Deterministic in `seed`.
 */
export function syntheticBatch(batchSize: number, seqLen: number, seed = 0): Batch {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`batch size must be >= 1, got ${batchSize}`);
  if (!Number.isInteger(seqLen) || seqLen < 3) throw new Error(`sequence length must be >= 3, got ${seqLen}`);
  const next = mulberry32(seed);
  const n = batchSize * seqLen;
  const inputIds = new BigInt64Array(n);
  const tokenTypeIds = new BigInt64Array(n);
  const mid = seqLen >> 1;
  for (let r = 0; r < batchSize; r++) {
    for (let t = 0; t < seqLen; t++) {
      const id =
        t === 0
          ? CLS
          : t === mid || t === seqLen - 1
            ? SEP
            : FIRST_WORD + (next() % (VOCAB_SIZE - FIRST_WORD));
      inputIds[r * seqLen + t] = BigInt(id);
      tokenTypeIds[r * seqLen + t] = t > mid ? 1n : 0n;
    }
  }
  return {
    dims: [batchSize, seqLen],
    inputIds,
    attentionMask: new BigInt64Array(n).fill(1n),
    tokenTypeIds,
    labels: BigInt64Array.from({ length: batchSize }, () => BigInt(next() & 1)),
    rows: Int32Array.from({ length: batchSize }, (_, i) => i),
  };
}

/** The JSON the PyTorch script reads: the same batches, as plain number arrays. */
export interface BatchesFile {
  batches: {
    dims: [number, number];
    input_ids: number[];
    attention_mask: number[];
    token_type_ids: number[];
    labels: number[];
  }[];
}

export function batchesFile(batches: readonly Batch[]): BatchesFile {
  return {
    batches: batches.map((b) => {
      if (!(b.labels instanceof BigInt64Array))
        throw new Error('the PyTorch comparison needs class-id labels');
      return {
        dims: [b.dims[0], b.dims[1]],
        input_ids: Array.from(b.inputIds, Number),
        attention_mask: Array.from(b.attentionMask, Number),
        token_type_ids: Array.from(b.tokenTypeIds, Number),
        labels: Array.from(b.labels, Number),
      };
    }),
  };
}

/** The batches of a {@link batchesFile}, as the trainer takes them. */
export function readBatchesFile(path: string): Batch[] {
  const file = JSON.parse(readFileSync(path, 'utf8')) as BatchesFile;
  return file.batches.map((b, i) => {
    const n = b.dims[0] * b.dims[1];
    for (const k of ['input_ids', 'attention_mask', 'token_type_ids'] as const)
      if (b[k].length !== n)
        throw new Error(`${path}: batch ${i}: ${k} has ${b[k].length} ids, dims say ${n}`);
    const ids = (xs: number[]) => BigInt64Array.from(xs, BigInt);
    return {
      dims: [b.dims[0], b.dims[1]],
      inputIds: ids(b.input_ids),
      attentionMask: ids(b.attention_mask),
      tokenTypeIds: ids(b.token_type_ids),
      labels: ids(b.labels),
      rows: Int32Array.from({ length: b.dims[0] }, (_, r) => r),
    };
  });
}

/** `count` batch indices spread evenly over `total` (a stratified sample of an epoch). */
export function evenlySpaced(total: number, count: number): number[] {
  if (count >= total) return Array.from({ length: total }, (_, i) => i);
  return Array.from({ length: count }, (_, i) => Math.floor(((i + 0.5) * total) / count));
}
