/**
 * The one table of TrainingArguments: each entry's key, type, default, check and help. The TypeScript type of
 * TrainingArguments, its validation, the app's command-line flags and `--help` all derive from it, so adding an
 * option is one entry here plus its use. Names and defaults are Hugging Face's (transformers 4.4x); ortrain's
 * own options say so in their help. In help and expectation texts `{key}` names another option; each reader
 * renders it its own way (`num_train_epochs` here, `--num-train-epochs` on the command line).
 */
/** `json`: a JSON object of scalars (HF's dict options: lr_scheduler_kwargs), JSON text on the command line. */
export type ArgumentType = 'int' | 'float' | 'string' | 'enum' | 'bool' | 'path' | 'json';
export type JsonObject = { readonly [key: string]: number | string | boolean | null };
/** A value of an option; a list only for a `list` enum. */
export type ArgumentValue = number | string | boolean | readonly string[] | JsonObject;

/** A numeric constraint, with the wording used in error messages and help (`> 0`, `in [0, 1]`). */
export interface NumberCheck {
  readonly ok: (value: number) => boolean;
  readonly expected: string;
}

/** Which part of `--help` lists an option. */
export type ArgumentGroup = 'input' | 'training' | 'evaluation' | 'runtime' | 'output' | 'general';

export interface ArgumentSpec<K extends string = string> {
  /** snake_case name: the TrainingArguments field, the key in `--config` files; the flag is its kebab case. */
  readonly key: K;
  readonly type: ArgumentType;
  readonly group: ArgumentGroup;
  readonly help: string;
  /** Value when nothing sets it; absent (or null for a `nullable` option) means unset. */
  readonly default?: ArgumentValue | null;
  /** null is a valid value: "unset", resolved by the cross-checks or by the trainer. */
  readonly nullable?: boolean;
  /** Help text for a default computed from other options (e.g. `{logging_steps}`). */
  readonly defaultHelp?: string;
  readonly choices?: readonly string[];
  /** An enum that also takes a list of its choices (HF's `report_to`); comma-separated on the command line. */
  readonly list?: true;
  readonly check?: NumberCheck;
  /** Placeholder in help, e.g. `dir` for `--output-dir <dir>`. */
  readonly valueName?: string;
  /** Older names accepted for the same option (HF's `evaluation_strategy`). */
  readonly aliases?: readonly string[];
}

export const atLeast = (min: number): NumberCheck => ({ ok: (v) => v >= min, expected: `>= ${min}` });
export const greaterThan = (min: number): NumberCheck => ({ ok: (v) => v > min, expected: `> ${min}` });
export const within = (min: number, max: number): NumberCheck => ({
  ok: (v) => v >= min && v <= max,
  expected: `in [${min}, ${max}]`,
});
export const halfOpen = (min: number, max: number): NumberCheck => ({
  ok: (v) => v >= min && v < max,
  expected: `in [${min}, ${max})`,
});
/** HF's `*_steps`: a step count, or a ratio of the total steps when < 1. */
const stepsOrRatio: NumberCheck = {
  ok: (v) => v > 0 && (v < 1 || Number.isInteger(v)),
  expected: '> 0 (an integer, or a ratio of the total steps when < 1)',
};
const one = atLeast(1);

