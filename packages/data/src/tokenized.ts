/**
 * A split tokenized once into packed typed arrays: all rows' ids back to back (Uint16 when the vocabulary
 * fits, else Int32), token types as Uint8, and row offsets — a few bytes per token instead of JS arrays.
 */
import { RaggedColumn } from './columns.js';
import { type ColumnBatch, Dataset } from './dataset.js';
import type { TextDataset } from './text-dataset.js';
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

export interface TokenizeBatchOptions extends TokenizeOptions {
  /** The one or two text columns to encode (a pair when two). */
  textColumns: readonly string[];
}

/**
 * The course's `tokenize_function` for `dataset.map(fn, { batched: true })`: adds `input_ids` (Uint16Array
 * rows when the vocabulary fits, else Int32Array) and `token_type_ids` (Uint8Array), truncated like
 * `tokenizer(a, b, truncation=True, max_length=...)`; map packs them into ragged columns.
 */
export function tokenizeBatch(
  tokenizer: TextTokenizer,
  options: TokenizeBatchOptions,
): (batch: ColumnBatch) => ColumnBatch {
  const maxLength = options.maxSeqLength ?? tokenizer.modelMaxLength;
  const [a, b, ...rest] = options.textColumns;
  if (a === undefined || rest.length > 0) {
    throw new Error(`expected 1 or 2 text columns, got ${options.textColumns.length}`);
  }
  if (!Number.isInteger(maxLength) || maxLength < tokenizer.numSpecialTokens(b !== undefined) + 1) {
    throw new Error(`maxSeqLength ${maxLength} leaves no room for text after the special tokens`);
  }
  const Ids = tokenizer.vocabSize <= 0x10000 ? Uint16Array : Int32Array;
  return (batch) => {
    const colA = batch[a] as string[];
    const colB = b === undefined ? undefined : (batch[b] as string[]);
    const inputIds: (Uint16Array | Int32Array)[] = [];
    const tokenTypeIds: Uint8Array[] = [];
    for (let i = 0; i < colA.length; i++) {
      const enc = tokenizer.encodeFromIds(
        tokenizer.encodeIds(colA[i]!),
        colB ? tokenizer.encodeIds(colB[i]!) : undefined,
        maxLength,
      );
      inputIds.push(Ids.from(enc.inputIds));
      tokenTypeIds.push(Uint8Array.from(enc.tokenTypeIds));
    }
    return { input_ids: inputIds, token_type_ids: tokenTypeIds };
  };
}

export interface AsTokenizedOptions {
  maxLength: number;
  padTokenId: number;
  /** Default `label`; absent means unlabeled. */
  labelColumn?: string;
  /** Default: the label column's class count, 1 for float labels. */
  numLabels?: number;
}

/** The trainer's view of a mapped dataset: its ragged `input_ids` / `token_type_ids` columns, labels and idx. */
export function asTokenized(ds: Dataset, options: AsTokenizedOptions): TokenizedDataset {
  const flat = ds.flattenIndices();
  const ragged = (name: string) => {
    const c = flat.column(name);
    if (!(c instanceof RaggedColumn)) throw new Error(`column "${name}" is not a tokenized (ragged) column`);
    return c;
  };
  const ids = ragged('input_ids');
  const types = ragged('token_type_ids');
  const labelColumn = options.labelColumn ?? 'label';
  let labels: Int32Array | Float32Array | null = null;
  if (flat.columnNames.includes(labelColumn)) {
    const c = flat.column(labelColumn);
    if (!(c instanceof Int32Array || c instanceof Float32Array)) {
      throw new Error(
        `label column "${labelColumn}" holds raw values: classEncodeColumn or castColumn it first`,
      );
    }
    labels = c;
  }
  const idx = flat.columnNames.includes('idx')
    ? (flat.castColumn('idx', 'int32').column('idx') as Int32Array)
    : Int32Array.from({ length: flat.numRows }, (_, i) => i);
  const names = flat.features[labelColumn]?.names;
  const numLabels = options.numLabels ?? (labels instanceof Float32Array ? 1 : (names?.length ?? 0));
  return new PackedDataset(
    ids.values as Uint16Array | Int32Array,
    types.values as Uint8Array,
    ids.offsets,
    labels,
    idx,
    numLabels,
    options.maxLength,
    options.padTokenId,
  );
}

export interface TokenizeDatasetOptions extends TokenizeOptions {
  /** Text columns of a Dataset (a TextDataset names its own). */
  textColumns?: readonly string[];
  labelColumn?: string;
  numLabels?: number;
}

/** `ds.map(tokenizeBatch(...), { batched: true })` viewed as the trainer's packed TokenizedDataset. */
export function tokenizeDataset(
  ds: TextDataset | Dataset,
  tokenizer: TextTokenizer,
  options: TokenizeDatasetOptions = {},
): TokenizedDataset {
  const data = ds instanceof Dataset ? ds : Dataset.fromTextDataset(ds);
  const textColumns = options.textColumns ?? (ds instanceof Dataset ? undefined : ds.textColumns);
  if (!textColumns) throw new Error('tokenizeDataset: pass textColumns for a Dataset');
  const maxLength = options.maxSeqLength ?? tokenizer.modelMaxLength;
  const mapped = data.map(tokenizeBatch(tokenizer, { textColumns, maxSeqLength: maxLength }), {
    batched: true,
    removeColumns: textColumns,
  });
  return asTokenized(mapped, {
    maxLength,
    padTokenId: tokenizer.padTokenId,
    ...(options.labelColumn === undefined ? {} : { labelColumn: options.labelColumn }),
    numLabels: options.numLabels ?? (ds instanceof Dataset ? undefined : ds.numLabels),
  });
}
