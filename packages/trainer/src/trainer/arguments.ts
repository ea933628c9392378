/**
 * TrainingArguments with Hugging Face's names, defaults and cross-checks (transformers' `TrainingArguments`),
 * plus ortrain's own options. The fields, defaults and per-option checks are the entries of
 * TRAINING_ARGUMENT_SPECS; this file adds HF's `__post_init__` (derived defaults, cross-option checks). Unknown
 * keys are rejected so a typo never silently falls back to a default.
 */
import { parseDevices } from '../parallel/devices.js';
import {
  type ArgumentSpec,
  accepts,
  expectation,
  type ReportTo,
  type SchedulerType,
  TRAINING_ARGUMENT_SPECS,
  type TrainingArgumentValues,
} from './argument-spec.js';
import { type SchedulerKwargs, schedulerKwargsError } from './scheduler.js';

type Spec = (typeof TRAINING_ARGUMENT_SPECS)[number];
/** The older names an option also accepts (`evaluation_strategy`), with the option's type. */
type AliasValues = {
  -readonly [S in Spec as S extends { readonly aliases: readonly (infer A)[] }
    ? A & string
    : never]?: TrainingArgumentValues[S['key']];
};

export type TrainingArgumentsInit = Pick<TrainingArgumentValues, 'output_dir'> &
  Partial<Omit<TrainingArgumentValues, 'output_dir'>> &
  AliasValues;

const SPECS: ReadonlyMap<string, ArgumentSpec> = new Map(TRAINING_ARGUMENT_SPECS.map((s) => [s.key, s]));
const ALIASES: ReadonlySet<string> = new Set([...SPECS.values()].flatMap((s) => s.aliases ?? []));
const asKey = (key: string) => key;

export class TrainingArgumentsError extends Error {
  override name = 'TrainingArgumentsError';
}

function fail(key: string, expected: string, got: unknown): never {
  throw new TrainingArgumentsError(
    `TrainingArguments.${key}: expected ${expected}, got ${JSON.stringify(got)}`,
  );
}

/** Folds each older name (`evaluation_strategy`) into its option; both given must agree. */
function foldAliases(given: Record<string, unknown>): void {
  for (const spec of SPECS.values()) {
    for (const alias of spec.aliases ?? []) {
      if (!(alias in given)) continue;
      if (given[spec.key] !== undefined && given[spec.key] !== given[alias]) {
        throw new TrainingArgumentsError(
          `TrainingArguments: ${spec.key} and ${alias} (its older name) disagree; give one`,
        );
      }
      given[spec.key] = given[alias];
      delete given[alias];
    }
  }
}

/**
 * HF's `__post_init__` on plain values: fills the derived defaults (eval_steps, metric_for_best_model,
 * greater_is_better, run_name) and returns what the cross-option checks find wrong, each message starting with
 * the option it is about. null and undefined both mean unset; `name` renders an option's name (its key, or its
 * flag).
 */
export function finishArguments(v: Record<string, unknown>, name: (key: string) => string): string[] {
  if (v['eval_strategy'] === 'steps') v['eval_steps'] ??= v['logging_steps'];
  v['run_name'] ??= v['output_dir'];
  const errors: string[] = [];
  const schedule = v['lr_scheduler_type'] as SchedulerType;
  const kwargs = (v['lr_scheduler_kwargs'] ?? {}) as SchedulerKwargs;
  const kwargsError = schedulerKwargsError(schedule, kwargs, Number(v['learning_rate']));
  if (kwargsError) {
    errors.push(
      `${name('lr_scheduler_kwargs')}: expected the arguments of the ${schedule} schedule (${kwargsError}), ` +
        `got ${JSON.stringify(kwargs)}`,
    );
  }
  if (schedule === 'reduce_lr_on_plateau') {
    // torch's ReduceLROnPlateau steps on an evaluation metric: HF checks the loss unless told otherwise.
    if (v['eval_strategy'] === 'no') {
      errors.push(
        `${name('lr_scheduler_type')} reduce_lr_on_plateau requires an eval strategy: ` +
          `set ${name('eval_strategy')} to steps or epoch`,
      );
    }
    v['metric_for_best_model'] ??= 'loss';
  }
  if (v['load_best_model_at_end'] === true) {
    v['metric_for_best_model'] ??= 'loss';
    const best = name('load_best_model_at_end');
    if (v['eval_strategy'] === 'no') {
      errors.push(`${best} needs evaluations: set ${name('eval_strategy')} to steps or epoch`);
    } else if (v['save_strategy'] !== v['eval_strategy']) {
      errors.push(
        `${best} needs ${name('save_strategy')} to match ${name('eval_strategy')} ` +
          `(got save '${v['save_strategy']}', eval '${v['eval_strategy']}')`,
      );
    } else if (
      v['eval_strategy'] === 'steps' &&
      !isMultiple(Number(v['save_steps']), Number(v['eval_steps']))
    ) {
      errors.push(
        `${best} needs ${name('save_steps')} (${v['save_steps']}) to be a multiple of ${name('eval_steps')} ` +
          `(${v['eval_steps']}): HF requires a round multiple`,
      );
    }
  }
  if (typeof v['devices'] === 'string') {
    try {
      const plan = parseDevices(v['devices'], 'auto');
      if (v['full_determinism'] === true && plan.device !== 'cpu' && plan.device !== 'auto') {
        errors.push(`${name('full_determinism')} needs CPU replicas (${name('devices')} ${v['devices']})`);
      }
    } catch (e) {
      errors.push(`${name('devices')}: ${(e as Error).message}`);
    }
  }
  if (v['full_determinism'] === true && (v['device'] === 'cuda' || v['device'] === 'webgpu')) {
    const kernels = v['device'] === 'cuda' ? 'CUDA' : 'WebGPU';
    errors.push(
      `${name('full_determinism')} needs ${name('device')} cpu or auto (${kernels} kernels are not bit-reproducible)`,
    );
  }
  if (v['fp16'] === true && v['bf16'] === true) {
    errors.push(`${name('fp16')} and ${name('bf16')} cannot both be set (at most one mixed precision)`);
  }
  const metric = v['metric_for_best_model'];
  if (typeof metric === 'string') v['greater_is_better'] ??= !metric.endsWith('loss');
  return errors;
}

