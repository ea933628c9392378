/**
 * run_glue's handling of your own files (`--train_file` / `--validation_file` / `--test_file`): check the
 * text and label columns of every split, infer the label set from train (sorted) or a regression target
 * (non-integer numbers), and encode every split with train's names — all before anything is written.
 */
import { type Column, cell } from './columns.js';
import { Dataset, type DatasetDict } from './dataset.js';
import type { IterableDataset } from './stream.js';
import { DataError, type LabelSpec } from './text-dataset.js';

export interface ClassificationColumns {
  /** One or two text columns (a pair for two). */
  textColumns: readonly string[];
  /** Default `label`. Required in train; a split without it is unlabeled (e.g. test). */
  labelColumn?: string;
  /** A known label scheme (a trained model's): every split is encoded with it and no train split is needed. */
  labels?: LabelSpec;
}

export interface PreparedClassification {
  /** Every split with its text columns and, when labeled, `label` as Int32Array ids or Float32Array targets. */
  splits: DatasetDict;
  labels: LabelSpec;
  /** For config.json: class names by id and back (empty for regression). */
  id2label: Record<string, string>;
  label2id: Record<string, number>;
}

/** A label's number, NaN when it is not one. */
function labelNumber(v: unknown): number {
  return typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
}

/** A label column is a regression target when every value is a number and some are not integers. */
function isRegression(c: Column): boolean {
  let fractional = false;
  for (let i = 0; i < c.length; i++) {
    const x = labelNumber(cell(c, i));
    if (!Number.isFinite(x)) return false;
    if (!Number.isInteger(x)) fractional = true;
  }
  return fractional;
}

/** run_glue's label set: a regression target, or train's distinct values sorted (numerically when numbers). */
function inferLabels(train: Dataset, labelColumn: string): LabelSpec {
  if (isRegression(train.column(labelColumn))) return { kind: 'regression' };
  return { kind: 'classes', names: train.classEncodeColumn(labelColumn).features[labelColumn]!.names };
}

function checkTexts(ds: Dataset, textColumns: readonly string[]): void {
  for (const name of textColumns) {
    const c = ds.column(name);
    for (let i = 0; i < c.length; i++) {
      const v = cell(c, i);
      if (typeof v !== 'string' || v.trim() === '') throw ds.rowError(i, name, 'text is empty');
    }
  }
}

/** Checks and encodes the splits of `dict` (which must have `train`) the way run_glue does. */
export function prepareClassification(
  dict: DatasetDict,
  columns: ClassificationColumns,
): PreparedClassification {
  const { textColumns } = columns;
  const labelColumn = columns.labelColumn ?? 'label';
  if (textColumns.length < 1 || textColumns.length > 2) {
    throw new Error(`expected 1 or 2 text columns, got ${textColumns.length}`);
  }
  const labels = columns.labels ?? inferLabels(dict.get('train'), labelColumn);
  const names = labels.kind === 'classes' ? labels.names : [];
  const splits = dict.each((ds) => {
    checkTexts(ds, textColumns);
    const keep = [...textColumns, ...(ds.columnNames.includes(labelColumn) ? [labelColumn] : [])];
    let out = ds;
    if (keep.includes(labelColumn)) {
      out = ds.castColumn(labelColumn, labels.kind === 'regression' ? 'float32' : { names });
    }
    out = out.removeColumns(out.columnNames.filter((c) => !keep.includes(c)));
    return labelColumn === 'label' || !keep.includes(labelColumn)
      ? out
      : out.renameColumn(labelColumn, 'label');
  });
  return {
    splits,
    labels,
    id2label: Object.fromEntries(names.map((n, i) => [String(i), n])),
    label2id: Object.fromEntries(names.map((n, i) => [n, i])),
  };
}

/** More distinct values than this in a label column that is not a regression target is a mistake. */
const MAX_CLASSES = 10_000;

/**
 * `prepareClassification`'s checks and label inference for a training file read as a stream (every row
 * checked, nothing kept but the distinct labels): the label set, and the number of rows.
 */
export async function scanClassificationStream(
  stream: IterableDataset,
  columns: { textColumns: readonly string[]; labelColumn: string },
): Promise<{ labels: LabelSpec; rows: number }> {
  const { textColumns, labelColumn } = columns;
  const distinct = new Map<string, unknown>();
  let numeric = true;
  let fractional = false;
  let rows = 0;
  for await (const b of stream.batches()) {
    const origin = { file: stream.file, lines: Int32Array.from(b.lines), unit: stream.unit };
    const ds = Dataset.fromDict(b.columns, { origin });
    checkTexts(ds, textColumns);
    const c = ds.column(labelColumn);
    for (let i = 0; i < c.length; i++) {
      const v = cell(c, i);
      if (v === null || v === undefined || String(v).trim() === '')
        throw ds.rowError(i, labelColumn, 'label is empty');
      const x = labelNumber(v);
      if (!Number.isFinite(x)) numeric = false;
      else if (!Number.isInteger(x)) fractional = true;
      if (distinct.size <= MAX_CLASSES) distinct.set(String(v), v);
    }
    rows += c.length;
  }
  if (numeric && fractional) return { labels: { kind: 'regression' }, rows };
  if (distinct.size > MAX_CLASSES) {
    const problem = `column "${labelColumn}": more than ${MAX_CLASSES} distinct labels and not a regression target`;
    throw new DataError(stream.file, 1, problem, stream.unit);
  }
  const names = Dataset.fromDict({ label: [...distinct.values()] }).classEncodeColumn('label').features[
    'label'
  ]!;
  return { labels: { kind: 'classes', names: names.names }, rows };
}
