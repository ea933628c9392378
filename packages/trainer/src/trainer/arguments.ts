/**
 * TrainingArguments with Hugging Face's names, defaults and cross-checks (transformers' `TrainingArguments`),
 * plus ortrain's own options. Unknown keys are rejected so a typo never silently falls back to a default.
 */

export type IntervalStrategy = 'no' | 'steps' | 'epoch';
export type SchedulerType = 'linear' | 'constant' | 'constant_with_warmup' | 'cosine';
export type DeviceOption = 'auto' | 'cpu' | 'cuda';

export interface TrainingArgumentsInit {
  output_dir: string;
  num_train_epochs?: number;
  /** > 0 overrides num_train_epochs. */
  max_steps?: number;
  per_device_train_batch_size?: number;
  per_device_eval_batch_size?: number;
  learning_rate?: number;
  weight_decay?: number;
  adam_beta1?: number;
  adam_beta2?: number;
  adam_epsilon?: number;
  /** Global-norm clipping threshold; 0 disables clipping. */
  max_grad_norm?: number;
  lr_scheduler_type?: SchedulerType;
  warmup_steps?: number;
  warmup_ratio?: number;
  gradient_accumulation_steps?: number;
  logging_strategy?: IntervalStrategy;
  /** An integer, or a ratio of the total steps when < 1 (as in HF). */
  logging_steps?: number;
  logging_first_step?: boolean;
  eval_strategy?: IntervalStrategy;
  /** The course's (older) name for eval_strategy. */
  evaluation_strategy?: IntervalStrategy;
  /** Defaults to logging_steps. */
  eval_steps?: number | null;
  save_strategy?: IntervalStrategy;
  save_steps?: number;
  save_total_limit?: number | null;
  load_best_model_at_end?: boolean;
  metric_for_best_model?: string | null;
  greater_is_better?: boolean | null;
  seed?: number;
  /** Seed of the training set's shuffle (HF's data_seed); null: `seed`. Dropout masks follow `seed`. */
  data_seed?: number | null;
  /**
   * HF's full_determinism. ortrain's CPU runs are bit-reproducible for a seed at a given thread count anyway
   * (seeded dropout masks, deterministic kernels); this also refuses CUDA, whose kernels onnxruntime-node offers
   * no deterministic switch for, and makes `auto` pick the CPU.
   */
  full_determinism?: boolean;
  group_by_length?: boolean;
  dataloader_drop_last?: boolean;
  /** ortrain: shuffle the training set every epoch (HF always does). */
  shuffle?: boolean;
  /** ortrain: overrides every dropout probability of the model (0 makes training deterministic). */
  dropout?: number | null;
  /** ortrain: execution provider; `auto` picks CUDA when it loads, else CPU. */
  device?: DeviceOption;
  /** ortrain: ONNX Runtime intra-op threads (0: ONNX Runtime's default, one per core). */
  num_threads?: number;
  /**
   * ortrain: optimizer steps per session run. > 1 runs K steps in one ONNX Loop with parameters and moments
   * kept on the device (for CUDA). Default: 1 on CPU, 8 on CUDA.
   */
  steps_per_run?: number | null;
}

type Resolved = Required<Omit<TrainingArgumentsInit, 'evaluation_strategy'>>;

const DEFAULTS: Omit<Resolved, 'output_dir'> = {
  num_train_epochs: 3,
  max_steps: -1,
  per_device_train_batch_size: 8,
  per_device_eval_batch_size: 8,
  learning_rate: 5e-5,
  weight_decay: 0,
  adam_beta1: 0.9,
  adam_beta2: 0.999,
  adam_epsilon: 1e-8,
  max_grad_norm: 1.0,
  lr_scheduler_type: 'linear',
  warmup_steps: 0,
  warmup_ratio: 0,
  gradient_accumulation_steps: 1,
  logging_strategy: 'steps',
  logging_steps: 500,
  logging_first_step: false,
  eval_strategy: 'no',
  eval_steps: null,
  save_strategy: 'steps',
  save_steps: 500,
  save_total_limit: null,
  load_best_model_at_end: false,
  metric_for_best_model: null,
  greater_is_better: null,
  seed: 42,
  data_seed: null,
  full_determinism: false,
  group_by_length: false,
  dataloader_drop_last: false,
  shuffle: true,
  dropout: null,
  device: 'auto',
  num_threads: 0,
  steps_per_run: null,
};

const STRATEGIES: readonly IntervalStrategy[] = ['no', 'steps', 'epoch'];
const SCHEDULERS: readonly SchedulerType[] = ['linear', 'constant', 'constant_with_warmup', 'cosine'];
const DEVICES: readonly DeviceOption[] = ['auto', 'cpu', 'cuda'];