// The fields are the spec's (TrainingArgumentValues), assigned in the constructor.
export interface TrainingArguments extends Readonly<TrainingArgumentValues> {}

// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the class declares no fields of its own to clash
export class TrainingArguments {
  constructor(init: TrainingArgumentsInit | string) {
    const given: Record<string, unknown> = typeof init === 'string' ? { output_dir: init } : { ...init };
    for (const key of Object.keys(given)) {
      if (!SPECS.has(key) && !ALIASES.has(key)) {
        throw new TrainingArgumentsError(`TrainingArguments: unknown option '${key}'`);
      }
    }
    foldAliases(given);
    const values: Record<string, unknown> = {};
    for (const spec of SPECS.values()) {
      values[spec.key] = given[spec.key] === undefined ? spec.default : given[spec.key];
    }
    for (const spec of SPECS.values()) {
      if (!accepts(spec, values[spec.key])) fail(spec.key, expectation(spec, asKey, true), values[spec.key]);
    }
    const errors = finishArguments(values, asKey);
    if (errors.length > 0) throw new TrainingArgumentsError(`TrainingArguments.${errors[0]}`);
    // HF's __post_init__: any evaluation strategy implies do_eval (run_glue then evaluates after training).
    // Set here, not in finishArguments, so a command line's saved options keep what was asked: a rerun of
    // them with eval_strategy no evaluates nothing.
    if (values['eval_strategy'] !== 'no') values['do_eval'] = true;
    // A copy the caller cannot change under the frozen arguments (the default is frozen already).
    if (!Object.isFrozen(values['lr_scheduler_kwargs'])) {
      values['lr_scheduler_kwargs'] = Object.freeze({ ...(values['lr_scheduler_kwargs'] as object) });
    }
    Object.assign(this, values);
    Object.freeze(this);
  }

  /**
   * TrainingArguments from a record that holds more than them (a command line's options): the spec's keys
   * are taken, undefined ones left to their defaults, everything else ignored.
   */
  static fromOptions(options: object): TrainingArguments {
    const values = options as Record<string, unknown>;
    const init = Object.fromEntries(
      [...SPECS.keys()].filter((key) => values[key] !== undefined).map((key) => [key, values[key]]),
    );
    return new TrainingArguments(init as TrainingArgumentsInit);
  }

  /** The resolved options as plain JSON (what checkpoints store as training_args.json); the token redacted, as HF. */
  toJSON(): TrainingArgumentValues {
    return {
      ...(this as TrainingArgumentValues),
      ...(this.hub_token !== null && { hub_token: '<HUB_TOKEN>' }),
    };
  }

  /** Copy with some options changed (validated again). */
  with(changes: Partial<TrainingArgumentsInit>): TrainingArguments {
    return new TrainingArguments({ ...(this as TrainingArgumentValues), ...changes });
  }
}

/** HF's metric_to_check: a metric_for_best_model under the `eval_` prefix of the evaluation metrics. */
export function evalMetricKey(metric: string): string {
  return metric.startsWith('eval_') ? metric : `eval_${metric}`;
}

/** Whether `report_to` asks for `integration` (`all` includes every one; `none` alone means none). */
export function reportsTo(
  args: Pick<TrainingArgumentValues, 'report_to'>,
  integration: Exclude<ReportTo, 'none' | 'all'>,
): boolean {
  const list: readonly ReportTo[] = [args.report_to].flat();
  return list.includes(integration) || list.includes('all');
}

function isMultiple(a: number, b: number): boolean {
  // Ratios (< 1) are compared as HF does, by the ratio itself.
  return b !== 0 && Math.abs(a / b - Math.round(a / b)) < 1e-9;
}
