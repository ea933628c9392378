/**
 * The option tables of `train`, `predict` and `evaluate`. Names and defaults are Hugging Face
 * `TrainingArguments`' (transformers 4.4x), so a course reader's settings carry over one to one;
 * ortrain's own options (device, threads, shuffle, dropout, max_seq_length) are marked as such.
 */
import { atLeast, greaterThan, halfOpen, type NumberCheck, type OptionSpec, within } from './spec.js';

export const GLUE_TASKS = ['cola', 'sst2', 'mrpc', 'qqp', 'stsb', 'mnli', 'qnli', 'rte', 'wnli'] as const;
export type GlueTaskName = (typeof GLUE_TASKS)[number];
export const LR_SCHEDULERS = [
  'linear',
  'constant',
  'constant_with_warmup',
  'cosine',
  'cosine_with_restarts',
  'polynomial',
  'inverse_sqrt',
  'cosine_with_min_lr',
  'warmup_stable_decay',
  'reduce_lr_on_plateau',
] as const;
export type LrSchedulerType = (typeof LR_SCHEDULERS)[number];
export const INTERVAL_STRATEGIES = ['no', 'steps', 'epoch'] as const;
export type IntervalStrategy = (typeof INTERVAL_STRATEGIES)[number];
export const DEVICES = ['auto', 'cpu', 'cuda'] as const;
export const REPORT_TO = ['none', 'all', 'tensorboard'] as const;
export type DeviceChoice = (typeof DEVICES)[number];

/** Options of `pnpm train`, keyed by their Hugging Face names. */
export interface TrainOptions {
  task: GlueTaskName;
  model: string;
  /** GLUE task folder or the user's files; unset means the task's GLUE data. */
  data?: string;
  output_dir: string;
  num_train_epochs: number;
  /** -1: train `num_train_epochs`; > 0 overrides it. */
  max_steps: number;
  per_device_train_batch_size: number;
  per_device_eval_batch_size: number;
  learning_rate: number;
  weight_decay: number;
  adam_beta1: number;
  adam_beta2: number;
  adam_epsilon: number;
  max_grad_norm: number;
  lr_scheduler_type: LrSchedulerType;
  warmup_steps: number;
  warmup_ratio: number;
  gradient_accumulation_steps: number;
  logging_steps: number;
  /** `tensorboard` (or `all`) writes TensorBoard event files into `logging_dir`. */
  report_to: (typeof REPORT_TO)[number];
  /** Resolved by the trainer to HF's `<output_dir>/runs/<date>_<host>` when unset. */
  logging_dir?: string;
  run_name?: string;
  eval_strategy: IntervalStrategy;
  /** Resolved to `logging_steps` when `eval_strategy` is `steps` and it is unset (as HF does). */
  eval_steps?: number;
  save_strategy: IntervalStrategy;
  save_steps: number;
  save_total_limit?: number;
  load_best_model_at_end: boolean;
  /** Resolved to `loss` when `load_best_model_at_end` is set and it is unset (as HF does). */
  metric_for_best_model?: string;
  /** Resolved from `metric_for_best_model` when unset: false for losses, true otherwise (as HF does). */
  greater_is_better?: boolean;
  seed: number;
  group_by_length: boolean;
  shuffle: boolean;
  dropout?: number;
  device: DeviceChoice;
  threads?: number;
  max_seq_length?: number;
  /** A checkpoint folder, or `true`/`latest` for the newest checkpoint in `output_dir`. */
  resume_from_checkpoint?: string;
}

/** Options of `pnpm predict`. */
export interface PredictOptions {
  model: string;
  data: string;
  /** Overrides the task recorded in the trained model folder. */
  task?: GlueTaskName;
  split: string;
  /** Submission TSV; resolved to `<model>/predictions_<split>.tsv` when unset. */
  output: string;
  per_device_eval_batch_size: number;
  max_seq_length?: number;
  device: DeviceChoice;
  threads?: number;
}

