/**
 * A columnar table with 🤗 Datasets' operations. `select`, `filter`, `shuffle` and `trainTestSplit` only
 * compose a row-index mapping (no column is copied); `map` writes new columns batch by batch, packing
 * per-row typed arrays (token ids) into ragged columns. Rows loaded from a file remember their line, so a
 * later error (an unseen label in validation) still names file and line.
 */
import { type Column, ColumnBuilder, cell, gather } from './columns.js';
import { permutation } from './sampler.js';
import { DataError, type TextDataset } from './text-dataset.js';

/** A class-label feature: column values are ids into `names`. */
export interface ClassLabel {
  readonly names: readonly string[];
}

/** Where each row came from, for error messages. */
export interface RowOrigin {
  readonly file: string;
  /** 1-based line (or row for columnar files) of each row. */
  readonly lines: Int32Array;
  readonly unit: 'line' | 'row';
}

export type Row = Record<string, unknown>;
export type ColumnBatch = Record<string, unknown[]>;

export interface MapOptions {
  /** Call `fn` with a batch of columns instead of one row. Default false. */
  batched?: boolean;
  /** Rows per batch when batched. Default 1000. */
  batchSize?: number;
  /** Input columns to drop from the result (required when `fn` changes the row count). */
  removeColumns?: readonly string[];
}

type MapFn = ((row: Row, i: number) => Row) | ((batch: ColumnBatch, start: number) => ColumnBatch);

type CastType = 'string' | 'int32' | 'float32' | ClassLabel;

export class Dataset {
  private constructor(
    private readonly cols: ReadonlyMap<string, Column>,
    /** Rows of the underlying columns this dataset shows, in order; null is all of them. */
    private readonly indices: Int32Array | null,
    readonly features: Readonly<Record<string, ClassLabel>>,
    private readonly origin: RowOrigin | null,
  ) {}

  /** A dataset from equal-length columns (`Dataset.from_dict`). */
  static fromDict(
    columns: Record<string, Column>,
    options: { features?: Record<string, ClassLabel>; origin?: RowOrigin } = {},
  ): Dataset {
    const lengths = new Set(Object.values(columns).map((c) => c.length));
    if (lengths.size > 1) throw new Error(`columns differ in length (${[...lengths].join(', ')})`);
    return new Dataset(
      new Map(Object.entries(columns)),
      null,
      options.features ?? {},
      options.origin ?? null,
    );
  }

  /** A loaded GLUE split (or any TextDataset) as columns: its text columns, `label` (with names) and `idx`. */
  static fromTextDataset(text: TextDataset): Dataset {
    const columns: Record<string, Column> = {};
    text.textColumns.forEach((c, i) => {
      columns[c] = text.texts[i]!;
    });
    if (text.labels) columns.label = text.labels;
    columns.idx = text.idx;
    const features: Record<string, ClassLabel> =
      text.labels && text.labelSpec.kind === 'classes' ? { label: { names: text.labelSpec.names } } : {};
    return Dataset.fromDict(columns, { features });
  }

  /** A dataset from row objects (`Dataset.from_list`); columns are the union of the rows' keys. */
  static fromList(rows: readonly Row[]): Dataset {
    const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
    return Dataset.fromDict(Object.fromEntries(names.map((n) => [n, rows.map((r) => r[n] ?? null)])));
  }

  get numRows(): number {
    if (this.indices) return this.indices.length;
    const first = this.cols.values().next();
    return first.done ? 0 : first.value.length;
  }

  get columnNames(): string[] {
    return [...this.cols.keys()];
  }

  /** The file the rows were read from, for messages; undefined for data built in memory. */
  get sourceFile(): string | undefined {
    return this.origin?.file;
  }

