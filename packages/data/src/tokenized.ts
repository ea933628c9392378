/**
 * A split tokenized once into packed typed arrays: all rows' ids back to back (Uint16 when the vocabulary
 * fits, else Int32), token types as Uint8, and row offsets — a few bytes per token instead of JS arrays.
 */
import type { TextDataset } from './dataset.js';
import type { TextTokenizer } from './tokenizer.js';

export interface TokenizedDataset {
  readonly numRows: number;
  /** All rows' input ids, concatenated. */
  readonly inputIds: Uint16Array | Int32Array;
  /** All rows' token type ids, concatenated. */
  readonly tokenTypeIds: Uint8Array;
  /** Row `i` occupies `[offsets[i], offsets[i + 1])`. */
  readonly offsets: Uint32Array;
  readonly labels: Int32Array | Float32Array | null;
  readonly idx: Int32Array;
  readonly numLabels: number;
  readonly maxLength: number;
  readonly padTokenId: number;
  /** Number of tokens of row `i` (special tokens included). */
  length(i: number): number;
}

export interface TokenizeOptions {
  /** Truncate to this many tokens (special tokens included). Default the tokenizer's modelMaxLength. */
  maxSeqLength?: number;
}

class PackedDataset implements TokenizedDataset {
  constructor(
    readonly inputIds: Uint16Array | Int32Array,
    readonly tokenTypeIds: Uint8Array,
    readonly offsets: Uint32Array,
    readonly labels: Int32Array | Float32Array | null,
    readonly idx: Int32Array,
    readonly numLabels: number,
    readonly maxLength: number,
    readonly padTokenId: number,
  ) {}

  get numRows(): number {
    return this.offsets.length - 1;
  }

  length(i: number): number {
    return this.offsets[i + 1]! - this.offsets[i]!;
  }
}

/** Tokenizes every row of `ds` (one or two text columns) with truncation, into packed storage. */
export function tokenizeDataset(
  ds: TextDataset,
  tokenizer: TextTokenizer,
  options: TokenizeOptions = {},
): TokenizedDataset {
  const maxLength = options.maxSeqLength ?? tokenizer.modelMaxLength;
  if (!Number.isInteger(maxLength) || maxLength < tokenizer.numSpecialTokens(ds.texts.length > 1) + 1) {
    throw new Error(`maxSeqLength ${maxLength} leaves no room for text after the special tokens`);
  }
  if (ds.texts.length < 1 || ds.texts.length > 2)
    throw new Error(`expected 1 or 2 text columns, got ${ds.texts.length}`);
  const n = ds.numRows;
  const [colA, colB] = ds.texts as [readonly string[], (readonly string[])?];
  const offsets = new Uint32Array(n + 1);
  // Grow-by-doubling buffers: the total token count is unknown until every row is encoded.
  let ids = new Int32Array(Math.max(1024, n * 32));
  let types = new Uint8Array(ids.length);
  let used = 0;
  for (let i = 0; i < n; i++) {
    const enc = tokenizer.encodeFromIds(
      tokenizer.encodeIds(colA[i]!),
      colB ? tokenizer.encodeIds(colB[i]!) : undefined,
      maxLength,
    );
    const len = enc.inputIds.length;
    if (used + len > ids.length) {
      const grownIds = new Int32Array(Math.max(ids.length * 2, used + len));
      grownIds.set(ids);
      ids = grownIds;
      const grownTypes = new Uint8Array(grownIds.length);
      grownTypes.set(types);
      types = grownTypes;
    }
    ids.set(enc.inputIds, used);
    types.set(enc.tokenTypeIds, used);
    used += len;
    offsets[i + 1] = used;
  }
  const packedIds =
    tokenizer.vocabSize <= 0x10000 ? Uint16Array.from(ids.subarray(0, used)) : ids.slice(0, used);
  return new PackedDataset(
    packedIds,
    types.slice(0, used),
    offsets,
    ds.labels,
    ds.idx,
    ds.numLabels,
    maxLength,
    tokenizer.padTokenId,
  );
}