/** Options of `pnpm evaluate`. */
export interface EvaluateOptions {
  model: string;
  data: string;
  task?: GlueTaskName;
  split: string;
  /** Where to write the metrics as JSON; unset prints them only. */
  output?: string;
  per_device_eval_batch_size: number;
  max_seq_length?: number;
  device: DeviceChoice;
  threads?: number;
}

const G_INPUT = 'Task, model and data';
const G_TRAIN = 'Training (Hugging Face TrainingArguments)';
const G_EVAL = 'Evaluation, logging and checkpoints';
const G_RUN = 'Runtime';
const G_OUT = 'Output';

const positive = greaterThan(0);
const nonNegative = atLeast(0);
const one = atLeast(1);
const maxSteps: NumberCheck = {
  ok: (v) => v === -1 || v > 0,
  expected: '> 0, or -1 to use --num-train-epochs',
};

// `SST-2`, `STS-B`, `MRPC` all name the same tasks as `sst2`, `stsb`, `mrpc`.
const normalizeTask = (raw: string): string => raw.toLowerCase().replaceAll('-', '');

const task = {
  key: 'task',
  type: 'enum',
  group: G_INPUT,
  choices: GLUE_TASKS,
  normalize: normalizeTask,
  default: 'mrpc',
  help: 'GLUE task',
} as const satisfies OptionSpec;

const evalBatch = {
  key: 'per_device_eval_batch_size',
  type: 'int',
  group: G_EVAL,
  default: 8,
  check: one,
  help: 'batch size for evaluation and prediction',
} as const satisfies OptionSpec;

const maxSeqLength = {
  key: 'max_seq_length',
  type: 'int',
  group: G_RUN,
  check: one,
  defaultHelp: "the model's maximum, 512 for BERT",
  help: 'truncate inputs to this many tokens (ortrain)',
} as const satisfies OptionSpec;

const device = {
  key: 'device',
  type: 'enum',
  group: G_RUN,
  choices: DEVICES,
  default: 'auto',
  help: 'execution provider; auto picks CUDA when it is usable, else CPU (ortrain)',
} as const satisfies OptionSpec;

const threads = {
  key: 'threads',
  type: 'int',
  group: G_RUN,
  check: one,
  defaultHelp: "ONNX Runtime's choice",
  help: 'CPU threads for ONNX Runtime (ortrain)',
} as const satisfies OptionSpec;

const trainedModel = {
  key: 'model',
  type: 'path',
  group: G_INPUT,
  valueName: 'dir',
  required: true,
  help: 'a folder written by `pnpm train` (its output dir or a checkpoint-<step> folder)',
} as const satisfies OptionSpec;

const evalData = {
  key: 'data',
  type: 'path',
  group: G_INPUT,
  valueName: 'folder',
  required: true,
  help: 'a GLUE task folder (or the same layout of your own files)',
} as const satisfies OptionSpec;

const optionalTask = {
  ...task,
  default: undefined,
  defaultHelp: 'the task the model was trained on',
} as const satisfies OptionSpec;