  private underlying(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.numRows) {
      throw new RangeError(`row ${i} out of range [0, ${this.numRows})`);
    }
    return this.indices ? this.indices[i]! : i;
  }

  private raw(name: string): Column {
    const c = this.cols.get(name);
    if (c === undefined) {
      const problem = `no column "${name}" (columns: ${this.columnNames.join(', ')})`;
      // A file's columns are named on its first line (CSV/TSV header) or by its records.
      throw this.origin ? new DataError(this.origin.file, 1, problem, this.origin.unit) : new Error(problem);
    }
    return c;
  }

  /** Column `name` in this dataset's row order (a copy only when rows were selected or shuffled). */
  column(name: string): Column {
    const c = this.raw(name);
    return this.indices ? gather(c, this.indices) : c;
  }

  row(i: number): Row {
    const j = this.underlying(i);
    const out: Row = {};
    for (const [name, c] of this.cols) out[name] = cell(c, j);
    return out;
  }

  *[Symbol.iterator](): IterableIterator<Row> {
    for (let i = 0; i < this.numRows; i++) yield this.row(i);
  }

  /** Error at row `i`: `file:line: column "c": problem` when the row came from a file. */
  rowError(i: number, column: string, problem: string): DataError {
    const j = this.underlying(i);
    const what = `column "${column}": ${problem}`;
    if (!this.origin) return new DataError('dataset', i, what, 'row');
    return new DataError(this.origin.file, this.origin.lines[j]!, what, this.origin.unit);
  }

  private with(
    cols: ReadonlyMap<string, Column>,
    indices: Int32Array | null,
    features: Readonly<Record<string, ClassLabel>> = this.features,
  ): Dataset {
    return new Dataset(cols, indices, features, this.origin);
  }

  /** Rows `indices` of this dataset, in that order. */
  select(indices: ArrayLike<number>): Dataset {
    const mapped = new Int32Array(indices.length);
    for (let k = 0; k < indices.length; k++) mapped[k] = this.underlying(indices[k]!);
    return this.with(this.cols, mapped);
  }

  /** Rows for which `keep(row, i)` is true. */
  filter(keep: (row: Row, i: number) => boolean): Dataset {
    const kept: number[] = [];
    for (let i = 0; i < this.numRows; i++) if (keep(this.row(i), i)) kept.push(i);
    return this.select(kept);
  }

  /** A seeded permutation of the rows (the samplers' permutation: the same on every machine). */
  shuffle(options: { seed?: number } = {}): Dataset {
    return this.select(permutation(this.numRows, options.seed ?? 0, 0));
  }

  /** `{ train, test }` with `testSize` rows (an integer) or that fraction (rounded up), shuffled first by default. */
  trainTestSplit(options: { testSize: number; seed?: number; shuffle?: boolean }): DatasetDict {
    const n = this.numRows;
    const t = options.testSize;
    const nTest = t > 0 && t < 1 ? Math.ceil(t * n) : t;
    if (!Number.isInteger(nTest) || nTest < 1 || nTest >= n) {
      throw new Error(`testSize ${t} must leave at least one row on each side of ${n} rows`);
    }
    const order =
      options.shuffle === false
        ? Int32Array.from({ length: n }, (_, i) => i)
        : permutation(n, options.seed ?? 0, 0);
    return new DatasetDict({
      train: this.select(order.subarray(0, n - nTest)),
      test: this.select(order.subarray(n - nTest)),
    });
  }

  renameColumn(from: string, to: string): Dataset {
    this.raw(from);
    if (this.cols.has(to)) throw new Error(`column "${to}" already exists`);
    const cols = new Map([...this.cols].map(([k, v]) => [k === from ? to : k, v]));
    const { [from]: feature, ...rest } = this.features;
    return this.with(cols, this.indices, feature ? { ...rest, [to]: feature } : rest);
  }

  removeColumns(names: readonly string[]): Dataset {
    for (const n of names) this.raw(n);
    const drop = new Set(names);
    const cols = new Map([...this.cols].filter(([k]) => !drop.has(k)));
    const features = Object.fromEntries(Object.entries(this.features).filter(([k]) => !drop.has(k)));
    return this.with(cols, this.indices, features);
  }

  /** Converts a column: to strings, int32 or float32 numbers, or class ids of a ClassLabel (ids or names). */
  castColumn(name: string, type: CastType): Dataset {
    const flat = this.flattenIndices();
    const c = flat.raw(name);
    const n = c.length;
    let out: Column;
    if (type === 'string') out = Array.from({ length: n }, (_, i) => String(cell(c, i)));
    else if (type === 'int32' || type === 'float32') {
      out = type === 'int32' ? new Int32Array(n) : new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = flat.number(i, name, cell(c, i), type === 'int32');
    } else out = flat.classIds(name, c, type);
    const cols = new Map(flat.cols);
    cols.set(name, out);
    const { [name]: _, ...rest } = this.features;
    return flat.with(cols, null, typeof type === 'object' ? { ...rest, [name]: type } : rest);
  }

  /** The same rows with the index mapping applied to every column (`flatten_indices`). */
  flattenIndices(): Dataset {
    const idx = this.indices;
    if (!idx) return this;
    const cols = new Map([...this.cols].map(([k, v]) => [k, gather(v, idx)]));
    const origin = this.origin && { ...this.origin, lines: gather(this.origin.lines, idx) as Int32Array };
    return new Dataset(cols, null, this.features, origin);
  }

  private number(i: number, column: string, v: unknown, integer: boolean): number {
    const x =
      typeof v === 'number'
        ? v
        : typeof v === 'bigint'
          ? Number(v)
          : typeof v === 'string' && v.trim() !== ''
            ? Number(v)
            : Number.NaN;
    if (!Number.isFinite(x) || (integer && !Number.isInteger(x))) {
      throw this.rowError(i, column, `"${String(v)}" is not ${integer ? 'an integer' : 'a number'}`);
    }
    return x;
  }

  private classIds(name: string, c: Column, label: ClassLabel): Int32Array {
    const ids = new Map(label.names.map((x, i) => [x, i]));
    const out = new Int32Array(c.length);
    for (let i = 0; i < c.length; i++) {
      const v = cell(c, i);
      const id = typeof v === 'number' && label.names[v] !== undefined ? v : ids.get(String(v ?? ''));
      if (id === undefined) {
        const what = v === null || v === undefined || v === '' ? 'label is empty' : `label "${String(v)}"`;
        throw this.rowError(i, name, `${what}: not one of the labels [${label.names.join(', ')}]`);
      }
      out[i] = id;
    }
    return out;
  }

  /**
   * Encodes a column of labels as class ids (`class_encode_column`): the names are the distinct values,
   * sorted numerically when they are all numbers, else as strings (run_glue's `label_list.sort()`).
   */
  classEncodeColumn(name: string): Dataset {
    const c = this.column(name);
    const seen = new Set<string>();
    for (let i = 0; i < c.length; i++) {
      const v = cell(c, i);
      if (v === null || v === undefined || String(v).trim() === '')
        throw this.rowError(i, name, 'label is empty');
      seen.add(String(v));
    }
    const names = [...seen];
    const numeric = names.every((x) => Number.isFinite(Number(x)));
    names.sort(numeric ? (a, b) => Number(a) - Number(b) : undefined);
    return this.castColumn(name, { names });
  }

  /**
   * `fn` on each row (or each batch of columns when `batched`); the columns it returns are added or replace
   * columns of the same name. Output is built batch by batch, so only the result is held in memory.
   */
  map(fn: (row: Row, i: number) => Row, options?: MapOptions & { batched?: false }): Dataset;
  map(
    fn: (batch: ColumnBatch, start: number) => ColumnBatch,
    options: MapOptions & { batched: true },
  ): Dataset;
  map(fn: MapFn, options: MapOptions = {}): Dataset {
    const batchSize = options.batched ? (options.batchSize ?? 1000) : 1;
    const removed = new Set(options.removeColumns ?? []);
    for (const r of removed) this.raw(r);
    const builders = new Map<string, ColumnBuilder>();
    let outRows = 0;
    for (let start = 0; start < this.numRows; start += batchSize) {
      const end = Math.min(start + batchSize, this.numRows);
      const out = options.batched
        ? (fn as (b: ColumnBatch, s: number) => ColumnBatch)(this.batch(start, end), start)
        : Object.fromEntries(
            Object.entries((fn as (r: Row, i: number) => Row)(this.row(start), start)).map(([k, v]) => [
              k,
              [v],
            ]),
          );
      const lengths = new Set(Object.values(out).map((v) => v.length));
      const len = lengths.size === 0 ? end - start : [...lengths][0]!;
      if (lengths.size > 1)
        throw new Error(`map: returned columns differ in length (${[...lengths].join(', ')})`);
      const keptOld = this.columnNames.filter((k) => !removed.has(k) && !(k in out));
      if (len !== end - start && keptOld.length > 0) {
        throw new Error(
          `map: returned ${len} rows for ${end - start}; remove the input columns (removeColumns) to change the row count`,
        );
      }
      for (const [k, values] of Object.entries(out)) {
        let b = builders.get(k);
        if (!b) {
          if (outRows > 0) throw new Error(`map: column "${k}" first appeared after row ${outRows}`);
          b = new ColumnBuilder(k);
          builders.set(k, b);
        }
        for (const v of values) b.push(v);
      }
      outRows += len;
    }
    const cols = new Map<string, Column>();
    for (const k of this.columnNames) if (!removed.has(k) && !builders.has(k)) cols.set(k, this.column(k));
    for (const [k, b] of builders) cols.set(k, b.build());
    const features = Object.fromEntries(
      Object.entries(this.features).filter(([k]) => cols.has(k) && !builders.has(k)),
    );
    const origin = outRows === this.numRows ? this.flattenIndices().origin : null;
    return new Dataset(cols, null, features, origin);
  }

  /** Rows `[start, end)` as columns of plain values. */
  batch(start: number, end: number): ColumnBatch {
    const out: ColumnBatch = {};
    for (const [name, c] of this.cols) {
      const values = new Array<unknown>(end - start);
      for (let i = start; i < end; i++) values[i - start] = cell(c, this.underlying(i));
      out[name] = values;
    }
    return out;
  }
}

/** Named splits (`DatasetDict`); operations apply to every split. */
export class DatasetDict {
  constructor(readonly splits: Readonly<Record<string, Dataset>>) {}

  get(split: string): Dataset {
    const ds = this.splits[split];
    if (!ds) throw new Error(`no split "${split}" (splits: ${Object.keys(this.splits).join(', ')})`);
    return ds;
  }

  map(fn: (row: Row, i: number) => Row, options?: MapOptions & { batched?: false }): DatasetDict;
  map(
    fn: (batch: ColumnBatch, start: number) => ColumnBatch,
    options: MapOptions & { batched: true },
  ): DatasetDict;
  map(fn: MapFn, options: MapOptions = {}): DatasetDict {
    return this.each((ds) =>
      ds.map(fn as (row: Row, i: number) => Row, options as MapOptions & { batched?: false }),
    );
  }

  each(op: (ds: Dataset, split: string) => Dataset): DatasetDict {
    return new DatasetDict(Object.fromEntries(Object.entries(this.splits).map(([k, ds]) => [k, op(ds, k)])));
  }
}
