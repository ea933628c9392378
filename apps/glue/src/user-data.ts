/**
 * Your own files instead of a GLUE task (run_glue's `--train_file`): every split read and checked, the label
 * set inferred from train (sorted) or a regression target, all before anything is written. The run then goes
 * through the GLUE path as a task with your columns and label names, scored like SST-2 (accuracy) or, for a
 * regression target, like STS-B (Pearson / Spearman).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrainOptions } from '@ortrain/cli';
import {
  type Dataset,
  DatasetDict,
  type GlueTask,
  glueTask,
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
  task: GlueTask;
  /** `train`, and `validation` / `test` when given, with `label` encoded. */
  splits: Record<string, Dataset>;
}

/** The task a run on your files goes through: your text columns and label names. */
export function userTask(labels: LabelSpec, textColumns: readonly string[]): GlueTask {
  const regression = labels.kind === 'regression';
  const base = glueTask(regression ? 'stsb' : 'sst2');
  const labelNames = labels.kind === 'classes' ? labels.names : [];
  return {
    ...base,
    textColumns,
    labelNames,
    numLabels: regression ? 1 : labelNames.length,
    splits: ['train', 'validation', 'test'],
  };
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
  return { task: userTask(prepared.labels, textColumns), splits: prepared.splits.splits };
}

/**
 * A file to predict with a model trained on your files: read with the run's columns, labels (when present)
 * encoded with the model's names from config.json.
 */
export async function loadUserFileFor(file: string, runDir: string, columns: UserColumns): Promise<UserData> {
  if (!existsSync(file)) throw new InputError(`--data ${file}: no such file`);
  const config = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')) as {
    id2label?: Record<string, string>;
  };
  const textColumns = textColumnsOf(columns);
  const names = Object.entries(config.id2label ?? {})
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([, n]) => n);
  const labels: LabelSpec = names.length > 1 ? { kind: 'classes', names } : { kind: 'regression' };
  const dict = new DatasetDict({ data: await loadDatasetFile(file) });
  const prepared = prepareClassification(dict, { textColumns, labelColumn: columns.label_column, labels });
  return { task: userTask(labels, textColumns), splits: prepared.splits.splits };
}
