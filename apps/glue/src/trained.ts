/**
 * A folder written by `pnpm train`, opened for prediction or evaluation: the output dir (final model in
 * `onnx/model.onnx`) or one of its `checkpoint-<step>` folders, with the compiled graphs in `training/`, the
 * tokenizer files and the options the model was trained with (`train_args.json`).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type ArtifactManifest, readManifest } from '@ortrain/artifacts';
import { type OptionSource, OUTPUT_FILES, type PredictOptions, type ProgressReporter } from '@ortrain/cli';
import {
  type ClassificationTask,
  type Dataset,
  filesTask,
  filesTaskName,
  type GlueTask,
  glueTask,
  type LabelSpec,
  type TextDataset,
  type TokenizedDataset,
  taskComputeMetrics,
} from '@ortrain/data';
import { loadModel, type Tensor } from '@ortrain/graph';
import { COMPILED_DIR, loadCheckpoint, Trainer, TrainingArguments } from '@ortrain/trainer';
import { reportEvaluations } from './reporting.js';
import { checkDataDir, InputError, loadSplit } from './resolve.js';
import { loadUserFile, textColumnsOf, type UserColumns } from './user-data.js';

export interface TrainedModel {
  dir: string;
  /** The run's output dir (the model dir itself, or a checkpoint's parent). */
  runDir: string;
  artifactsDir: string;
  manifest: ArtifactManifest;
  tokenizerDir: string;
  /** The GLUE task in train_args.json, or the task of the files it was trained on; undefined when not recorded. */
  task?: ClassificationTask;
  /** The columns of your own files, when the run had --train-file. */
  userColumns?: UserColumns;
  maxSeqLength?: number;
  /** The run's per_device_eval_batch_size, when recorded. */
  evalBatchSize?: number;
  /** Reads the weights to evaluate: the checkpoint's, or the exported model's. */
  weights: () => Tensor[];
}

const isCheckpoint = (dir: string) => existsSync(join(dir, 'ortrain_checkpoint.json'));

export function openTrained(dir: string): TrainedModel {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new InputError(`--model ${dir}: no such folder`);
  const checkpoint = isCheckpoint(dir);
  const runDir = checkpoint ? dirname(dir) : dir;
  const artifactsDir = join(runDir, COMPILED_DIR);
  const onnx = join(dir, 'onnx', 'model.onnx');
  if (!existsSync(join(artifactsDir, 'manifest.json')) || (!checkpoint && !existsSync(onnx))) {
    throw new InputError(
      `--model ${dir}: not a model trained by pnpm train (expected ${checkpoint ? '' : 'onnx/model.onnx and '}` +
        `${join(artifactsDir, 'manifest.json')}); pass its output dir or a checkpoint-<step> folder`,
    );
  }
  const manifest = readManifest(artifactsDir);
  const tokenizerDir = [dir, runDir].find(
    (d) => existsSync(join(d, 'tokenizer.json')) || existsSync(join(d, 'vocab.txt')),
  );
  if (!tokenizerDir)
    throw new InputError(`--model ${dir}: no tokenizer (tokenizer.json or vocab.txt) in ${runDir}`);
  let task: ClassificationTask | undefined;
  let maxSeqLength: number | undefined;
  let evalBatchSize: number | undefined;
  let userColumns: UserColumns | undefined;
  const argsFile = join(runDir, OUTPUT_FILES.trainArgs);
  if (existsSync(argsFile)) {
    const saved = JSON.parse(readFileSync(argsFile, 'utf8')) as {
      task?: string;
      max_seq_length?: number;
      per_device_eval_batch_size?: number;
      train_file?: string;
    } & Partial<UserColumns>;
    if (typeof saved.max_seq_length === 'number') maxSeqLength = saved.max_seq_length;
    if (typeof saved.per_device_eval_batch_size === 'number')
      evalBatchSize = saved.per_device_eval_batch_size;
    if (saved.train_file !== undefined) {
      userColumns = {
        text_column: saved.text_column ?? 'text',
        label_column: saved.label_column ?? 'label',
        ...(saved.text_pair_column !== undefined && { text_pair_column: saved.text_pair_column }),
      };
      const name = filesTaskName(saved.train_file);
      task = filesTask(name, textColumnsOf(userColumns), labelsOf(runDir, manifest.model.numLabels));
    } else if (saved.task) task = glueTask(saved.task);
  }
  const names = new Set(manifest.parameters.map((p) => p.name));
  const weights = checkpoint
    ? () => loadCheckpoint(dir).weights
    : () => [...loadModel(onnx).graph.initializers.values()].filter((t) => names.has(t.name));
  return {
    dir,
    runDir,
    artifactsDir,
    manifest,
    tokenizerDir,
    weights,
    ...(task && { task }),
    ...(maxSeqLength !== undefined && { maxSeqLength }),
    ...(evalBatchSize !== undefined && { evalBatchSize }),
    ...(userColumns && { userColumns }),
  };
}

/** config.json's id2label as the list of class names, by id. */
export function id2labelNames(id2label: Readonly<Record<string, string>>): string[] {
  return Object.entries(id2label)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([, n]) => n);
}

