/**
 * Streaming (`load_dataset(..., streaming=True)`): a CSV, TSV or JSONL file read batch by batch and mapped
 * lazily, so a million-row file is never held as text. `collect()` keeps only what the maps return — after
 * tokenizing, packed ids (a few bytes per token) and labels.
 */
import { ColumnBuilder } from './columns.js';
import { type ColumnBatch, Dataset } from './dataset.js';
import { loadDatasetFile } from './load.js';
import { delimitedRecords, type FileFormat, formatOf, jsonlRecords } from './readers.js';
import { DataError } from './text-dataset.js';

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

export class IterableDataset {
  private constructor(
    readonly file: string,
    private readonly unit: 'line' | 'row',
    private readonly source: () => AsyncGenerator<LineBatch>,
  ) {}

  static fromFile(path: string, options: StreamOptions = {}): IterableDataset {
    const format = formatOf(path, options.format);
    const size = options.batchSize ?? 1000;
    if (format === 'csv' || format === 'tsv') {
      return new IterableDataset(path, 'line', () => csvBatches(path, format === 'csv' ? ',' : '\t', size));
    }
    if (format === 'jsonl') return new IterableDataset(path, 'line', () => jsonlBatches(path, size));
    return new IterableDataset(path, 'row', () => loadedBatches(path, format, size));
  }

  /** Applies `fn` to each batch as it streams (always batched); the row count must not change. */
  map(fn: BatchFn, options: { removeColumns?: readonly string[] } = {}): IterableDataset {
    const removed = options.removeColumns ?? [];
    const source = this.source;
    const file = this.file;
    return new IterableDataset(file, this.unit, async function* () {
      for await (const b of source()) {
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
    });
  }

  async *batches(): AsyncGenerator<LineBatch> {
    yield* this.source();
  }

  /** Runs the stream into a Dataset (typed-array cells packed into ragged columns), keeping source lines. */
  async collect(): Promise<Dataset> {
    const builders = new Map<string, ColumnBuilder>();
    const lines: number[] = [];
    for await (const b of this.source()) {
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