export class TrainingArgumentsError extends Error {
  override name = 'TrainingArgumentsError';
}

function fail(key: string, expected: string, got: unknown): never {
  throw new TrainingArgumentsError(
    `TrainingArguments.${key}: expected ${expected}, got ${JSON.stringify(got)}`,
  );
}

export class TrainingArguments implements Resolved {
  readonly output_dir!: string;
  readonly num_train_epochs!: number;
  readonly max_steps!: number;
  readonly per_device_train_batch_size!: number;
  readonly per_device_eval_batch_size!: number;
  readonly learning_rate!: number;
  readonly weight_decay!: number;
  readonly adam_beta1!: number;
  readonly adam_beta2!: number;
  readonly adam_epsilon!: number;
  readonly max_grad_norm!: number;
  readonly lr_scheduler_type!: SchedulerType;
  readonly warmup_steps!: number;
  readonly warmup_ratio!: number;
  readonly gradient_accumulation_steps!: number;
  readonly logging_strategy!: IntervalStrategy;
  readonly logging_steps!: number;
  readonly logging_first_step!: boolean;
  readonly eval_strategy!: IntervalStrategy;
  readonly eval_steps!: number | null;
  readonly save_strategy!: IntervalStrategy;
  readonly save_steps!: number;
  readonly save_total_limit!: number | null;
  readonly load_best_model_at_end!: boolean;
  readonly metric_for_best_model!: string | null;
  readonly greater_is_better!: boolean | null;
  readonly seed!: number;
  readonly data_seed!: number | null;
  readonly full_determinism!: boolean;
  readonly group_by_length!: boolean;
  readonly dataloader_drop_last!: boolean;
  readonly shuffle!: boolean;
  readonly dropout!: number | null;
  readonly device!: DeviceOption;
  readonly num_threads!: number;
  readonly steps_per_run!: number | null;

  constructor(init: TrainingArgumentsInit | string) {
    const given: Record<string, unknown> = typeof init === 'string' ? { output_dir: init } : { ...init };
    for (const key of Object.keys(given)) {
      if (key !== 'output_dir' && key !== 'evaluation_strategy' && !(key in DEFAULTS)) {
        throw new TrainingArgumentsError(`TrainingArguments: unknown option '${key}'`);
      }
    }
    if ('evaluation_strategy' in given) {
      if ('eval_strategy' in given && given['eval_strategy'] !== given['evaluation_strategy']) {
        throw new TrainingArgumentsError(
          'TrainingArguments: eval_strategy and evaluation_strategy (its older name) disagree; give one',
        );
      }
      given['eval_strategy'] = given['evaluation_strategy'];
      delete given['evaluation_strategy'];
    }
    const a = { ...DEFAULTS } as Record<string, unknown>;
    for (const [k, v] of Object.entries(given)) if (v !== undefined) a[k] = v;
    validate(a);
    const r = a as unknown as Resolved;

    // HF's __post_init__ cross-checks and derived defaults.
    if (r.eval_strategy === 'steps' && (r.eval_steps === null || r.eval_steps === 0)) {
      if (r.logging_steps <= 0) {
        fail('eval_steps', 'a value (or logging_steps > 0) when eval_strategy is "steps"', r.eval_steps);
      }
      r.eval_steps = r.logging_steps;
    }
    if (r.load_best_model_at_end) {
      if (r.eval_strategy === 'no') {
        fail('eval_strategy', 'an evaluation strategy when load_best_model_at_end is set', r.eval_strategy);
      }
      if (r.eval_strategy !== r.save_strategy) {
        throw new TrainingArgumentsError(
          `TrainingArguments: load_best_model_at_end requires save_strategy to match eval_strategy ` +
            `(save_strategy ${r.save_strategy}, eval_strategy ${r.eval_strategy})`,
        );
      }
      if (r.eval_strategy === 'steps' && !isMultiple(r.save_steps, r.eval_steps!)) {
        throw new TrainingArgumentsError(
          `TrainingArguments: load_best_model_at_end requires save_steps (${r.save_steps}) to be a round ` +
            `multiple of eval_steps (${r.eval_steps})`,
        );
      }
      if (r.metric_for_best_model === null) r.metric_for_best_model = 'loss';
    }
    if (r.metric_for_best_model !== null && r.greater_is_better === null) {
      r.greater_is_better = !r.metric_for_best_model.endsWith('loss');
    }
    Object.assign(this, r);
    Object.freeze(this);
  }

