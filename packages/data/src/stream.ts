/**
 * Streaming (`load_dataset(..., streaming=True)`): a CSV, TSV or JSONL file read batch by batch and mapped
 * lazily, so a million-row file is never held as text. `collect()` keeps only what the maps return — after
 * tokenizing, packed ids (a few bytes per token) and labels.
 */
import type { Batch, DataCollatorWithPadding } from './collator.js';
import { ColumnBuilder } from './columns.js';
import { type ColumnBatch, Dataset } from './dataset.js';
import { loadDatasetFile } from './load.js';
import { delimitedRecords, type FileFormat, formatOf, jsonlRecords } from './readers.js';
import { epochIntegers } from './sampler.js';
import { DataError, type LabelSpec } from './text-dataset.js';
import { asTokenized } from './tokenized.js';

/** Rows of a streamed batch as columns, with the source line of each row. */
export interface LineBatch {
  columns: ColumnBatch;
  lines: number[];
}

export interface StreamOptions {
  format?: FileFormat;
  /** Rows per batch. Default 1000. */
  batchSize?: number;
}

async function* csvBatches(path: string, delimiter: ',' | '\t', size: number): AsyncGenerator<LineBatch> {
  let header: string[] | null = null;
  let batch: LineBatch | null = null;
  let rows = 0;
  for await (const { fields, line } of delimitedRecords(path, delimiter)) {
    if (header === null) {
      header = fields;
      continue;
    }
    if (fields.length !== header.length) {
      throw new DataError(path, line, `expected ${header.length} fields, got ${fields.length}`);
    }
    batch ??= { columns: Object.fromEntries(header.map((h) => [h, []])), lines: [] };
    for (let i = 0; i < header.length; i++) batch.columns[header[i]!]!.push(fields[i]);
    batch.lines.push(line);
    rows++;
    if (batch.lines.length === size) {
      yield batch;
      batch = null;
    }
  }
  if (batch) yield batch;
  if (rows === 0) throw new DataError(path, 2, 'no data rows');
}

async function* jsonlBatches(path: string, size: number): AsyncGenerator<LineBatch> {
  let rows: Record<string, unknown>[] = [];
  let lines: number[] = [];
  const flush = (): LineBatch => {
    const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
    const out = { columns: Object.fromEntries(names.map((n) => [n, rows.map((r) => r[n] ?? null)])), lines };
    rows = [];
    lines = [];
    return out;
  };
  for await (const r of jsonlRecords(path)) {
    if ('problem' in r) throw new DataError(path, r.line, r.problem);
    rows.push(r.row);
    lines.push(r.line);
    if (rows.length === size) yield flush();
  }
  if (rows.length > 0) yield flush();
}

/** JSON and parquet have no row stream here: they are loaded whole, then batched. */
async function* loadedBatches(path: string, format: FileFormat, size: number): AsyncGenerator<LineBatch> {
  const ds = await loadDatasetFile(path, format);
  for (let start = 0; start < ds.numRows; start += size) {
    const end = Math.min(start + size, ds.numRows);
    yield {
      columns: ds.batch(start, end),
      lines: Array.from({ length: end - start }, (_, i) => start + i + 1),
    };
  }
}

type BatchFn = (batch: ColumnBatch) => ColumnBatch;

/** A stream's batches for one pass; `epoch` reseeds a shuffle (HF's `set_epoch`). */
type Source = (epoch: number) => AsyncGenerator<LineBatch>;

export interface ShuffleOptions {
  seed: number;
  /** Rows held at once. Default 1000, as HF's `IterableDataset.shuffle`. */
  bufferSize?: number;
}

/**
 * HF's buffer shuffle: fill a buffer, then for each new row yield a random buffered one and put the new row in
 * its place; drain the buffer shuffled at the end. Memory is the buffer, whatever the file's length.
 */
async function* bufferShuffled(
  batches: AsyncGenerator<LineBatch>,
  integer: (n: number) => number,
  bufferSize: number,
  batchSize: number,
): AsyncGenerator<LineBatch> {
  type Row = { values: unknown[]; line: number };
  let names: string[] | null = null;
  const buffer: Row[] = [];
  let out: Row[] = [];
  const flush = (): LineBatch => {
    const rows = out;
    out = [];
    const columns = Object.fromEntries(names!.map((n, c) => [n, rows.map((r) => r.values[c])]));
    return { columns, lines: rows.map((r) => r.line) };
  };
  for await (const b of batches) {
    names ??= Object.keys(b.columns);
    const cols = names.map((n) => b.columns[n]);
    for (let i = 0; i < b.lines.length; i++) {
      const row = { values: cols.map((c) => c?.[i] ?? null), line: b.lines[i]! };
      if (buffer.length < bufferSize) {
        buffer.push(row);
        continue;
      }
      const at = integer(bufferSize);
      out.push(buffer[at]!);
      buffer[at] = row;
      if (out.length === batchSize) yield flush();
    }
  }
  // Fisher–Yates over what is left, then drained in that order.
  for (let i = buffer.length - 1; i > 0; i--) {
    const j = integer(i + 1);
    [buffer[i], buffer[j]] = [buffer[j]!, buffer[i]!];
  }
  for (const row of buffer) {
    out.push(row);
    if (out.length === batchSize) yield flush();
  }
  if (out.length > 0) yield flush();
}

