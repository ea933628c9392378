/**
 * A folder written by `pnpm train`, opened for prediction or evaluation: the output dir (final model in
 * `onnx/model.onnx`) or one of its `checkpoint-<step>` folders, with the compiled graphs in `training/`, the
 * tokenizer files and the options the model was trained with (`train_args.json`).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type ArtifactManifest, readManifest } from '@ortrain/artifacts';
import { OUTPUT_FILES, type PredictOptions, type ProgressReporter } from '@ortrain/cli';
import {
  type Dataset,
  type GlueTask,
  glueTask,
  type TextDataset,
  type TokenizedDataset,
} from '@ortrain/data';
import { loadModel, type Tensor } from '@ortrain/graph';
import { glueComputeMetrics, type GlueTask as MetricTask } from '@ortrain/metrics';
import { COMPILED_DIR, loadCheckpoint, Trainer, TrainingArguments } from '@ortrain/trainer';
import { reportEvaluations } from './reporting.js';
import { checkDataDir, InputError, loadSplit } from './resolve.js';
import { loadUserFileFor, type UserColumns } from './user-data.js';

export interface TrainedModel {
  dir: string;
  /** The run's output dir (the model dir itself, or a checkpoint's parent). */
  runDir: string;
  artifactsDir: string;
  manifest: ArtifactManifest;
  tokenizerDir: string;
  /** The task in train_args.json, when recorded. */
  task?: GlueTask;
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
  let task: GlueTask | undefined;
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
    if (saved.task) task = glueTask(saved.task);
    if (typeof saved.max_seq_length === 'number') maxSeqLength = saved.max_seq_length;
    if (typeof saved.per_device_eval_batch_size === 'number')
      evalBatchSize = saved.per_device_eval_batch_size;
    if (saved.train_file !== undefined) {
      userColumns = {
        text_column: saved.text_column ?? 'text',
        label_column: saved.label_column ?? 'label',
        ...(saved.text_pair_column !== undefined && { text_pair_column: saved.text_pair_column }),
      };
    }
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

/** The task to run: `--task`, else the one the model was trained on; it must match the model's labels. */
export function taskFor(model: TrainedModel, requested: string | undefined): GlueTask {
  const task = requested !== undefined ? glueTask(requested) : model.task;
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

/** `o` with the run's eval batch size (train_args.json) unless `--per-device-eval-batch-size` was `given`. */
export function withRunBatchSize<T extends Pick<PredictOptions, 'per_device_eval_batch_size'>>(
  o: T,
  model: TrainedModel,
  given: boolean,
): T {
  return given || model.evalBatchSize === undefined
    ? o
    : { ...o, per_device_eval_batch_size: model.evalBatchSize };
}

/** A Trainer over the model's compiled graphs with its trained weights loaded, for evaluate/predict. */
export async function trainerFor(
  model: TrainedModel,
  task: GlueTask,
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
      computeMetrics: glueComputeMetrics(task.name as MetricTask),
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

/** What `pnpm predict` and `pnpm evaluate` both start from, all checked before anything is written. */
export async function openTrainedSplit(o: {
  model: string;
  task?: string;
  data: string;
  split: string;
}): Promise<{ model: TrainedModel; task: GlueTask; raw: TextDataset | Dataset }> {
  const model = openTrained(o.model);
  if (model.userColumns) {
    // A model trained on your files predicts a file of the same columns.
    const user = await loadUserFileFor(o.data, model.runDir, model.userColumns);
    return { model, task: user.task, raw: user.splits['data']! };
  }
  const task = taskFor(model, o.task);
  checkDataDir(o.data);
  const raw = await loadSplit({ task, dir: o.data }, o.split);
  return { model, task, raw };
}
