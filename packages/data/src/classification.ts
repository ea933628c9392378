/**
 * run_glue's handling of your own files (`--train_file` / `--validation_file` / `--test_file`): check the
 * text and label columns of every split, infer the label set from train (sorted) or a regression target
 * (non-integer numbers), and encode every split with train's names — all before anything is written.
 */
import { type Column, cell } from './columns.js';
import type { Dataset, DatasetDict } from './dataset.js';
import type { LabelSpec } from './text-dataset.js';

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

/** A label column is a regression target when every value is a number and some are not integers. */
function isRegression(c: Column): boolean {
  let fractional = false;
  for (let i = 0; i < c.length; i++) {
    const v = cell(c, i);
    const x = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
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
