import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GlueTaskName } from '@ortrain/data';
import {
  type ArgumentSpec,
  accepts,
  type SchedulerType,
  TRAINING_ARGUMENT_SPECS,
  TrainingArguments,
} from '@ortrain/trainer';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  EVALUATE_OPTIONS,
  type EvaluateOptions,
  flagOf,
  formatUsageError,
  PREDICT_OPTIONS,
  type PredictOptions,
  parseEvaluateArgs,
  parsePredictArgs,
  parseTrainArgs,
  saveOptions,
  TRAIN_OPTIONS,
  type TrainOptions,
  UsageError,
} from '../src/index.js';
import { tempDir } from './tmp.js';

function train(argv: string[], cwd?: string): TrainOptions {
  const result = parseTrainArgs(argv, cwd === undefined ? {} : { cwd });
  if (result.kind !== 'run') throw new Error('expected options, got help');
  return result.options;
}

/** The UsageError a parse throws (fails the test when it does not throw one). */
function usageError(parse: () => unknown): UsageError {
  try {
    parse();
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error('expected a UsageError');
}

function writeConfig(dir: string, name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('option tables', () => {
  it('cover exactly the keys of the option types', () => {
    expectTypeOf<(typeof TRAIN_OPTIONS)[number]['key']>().toEqualTypeOf<keyof TrainOptions>();
    expectTypeOf<(typeof PREDICT_OPTIONS)[number]['key']>().toEqualTypeOf<keyof PredictOptions>();
    expectTypeOf<(typeof EVALUATE_OPTIONS)[number]['key']>().toEqualTypeOf<keyof EvaluateOptions>();
    // TrainOptions is typed from the tables: set options, unset ones, choices.
    expectTypeOf<TrainOptions['task']>().toEqualTypeOf<GlueTaskName>();
    expectTypeOf<TrainOptions['lr_scheduler_type']>().toEqualTypeOf<SchedulerType>();
    expectTypeOf<TrainOptions['learning_rate']>().toEqualTypeOf<number>();
    expectTypeOf<TrainOptions['eval_steps']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<TrainOptions['data']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<TrainOptions['shuffle']>().toEqualTypeOf<boolean>();
    for (const table of [TRAIN_OPTIONS, PREDICT_OPTIONS, EVALUATE_OPTIONS]) {
      const keys = table.map((s) => s.key);
      expect(new Set(keys).size).toBe(keys.length);
    }
  });
});

describe('parseTrainArgs', () => {
  it("defaults to Hugging Face's TrainingArguments and the course's task", () => {
    const o = train([]);
    expect(o).toMatchObject({
      task: 'mrpc',
      model: 'bert-base-uncased',
      output_dir: join('artifacts', 'mrpc-bert-base-uncased'),
      num_train_epochs: 3,
      max_steps: -1,
      per_device_train_batch_size: 8,
      per_device_eval_batch_size: 8,
      learning_rate: 5e-5,
      weight_decay: 0,
      adam_beta1: 0.9,
      adam_beta2: 0.999,
      adam_epsilon: 1e-8,
      max_grad_norm: 1,
      lr_scheduler_type: 'linear',
      warmup_steps: 0,
      warmup_ratio: 0,
      gradient_accumulation_steps: 1,
      logging_steps: 500,
      report_to: 'none',
      eval_strategy: 'epoch',
      save_strategy: 'steps',
      save_steps: 500,
      load_best_model_at_end: false,
      seed: 42,
      group_by_length: false,
      shuffle: true,
      device: 'auto',
    });
    for (const unset of [
      'data',
      'eval_steps',
      'save_total_limit',
      'metric_for_best_model',
      'greater_is_better',
    ]) {
      expect(o[unset as keyof TrainOptions], unset).toBeUndefined();
    }
    for (const unset of ['dropout', 'max_seq_length', 'resume_from_checkpoint'] as const) {
      expect(o[unset], unset).toBeUndefined();
    }
    // ONNX Runtime's choice of threads (TrainingArguments.num_threads 0).
    expect(o.num_threads).toBe(0);
  });

  it('reads kebab-case flags, in both `--flag value` and `--flag=value` forms', () => {
    const o = train([
      '--task',
      'sst2',
      '--learning-rate=2e-5',
      '--per-device-train-batch-size',
      '16',
      '--num-train-epochs',
      '1.5',
      '--max-steps',
      '-1',
      '--warmup-ratio',
      '0.1',
      '--lr-scheduler-type',
      'cosine',
      '--eval-strategy',
      'steps',
      '--logging-steps',
      '50',
      '--save-total-limit',
      '2',
      '--device',
      'cuda',
      '--threads',
      '4',
      '--max-seq-length',
      '128',
      '--dropout',
      '0',
      '--output-dir',
      'out dir/with space',
    ]);
    expect(o).toMatchObject({
      task: 'sst2',
      learning_rate: 2e-5,
      per_device_train_batch_size: 16,
      num_train_epochs: 1.5,
      max_steps: -1,
      warmup_ratio: 0.1,
      lr_scheduler_type: 'cosine',
      eval_strategy: 'steps',
      logging_steps: 50,
      // HF: eval_steps defaults to logging_steps under the steps strategy.
      eval_steps: 50,
      save_total_limit: 2,
      device: 'cuda',
      // --threads is num_threads' older name.
      num_threads: 4,
      max_seq_length: 128,
      dropout: 0,
      output_dir: 'out dir/with space',
    });
  });

  it('switches booleans with --no-shuffle, --group-by-length and --[no-]greater-is-better', () => {
    expect(train(['--no-shuffle']).shuffle).toBe(false);
    expect(train(['--group-by-length']).group_by_length).toBe(true);
    expect(train(['--no-greater-is-better', '--metric-for-best-model', 'f1']).greater_is_better).toBe(false);
    expect(train(['--greater-is-better', '--metric-for-best-model', 'loss']).greater_is_better).toBe(true);
    expect(usageError(() => train(['--shuffle'])).message).toContain("unknown option '--shuffle'");
  });

  it("accepts GLUE's folder spellings of task names", () => {
    expect(train(['--task', 'SST-2']).task).toBe('sst2');
    expect(train(['--task', 'STS-B']).task).toBe('stsb');
  });

  it('derives best-model settings the way HF does', () => {
    const best = train(['--load-best-model-at-end', '--save-strategy', 'epoch']);
    expect(best.metric_for_best_model).toBe('loss');
    expect(best.greater_is_better).toBe(false);
    expect(train(['--metric-for-best-model', 'accuracy']).greater_is_better).toBe(true);
    expect(train(['--resume-from-checkpoint', 'true']).resume_from_checkpoint).toBe('latest');
    expect(train(['--resume-from-checkpoint', 'runs/x/checkpoint-9']).resume_from_checkpoint).toBe(
      'runs/x/checkpoint-9',
    );
  });

  it("takes EarlyStoppingCallback's settings, which need --load-best-model-at-end", () => {
    const best = ['--load-best-model-at-end', '--save-strategy', 'epoch'];
    const early = train([...best, '--early-stopping-patience', '3', '--early-stopping-threshold', '0.01']);
    expect([early.early_stopping_patience, early.early_stopping_threshold]).toEqual([3, 0.01]);
    expect([train([]).early_stopping_patience, train([]).early_stopping_threshold]).toEqual([undefined, 0]);
    const cases: [string[], string][] = [
      [['--early-stopping-patience', '2'], '--early-stopping-patience needs --load-best-model-at-end'],
      [
        [...best, '--early-stopping-patience', '0'],
        "--early-stopping-patience: expected an integer >= 1, got '0'",
      ],
      [['--early-stopping-threshold', '-1'], "--early-stopping-threshold: expected a number >= 0, got '-1'"],
    ];
    for (const [argv, message] of cases) expect(usageError(() => train(argv)).message).toContain(message);
  });

  it('rejects bad values with the flag and what was expected, exit code 2', () => {
    const cases: [string[], string][] = [
      [['--learning-rate', 'abc'], "--learning-rate: expected a number > 0, got 'abc'"],
      [['--learning-rate', '0'], "--learning-rate: expected a number > 0, got '0'"],
      [
        ['--per-device-train-batch-size', '8.5'],
        "--per-device-train-batch-size: expected an integer >= 1, got '8.5'",
      ],
      [
        ['--eval-strategy', 'sometimes'],
        "--eval-strategy: expected one of no, steps, epoch, got 'sometimes'",
      ],
      [['--task', 'imdb'], '--task: expected one of cola, sst2, mrpc'],
      [['--device', 'tpu'], "--device: expected one of auto, cpu, cuda, webgpu, got 'tpu'"],
      [['--max-steps', '0'], '--max-steps: expected an integer > 0, or -1 to use --num-train-epochs'],
      [['--warmup-ratio', '1.5'], '--warmup-ratio: expected a number in [0, 1]'],
      [['--dropout', '1'], '--dropout: expected a number in [0, 1)'],
      [['--seed', '0x10'], "--seed: expected an integer >= 0, got '0x10'"],
      [['--learning-rate'], "option '--learning-rate <float>' argument missing"],
      [['--lerning-rate', '1e-5'], "unknown option '--lerning-rate' (Did you mean --learning-rate?)"],
      [['mrpc'], "unexpected argument 'mrpc'"],
      [
        ['--load-best-model-at-end'],
        '--load-best-model-at-end needs --save-strategy to match --eval-strategy',
      ],
      [
        ['--load-best-model-at-end', '--eval-strategy', 'steps', '--eval-steps', '300'],
        '--save-steps (500) to be a multiple of --eval-steps (300)',
      ],
    ];
    for (const [argv, message] of cases) {
      const error = usageError(() => train(argv));
      expect(error.message, argv.join(' ')).toContain(message);
      expect(error.exitCode).toBe(2);
    }
  });

  it('reports every bad flag at once and formats errors with a --help hint', () => {
    const error = usageError(() => train(['--seed', '-3', '--adam-beta1', '1']));
    expect(error.message.split('\n')).toEqual([
      "--adam-beta1: expected a number in [0, 1), got '1'",
      "--seed: expected an integer >= 0, got '-3'",
    ]);
    expect(formatUsageError(error)).toBe(
      "error: --adam-beta1: expected a number in [0, 1), got '1'\n" +
        "error: --seed: expected an integer >= 0, got '-3'\n" +
        "Run 'pnpm train --help' for the options.\n",
    );
  });

  it('ignores a leading `--` forwarded by pnpm', () => {
    expect(train(['--', '--seed', '7']).seed).toBe(7);
  });

  it('merges --config under the flags and records where each value came from', () => {
    const dir = tempDir();
    writeConfig(dir, 'args.json', {
      learning_rate: 2e-5,
      num_train_epochs: '2',
      seed: 1,
      shuffle: false,
      eval_strategy: 'no',
      save_total_limit: null,
    });
    const result = parseTrainArgs(['--config', 'args.json', '--seed', '7'], { cwd: dir });
    if (result.kind !== 'run') throw new Error('expected options');
    expect(result.options).toMatchObject({
      learning_rate: 2e-5,
      num_train_epochs: 2,
      seed: 7,
      shuffle: false,
      eval_strategy: 'no',
    });
    expect(result.options.save_total_limit).toBeUndefined();
    expect(result.configFile).toBe(join(dir, 'args.json'));
    expect(result.sources).toMatchObject({ learning_rate: 'config', seed: 'flag', weight_decay: 'default' });
  });

  it('reports unknown keys and bad values of a config file with the file name', () => {
    const dir = tempDir();
    const path = writeConfig(dir, 'bad.json', {
      'learning-rate': 1e-5,
      num_train_epoch: 2,
      tf32: true,
      no_shuffle: true,
      per_device_train_batch_size: 0,
      shuffle: 'no',
    });
    const error = usageError(() => train(['--config', path]));
    expect(error.message.split('\n')).toEqual([
      `${path}: unknown option 'learning-rate' (did you mean 'learning_rate'?)`,
      `${path}: unknown option 'num_train_epoch' (did you mean 'num_train_epochs'?)`,
      `${path}: unknown option 'tf32'`,
      `${path}: unknown option 'no_shuffle' (did you mean 'shuffle': false?)`,
      `${path}: 'per_device_train_batch_size': expected an integer >= 1, got 0`,
      `${path}: 'shuffle': expected true or false, got 'no'`,
    ]);
    const notJson = writeConfig(dir, 'broken.json', '{"seed": 1,');
    expect(usageError(() => train(['--config', notJson])).message).toMatch(/broken\.json: not valid JSON/);
    const array = writeConfig(dir, 'array.json', [1, 2]);
    expect(usageError(() => train(['--config', array])).message).toContain(
      'array.json: expected a JSON object',
    );
    expect(usageError(() => train(['--config', join(dir, 'missing.json')])).message).toContain(
      'missing.json: cannot read the config file',
    );
  });

  it('round-trips saved options through --config', () => {
    const dir = tempDir();
    const original = train([
      '--task',
      'rte',
      '--learning-rate',
      '3e-5',
      '--no-shuffle',
      '--save-total-limit',
      '1',
    ]);
    saveOptions(join(dir, 'train_args.json'), original);
    expect(train(['--config', join(dir, 'train_args.json')])).toEqual(original);
  });
});

/** A valid value of the option other than its default (so the test sees the flag took effect). */
function sampleValue(spec: ArgumentSpec): unknown {
  switch (spec.type) {
    case 'bool':
      return spec.default !== true;
    case 'enum':
      return spec.choices!.find((c) => c !== spec.default);
    case 'path':
      return 'some_dir/run 1';
    case 'string':
      return spec.key === 'devices' ? 'cpu:2' : 'accuracy';
    case 'json':
      return { num_cycles: 2 };
    default:
      return [2, 3, 0.5, 7].find((v) => v !== spec.default && accepts(spec, v));
  }
}

describe('TrainingArguments on the command line', () => {
  it.each(TRAINING_ARGUMENT_SPECS.map((s) => [s.key, s] as const))(
    '%s round-trips from its flag',
    (key, spec) => {
      const value = sampleValue(spec);
      expect(value, key).toBeDefined();
      const flag = `--${key.replaceAll('_', '-')}`;
      const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
      const argv = typeof value === 'boolean' ? [value ? flag : `--no-${flag.slice(2)}`] : [flag, text];
      // load_best_model_at_end needs checkpoints on evaluations (the app evaluates each epoch).
      if (key === 'load_best_model_at_end') argv.push('--save-strategy', 'epoch');
      // The sample kwargs are cosine's (linear takes none).
      if (key === 'lr_scheduler_kwargs') argv.push('--lr-scheduler-type', 'cosine');
      const options = train(argv);
      // toEqual: a json option's value is a new object; the others are compared as values.
      expect(options[key], argv.join(' ')).toEqual(value);
      expect(TrainingArguments.fromOptions(options)[key], argv.join(' ')).toEqual(value);
    },
  );

  it('maps the default command line to the app defaults and nothing else', () => {
    const args = TrainingArguments.fromOptions(train([]));
    const defaults = new TrainingArguments({ output_dir: join('artifacts', 'mrpc-bert-base-uncased') });
    // The course evaluates each epoch, which implies do_eval (HF's __post_init__).
    expect(args.toJSON()).toEqual({ ...defaults.toJSON(), eval_strategy: 'epoch', do_eval: true });
  });
});

describe('HF command-line spellings', () => {
  it('reports a flag followed by another flag as missing its value', () => {
    const error = usageError(() => train(['--learning-rate', '--max-steps', '5']));
    expect(error.message).toBe(
      "option '--learning-rate <float>' argument missing: it needs a value before '--max-steps'",
    );
    expect(error.exitCode).toBe(2);
  });

  it('takes true/false after boolean flags, in both forms', () => {
    expect(train(['--group-by-length', 'true']).group_by_length).toBe(true);
    expect(train(['--group-by-length', 'false']).group_by_length).toBe(false);
    expect(train(['--group-by-length', '--seed', '3'])).toMatchObject({ group_by_length: true, seed: 3 });
    const best = train(['--load-best-model-at-end=true', '--save-strategy', 'epoch']);
    expect(best.load_best_model_at_end).toBe(true);
    expect(train(['--greater-is-better', 'false', '--metric-for-best-model', 'f1']).greater_is_better).toBe(
      false,
    );
    expect(usageError(() => train(['--group-by-length', 'yes'])).message).toBe(
      "--group-by-length: expected true or false, got 'yes'",
    );
  });

  it('takes --data-seed and --full-determinism, which refuses --device cuda', () => {
    expect(train(['--data-seed', '7', '--full-determinism'])).toMatchObject({
      data_seed: 7,
      full_determinism: true,
    });
    expect(usageError(() => train(['--full-determinism', '--device', 'cuda'])).message).toBe(
      '--full-determinism needs --device cpu or auto (CUDA kernels are not bit-reproducible)',
    );
  });

  it('accepts snake_case flags, and keeps values as typed', () => {
    expect(
      train([
        '--learning_rate',
        '2e-5',
        '--per_device_train_batch_size=4',
        '--no_shuffle',
        '--output_dir',
        'a_b',
      ]),
    ).toMatchObject({
      learning_rate: 2e-5,
      per_device_train_batch_size: 4,
      shuffle: false,
      output_dir: 'a_b',
    });
    expect(usageError(() => train(['--lerning_rate', '1'])).message).toContain(
      "unknown option '--lerning_rate'",
    );
  });

  it('accepts the older names evaluation_strategy and threads, refusing two that disagree', () => {
    expect(train(['--evaluation-strategy', 'steps']).eval_strategy).toBe('steps');
    expect(train(['--evaluation_strategy', 'no', '--eval-strategy', 'no']).eval_strategy).toBe('no');
    expect(usageError(() => train(['--evaluation-strategy', 'no', '--eval-strategy', 'steps'])).message).toBe(
      '--eval-strategy and --evaluation-strategy (its older name) disagree; give one',
    );
    const dir = tempDir();
    const path = writeConfig(dir, 'old.json', { evaluation_strategy: 'no', threads: 3 });
    expect(train(['--config', path])).toMatchObject({ eval_strategy: 'no', num_threads: 3 });
  });
});

describe('help', () => {
  it.each([
    ['train', parseTrainArgs, TRAIN_OPTIONS],
    ['predict', parsePredictArgs, PREDICT_OPTIONS],
    ['evaluate', parseEvaluateArgs, EVALUATE_OPTIONS],
  ] as const)('pnpm %s --help lists every option of its table', (name, parse, table) => {
    const result = parse(['--seed', 'not-even-parsed', '--help']);
    if (result.kind !== 'help') throw new Error('expected help');
    expect(result.text).toContain(`Usage: pnpm ${name}`);
    for (const spec of table) {
      const flag = flagOf(spec).replace(/^--/, '');
      expect(result.text, spec.key).toMatch(new RegExp(`--(\\[no-\\])?${flag}\\b`));
    }
    expect(result.text).toContain('--config <file.json>');
    expect(result.text).toContain('-h, --help');
    expect(Math.max(...result.text.split('\n').map((l) => l.length))).toBeLessThanOrEqual(100);
  });

  it('shows defaults and choices from the table', () => {
    const result = parseTrainArgs(['-h']);
    if (result.kind !== 'help') throw new Error('expected help');
    expect(result.text).toMatch(/--learning-rate <float> +AdamW peak learning rate \(default: 5e-5\)/);
    expect(result.text).toMatch(/--eval-strategy <no\|steps\|epoch>/);
    const flat = result.text.replace(/\s+/g, ' ');
    expect(flat).toContain(
      '--lr-scheduler-type <name> learning-rate schedule after warmup; one of: linear, constant,',
    );
    expect(result.text).toContain('--no-shuffle');
  });
});

describe('parsePredictArgs and parseEvaluateArgs', () => {
  it('require --model and --data, naming both', () => {
    const error = usageError(() => parsePredictArgs([]));
    expect(error.message).toContain('missing --model <dir>');
    expect(error.message).toContain('missing --data <folder>');
    expect(error.usage).toBe('pnpm predict --model <dir> --data <folder> [options]');
  });

  it('default predict to the test split, written beside the model', () => {
    const result = parsePredictArgs(['--model', 'runs/mrpc', '--data', 'glue/MRPC']);
    if (result.kind !== 'run') throw new Error('expected options');
    expect(result.options).toEqual({
      model: 'runs/mrpc',
      data: 'glue/MRPC',
      task: undefined,
      split: 'test',
      output: join('runs/mrpc', 'predictions_test.tsv'),
      per_device_eval_batch_size: 8,
      max_seq_length: undefined,
      device: 'auto',
      num_threads: 0,
    });
  });

  it('default evaluate to the validation split and reject training flags', () => {
    const result = parseEvaluateArgs(['--model', 'm', '--data', 'd', '--task', 'MRPC', '--output', 'm.json']);
    if (result.kind !== 'run') throw new Error('expected options');
    expect(result.options).toMatchObject({ split: 'validation', task: 'mrpc', output: 'm.json' });
    expect(
      usageError(() => parseEvaluateArgs(['--model', 'm', '--data', 'd', '--learning-rate', '1'])).message,
    ).toContain("unknown option '--learning-rate'");
  });
});

describe('options of other shapes', () => {
  it('reads --lr-scheduler-kwargs as a JSON object checked against the schedule, as HF does', () => {
    const kwargs = [
      '--lr-scheduler-type',
      'polynomial',
      '--lr-scheduler-kwargs',
      '{"power": 2, "lr_end": 1e-8}',
    ];
    expect(train(kwargs).lr_scheduler_kwargs).toEqual({ power: 2, lr_end: 1e-8 });
    expect(usageError(() => train(['--lr-scheduler-kwargs', '{num_cycles: 2}'])).message).toBe(
      "--lr-scheduler-kwargs: expected a JSON object of numbers, strings, booleans or nulls, got '{num_cycles: 2}'",
    );
    expect(usageError(() => train(['--lr-scheduler-kwargs', '[1]'])).message).toMatch(
      /expected a JSON object/,
    );
    expect(usageError(() => train(['--lr-scheduler-kwargs', '{"power": 2}'])).message).toBe(
      '--lr-scheduler-kwargs: expected the arguments of the linear schedule (linear takes no keyword ' +
        'arguments, not "power"), got {"power":2}',
    );
  });

  it('reads --report-to as one name or a comma list, and reduce_lr_on_plateau needs evaluations', () => {
    expect(train(['--report-to', 'tensorboard']).report_to).toBe('tensorboard');
    expect(train(['--report-to', 'none, tensorboard']).report_to).toEqual(['none', 'tensorboard']);
    expect(usageError(() => train(['--report-to', 'tensorboard,wandb'])).message).toBe(
      "--report-to: expected one or a list of none, all, tensorboard, got 'tensorboard,wandb'",
    );
    const plateau = ['--lr-scheduler-type', 'reduce_lr_on_plateau', '--eval-strategy', 'no'];
    expect(usageError(() => train(plateau)).message).toBe(
      '--lr-scheduler-type reduce_lr_on_plateau requires an eval strategy: set --eval-strategy to steps or epoch',
    );
    expect(train(plateau.slice(0, 2))).toMatchObject({
      metric_for_best_model: 'loss',
      greater_is_better: false,
    });
  });

  it('defaults --run-name to the output dir; the hub options are flags', () => {
    expect(train(['--output-dir', 'out/x']).run_name).toBe('out/x');
    const options = train(['--push-to-hub', '--hub-token', 'hf_secret', '--hub-strategy', 'end']);
    expect(options).toMatchObject({ push_to_hub: true, hub_token: 'hf_secret', hub_strategy: 'end' });
  });
});
