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
  DataCollatorWithPadding,
  type Dataset,
  DatasetDict,
  filesTask,
  filesTaskName,
  IterableDataset,
  type LabelSpec,
  loadDatasetFile,
  prepareClassification,
  scanClassificationStream,
  type TextTokenizer,
  tokenizeBatch,
} from '@ortrain/data';
import type { StreamedDataset } from '@ortrain/trainer';
import { InputError } from './resolve.js';

/** What train_args.json records of a run on your own files, for predict. */
export interface UserColumns {
  text_column: string;
  text_pair_column?: string;
  label_column: string;
}

export interface UserData {
  task: ClassificationTask;
  /** `train` (unless streamed), and `validation` / `test` when given, with `label` encoded. */
  splits: Record<string, Dataset>;
  /** `--streaming`: the training file, checked row by row and read again as training goes. */
  trainStream?: {
    file: IterableDataset;
    rows: number;
    labelColumn: string;
    /** The shuffle's seed (data_seed, else seed); undefined with --no-shuffle. */
    shuffleSeed?: number;
  };
}

export function textColumnsOf(o: UserColumns): string[] {
  return o.text_pair_column === undefined ? [o.text_column] : [o.text_column, o.text_pair_column];
}

/** `--streaming`: the training file checked row by row and its labels inferred, in one streamed pass. */
async function scanTrainStream(
  o: TrainOptions,
  textColumns: readonly string[],
): Promise<{ trainStream: NonNullable<UserData['trainStream']>; labels: LabelSpec }> {
  if (o.max_steps <= 0) {
    throw new InputError(
      '--streaming: a streamed training file has no length; set --max-steps (as HF requires)',
    );
  }
  const labelColumn = o.label_column;
  const file = IterableDataset.fromFile(o.train_file!);
  const { labels, rows } = await scanClassificationStream(file, { textColumns, labelColumn });
  const shuffleSeed = o.shuffle ? (o.data_seed ?? o.seed) : undefined;
  const trainStream = { file, rows, labelColumn, ...(shuffleSeed !== undefined && { shuffleSeed }) };
  return { trainStream, labels };
}

/** Reads `--train-file` (and `--validation-file`, `--test-file`) into checked, label-encoded splits. */
export async function loadUserFiles(o: TrainOptions): Promise<UserData> {
  if (o.data !== undefined) throw new InputError('--data and --train-file name two datasets: pass one');
  const files: Record<string, string | undefined> = {
    train: o.train_file,
    validation: o.validation_file,
    test: o.test_file,
  };
  for (const [split, file] of Object.entries(files)) {
    if (file !== undefined && !existsSync(file))
      throw new InputError(`--${split}-file ${file}: no such file`);
  }
  const textColumns = textColumnsOf(o);
  const labelColumn = o.label_column;
  const streamed = o.streaming ? await scanTrainStream(o, textColumns) : undefined;
  const trainStream = streamed?.trainStream;
  const labels = streamed?.labels;
  const loaded: Record<string, Dataset> = {};
  for (const [split, file] of Object.entries(files)) {
    if (file !== undefined && !(trainStream && split === 'train'))
      loaded[split] = await loadDatasetFile(file);
  }
  const prepared = prepareClassification(new DatasetDict(loaded), {
    textColumns,
    labelColumn,
    ...(labels && { labels }),
  });
  const task = filesTask(filesTaskName(o.train_file!), textColumns, prepared.labels);
  return { task, splits: prepared.splits.splits, ...(trainStream && { trainStream }) };
}

/**
 * The training stream of `--streaming`: tokenized batch by batch, shuffled through HF's default buffer of 1000
 * rows (per epoch, from data_seed or seed) unless --no-shuffle, padded into the Trainer's batches.
 */
export function streamedTrainSet(
  user: UserData,
  tokenizer: TextTokenizer,
  maxLength: number,
): StreamedDataset {
  const { file, labelColumn, shuffleSeed } = user.trainStream!;
  const textColumns = user.task.textColumns;
  const tokenized = file
    .map(tokenizeBatch(tokenizer, { textColumns, maxSeqLength: maxLength }), {
      removeColumns: [...textColumns],
    })
    .map((b) => ({ label: b[labelColumn]! }));
  const ordered = shuffleSeed === undefined ? tokenized : tokenized.shuffle({ seed: shuffleSeed });
  const labels: LabelSpec = user.task.isRegression
    ? { kind: 'regression' }
    : { kind: 'classes', names: user.task.labelNames };
  const collator = new DataCollatorWithPadding(tokenizer);
  const padTokenId = tokenizer.padTokenId;
  return {
    streamed: true,
    batches: (epoch, batchSize) =>
      ordered.collated(collator, { batchSize, maxLength, padTokenId, labels, epoch }),
  };
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