/** The class names of a model trained on your files (config.json's id2label), or its regression target. */
function labelsOf(runDir: string, numLabels: number): LabelSpec {
  if (numLabels === 1) return { kind: 'regression' };
  const config = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')) as {
    id2label?: Record<string, string>;
  };
  const names = id2labelNames(config.id2label ?? {});
  if (names.length !== numLabels) {
    throw new InputError(
      `${join(runDir, 'config.json')}: id2label names ${names.length} classes but the model has ${numLabels}`,
    );
  }
  return { kind: 'classes', names };
}

/** The task to run: `--task`, else the one the model was trained on; it must match the model's labels. */
export function taskFor(model: TrainedModel, requested: string | undefined): GlueTask {
  const recorded = model.task?.kind === 'glue' ? glueTask(model.task.name) : undefined;
  const task = requested !== undefined ? glueTask(requested) : recorded;
  if (!task) {
    throw new InputError(`--model ${model.dir}: no ${OUTPUT_FILES.trainArgs} to say the task; pass --task`);
  }
  if (task.numLabels !== model.manifest.model.numLabels) {
    throw new InputError(
      `--task ${task.name} has ${task.numLabels} labels but the model in ${model.dir} has ${model.manifest.model.numLabels}`,
    );
  }
  return task;
}

/** `o` with the run's eval batch size (train_args.json) unless `--per-device-eval-batch-size` was given. */
export function withRunBatchSize<T extends Pick<PredictOptions, 'per_device_eval_batch_size'>>(
  o: T,
  model: TrainedModel,
  sources: Readonly<Record<'per_device_eval_batch_size', OptionSource>>,
): T {
  return sources.per_device_eval_batch_size !== 'default' || model.evalBatchSize === undefined
    ? o
    : { ...o, per_device_eval_batch_size: model.evalBatchSize };
}

/** A Trainer over the model's compiled graphs with its trained weights loaded, for evaluate/predict. */
export async function trainerFor(
  model: TrainedModel,
  task: ClassificationTask,
  o: Pick<PredictOptions, 'per_device_eval_batch_size' | 'device' | 'num_threads'>,
  reporter: ProgressReporter,
  splitOf: (ds: TokenizedDataset) => string,
): Promise<Trainer> {
  const args = new TrainingArguments({
    output_dir: model.runDir,
    per_device_eval_batch_size: o.per_device_eval_batch_size,
    device: o.device,
    num_threads: o.num_threads,
  });
  const trainer = reportEvaluations(
    new Trainer({
      model: model.artifactsDir,
      args,
      computeMetrics: taskComputeMetrics(task),
    }),
    reporter,
    splitOf,
    false,
  );
  const replica = await trainer.getReplica();
  replica.load(model.weights(), model.dir);
  reporter.message(
    `Model:  ${model.dir} (${replica.provider.device.toUpperCase()}: ${replica.provider.reason})`,
  );
  return trainer;
}

type TrainedSplitOptions = Pick<
  PredictOptions,
  'model' | 'task' | 'data' | 'split' | 'text_column' | 'text_pair_column' | 'label_column'
>;

/**
 * The columns to read a file with: those named on the command line, else the run's (train_args.json), else the
 * task's (a GLUE task's HF column names and `label`).
 */
function fileColumns(o: TrainedSplitOptions, model: TrainedModel, task: ClassificationTask): UserColumns {
  const run = model.userColumns;
  const [first, second] = task.textColumns;
  const pair = o.text_pair_column ?? (run ? run.text_pair_column : second);
  return {
    text_column: o.text_column ?? run?.text_column ?? first!,
    label_column: o.label_column ?? run?.label_column ?? 'label',
    ...(pair !== undefined && { text_pair_column: pair }),
  };
}

/**
 * What `pnpm predict` and `pnpm evaluate` both start from, all checked before anything is written; `labelled`
 * (evaluate) requires a file's label column.
 */
export async function openTrainedSplit(
  o: TrainedSplitOptions,
  labelled = false,
): Promise<{ model: TrainedModel; task: ClassificationTask; raw: TextDataset | Dataset; split: string }> {
  const model = openTrained(o.model);
  const trainedOnFiles = model.userColumns !== undefined;
  if (existsSync(o.data) && statSync(o.data).isFile()) {
    // One file of your own, read like the training files were.
    const task = trainedOnFiles ? model.task! : taskFor(model, o.task);
    const raw = await loadUserFile(o.data, task, fileColumns(o, model, task), labelled);
    return { model, task, raw, split: basename(o.data) };
  }
  if (trainedOnFiles) {
    throw new InputError(
      `--data ${o.data}: ${existsSync(o.data) ? 'a folder' : 'no such file'}; the model in ${model.dir} was ` +
        'trained on your own files: pass one such file (CSV, TSV, JSON, JSONL or parquet)',
    );
  }
  const task = taskFor(model, o.task);
  checkDataDir(o.data);
  const raw = await loadSplit({ task, dir: o.data }, o.split);
  return { model, task, raw, split: o.split };
}
