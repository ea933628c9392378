/**
 * A split tokenized once into packed typed arrays: all rows' ids back to back (Uint16 when the vocabulary
 * fits, else Int32), token types as Uint8, and row offsets — a few bytes per token instead of JS arrays.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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

/** Identifies a dataset's content (texts, labels, indices, label scheme) for cache keys. */
export function datasetFingerprint(ds: TextDataset): string {
  const h = createHash('sha256');
  h.update(JSON.stringify([ds.textColumns, ds.labelSpec, ds.numRows]));
  for (const col of ds.texts) {
    for (const t of col) h.update(t).update('\u0000');
  }
  if (ds.labels) h.update(new Uint8Array(ds.labels.buffer, ds.labels.byteOffset, ds.labels.byteLength));
  h.update(new Uint8Array(ds.idx.buffer, ds.idx.byteOffset, ds.idx.byteLength));
  return h.digest('hex');
}

const MAGIC = 'ORTOK001';

type Section = Uint32Array | Uint16Array | Int32Array | Uint8Array | Float32Array;
const CTORS = { Uint32Array, Uint16Array, Int32Array, Uint8Array, Float32Array } as const;
type CtorName = keyof typeof CTORS;

/**
 * Writes a tokenized split as one binary file: magic, a JSON header, then the typed arrays, each
 * 8-byte aligned so loading is a copy per section.
 */
export async function saveTokenized(ds: TokenizedDataset, path: string): Promise<void> {
  const sections: [string, Section][] = [
    ['offsets', ds.offsets],
    ['inputIds', ds.inputIds],
    ['tokenTypeIds', ds.tokenTypeIds],
    ['idx', ds.idx],
  ];
  if (ds.labels) sections.push(['labels', ds.labels]);
  const header = Buffer.from(
    JSON.stringify({
      numLabels: ds.numLabels,
      maxLength: ds.maxLength,
      padTokenId: ds.padTokenId,
      sections: sections.map(([name, a]) => ({ name, type: a.constructor.name, length: a.length })),
    }),
  );
  const align = (n: number) => Math.ceil(n / 8) * 8;
  const parts: Uint8Array[] = [
    Buffer.from(MAGIC),
    new Uint8Array(new Uint32Array([header.length]).buffer),
    header,
  ];
  let size = MAGIC.length + 4 + header.length;
  parts.push(new Uint8Array(align(size) - size));
  size = align(size);
  for (const [, a] of sections) {
    parts.push(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    parts.push(new Uint8Array(align(a.byteLength) - a.byteLength));
  }
  const tmp = `${path}.part-${process.pid}`;
  await writeFile(tmp, Buffer.concat(parts));
  await rename(tmp, path);
}

/** Reads a file written by saveTokenized. */
export async function loadTokenized(path: string): Promise<TokenizedDataset> {
  const buf = await readFile(path);
  if (buf.subarray(0, MAGIC.length).toString() !== MAGIC)
    throw new Error(`${path}: not an ortrain tokenized file`);
  const headerLength = buf.readUInt32LE(MAGIC.length);
  const header = JSON.parse(buf.subarray(MAGIC.length + 4, MAGIC.length + 4 + headerLength).toString()) as {
    numLabels: number;
    maxLength: number;
    padTokenId: number;
    sections: { name: string; type: CtorName; length: number }[];
  };
  const align = (n: number) => Math.ceil(n / 8) * 8;
  let at = align(MAGIC.length + 4 + headerLength);
  const got = new Map<string, Section>();
  for (const { name, type, length } of header.sections) {
    const Ctor = CTORS[type];
    if (!Ctor) throw new Error(`${path}: unknown section type ${type}`);
    const bytes = length * Ctor.BYTES_PER_ELEMENT;
    if (at + bytes > buf.length) throw new Error(`${path}: truncated file (section ${name})`);
    const copy = new Uint8Array(bytes);
    copy.set(buf.subarray(at, at + bytes));
    got.set(name, new Ctor(copy.buffer));
    at += align(bytes);
  }
  return new PackedDataset(
    got.get('inputIds') as Uint16Array | Int32Array,
    got.get('tokenTypeIds') as Uint8Array,
    got.get('offsets') as Uint32Array,
    (got.get('labels') as Int32Array | Float32Array | undefined) ?? null,
    got.get('idx') as Int32Array,
    header.numLabels,
    header.maxLength,
    header.padTokenId,
  );
}

/**
 * tokenizeDataset, cached on disk in `cacheDir` under a key of (tokenizer, dataset content, max length):
 * the first call tokenizes and saves, later calls (any process) load the packed arrays.
 */
export async function tokenizeDatasetCached(
  ds: TextDataset,
  tokenizer: TextTokenizer,
  options: TokenizeOptions & { cacheDir: string },
): Promise<TokenizedDataset> {
  const maxLength = options.maxSeqLength ?? tokenizer.modelMaxLength;
  const key = createHash('sha256')
    .update(`${MAGIC}|${tokenizer.fingerprint}|${datasetFingerprint(ds)}|${maxLength}`)
    .digest('hex')
    .slice(0, 32);
  const path = join(options.cacheDir, `${key}.ortok`);
  if (existsSync(path)) return loadTokenized(path);
  const tokenized = tokenizeDataset(ds, tokenizer, { maxSeqLength: maxLength });
  await mkdir(options.cacheDir, { recursive: true });
  await saveTokenized(tokenized, path);
  return tokenized;
}
