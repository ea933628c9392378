import { basename, join, resolve } from 'node:path';
import { finishArguments } from '@ortrain/trainer';
import { Command, CommanderError, Option } from 'commander';
import { readConfigFile } from './config.js';
import { renderHelp } from './help.js';
import {
  coerce,
  flagName,
  flagOf,
  kebab,
  type OptionSpec,
  type OptionValue,
  placeholderOf,
  ValueError,
} from './spec.js';
import {
  CONFIG_OPTION,
  EVALUATE_OPTIONS,
  type EvaluateOptions,
  PREDICT_OPTIONS,
  type PredictOptions,
  TRAIN_OPTIONS,
  type TrainOptions,
} from './table.js';

/** A command-line mistake: the message names the flag or config key; the process should exit with 2. */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(
    message: string,
    /** e.g. `pnpm train`, for "run `pnpm train --help`" hints. */
    readonly usage: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export type OptionSource = 'default' | 'config' | 'flag';

export type ParseResult<T> =
  | {
      readonly kind: 'run';
      readonly options: T;
      /** Where each option's value came from; derived defaults count as `default`. */
      readonly sources: Readonly<Record<keyof T & string, OptionSource>>;
      readonly configFile?: string;
    }
  | { readonly kind: 'help'; readonly text: string };

export interface ParseContext {
  /** Base for a relative `--config` path; defaults to `process.cwd()`. */
  readonly cwd?: string;
}

type Values = Record<string, OptionValue | undefined>;

interface CommandDef {
  readonly usage: string;
  readonly summary: string;
  readonly options: readonly OptionSpec[];
  readonly examples: readonly string[];
  /** Derived defaults and cross-option checks; returns error messages. */
  readonly finish: (values: Values) => string[];
}

function buildCommander(def: CommandDef): Command {
  const cmd = new Command(def.usage)
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} })
    .helpOption(false)
    .allowExcessArguments(false);
  for (const spec of [...def.options, CONFIG_OPTION]) {
    for (const name of [spec.key, ...(spec.aliases ?? [])]) {
      const flag = `--${kebab(name)}`;
      if (spec.type !== 'bool') cmd.addOption(new Option(`${flag} <${placeholderOf(spec)}>`));
      else {
        // HF's spellings: `--flag`, `--flag true|false`, `--no-flag` (the last only when it changes something).
        if (spec.default !== true) cmd.addOption(new Option(`${flag} [bool]`));
        if (spec.default !== false) cmd.addOption(new Option(`--no-${kebab(name)}`));
      }
    }
  }
  return cmd;
}

/** The attribute commander stores a flag's value under (`--learning-rate` -> `learningRate`). */
function attribute(name: string): string {
  return new Option(`--${kebab(name)}`).attributeName();
}

/**
 * HF's snake_case spellings (`--learning_rate`) become the kebab-case flags; a flag that needs a value but is
 * followed by another flag (`--learning-rate --max-steps 5`) is reported as such instead of taking it.
 */
function normalizeFlags(def: CommandDef, cmd: Command, args: readonly string[]): string[] {
  const known = new Set(cmd.options.map((option) => option.long));
  const takesValue = new Map(
    [...def.options, CONFIG_OPTION]
      .filter((s) => s.type !== 'bool')
      .flatMap((s) => [s.key, ...(s.aliases ?? [])].map((name) => [flagName(name), s] as const)),
  );
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return [...out, ...args.slice(i)];
    if (!arg.startsWith('--')) {
      out.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const typed = eq < 0 ? arg : arg.slice(0, eq);
    // An unknown flag keeps the user's spelling in commander's error.
    const flag = known.has(typed.replaceAll('_', '-')) ? typed.replaceAll('_', '-') : typed;
    out.push(eq < 0 ? flag : `${flag}${arg.slice(eq)}`);
    const next = args[i + 1];
    const spec = eq < 0 ? takesValue.get(flag) : undefined;
    if (spec && next?.startsWith('--')) {
      throw new UsageError(
        `option '${flag} <${placeholderOf(spec)}>' argument missing: it needs a value before '${next}'`,
        def.usage,
      );
    }
  }
  return out;
}

