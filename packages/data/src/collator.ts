/**
 * Dynamic padding like transformers' DataCollatorWithPadding: each batch is padded to its own longest row
 * (optionally rounded up to a multiple), as int64 tensors ready for onnxruntime.
 */
import { endianness } from 'node:os';
import type { TokenizedDataset } from './tokenized.js';
import type { TextTokenizer } from './tokenizer.js';

export interface Batch {
  /** `[batchSize, seqLength]`. */
  readonly dims: readonly [number, number];
  readonly inputIds: BigInt64Array;
  readonly attentionMask: BigInt64Array;
  readonly tokenTypeIds: BigInt64Array;
  /** int64 class ids, float32 regression targets, or null for unlabeled data. */
  readonly labels: BigInt64Array | Float32Array | null;
  /** Row positions in the dataset this batch was built from. */
  readonly rows: Int32Array;
}

export interface CollatorOptions {
  /** Round the padded length up to a multiple of this (e.g. 8 for tensor cores). */
  padToMultipleOf?: number;
}

const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * Writes non-negative int32-range values into a zeroed BigInt64Array through an Int32 view (low words on
 * little-endian machines), avoiding one BigInt allocation per element.
 */
function int32View(a: BigInt64Array): Int32Array | null {
  return LITTLE_ENDIAN ? new Int32Array(a.buffer, a.byteOffset, a.length * 2) : null;
}

/**
 * `new DataCollatorWithPadding(tokenizer)` pads with the tokenizer's pad id, as transformers' does;
 * `new DataCollatorWithPadding(options?)` pads with each dataset's `padTokenId`.
 */
export class DataCollatorWithPadding {
  private readonly multiple: number;
  /** The tokenizer's pad id, else undefined: the dataset's. */
  private readonly padTokenId: number | undefined;

  constructor(
    tokenizer?: Pick<TextTokenizer, 'padTokenId'> | CollatorOptions,
    options: CollatorOptions = {},
  ) {
    if (tokenizer !== undefined && 'padTokenId' in tokenizer) this.padTokenId = tokenizer.padTokenId;
    else options = tokenizer ?? options;
    this.multiple = options.padToMultipleOf ?? 1;
    if (!Number.isInteger(this.multiple) || this.multiple < 1) {
      throw new Error(`padToMultipleOf must be a positive integer, got ${options.padToMultipleOf}`);
    }
  }

  /** Builds the batch of dataset rows `rows` (in that order). */
  collate(ds: TokenizedDataset, rows: ArrayLike<number>): Batch {
    const b = rows.length;
    if (b === 0) throw new Error('cannot collate an empty batch');
    let longest = 0;
    for (let r = 0; r < b; r++) {
      const i = rows[r]!;
      if (!Number.isInteger(i) || i < 0 || i >= ds.numRows)
        throw new Error(`row ${i} out of range [0, ${ds.numRows})`);
      longest = Math.max(longest, ds.length(i));
    }
    const seq = Math.ceil(longest / this.multiple) * this.multiple;
    const inputIds = new BigInt64Array(b * seq);
    const attentionMask = new BigInt64Array(b * seq);
    const tokenTypeIds = new BigInt64Array(b * seq);
    const ids32 = int32View(inputIds);
    const mask32 = int32View(attentionMask);
    const types32 = int32View(tokenTypeIds);
    const pad = this.padTokenId ?? ds.padTokenId;
    const padBig = BigInt(pad);
    for (let r = 0; r < b; r++) {
      const i = rows[r]!;
      const start = ds.offsets[i]!;
      const len = ds.offsets[i + 1]! - start;
      const base = r * seq;
      if (ids32 && mask32 && types32) {
        for (let t = 0; t < len; t++) {
          const k = 2 * (base + t);
          ids32[k] = ds.inputIds[start + t]!;
          mask32[k] = 1;
          types32[k] = ds.tokenTypeIds[start + t]!;
        }
        for (let t = len; t < seq; t++) ids32[2 * (base + t)] = pad;
      } else {
        for (let t = 0; t < len; t++) {
          inputIds[base + t] = BigInt(ds.inputIds[start + t]!);
          attentionMask[base + t] = 1n;
          tokenTypeIds[base + t] = BigInt(ds.tokenTypeIds[start + t]!);
        }
        for (let t = len; t < seq; t++) inputIds[base + t] = padBig;
      }
    }
    let labels: BigInt64Array | Float32Array | null = null;
    if (ds.labels instanceof Float32Array) {
      const f = new Float32Array(b);
      for (let r = 0; r < b; r++) f[r] = ds.labels[rows[r]!]!;
      labels = f;
    } else if (ds.labels) {
      const l = new BigInt64Array(b);
      for (let r = 0; r < b; r++) l[r] = BigInt(ds.labels[rows[r]!]!);
      labels = l;
    }
    return { dims: [b, seq], inputIds, attentionMask, tokenTypeIds, labels, rows: Int32Array.from(rows) };
  }
}
