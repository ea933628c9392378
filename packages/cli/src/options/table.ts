/**
 * The option tables of `train`, `predict` and `evaluate`: every TrainingArguments entry of @ortrain/trainer's
 * spec (the few the app sets differently say so in APP_OVERRIDES), plus the app's own options (task, model,
 * data, max_seq_length, resume_from_checkpoint).
 */
import { GLUE_TASK_NAMES, type GlueTaskName, glueTask } from '@ortrain/data';
import {
  type ArgumentValue,
  atLeast,
  greaterThan,
  TRAINING_ARGUMENT_SPECS,
  type TrainingArgumentKey,
  type TrainingArgumentValues,
  type ValueOfSpec,
} from '@ortrain/trainer';
import type { OptionSpec } from './spec.js';

/** Nullable TrainingArguments are optional on the command line: unset is `undefined` there, not null. */
type CommandLineValues<T> = { [K in keyof T as null extends T[K] ? never : K]: T[K] } & {
  [K in keyof T as null extends T[K] ? K : never]?: Exclude<T[K], null>;
};

/** The values of a table's options: those with a default are always set, the others may be unset. */
type ValuesOf<T extends readonly OptionSpec[]> = {
  -readonly [S in T[number] as S extends { readonly default: ArgumentValue }
    ? S['key']
    : never]: ValueOfSpec<S>;
} & {
  -readonly [S in T[number] as S extends { readonly default: ArgumentValue }
    ? never
    : S['key']]?: ValueOfSpec<S>;
};

/** Options of `pnpm train`, keyed by their Hugging Face names. */
export type TrainOptions = CommandLineValues<TrainingArgumentValues> & ValuesOf<typeof APP_TRAIN_OPTIONS>;

type InferenceSettings = Pick<
  TrainOptions,
  'per_device_eval_batch_size' | 'max_seq_length' | 'device' | 'num_threads'
> &
  Partial<Pick<TrainOptions, 'text_column' | 'text_pair_column' | 'label_column'>>;

/** Options of `pnpm predict`. */
export type PredictOptions = InferenceSettings & {
  model: string;
  data: string;
  /** Overrides the task recorded in the trained model folder. */
  task?: GlueTaskName;
  split: string;
  /** Submission TSV; resolved to `<model>/predictions_<split>.tsv` when unset. */
  output: string;
};

/** Options of `pnpm evaluate`. */
export type EvaluateOptions = InferenceSettings & {
  model: string;
  data: string;
  task?: GlueTaskName;
  split: string;
  /** Where to write the metrics as JSON; unset prints them only. */
  output?: string;
};

/** Where `pnpm train` differs from TrainingArguments: the course's choices and its own defaults. */
const APP_OVERRIDES: Partial<Record<TrainingArgumentKey, Partial<OptionSpec>>> = {
  output_dir: { defaultHelp: 'artifacts/<task>-<model name>' },
  // A learning rate of 0 trains nothing: on the command line it is a mistake.
  learning_rate: { check: greaterThan(0) },
  eval_strategy: {
    default: 'epoch',
    help: "when to evaluate on the validation split (HF's default is 'no'; the course evaluates each epoch)",
  },
};

const argument = (key: TrainingArgumentKey): OptionSpec => {
  const spec = TRAINING_ARGUMENT_SPECS.find((s) => s.key === key)!;
  return { ...spec, ...APP_OVERRIDES[key] };
};

// `SST-2`, `STS-B`, `MRPC` all name the same tasks as `sst2`, `stsb`, `mrpc`.
const normalizeTask = (raw: string): string => raw.toLowerCase().replaceAll('-', '');

// The tasks one can fine-tune on (AX is a test set only).
const TRAINABLE_TASKS: readonly GlueTaskName[] = GLUE_TASK_NAMES.filter((name) =>
  glueTask(name).splits.includes('train'),
);

const task = {
  key: 'task',
  type: 'enum',
  group: 'input',
  choices: TRAINABLE_TASKS,
  normalize: normalizeTask,
  default: 'mrpc',
  help: 'GLUE task',
} as const satisfies OptionSpec;

const maxSeqLength = {
  key: 'max_seq_length',
  type: 'int',
  group: 'runtime',
  check: atLeast(1),
  defaultHelp: "the model's maximum, 512 for BERT",
  help: 'truncate inputs to this many tokens (ortrain)',
} as const satisfies OptionSpec;

const inferenceSettings = [
  argument('per_device_eval_batch_size'),
  maxSeqLength,
  argument('device'),
  argument('num_threads'),
];

/** The columns of your own files; train defaults them, predict and evaluate take the run's. */
const fileColumns = [
  { key: 'text_column', type: 'string', group: 'input', help: 'the text column of your files' },
  {
    key: 'text_pair_column',
    type: 'string',
    group: 'input',
    help: 'the second text column of your files, for sentence pairs',
  },
  {
    key: 'label_column',
    type: 'string',
    group: 'input',
    help: 'the label column: class names or ids, or float targets for regression',
  },
] as const satisfies readonly OptionSpec[];