export const INTERVAL_STRATEGIES = ['no', 'steps', 'epoch'] as const;
export type IntervalStrategy = (typeof INTERVAL_STRATEGIES)[number];
/** transformers' SchedulerType names (cosine_warmup_with_min_lr excepted); scheduler.ts implements each. */
export const SCHEDULER_TYPES = [
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
export type SchedulerType = (typeof SCHEDULER_TYPES)[number];
export const DEVICE_OPTIONS = ['auto', 'cpu', 'cuda', 'webgpu'] as const;
export type DeviceOption = (typeof DEVICE_OPTIONS)[number];
/** `all` is every integration ortrain has, that is tensorboard; `none` sends nothing anywhere. */
export const REPORT_TO = ['none', 'all', 'tensorboard'] as const;
export type ReportTo = (typeof REPORT_TO)[number];
export const HUB_STRATEGIES = ['every_save', 'checkpoint', 'all_checkpoints', 'end'] as const;
export type HubStrategy = (typeof HUB_STRATEGIES)[number];

export const TRAINING_ARGUMENT_SPECS = [
  {
    key: 'output_dir',
    type: 'path',
    group: 'output',
    valueName: 'dir',
    help: 'where the model, checkpoints, results, logs and the run chart go',
  },
  {
    key: 'overwrite_output_dir',
    type: 'bool',
    group: 'output',
    default: false,
    help:
      'train a new run into an {output_dir} that holds another run (refused otherwise, as HF does); once the new ' +
      "run's first step succeeds the old run's checkpoints, export and results are deleted, so no file of the two runs mixes",
  },
  {
    key: 'num_train_epochs',
    type: 'float',
    group: 'training',
    default: 3,
    check: greaterThan(0),
    help: 'epochs to train',
  },
  {
    key: 'max_steps',
    type: 'int',
    group: 'training',
    default: -1,
    check: { ok: (v) => v === -1 || v > 0, expected: '> 0, or -1 to use {num_train_epochs}' },
    help: 'total optimizer steps; overrides {num_train_epochs} when > 0',
  },
  {
    key: 'per_device_train_batch_size',
    type: 'int',
    group: 'training',
    default: 8,
    check: one,
    help: 'batch size for training',
  },
  {
    key: 'gradient_accumulation_steps',
    type: 'int',
    group: 'training',
    default: 1,
    check: one,
    help: 'batches whose gradients are summed before each optimizer step',
  },
  {
    key: 'learning_rate',
    type: 'float',
    group: 'training',
    default: 5e-5,
    check: atLeast(0),
    help: 'AdamW peak learning rate',
  },
  {
    key: 'weight_decay',
    type: 'float',
    group: 'training',
    default: 0,
    check: atLeast(0),
    help: 'AdamW decoupled weight decay (not applied to biases and LayerNorm weights)',
  },
  {
    key: 'adam_beta1',
    type: 'float',
    group: 'training',
    default: 0.9,
    check: halfOpen(0, 1),
    help: 'AdamW beta1',
  },
  {
    key: 'adam_beta2',
    type: 'float',
    group: 'training',
    default: 0.999,
    check: halfOpen(0, 1),
    help: 'AdamW beta2',
  },
  {
    key: 'adam_epsilon',
    type: 'float',
    group: 'training',
    default: 1e-8,
    check: greaterThan(0),
    help: 'AdamW epsilon',
  },
  {
    key: 'max_grad_norm',
    type: 'float',
    group: 'training',
    default: 1,
    check: atLeast(0),
    help: 'clip the global gradient norm to this; 0 disables clipping',
  },
  {
    key: 'lr_scheduler_type',
    type: 'enum',
    group: 'training',
    choices: SCHEDULER_TYPES,
    default: 'linear',
    help: 'learning-rate schedule after warmup',
  },
  {
    key: 'lr_scheduler_kwargs',
    type: 'json',
    group: 'training',
    valueName: 'json',
    default: Object.freeze({}),
    help: "the schedule's own arguments as a JSON object, e.g. '{\"num_cycles\": 2}' for cosine_with_restarts",
  },
  {
    key: 'warmup_steps',
    type: 'int',
    group: 'training',
    default: 0,
    check: atLeast(0),
    help: 'linear warmup steps; overrides {warmup_ratio} when > 0',
  },
  {
    key: 'warmup_ratio',
    type: 'float',
    group: 'training',
    default: 0,
    check: within(0, 1),
    help: 'linear warmup as a fraction of the total steps',
  },
  {
    key: 'seed',
    type: 'int',
    group: 'training',
    default: 42,
    check: atLeast(0),
    help: 'seed for initialisation, shuffling and dropout masks',
  },
  {
    key: 'data_seed',
    type: 'int',
    group: 'training',
    nullable: true,
    default: null,
    check: atLeast(0),
    defaultHelp: '{seed}',
    help: 'seed of the training set shuffle only; dropout masks keep following {seed}',
  },
  {
    key: 'full_determinism',
    type: 'bool',
    group: 'runtime',
    default: false,
    help:
      'refuse CUDA (no deterministic kernels there) and make {device} auto take the CPU; CPU runs are ' +
      'bit-reproducible for a seed and thread count anyway (seeded dropout masks)',
  },
  {
    key: 'shuffle',
    type: 'bool',
    group: 'training',
    default: true,
    help: 'keep the training set in file order instead of reshuffling each epoch (ortrain)',
  },
  {
    key: 'group_by_length',
    type: 'bool',
    group: 'training',
    default: false,
    help: 'batch examples of similar length together to cut padding',
  },
  {
    key: 'dataloader_drop_last',
    type: 'bool',
    group: 'training',
    default: false,
    help: 'drop the last incomplete training batch of each epoch',
  },
  {
    key: 'dropout',
    type: 'float',
    group: 'training',
    nullable: true,
    default: null,
    check: halfOpen(0, 1),
    defaultHelp: "the model config's, 0.1 for BERT",
    help: 'dropout probability of the hidden layers and attention; 0 makes training deterministic (ortrain)',
  },
  {
    key: 'label_smoothing_factor',
    type: 'float',
    group: 'training',
    default: 0,
    check: halfOpen(0, 1),
    help: "label smoothing of the classification loss (HF's LabelSmoother), compiled into the loss graph",
  },
  {
    key: 'per_device_eval_batch_size',
    type: 'int',
    group: 'evaluation',
    default: 8,
    check: one,
    help: 'batch size for evaluation and prediction',
  },
  {
    key: 'eval_strategy',
    type: 'enum',
    group: 'evaluation',
    choices: INTERVAL_STRATEGIES,
    default: 'no',
    aliases: ['evaluation_strategy'],
    help: 'when to evaluate on the validation split',
  },
  {
    key: 'do_eval',
    type: 'bool',
    group: 'evaluation',
    default: false,
    defaultHelp: 'true unless {eval_strategy} is no',
    help: "evaluate on the validation split after training (run_glue's --do_eval)",
  },
  {
    key: 'eval_steps',
    type: 'float',
    group: 'evaluation',
    valueName: 'steps',
    nullable: true,
    default: null,
    check: stepsOrRatio,
    defaultHelp: '{logging_steps}',
    help: 'evaluate every this many steps with {eval_strategy} steps',
  },
  {
    key: 'logging_strategy',
    type: 'enum',
    group: 'evaluation',
    choices: INTERVAL_STRATEGIES,
    default: 'steps',
    help: 'when to log the training loss and learning rate',
  },
  {
    key: 'logging_steps',
    type: 'float',
    group: 'evaluation',
    valueName: 'steps',
    default: 500,
    check: stepsOrRatio,
    help: 'log every this many steps with {logging_strategy} steps',
  },
  {
    key: 'logging_first_step',
    type: 'bool',
    group: 'evaluation',
    default: false,
    help: 'also log the first step',
  },
  {
    key: 'save_strategy',
    type: 'enum',
    group: 'evaluation',
    choices: INTERVAL_STRATEGIES,
    default: 'steps',
    help: 'when to write a checkpoint',
  },
  {
    key: 'save_steps',
    type: 'float',
    group: 'evaluation',
    valueName: 'steps',
    default: 500,
    check: stepsOrRatio,
    help: 'checkpoint every this many steps',
  },
  {
    key: 'save_total_limit',
    type: 'int',
    group: 'evaluation',
    nullable: true,
    default: null,
    check: one,
    defaultHelp: 'keep all',
    help: 'keep at most this many checkpoints (the best one is always kept)',
  },
  {
    key: 'load_best_model_at_end',
    type: 'bool',
    group: 'evaluation',
    default: false,
    help: 'finish with the best checkpoint by {metric_for_best_model} (needs matching eval and save strategies)',
  },
  {
    key: 'metric_for_best_model',
    type: 'string',
    group: 'evaluation',
    valueName: 'metric',
    nullable: true,
    default: null,
    defaultHelp: 'loss, with {load_best_model_at_end}',
    help: 'metric that picks the best checkpoint, e.g. accuracy, f1, loss',
  },
  {
    key: 'greater_is_better',
    type: 'bool',
    group: 'evaluation',
    nullable: true,
    default: null,
    defaultHelp: 'false for losses, true otherwise',
    help: 'whether a larger {metric_for_best_model} is better',
  },
  {
    key: 'report_to',
    type: 'enum',
    group: 'evaluation',
    choices: REPORT_TO,
    list: true,
    default: 'none',
    help: "where logs go: tensorboard (or all) writes TensorBoard event files into {logging_dir} (HF's default is all)",
  },
  {
    key: 'logging_dir',
    type: 'path',
    group: 'evaluation',
    valueName: 'dir',
    nullable: true,
    default: null,
    defaultHelp: '<output_dir>/runs/<date>_<host>',
    help: 'TensorBoard log folder',
  },
  {
    key: 'run_name',
    type: 'string',
    group: 'evaluation',
    valueName: 'name',
    nullable: true,
    default: null,
    defaultHelp: '{output_dir}',
    help: 'name of the run in reports',
  },
  {
    key: 'push_to_hub',
    type: 'bool',
    group: 'output',
    default: false,
    help: 'upload the model, results and a model card to the Hugging Face hub (needs {hub_token} or HF_TOKEN)',
  },
  {
    key: 'hub_model_id',
    type: 'string',
    group: 'output',
    valueName: 'id',
    nullable: true,
    default: null,
    defaultHelp: "<token owner>/<output_dir's name>",
    help: 'repository to push to',
  },
  {
    key: 'hub_token',
    type: 'string',
    group: 'output',
    valueName: 'token',
    nullable: true,
    default: null,
    defaultHelp: 'the HF_TOKEN environment variable',
    help: 'hub token with write access (written to no file)',
  },
  {
    key: 'hub_strategy',
    type: 'enum',
    group: 'output',
    choices: HUB_STRATEGIES,
    default: 'every_save',
    help: 'what is pushed: the model at each save, with the last checkpoint (checkpoint) or every one (all_checkpoints), or only at the end',
  },
  {
    key: 'fp16',
    type: 'bool',
    group: 'training',
    default: false,
    help: 'mixed precision as torch.autocast + GradScaler: MatMul/Gemm and the element-wise work around them in float16, float32 master weights, dynamic loss scaling (slow on CPU)',
  },
  {
    key: 'bf16',
    type: 'bool',
    group: 'training',
    default: false,
    help: 'mixed precision in bfloat16, no loss scaling; needs a device with bfloat16 kernels (not CPU)',
  },
  {
    key: 'export_fp16',
    type: 'bool',
    group: 'output',
    default: false,
    help: 'also export onnx/model_fp16.onnx beside model.onnx, which transformers.js loads with dtype "fp16": float16 weights and MatMul/Gemm, float32 LayerNorm, Softmax and logits (ortrain; optimum\'s --dtype fp16)',
  },
  {
    key: 'device',
    type: 'enum',
    group: 'runtime',
    choices: DEVICE_OPTIONS,
    default: 'auto',
    help: 'execution provider; auto picks CUDA when it loads, else WebGPU on a hardware GPU, else CPU (ortrain)',
  },
  {
    key: 'devices',
    type: 'string',
    group: 'runtime',
    valueName: 'list',
    nullable: true,
    default: null,
    defaultHelp: 'one replica on {device}',
    help: 'data parallel: one replica per device, cpu:2, cuda:0,cuda:1, or a count of {device} replicas (WebGPU replicas share the one adapter onnxruntime-node can use); the global batch is {per_device_train_batch_size} x replicas x {gradient_accumulation_steps} (ortrain)',
  },
  {
    key: 'num_threads',
    type: 'int',
    group: 'runtime',
    default: 0,
    check: atLeast(0),
    aliases: ['threads'],
    help: "CPU threads for ONNX Runtime; 0 leaves it ONNX Runtime's choice (ortrain)",
  },
  {
    key: 'steps_per_run',
    type: 'int',
    group: 'runtime',
    nullable: true,
    default: null,
    check: one,
    defaultHelp: '1 on CPU, 8 on CUDA',
    help: 'optimizer steps per session run; > 1 keeps parameters and moments on the device for K steps (ortrain)',
  },
] as const satisfies readonly ArgumentSpec[];

type Spec = (typeof TRAINING_ARGUMENT_SPECS)[number];
/** The TypeScript type of one option's value, read off its entry. */
export type ValueOfSpec<S> = S extends { readonly choices: readonly (infer C)[] }
  ? S extends { readonly list: true }
    ? C | C[]
    : C
  : S extends { readonly type: 'int' | 'float' }
    ? number
    : S extends { readonly type: 'bool' }
      ? boolean
      : S extends { readonly type: 'json' }
        ? JsonObject
        : string;
type Resolved<S> = S extends { readonly nullable: true } ? ValueOfSpec<S> | null : ValueOfSpec<S>;

/** Every TrainingArguments field with its resolved type (nullable options may be null). */
export type TrainingArgumentValues = { -readonly [S in Spec as S['key']]: Resolved<S> };
export type TrainingArgumentKey = Spec['key'];

/** `{key}` references in help and expectation texts, rendered by `name` (a key, or a flag). */
export function renderRefs(text: string, name: (key: string) => string): string {
  return text.replace(/\{(\w+)\}/g, (_, key: string) => name(key));
}

/**
 * What a valid value looks like: "an integer >= 1", "one of no, steps, epoch" (`quote` quotes the choices,
 * as TrainingArguments' errors do).
 */
export function expectation(spec: ArgumentSpec, name: (key: string) => string, quote = false): string {
  const check = spec.check ? ` ${renderRefs(spec.check.expected, name)}` : '';
  switch (spec.type) {
    case 'int':
      return `an integer${check}`;
    case 'float':
      return `a number${check}`;
    case 'enum': {
      const choices = (spec.choices ?? []).map((c) => (quote ? JSON.stringify(c) : c)).join(', ');
      return spec.list ? `one or a list of ${choices}` : `one of ${choices}`;
    }
    case 'bool':
      return 'true or false';
    case 'path':
      return 'a non-empty path';
    case 'string':
      return 'a non-empty string';
    case 'json':
      return 'a JSON object of numbers, strings, booleans or nulls';
  }
}

/** Whether a typed value (not a flag's text) is valid for the option; null only for nullable ones. */
export function accepts(spec: ArgumentSpec, value: unknown): boolean {
  if (value === null) return spec.nullable === true;
  switch (spec.type) {
    case 'int':
    case 'float':
      return (
        typeof value === 'number' &&
        Number.isFinite(value) &&
        (spec.type === 'float' || Number.isInteger(value)) &&
        (spec.check?.ok(value) ?? true)
      );
    case 'bool':
      return typeof value === 'boolean';
    case 'enum': {
      const isChoice = (v: unknown) => typeof v === 'string' && (spec.choices ?? []).includes(v);
      if (spec.list && Array.isArray(value)) return value.length > 0 && value.every(isChoice);
      return isChoice(value);
    }
    case 'path':
    case 'string':
      return typeof value === 'string' && value.trim() !== '';
    case 'json':
      return (
        typeof value === 'object' &&
        !Array.isArray(value) &&
        Object.values(value).every((v) => v === null || ['number', 'string', 'boolean'].includes(typeof v))
      );
  }
}