export const TRAIN_OPTIONS = [
  task,
  {
    key: 'model',
    type: 'path',
    group: G_INPUT,
    valueName: 'model',
    default: 'bert-base-uncased',
    help: 'a model folder, an ONNX file (with its tokenizer folder beside it), a Hugging Face checkpoint folder, or a hub id',
  },
  {
    key: 'data',
    type: 'path',
    group: G_INPUT,
    valueName: 'folder',
    defaultHelp: "the task's GLUE data from the hub",
    help: 'a GLUE task folder or your own train/dev/test files',
  },
  {
    key: 'output_dir',
    type: 'path',
    group: G_OUT,
    valueName: 'dir',
    defaultHelp: 'artifacts/<task>-<model name>',
    help: 'where the model, checkpoints, results, logs and the run chart go',
  },
  {
    key: 'resume_from_checkpoint',
    type: 'path',
    group: G_OUT,
    valueName: 'dir|latest',
    help: "continue from a checkpoint folder, or 'latest' (or 'true') for the newest one in --output-dir",
  },
  {
    key: 'num_train_epochs',
    type: 'float',
    group: G_TRAIN,
    default: 3,
    check: positive,
    help: 'epochs to train',
  },
  {
    key: 'max_steps',
    type: 'int',
    group: G_TRAIN,
    default: -1,
    check: maxSteps,
    help: 'total optimizer steps; overrides --num-train-epochs when > 0',
  },
  {
    key: 'per_device_train_batch_size',
    type: 'int',
    group: G_TRAIN,
    default: 8,
    check: one,
    help: 'batch size for training',
  },
  {
    key: 'gradient_accumulation_steps',
    type: 'int',
    group: G_TRAIN,
    default: 1,
    check: one,
    help: 'batches whose gradients are summed before each optimizer step',
  },
  {
    key: 'learning_rate',
    type: 'float',
    group: G_TRAIN,
    default: 5e-5,
    check: positive,
    help: 'AdamW peak learning rate',
  },
  {
    key: 'weight_decay',
    type: 'float',
    group: G_TRAIN,
    default: 0,
    check: nonNegative,
    help: 'AdamW decoupled weight decay (not applied to biases and LayerNorm weights)',
  },
  {
    key: 'adam_beta1',
    type: 'float',
    group: G_TRAIN,
    default: 0.9,
    check: halfOpen(0, 1),
    help: 'AdamW beta1',
  },
  {
    key: 'adam_beta2',
    type: 'float',
    group: G_TRAIN,
    default: 0.999,
    check: halfOpen(0, 1),
    help: 'AdamW beta2',
  },
  {
    key: 'adam_epsilon',
    type: 'float',
    group: G_TRAIN,
    default: 1e-8,
    check: positive,
    help: 'AdamW epsilon',
  },
  {
    key: 'max_grad_norm',
    type: 'float',
    group: G_TRAIN,
    default: 1,
    check: nonNegative,
    help: 'clip the global gradient norm to this; 0 disables clipping',
  },
  {
    key: 'lr_scheduler_type',
    type: 'enum',
    group: G_TRAIN,
    choices: LR_SCHEDULERS,
    default: 'linear',
    help: 'learning-rate schedule after warmup',
  },
  {
    key: 'warmup_steps',
    type: 'int',
    group: G_TRAIN,
    default: 0,
    check: nonNegative,
    help: 'linear warmup steps; overrides --warmup-ratio when > 0',
  },
  {
    key: 'warmup_ratio',
    type: 'float',
    group: G_TRAIN,
    default: 0,
    check: within(0, 1),
    help: 'linear warmup as a fraction of the total steps',
  },
  {
    key: 'seed',
    type: 'int',
    group: G_TRAIN,
    default: 42,
    check: nonNegative,
    help: 'seed for initialisation and shuffling',
  },
  {
    key: 'shuffle',
    type: 'bool',
    group: G_TRAIN,
    default: true,
    help: 'keep the training set in file order instead of reshuffling each epoch (ortrain)',
  },
  {
    key: 'group_by_length',
    type: 'bool',
    group: G_TRAIN,
    default: false,
    help: 'batch examples of similar length together to cut padding',
  },
  {
    key: 'dropout',
    type: 'float',
    group: G_TRAIN,
    check: halfOpen(0, 1),
    defaultHelp: "the model config's, 0.1 for BERT",
    help: 'dropout probability of the hidden layers and attention (ortrain)',
  },
  evalBatch,
  {
    key: 'eval_strategy',
    type: 'enum',
    group: G_EVAL,
    choices: INTERVAL_STRATEGIES,
    default: 'epoch',
    help: "when to evaluate on the validation split (HF's default is 'no'; the course evaluates each epoch)",
  },
  {
    key: 'eval_steps',
    type: 'int',
    group: G_EVAL,
    check: one,
    defaultHelp: '--logging-steps',
    help: 'evaluate every this many steps with --eval-strategy steps',
  },
  {
    key: 'logging_steps',
    type: 'int',
    group: G_EVAL,
    default: 500,
    check: one,
    help: 'log the training loss and learning rate every this many steps',
  },
  {
    key: 'report_to',
    type: 'enum',
    group: G_EVAL,
    choices: REPORT_TO,
    default: 'none',
    help: 'tensorboard (or all) writes TensorBoard event files into --logging-dir; none writes none',
  },
  {
    key: 'logging_dir',
    type: 'path',
    group: G_EVAL,
    valueName: 'dir',
    defaultHelp: '<output_dir>/runs/<date>_<host>',
    help: 'TensorBoard log folder',
  },
  {
    key: 'run_name',
    type: 'string',
    group: G_EVAL,
    valueName: 'name',
    defaultHelp: 'the output dir',
    help: 'name of the run in reports',
  },
  {
    key: 'save_strategy',
    type: 'enum',
    group: G_EVAL,
    choices: INTERVAL_STRATEGIES,
    default: 'steps',
    help: 'when to write a checkpoint',
  },
  {
    key: 'save_steps',
    type: 'int',
    group: G_EVAL,
    default: 500,
    check: one,
    help: 'checkpoint every this many steps',
  },
  {
    key: 'save_total_limit',
    type: 'int',
    group: G_EVAL,
    check: one,
    defaultHelp: 'keep all',
    help: 'keep at most this many checkpoints (the best one is always kept)',
  },
  {
    key: 'load_best_model_at_end',
    type: 'bool',
    group: G_EVAL,
    default: false,
    help: 'finish with the best checkpoint by --metric-for-best-model (needs matching eval and save strategies)',
  },
  {
    key: 'metric_for_best_model',
    type: 'string',
    group: G_EVAL,
    valueName: 'metric',
    defaultHelp: 'loss, with --load-best-model-at-end',
    help: 'metric that picks the best checkpoint, e.g. accuracy, f1, loss',
  },
  {
    key: 'greater_is_better',
    type: 'bool',
    group: G_EVAL,
    defaultHelp: 'false for losses, true otherwise',
    help: 'whether a larger --metric-for-best-model is better (--no-greater-is-better for the opposite)',
  },
  maxSeqLength,
  device,
  threads,
] as const satisfies readonly OptionSpec<keyof TrainOptions>[];

