/**
 * The one dataset type every loader returns (GLUE TSV, hub parquet, local parquet/JSONL/CSV), and the
 * row validator they all share so a bad row is reported the same way whatever the source.
 */

/** How labels are interpreted: classes with names, or a single float target (regression). */
export type LabelSpec = { kind: 'classes'; names: readonly string[] } | { kind: 'regression' };

export interface TextDataset {
  /** GLUE task name when loaded through the registry. */
  readonly task?: string;
  readonly split: string;
  /** Where the rows came from (file path or URL), for messages. */
  readonly source: string;
  readonly numRows: number;
  /** Text column names, one or two (HF names for GLUE tasks). */
  readonly textColumns: readonly string[];
  /** Columnar texts: `texts[c][i]` is column `c` of row `i`. */
  readonly texts: readonly (readonly string[])[];
  /** Class ids (Int32Array) or regression targets (Float32Array); null for an unlabeled split. */
  readonly labels: Int32Array | Float32Array | null;
  readonly labelSpec: LabelSpec;
  /** 1 for regression, else the number of classes. */
  readonly numLabels: number;
  /** Example index as the source numbers it (`idx`/`index` column), else the row number. */
  readonly idx: Int32Array;
  /** Rows dropped by `skipBadRows`. */
  readonly skipped: number;
}

export interface RowOptions {
  /** Skip malformed rows (counted, with one warning) instead of throwing. Default false. */
  skipBadRows?: boolean;
  /** Where the skip warning goes. Default `console.warn`. */
  warn?: (message: string) => void;
}

/** A bad row: names the file and (1-based) line, or row number for columnar sources. */
export class DataError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    readonly problem: string,
    readonly unit: 'line' | 'row' = 'line',
  ) {
    super(`${source}:${unit === 'line' ? line : `row ${line}`}: ${problem}`);
    this.name = 'DataError';
  }
}

function numLabelsOf(spec: LabelSpec): number {
  return spec.kind === 'regression' ? 1 : spec.names.length;
}

/**
 * Accumulates validated rows. A row whose label is "absent" (undefined, null, '' or -1) marks the split as
 * unlabeled; mixing labeled and unlabeled rows is an error, since it would silently drop supervision.
 */
export class DatasetBuilder {
  private readonly cols: string[][];
  private readonly labelValues: number[] = [];
  private readonly idxValues: number[] = [];
  private labeled: boolean | undefined;
  private skippedRows = 0;
  private firstSkip = '';
  private readonly nameToId: Map<string, number>;

  constructor(
    private readonly source: string,
    private readonly split: string,
    private readonly textColumns: readonly string[],
    private readonly labelSpec: LabelSpec,
    private readonly options: RowOptions = {},
    private readonly task?: string,
    private readonly unit: 'line' | 'row' = 'line',
  ) {
    this.cols = textColumns.map(() => []);
    this.nameToId = new Map(labelSpec.kind === 'classes' ? labelSpec.names.map((n, i) => [n, i]) : []);
  }

  /** Validates and appends one row; `line` is the 1-based line (or row) number used in errors. */
  add(line: number, texts: readonly unknown[], label: unknown, idx: unknown): void {
    try {
      this.addChecked(line, texts, label, idx);
    } catch (e) {
      this.handle(e);
    }
  }

  /** Reports a structural problem a loader found at `line` (e.g. wrong field count): throws or skips. */
  reject(line: number, problem: string): void {
    this.handle(this.error(line, problem));
  }

  private handle(e: unknown): void {
    if (!(e instanceof DataError) || !this.options.skipBadRows) throw e;
    if (this.skippedRows === 0) this.firstSkip = e.message;
    this.skippedRows++;
  }

  private error(line: number, problem: string): DataError {
    return new DataError(this.source, line, problem, this.unit);
  }

  private addChecked(line: number, texts: readonly unknown[], label: unknown, idx: unknown): void {
    if (texts.length !== this.textColumns.length) {
      throw this.error(line, `expected ${this.textColumns.length} text field(s), got ${texts.length}`);
    }
    const row: string[] = [];
    for (let c = 0; c < texts.length; c++) {
      const t = texts[c];
      if (typeof t !== 'string' || t.trim() === '') {
        throw this.error(line, `empty or missing text in column "${this.textColumns[c]}"`);
      }
      row.push(t);
    }
    const value = this.parseLabel(line, label);
    const hasLabel = value !== undefined;
    if (this.labeled === undefined) this.labeled = hasLabel;
    else if (this.labeled !== hasLabel) {
      throw this.error(line, hasLabel ? 'labeled row in an unlabeled split' : 'missing label (or -1)');
    }
    let index = this.idxValues.length;
    if (idx !== undefined && idx !== null && idx !== '') {
      index = Number(idx);
      if (!Number.isInteger(index)) throw this.error(line, `index "${String(idx)}" is not an integer`);
    }
    for (let c = 0; c < row.length; c++) this.cols[c]!.push(row[c]!);
    if (hasLabel) this.labelValues.push(value);
    this.idxValues.push(index);
  }

  private parseLabel(line: number, raw: unknown): number | undefined {
    if (raw === undefined || raw === null || raw === '') return undefined;
    const asNumber = typeof raw === 'bigint' ? Number(raw) : raw;
    if (asNumber === -1 || asNumber === '-1') return undefined;
    if (this.labelSpec.kind === 'regression') {
      const v = typeof asNumber === 'number' ? asNumber : Number(asNumber);
      if (
        typeof asNumber === 'boolean' ||
        !Number.isFinite(v) ||
        (typeof asNumber === 'string' && asNumber.trim() === '')
      ) {
        throw this.error(line, `regression label "${String(raw)}" is not a finite number`);
      }
      return v;
    }
    const names = this.labelSpec.names;
    if (typeof asNumber === 'number' || (typeof asNumber === 'string' && /^\d+$/.test(asNumber))) {
      const id = Number(asNumber);
      if (Number.isInteger(id) && id >= 0 && id < names.length) return id;
    } else if (typeof asNumber === 'string') {
      const id = this.nameToId.get(asNumber);
      if (id !== undefined) return id;
    }
    throw this.error(
      line,
      `label "${String(raw)}" is not one of the labels (${names.map((n, i) => `${i}=${n}`).join(', ')})`,
    );
  }

  build(): TextDataset {
    if (this.skippedRows > 0) {
      const warn = this.options.warn ?? console.warn;
      warn(`${this.source}: skipped ${this.skippedRows} bad row(s); first: ${this.firstSkip}`);
    }
    const spec = this.labelSpec;
    const labels = !this.labeled
      ? null
      : spec.kind === 'regression'
        ? Float32Array.from(this.labelValues)
        : Int32Array.from(this.labelValues);
    return {
      ...(this.task === undefined ? {} : { task: this.task }),
      split: this.split,
      source: this.source,
      numRows: this.idxValues.length,
      textColumns: [...this.textColumns],
      texts: this.cols,
      labels,
      labelSpec: spec,
      numLabels: numLabelsOf(spec),
      idx: Int32Array.from(this.idxValues),
      skipped: this.skippedRows,
    };
  }
}