function parseWith<T>(def: CommandDef, argv: readonly string[], context: ParseContext): ParseResult<T> {
  // `pnpm <script> -- --flag` forwards the `--`; it separates nothing here.
  const args = argv[0] === '--' ? argv.slice(1) : [...argv];
  const end = args.indexOf('--');
  const optionArgs = end < 0 ? args : args.slice(0, end);
  if (optionArgs.includes('--help') || optionArgs.includes('-h')) {
    return { kind: 'help', text: renderHelp({ ...def, options: [...def.options, CONFIG_OPTION] }) };
  }
  const fail = (messages: string[]): never => {
    throw new UsageError(messages.join('\n'), def.usage);
  };

  const cmd = buildCommander(def);
  try {
    cmd.parse(normalizeFlags(def, cmd, args), { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.excessArguments') {
        fail([`unexpected argument '${cmd.args[0]}': options are flags like --task mrpc`]);
      }
      // Commander puts its "(Did you mean --x?)" hint on a second line; keep it with the error.
      fail([error.message.replace(/^error: /, '').replace(/\n/g, ' ')]);
    }
    throw error;
  }

  const values: Values = {};
  const sources: Record<string, OptionSource> = {};
  for (const spec of def.options) {
    values[spec.key] = spec.default ?? undefined;
    sources[spec.key] = 'default';
  }

  const errors: string[] = [];
  const configArg = cmd.getOptionValue(attribute(CONFIG_OPTION.key)) as string | undefined;
  let configFile: string | undefined;
  if (configArg !== undefined) {
    configFile = resolve(context.cwd ?? process.cwd(), configArg);
    const config = readConfigFile(configFile, def.options);
    errors.push(...config.errors);
    for (const [key, value] of config.values) {
      values[key] = value;
      sources[key] = 'config';
    }
  }

  for (const spec of def.options) {
    const given = [spec.key, ...(spec.aliases ?? [])].filter(
      (name) => cmd.getOptionValueSource(attribute(name)) === 'cli',
    );
    const raws = new Set(given.map((name) => String(cmd.getOptionValue(attribute(name)))));
    if (raws.size > 1) {
      errors.push(`${flagName(given[0]!)} and ${flagName(given[1]!)} (its older name) disagree; give one`);
      continue;
    }
    if (given.length === 0) continue;
    try {
      values[spec.key] = coerce(spec, cmd.getOptionValue(attribute(given[0]!)));
      sources[spec.key] = 'flag';
    } catch (error) {
      if (!(error instanceof ValueError)) throw error;
      errors.push(`${flagOf(spec)}: ${error.message}`);
    }
  }

  for (const spec of def.options) {
    if (spec.required && values[spec.key] === undefined) {
      errors.push(`missing ${flagOf(spec)} <${placeholderOf(spec)}> (or '${spec.key}' in a --config file)`);
    }
  }
  if (errors.length === 0) errors.push(...def.finish(values));
  if (errors.length > 0) fail(errors);

  // The table is typed against T's keys (see table.ts), so the record has T's shape.
  const result = {
    kind: 'run' as const,
    options: values as T,
    sources: sources as Record<keyof T & string, OptionSource>,
  };
  return configFile === undefined ? result : { ...result, configFile };
}

/** The default output folder, `resume_from_checkpoint`'s `true`, and HF's `__post_init__` on the flags. */
function finishTrain(v: Values): string[] {
  const modelName = basename(String(v['model']).replace(/\/+$/, '')).replace(/\.onnx$/, '');
  v['output_dir'] ??= join('artifacts', `${String(v['task'])}-${modelName}`);
  if (v['resume_from_checkpoint'] === 'true') v['resume_from_checkpoint'] = 'latest';
  else if (v['resume_from_checkpoint'] === 'false') v['resume_from_checkpoint'] = undefined;
  const errors = finishArguments(v, flagName);
  if (v['early_stopping_patience'] !== undefined && !v['load_best_model_at_end']) {
    errors.push(
      '--early-stopping-patience needs --load-best-model-at-end (as HF EarlyStoppingCallback does)',
    );
  }
  return errors;
}

const TRAIN: CommandDef = {
  usage: 'pnpm train [options]',
  summary:
    'Fine-tune a model on a GLUE task and evaluate it, as chapter 3 of the Hugging Face course does with the Trainer. ' +
    "Every TrainingArguments option is a kebab-case flag (HF's snake_case spellings work too; a boolean flag " +
    'also takes true or false); --config reads them from a JSON file and flags override it.',
  options: TRAIN_OPTIONS,
  examples: [
    'pnpm train --task mrpc --output-dir artifacts/mrpc',
    'pnpm train --task sst2 --learning-rate 2e-5 --num-train-epochs 1 --device cuda',
    'pnpm train --config artifacts/mrpc/train_args.json --resume-from-checkpoint latest',
  ],
  finish: finishTrain,
};

const PREDICT: CommandDef = {
  usage: 'pnpm predict --model <dir> --data <folder> [options]',
  summary:
    'Predict a split with a model trained by `pnpm train`: one row per example. The main file is a GLUE ' +
    'submission TSV (index, prediction); a .details.tsv beside it adds the label name and class probabilities.',
  options: PREDICT_OPTIONS,
  // The folders the default `pnpm train` writes when it runs the embedded default (offline).
  examples: ['pnpm predict --model artifacts/mrpc-embedded --data artifacts/embedded/data --split test'],
  finish: (v) => {
    v['output'] ??= join(String(v['model']), `predictions_${v['split']}.tsv`);
    return [];
  },
};

const EVALUATE: CommandDef = {
  usage: 'pnpm evaluate --model <dir> --data <folder> [options]',
  summary:
    'Compute the metrics (loss, accuracy, F1, ...) of a model trained by `pnpm train` on a labelled split.',
  options: EVALUATE_OPTIONS,
  examples: [
    'pnpm evaluate --model artifacts/mrpc-embedded --data artifacts/embedded/data --split validation',
  ],
  finish: () => [],
};

/** Parses `pnpm train` arguments (without `node` and the script). Throws `UsageError` on bad input. */
export function parseTrainArgs(
  argv: readonly string[],
  context: ParseContext = {},
): ParseResult<TrainOptions> {
  return parseWith<TrainOptions>(TRAIN, argv, context);
}

export function parsePredictArgs(
  argv: readonly string[],
  context: ParseContext = {},
): ParseResult<PredictOptions> {
  return parseWith<PredictOptions>(PREDICT, argv, context);
}

export function parseEvaluateArgs(
  argv: readonly string[],
  context: ParseContext = {},
): ParseResult<EvaluateOptions> {
  return parseWith<EvaluateOptions>(EVALUATE, argv, context);
}

/** What the app prints for a `UsageError` before exiting with `error.exitCode`. */
export function formatUsageError(error: UsageError): string {
  const lines = error.message.split('\n').map((line) => `error: ${line}`);
  return `${lines.join('\n')}\nRun '${error.usage.split(' ').slice(0, 2).join(' ')} --help' for the options.\n`;
}
