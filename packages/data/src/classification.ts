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
  const train = dict.get('train');
  train.column(labelColumn);
  const regression = isRegression(train.column(labelColumn));
  const encodedTrain = regression
    ? train.castColumn(labelColumn, 'float32')
    : train.classEncodeColumn(labelColumn);
  const names = encodedTrain.features[labelColumn]?.names ?? [];
  const splits = dict.each((ds, split) => {
    checkTexts(ds, textColumns);
    const keep = [...textColumns, ...(ds.columnNames.includes(labelColumn) ? [labelColumn] : [])];
    let out = split === 'train' ? encodedTrain : ds;
    if (split !== 'train' && keep.includes(labelColumn)) {
      out = regression ? ds.castColumn(labelColumn, 'float32') : ds.castColumn(labelColumn, { names });
    }
    out = out.removeColumns(out.columnNames.filter((c) => !keep.includes(c)));
    return labelColumn === 'label' || !keep.includes(labelColumn)
      ? out
      : out.renameColumn(labelColumn, 'label');
  });
  return {
    splits,
    labels: regression ? { kind: 'regression' } : { kind: 'classes', names },
    id2label: Object.fromEntries(names.map((n, i) => [String(i), n])),
    label2id: Object.fromEntries(names.map((n, i) => [n, i])),
  };
}