// What predict and evaluate share: a trained model on a data folder, run with these settings.
const trainedInputs = [trainedModel, evalData, optionalTask] as const;
const inferenceRuntime = [evalBatch, maxSeqLength, device, threads] as const;

export const PREDICT_OPTIONS = [
  ...trainedInputs,
  {
    key: 'split',
    type: 'string',
    group: G_INPUT,
    valueName: 'name',
    default: 'test',
    help: 'split to predict (train, validation, test, or the task’s other splits)',
  },
  {
    key: 'output',
    type: 'path',
    group: G_OUT,
    valueName: 'file',
    defaultHelp: '<model>/predictions_<split>.tsv',
    help: 'GLUE submission TSV (index, prediction); a .details.tsv beside it adds label names and probabilities',
  },
  ...inferenceRuntime,
] as const satisfies readonly OptionSpec<keyof PredictOptions>[];

export const EVALUATE_OPTIONS = [
  ...trainedInputs,
  {
    key: 'split',
    type: 'string',
    group: G_INPUT,
    valueName: 'name',
    default: 'validation',
    help: 'split to evaluate; it must have labels',
  },
  {
    key: 'output',
    type: 'path',
    group: G_OUT,
    valueName: 'file',
    defaultHelp: 'print only',
    help: 'also write the metrics to this JSON file',
  },
  ...inferenceRuntime,
] as const satisfies readonly OptionSpec<keyof EvaluateOptions>[];

/** `--config` is read before everything else and is not itself an option value. */
export const CONFIG_OPTION: OptionSpec = {
  key: 'config',
  type: 'path',
  group: 'General',
  valueName: 'file.json',
  help: 'read options from a JSON object of snake_case keys (flags override it)',
};
