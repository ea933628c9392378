/**
 * Your own files instead of a GLUE task (run_glue's `--train_file`): every split read and checked, the label
 * set inferred from train (sorted) or a regression target, all before anything is written. The run's task is
 * a `files` task named after the files, scored as run_glue scores them (accuracy and F1, or mse, Pearson and
 * Spearman for a regression target).
 */
import { existsSync } from 'node:fs';
import type { TrainOptions } from '@ortrain/cli';
import {
  type ClassificationTask,
  type Dataset,
  DatasetDict,
  filesTask,
  filesTaskName,
  type LabelSpec,
  loadDatasetFile,
  prepareClassification,
} from '@ortrain/data';
import { InputError } from './resolve.js';

/** What train_args.json records of a run on your own files, for predict. */
export interface UserColumns {
  text_column: string;
  text_pair_column?: string;
  label_column: string;
}

export interface UserData {
  task: ClassificationTask;
  /** `train`, and `validation` / `test` when given, with `label` encoded. */
  splits: Record<string, Dataset>;
}

export function textColumnsOf(o: UserColumns): string[] {
  return o.text_pair_column === undefined ? [o.text_column] : [o.text_column, o.text_pair_column];
}

/** Reads `--train-file` (and `--validation-file`, `--test-file`) into checked, label-encoded splits. */
export async function loadUserFiles(o: TrainOptions): Promise<UserData> {
  if (o.data !== undefined) throw new InputError('--data and --train-file name two datasets: pass one');
  const files: Record<string, string | undefined> = {
    train: o.train_file,
    validation: o.validation_file,
    test: o.test_file,
  };
  const loaded: Record<string, Dataset> = {};
  for (const [split, file] of Object.entries(files)) {
    if (file === undefined) continue;
    if (!existsSync(file)) throw new InputError(`--${split}-file ${file}: no such file`);
    loaded[split] = await loadDatasetFile(file);
  }
  const textColumns = textColumnsOf(o);
  const prepared = prepareClassification(new DatasetDict(loaded), {
    textColumns,
    labelColumn: o.label_column,
  });
  const task = filesTask(filesTaskName(o.train_file!), textColumns, prepared.labels);
  return { task, splits: prepared.splits.splits };
}

/**
 * One file to predict or evaluate with a trained model: read with `columns`, labels (when the file has the
 * label column; `labelled` requires it) encoded with the task's names, or as its regression target.
 */
export async function loadUserFile(
  file: string,
  task: ClassificationTask,
  columns: UserColumns,
  labelled: boolean,
): Promise<Dataset> {
  if (!existsSync(file)) throw new InputError(`--data ${file}: no such file`);
  const labels: LabelSpec = task.isRegression
    ? { kind: 'regression' }
    : { kind: 'classes', names: task.labelNames };
  const data = await loadDatasetFile(file);
  if (labelled && !data.columnNames.includes(columns.label_column)) {
    throw new InputError(
      `${file}:1: no label column "${columns.label_column}" to evaluate against (columns: ` +
        `${data.columnNames.join(', ')}); name it with --label-column, or use pnpm predict`,
    );
  }
  const textColumns = textColumnsOf(columns);
  if (textColumns.length !== task.textColumns.length) {
    throw new InputError(
      `--data ${file}: the model reads ${task.textColumns.length} text column(s) (${task.textColumns.join(', ')}), ` +
        `got ${textColumns.join(', ')}`,
    );
  }
  const dict = new DatasetDict({ data });
  const prepared = prepareClassification(dict, { textColumns, labelColumn: columns.label_column, labels });
  // The file's text columns under the task's names, which the tokenizing reads.
  return textColumns.reduce(
    (ds, c, i) => (c === task.textColumns[i] ? ds : ds.renameColumn(c, task.textColumns[i]!)),
    prepared.splits.get('data'),
  );
}