export class IterableDataset {
  private constructor(
    readonly file: string,
    /** What its rows' numbers count: file lines (CSV, TSV, JSONL) or records. */
    readonly unit: 'line' | 'row',
    private readonly source: Source,
    /** Rows per batch the file is read in (and a shuffle yields). */
    readonly batchSize: number,
  ) {}

  static fromFile(path: string, options: StreamOptions = {}): IterableDataset {
    const format = formatOf(path, options.format);
    const size = options.batchSize ?? 1000;
    if (format === 'csv' || format === 'tsv') {
      const delimiter = format === 'csv' ? ',' : '\t';
      return new IterableDataset(path, 'line', () => csvBatches(path, delimiter, size), size);
    }
    if (format === 'jsonl') return new IterableDataset(path, 'line', () => jsonlBatches(path, size), size);
    return new IterableDataset(path, 'row', () => loadedBatches(path, format, size), size);
  }

  /**
   * Rows in a seeded random order through a buffer of `bufferSize` rows (HF's `shuffle(seed, buffer_size)`):
   * pass `epoch` to `batches` for each pass's own order (as HF's `set_epoch`), drawn as the samplers draw.
   */
  shuffle(options: ShuffleOptions): IterableDataset {
    const bufferSize = options.bufferSize ?? 1000;
    if (!Number.isInteger(bufferSize) || bufferSize < 1) {
      throw new Error(`shuffle: bufferSize must be a positive integer, got ${bufferSize}`);
    }
    const { source, batchSize } = this;
    return new IterableDataset(
      this.file,
      this.unit,
      (epoch) => bufferShuffled(source(epoch), epochIntegers(options.seed, epoch), bufferSize, batchSize),
      batchSize,
    );
  }

  /** Applies `fn` to each batch as it streams (always batched); the row count must not change. */
  map(fn: BatchFn, options: { removeColumns?: readonly string[] } = {}): IterableDataset {
    const removed = options.removeColumns ?? [];
    const source = this.source;
    const file = this.file;
    return new IterableDataset(
      file,
      this.unit,
      async function* (epoch) {
        for await (const b of source(epoch)) {
          const out = fn(b.columns);
          const columns: ColumnBatch = { ...b.columns, ...out };
          for (const r of removed) {
            if (!(r in b.columns)) throw new Error(`${file}: no column "${r}" to remove`);
            if (!(r in out)) delete columns[r];
          }
          for (const [k, v] of Object.entries(out)) {
            if (v.length !== b.lines.length) {
              throw new Error(`map: column "${k}" has ${v.length} rows for a batch of ${b.lines.length}`);
            }
          }
          yield { columns, lines: b.lines };
        }
      },
      this.batchSize,
    );
  }

  /** One pass over the stream; `epoch` picks a shuffle's order. */
  async *batches(epoch = 0): AsyncGenerator<LineBatch> {
    yield* this.source(epoch);
  }

  /**
   * Padded training batches of `batchSize` rows from a tokenized stream (`input_ids`, `token_type_ids`, and a
   * `label` column encoded with `labels` — class names or ids, or float targets); only one batch's rows are
   * held at a time. A bad label is a `DataError` naming its file and line.
   */
  async *collated(
    collator: DataCollatorWithPadding,
    options: { batchSize: number; maxLength: number; padTokenId: number; labels?: LabelSpec; epoch?: number },
  ): AsyncGenerator<Batch> {
    const { batchSize, labels } = options;
    let builders = new Map<string, ColumnBuilder>();
    let lines: number[] = [];
    const take = (): Batch => {
      const columns = Object.fromEntries([...builders].map(([k, b]) => [k, b.build()]));
      const origin = { file: this.file, lines: Int32Array.from(lines), unit: this.unit };
      let ds = Dataset.fromDict(columns, { origin });
      if (labels && 'label' in columns) {
        ds = ds.castColumn('label', labels.kind === 'regression' ? 'float32' : { names: labels.names });
      }
      builders = new Map();
      lines = [];
      const tokenized = asTokenized(ds, options);
      return collator.collate(
        tokenized,
        Array.from({ length: tokenized.numRows }, (_, i) => i),
      );
    };
    for await (const b of this.source(options.epoch ?? 0)) {
      for (let i = 0; i < b.lines.length; i++) {
        for (const [k, v] of Object.entries(b.columns)) {
          let builder = builders.get(k);
          if (!builder) builders.set(k, (builder = new ColumnBuilder(k)));
          builder.push(v[i]);
        }
        lines.push(b.lines[i]!);
        if (lines.length === batchSize) yield take();
      }
    }
    if (lines.length > 0) yield take();
  }

  /** Runs the stream into a Dataset (typed-array cells packed into ragged columns), keeping source lines. */
  async collect(): Promise<Dataset> {
    const builders = new Map<string, ColumnBuilder>();
    const lines: number[] = [];
    for await (const b of this.source(0)) {
      for (const [k, values] of Object.entries(b.columns)) {
        let builder = builders.get(k);
        if (!builder) {
          if (lines.length > 0)
            throw new Error(`${this.file}: column "${k}" first appears after row ${lines.length}`);
          builder = new ColumnBuilder(k);
          builders.set(k, builder);
        }
        for (const v of values) builder.push(v);
      }
      for (const l of b.lines) lines.push(l);
    }
    const columns = Object.fromEntries([...builders].map(([k, b]) => [k, b.build()]));
    return Dataset.fromDict(columns, {
      origin: { file: this.file, lines: Int32Array.from(lines), unit: this.unit },
    });
  }
}