  /** The resolved options as plain JSON (what checkpoints store as training_args.json). */
  toJSON(): Record<string, unknown> {
    return { ...(this as Resolved) };
  }

  /** Copy with some options changed (validated again). */
  with(changes: Partial<TrainingArgumentsInit>): TrainingArguments {
    return new TrainingArguments({ ...(this.toJSON() as unknown as TrainingArgumentsInit), ...changes });
  }
}

function isMultiple(a: number, b: number): boolean {
  // Ratios (< 1) are compared as HF does, by the ratio itself.
  return b !== 0 && Math.abs(a / b - Math.round(a / b)) < 1e-9;
}

function validate(a: Record<string, unknown>): void {
  const num = (key: string, ok: (v: number) => boolean, expected: string, nullable = false) => {
    const v = a[key];
    if (v === null && nullable) return;
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) fail(key, expected, v);
  };
  const bool = (key: string, nullable = false) => {
    const v = a[key];
    if (!(typeof v === 'boolean' || (nullable && v === null))) fail(key, 'true or false', v);
  };
  const oneOf = (key: string, options: readonly string[]) => {
    if (!options.includes(a[key] as string))
      fail(key, `one of ${options.map((o) => `"${o}"`).join(', ')}`, a[key]);
  };
  const int = Number.isInteger;
  if (typeof a['output_dir'] !== 'string' || a['output_dir'] === '') {
    fail('output_dir', 'a directory path', a['output_dir']);
  }
  num('num_train_epochs', (v) => v > 0, 'a number > 0');
  num('max_steps', (v) => int(v) && (v > 0 || v === -1), 'a positive integer, or -1 to use num_train_epochs');
  num('per_device_train_batch_size', (v) => int(v) && v > 0, 'a positive integer');
  num('per_device_eval_batch_size', (v) => int(v) && v > 0, 'a positive integer');
  num('learning_rate', (v) => v >= 0, 'a number >= 0');
  num('weight_decay', (v) => v >= 0, 'a number >= 0');
  num('adam_beta1', (v) => v >= 0 && v < 1, 'a number in [0, 1)');
  num('adam_beta2', (v) => v >= 0 && v < 1, 'a number in [0, 1)');
  num('adam_epsilon', (v) => v > 0, 'a number > 0');
  num('max_grad_norm', (v) => v >= 0, 'a number >= 0 (0 disables clipping)');
  oneOf('lr_scheduler_type', SCHEDULERS);
  num('warmup_steps', (v) => int(v) && v >= 0, 'an integer >= 0');
  num('warmup_ratio', (v) => v >= 0 && v <= 1, 'a number in [0, 1]');
  num('gradient_accumulation_steps', (v) => int(v) && v > 0, 'a positive integer');
  oneOf('logging_strategy', STRATEGIES);
  num('logging_steps', (v) => v > 0 && (v < 1 || int(v)), 'an integer > 0, or a ratio in (0, 1)');
  bool('logging_first_step');
  oneOf('eval_strategy', STRATEGIES);
  num('eval_steps', (v) => v > 0 && (v < 1 || int(v)), 'an integer > 0, or a ratio in (0, 1)', true);
  oneOf('save_strategy', STRATEGIES);
  num('save_steps', (v) => v > 0 && (v < 1 || int(v)), 'an integer > 0, or a ratio in (0, 1)');
  num('save_total_limit', (v) => int(v) && v > 0, 'a positive integer or null', true);
  bool('load_best_model_at_end');
  if (a['metric_for_best_model'] !== null && typeof a['metric_for_best_model'] !== 'string') {
    fail(
      'metric_for_best_model',
      'a metric name such as "accuracy" or "eval_loss"',
      a['metric_for_best_model'],
    );
  }
  bool('greater_is_better', true);
  num('seed', (v) => int(v) && v >= 0, 'an integer >= 0');
  num('data_seed', (v) => int(v) && v >= 0, 'an integer >= 0 or null', true);
  bool('full_determinism');
  if (a['full_determinism'] === true && a['device'] === 'cuda') {
    fail('device', '"cpu" or "auto" with full_determinism (CUDA kernels are not bit-reproducible)', 'cuda');
  }
  bool('group_by_length');
  bool('dataloader_drop_last');
  bool('shuffle');
  num('dropout', (v) => v >= 0 && v < 1, 'a probability in [0, 1) or null', true);
  oneOf('device', DEVICES);
  num('num_threads', (v) => int(v) && v >= 0, 'an integer >= 0');
  num('steps_per_run', (v) => int(v) && v > 0, 'a positive integer or null', true);
}