/** `pnpm train`'s own options (TrainOptions is typed from these and the spec). */
const APP_TRAIN_OPTIONS = [
  task,
  {
    key: 'model',
    type: 'path',
    group: 'input',
    valueName: 'model',
    default: 'bert-base-uncased',
    help: 'a model folder, an ONNX file (with its tokenizer folder beside it), a Hugging Face checkpoint folder, or a hub id',
  },
  {
    key: 'data',
    type: 'path',
    group: 'input',
    valueName: 'folder',
    defaultHelp: "the task's GLUE data from the hub",
    help: 'a GLUE task folder or your own train/dev/test files',
  },
  // Your own files (run_glue's --train_file / --validation_file / --test_file), instead of --task/--data.
  {
    key: 'train_file',
    type: 'path',
    group: 'input',
    valueName: 'file',
    help: 'your training file (CSV, TSV, JSON, JSONL or parquet); labels are inferred from it',
  },
  {
    key: 'validation_file',
    type: 'path',
    group: 'input',
    valueName: 'file',
    help: 'your validation file (with --train-file)',
  },
  {
    key: 'test_file',
    type: 'path',
    group: 'input',
    valueName: 'file',
    help: 'your test file, labeled or not (with --train-file)',
  },
  { ...fileColumns[0], default: 'text' },
  fileColumns[1],
  { ...fileColumns[2], default: 'label' },
  {
    key: 'streaming',
    type: 'bool',
    group: 'input',
    default: false,
    help:
      "read --train-file as a stream (🤗 Datasets' streaming=True): memory stays bounded whatever the file's size; " +
      'needs --max-steps; rows are shuffled through a buffer of 1000',
  },
  {
    key: 'resume_from_checkpoint',
    type: 'path',
    group: 'output',
    valueName: 'dir|latest',
    help: "continue from a checkpoint folder, or 'latest' (or 'true') for the newest one in --output-dir",
  },
  maxSeqLength,
  {
    key: 'early_stopping_patience',
    type: 'int',
    group: 'evaluation',
    check: atLeast(1),
    defaultHelp: 'no early stopping',
    help: 'stop after this many evaluations without improvement (HF EarlyStoppingCallback; needs --load-best-model-at-end)',
  },
  {
    key: 'early_stopping_threshold',
    type: 'float',
    group: 'evaluation',
    check: atLeast(0),
    default: 0,
    help: 'how much the metric must improve to count as an improvement (HF EarlyStoppingCallback)',
  },
] as const satisfies readonly OptionSpec[];

export const TRAIN_OPTIONS: readonly OptionSpec<keyof TrainOptions>[] = [
  ...TRAINING_ARGUMENT_SPECS.map((s) => argument(s.key)),
  ...APP_TRAIN_OPTIONS,
] as OptionSpec<keyof TrainOptions>[];

const trainedInputs: OptionSpec[] = [
  {
    key: 'model',
    type: 'path',
    group: 'input',
    valueName: 'dir',
    required: true,
    help: 'a folder written by `pnpm train` (its output dir or a checkpoint-<step> folder)',
  },
  {
    key: 'data',
    type: 'path',
    group: 'input',
    valueName: 'folder',
    required: true,
    help: 'a GLUE task folder (or the same layout of your own files), or one file (CSV, TSV, JSON, JSONL or parquet)',
  },
  { ...task, default: undefined, defaultHelp: 'the task the model was trained on' },
  ...fileColumns.map((c) => ({ ...c, defaultHelp: "the run's (train_args.json), else the task's" })),
];

export const PREDICT_OPTIONS = [
  ...trainedInputs,
  {
    key: 'split',
    type: 'string',
    group: 'input',
    valueName: 'name',
    default: 'test',
    help: 'split to predict (train, validation, test, or the task’s other splits)',
  },
  {
    key: 'output',
    type: 'path',
    group: 'output',
    valueName: 'file',
    defaultHelp: '<model>/predictions_<split>.tsv',
    help: 'GLUE submission TSV (index, prediction); a .details.tsv beside it adds label names and probabilities',
  },
  ...inferenceSettings,
] as OptionSpec<keyof PredictOptions>[];

export const EVALUATE_OPTIONS = [
  ...trainedInputs,
  {
    key: 'split',
    type: 'string',
    group: 'input',
    valueName: 'name',
    default: 'validation',
    help: 'split to evaluate; it must have labels',
  },
  {
    key: 'output',
    type: 'path',
    group: 'output',
    valueName: 'file',
    defaultHelp: 'print only',
    help: 'also write the metrics to this JSON file',
  },
  ...inferenceSettings,
] as OptionSpec<keyof EvaluateOptions>[];

/** `--config` is read before everything else and is not itself an option value. */
export const CONFIG_OPTION: OptionSpec = {
  key: 'config',
  type: 'path',
  group: 'general',
  valueName: 'file.json',
  help: 'read options from a JSON object of snake_case keys (flags override it)',
};
