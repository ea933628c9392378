/**
 * End-to-end: the CLI run as a process (`node dist/main.js`, built by the package's test script) on a small
 * embedded-style model and MRPC-format data generated into a temporary folder.
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { maskedCrc32c } from '@ortrain/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateParaphraseCorpus, writeEmbeddedDefault } from '../src/embedded/index.js';
import { snapshot } from './process.js';

const MAIN = join(import.meta.dirname, '..', 'dist', 'main.js');
const root = mkdtempSync(join(tmpdir(), 'ortrain-glue-cli-'));
const cache = join(root, 'hub-cache'); // empty: nothing is cached
let modelDir: string;
let dataDir: string;
const out = join(root, 'run');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}, cwd = root): Run {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ORTRAIN_CACHE: cache, HF_HUB_OFFLINE: '1', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

// 160 training pairs at batch 16: 10 steps an epoch.
const TRAIN_FLAGS = [
  '--num-train-epochs',
  '2',
  '--per-device-train-batch-size',
  '16',
  '--per-device-eval-batch-size',
  '32',
  '--learning-rate',
  '5e-4',
  '--logging-steps',
  '5',
  '--save-strategy',
  'epoch',
  '--dropout',
  '0',
  '--device',
  'cpu',
];

beforeAll(async () => {
  const files = await writeEmbeddedDefault(join(root, 'fixture'), { train: 160, dev: 48, test: 40 });
  modelDir = files.modelDir;
  dataDir = files.dataDir;
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Given to the first run without --push-to-hub: it must end up in no file. */
const HUB_TOKEN = 'hf_never_written_anywhere';

describe('pnpm train / predict / evaluate as processes', () => {
  let first: Run;
  let firstEval: Record<string, number>;

  beforeAll(() => {
    const flags = [...TRAIN_FLAGS, '--report-to', 'tensorboard', '--hub-token', HUB_TOKEN];
    first = cli(['train', '--model', modelDir, '--data', dataDir, '--output-dir', out, ...flags]);
    if (first.code !== 0) throw new Error(`train failed (${first.code}):\n${first.stdout}\n${first.stderr}`);
    firstEval = json(join(out, 'eval_results.json'));
  }, 60_000);

  it('prints the run summary, plain progress lines without a TTY, the eval table and the final summary', () => {
    const s = first.stdout;
    expect(s).toContain('Task:        mrpc (2 labels: not_equivalent, equivalent)');
    expect(s).toContain('Data:        train 160 | validation 48');
    expect(s).toMatch(/Model: .*2 layers, hidden 128, 2 heads/);
    expect(s).toContain('Device:      CPU (device "cpu" was requested)');
    expect(s).toContain("newly initialized: ['classifier.weight', 'classifier.bias']");
    expect(s).toContain('Total optimization steps = 20');
    expect(s).not.toContain('\u001b['); // no escape codes when stdout is a pipe
    expect(s).toMatch(/train 100% step 20\/20/);
    expect(s).toMatch(/^ +2\.00 +20 +\d\.\d{4} +\d\.\d{4} +\d\.\d{4}/m); // the table's second row
    expect(s).toContain('***** Training finished *****');
    expect(s).toContain(
      `Resume:      pnpm train --config ${join(out, 'train_args.json')} --resume-from-checkpoint`,
    );
    expect(s).toContain(`Predict:     pnpm predict --model ${out} --data ${dataDir} --split test`);
  });

  it('leaves the results, log, chart, checkpoints and an exported model in output_dir', () => {
    for (const f of [
      'trainer_state.json',
      'train_results.json',
      'eval_results.json',
      'all_results.json',
      'events.jsonl',
      'run.svg',
      'train_args.json',
      'config.json',
      'vocab.txt',
      'onnx/model.onnx',
      'training/manifest.json',
      'checkpoint-10/model.safetensors',
      'checkpoint-20/model.safetensors',
    ]) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    const state = json(join(out, 'trainer_state.json'));
    const evals = state.log_history.filter((e: Record<string, number>) => e['eval_loss'] !== undefined);
    expect(evals.map((e: Record<string, number>) => [e['epoch'], e['step']])).toEqual([
      [1, 10],
      [2, 20],
    ]);
    // eval_results.json is the last evaluation, and all_results.json merges train and eval.
    expect(firstEval['eval_accuracy']).toBe(evals[1]['eval_accuracy']);
    const all = json(join(out, 'all_results.json'));
    expect(all['eval_f1']).toBe(firstEval['eval_f1']);
    expect(all['train_loss']).toBe(json(join(out, 'train_results.json'))['train_loss']);
    const events = readFileSync(join(out, 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events.filter((e) => e.event === 'log').length).toBe(state.log_history.length);
    expect(events.filter((e) => e.event === 'save').map((e) => e.step)).toContain(10);
    const svg = readFileSync(join(out, 'run.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('learning');
  });

  it('--report-to tensorboard writes one events file in the default logging_dir, a record per logged number', () => {
    const runs = readdirSync(join(out, 'runs'));
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatch(/^[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}_/);
    const files = readdirSync(join(out, 'runs', runs[0]!));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^events\.out\.tfevents\.\d+\./);
    const bytes = readFileSync(join(out, 'runs', runs[0]!, files[0]!));
    let records = 0;
    for (let pos = 0; pos < bytes.length; records++) {
      const length = Number(bytes.readBigUInt64LE(pos));
      expect(bytes.readUInt32LE(pos + 8)).toBe(maskedCrc32c(bytes.subarray(pos, pos + 8)));
      const data = bytes.subarray(pos + 12, pos + 12 + length);
      expect(bytes.readUInt32LE(pos + 12 + length)).toBe(maskedCrc32c(data));
      pos += 16 + length;
    }
    const state = json(join(out, 'trainer_state.json'));
    const scalars = state.log_history.reduce(
      (n: number, e: Record<string, number>) => n + Object.keys(e).filter((k) => k !== 'step').length,
      0,
    );
    // file_version, the args text, then one record per scalar.
    expect(records).toBe(2 + scalars);
  });

  it('writes --hub-token to no file (train_args.json, checkpoints, TensorBoard args)', () => {
    const files = readdirSync(out, { recursive: true, encoding: 'utf8' }).filter((f) =>
      statSync(join(out, f)).isFile(),
    );
    expect(files).toContain(join('checkpoint-10', 'training_args.json'));
    for (const f of files) expect(readFileSync(join(out, f)).includes(HUB_TOKEN), f).toBe(false);
    expect(json(join(out, 'checkpoint-10', 'training_args.json'))['hub_token']).toBe('<HUB_TOKEN>');
  });

  it('predicts with the printed command: one row per example, probabilities, the labels of a labelled split', () => {
    const line = first.stdout.split('\n').find((l) => l.includes('Predict:'))!;
    const args = line.replace(/^.*pnpm predict /, '').split(' ');
    const r = cli(['predict', ...args]);
    expect(r.code, r.stderr).toBe(0);
    const submission = readFileSync(join(out, 'predictions_test.tsv'), 'utf8').trim().split('\n');
    expect(submission[0]).toBe('index\tprediction');
    expect(submission).toHaveLength(41);
    const details = readFileSync(join(out, 'predictions_test.details.tsv'), 'utf8').trim().split('\n');
    expect(details[0]).toBe(
      'index\tprediction\tpredicted_label\tprob_not_equivalent\tprob_equivalent\ttrue_label',
    );
    for (const row of details.slice(1)) {
      const [, pred, name, p0, p1] = row.split('\t');
      expect(Number(p0) + Number(p1)).toBeCloseTo(1, 5);
      expect(Number(pred)).toBe(Number(p1) > Number(p0) ? 1 : 0);
      expect(name).toBe(pred === '1' ? 'equivalent' : 'not_equivalent');
    }
    expect(r.stdout).toMatch(/Predictions: 40 rows of mrpc test/);
  });

  it('evaluates the exported model and the last checkpoint to the metrics of the run', () => {
    for (const model of [out, join(out, 'checkpoint-20')]) {
      const target = join(root, `metrics-${model === out ? 'export' : 'checkpoint'}.json`);
      const r = cli(['evaluate', '--model', model, '--data', dataDir, '--output', target]);
      expect(r.code, r.stderr).toBe(0);
      const m = json(target);
      // The result line, without the training table ("Epoch ... No log") before it.
      expect(r.stdout).toMatch(/^mrpc validation \(48 examples\): \{loss: \d\.\d{4}, accuracy: /m);
      expect(r.stdout).not.toMatch(/Training Loss|No log/);
      expect(m['eval_accuracy']).toBe(firstEval['eval_accuracy']);
      expect(m['eval_loss']).toBeCloseTo(firstEval['eval_loss']!, 5);
    }
  }, 30_000);

  it('resumes from the first epoch checkpoint to the same final model (dropout 0)', () => {
    const resumed = join(root, 'resumed');
    cpSync(out, resumed, { recursive: true });
    rmSync(join(resumed, 'checkpoint-20'), { recursive: true });
    const r = cli([
      'train',
      '--config',
      join(out, 'train_args.json'),
      '--output-dir',
      resumed,
      '--resume-from-checkpoint',
      'latest',
      '--report-to',
      'none',
      '--logging-dir',
      join(root, 'no-tensorboard'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(root, 'no-tensorboard'))).toBe(false);
    expect(r.stdout).toContain(`Resuming:    ${join(resumed, 'checkpoint-10')} at step 10`);
    const m = json(join(resumed, 'eval_results.json'));
    expect(m['eval_accuracy']).toBe(firstEval['eval_accuracy']);
    expect(m['eval_loss']).toBeCloseTo(firstEval['eval_loss']!, 5);
    const state = json(join(resumed, 'trainer_state.json'));
    expect(state.global_step).toBe(20);
  }, 30_000);

  describe('errors name the problem, exit non-zero and leave the outputs as they were', () => {
    let before: Map<string, string>;
    beforeAll(() => {
      before = snapshot(out);
    });
    const base = () => [
      'train',
      '--model',
      modelDir,
      '--data',
      dataDir,
      '--output-dir',
      out,
      '--max-steps',
      '2',
    ];

    it('an unknown flag and a bad value (exit 2)', () => {
      const typo = cli([...base(), '--lerning-rate', '1e-4']);
      expect(typo.code).toBe(2);
      expect(typo.stderr).toContain("unknown option '--lerning-rate'");
      expect(typo.stderr).toContain('--learning-rate');
      const bad = cli([...base(), '--learning-rate', 'abc', '--eval-strategy', 'sometimes']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain("--learning-rate: expected a number > 0, got 'abc'");
      expect(bad.stderr).toContain('--eval-strategy');
      expect(snapshot(out)).toEqual(before);
    });

    it('a missing data folder', () => {
      const r = cli([...base(), '--data', join(root, 'nowhere')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`--data ${join(root, 'nowhere')}: no such folder`);
      expect(snapshot(out)).toEqual(before);
    });

    it('a malformed TSV (the file and line are named)', () => {
      const broken = join(root, 'broken-data');
      cpSync(dataDir, broken, { recursive: true });
      const lines = readFileSync(join(broken, 'train.tsv'), 'utf8').split('\n');
      lines[5] = 'this line has no tabs';
      writeFileSync(join(broken, 'train.tsv'), lines.join('\n'));
      const r = cli([...base(), '--data', broken]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${join(broken, 'train.tsv')}:6: expected 5 tab-separated fields, got 1`);
      expect(snapshot(out)).toEqual(before);
    });

    it('a model folder without a tokenizer', () => {
      const bare = join(root, 'bare-model');
      cpSync(modelDir, bare, { recursive: true });
      rmSync(join(bare, 'vocab.txt'));
      const r = cli([...base(), '--model', bare]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`--model ${bare}: no tokenizer (tokenizer.json or vocab.txt)`);
      expect(snapshot(out)).toEqual(before);
    });

    it('a hub id named explicitly while offline is an error, not a fallback', () => {
      const r = cli([...base(), '--model', 'bert-base-uncased']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('model bert-base-uncased');
      expect(r.stderr).toContain('HF_HUB_OFFLINE');
      expect(snapshot(out)).toEqual(before);
    });

    it('predict and evaluate on folders that are not trained models or data', () => {
      const p = cli(['predict', '--model', modelDir, '--data', dataDir]);
      expect(p.code).toBe(1);
      expect(p.stderr).toContain('not a model trained by pnpm train');
      const e = cli(['evaluate', '--model', out, '--data', join(root, 'nowhere')]);
      expect(e.code).toBe(1);
      expect(e.stderr).toContain('no such folder');
      const missing = cli(['predict', '--data', dataDir]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('missing --model');
      expect(snapshot(out)).toEqual(before);
    });
  });

  it('--help on every command', () => {
    for (const command of ['train', 'predict', 'evaluate']) {
      const r = cli([command, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`pnpm ${command}`);
    }
    expect(cli(['train', '--help']).stdout).toContain('--max-seq-length');
  });
});

describe('the default run without the hub', () => {
  it.each([
    ['HF_HUB_OFFLINE=1', { HF_HUB_OFFLINE: '1' }, 'hub offline (HF_HUB_OFFLINE=1)'],
    // A closed local port: the connection is refused at once.
    ['an unreachable endpoint', { HF_HUB_OFFLINE: '', HF_ENDPOINT: 'http://127.0.0.1:9' }, 'hub unreachable'],
  ])(
    'falls back to the embedded default with one line (%s)',
    (_, env, reason) => {
      const cwd = mkdtempSync(join(root, 'default-'));
      const r = cli(['train', '--max-steps', '2', '--device', 'cpu'], env, cwd);
      expect(r.code, r.stderr).toBe(0);
      const [line] = r.stdout.split('\n');
      expect(line).toMatch(
        new RegExp(
          `^${reason.replace(/[()]/g, '\\$&')} and bert-base-uncased / GLUE mrpc not cached: running the embedded default`,
        ),
      );
      expect(r.stdout).toContain('Data:        train 3,000 | validation 400 | test 400');
      // The whole pipeline: checkpoint, export, predictions on the generated test split.
      for (const f of ['checkpoint-2', 'onnx/model.onnx', 'predictions_test.tsv', 'eval_results.json']) {
        expect(existsSync(join(cwd, 'artifacts', 'mrpc-embedded', f)), f).toBe(true);
      }
      expect(json(join(cwd, 'artifacts', 'mrpc-embedded', 'train_args.json'))).toMatchObject({
        model: join('artifacts', 'embedded', 'model'),
        data: join('artifacts', 'embedded', 'data'),
        learning_rate: 5e-4,
      });
    },
    30_000,
  );
});

describe('MNLI: matched and mismatched evaluated during training', () => {
  it('evaluates both validation splits at each evaluation, as eval_matched_* and eval_mismatched_*', () => {
    // MNLI-format JSONL files (premise, hypothesis, 3 labels) from the embedded generator's sentences.
    const mnli = join(root, 'mnli-data');
    mkdirSync(mnli);
    const corpus = generateParaphraseCorpus({ seed: 7, train: 64, dev: 40, test: 0 });
    const write = (split: string, pairs: typeof corpus.train) =>
      writeFileSync(
        join(mnli, `${split}.jsonl`),
        pairs
          .map((p, i) =>
            JSON.stringify({
              premise: p.sentence1,
              hypothesis: p.sentence2,
              label: i % 3 === 2 ? 2 : p.label,
            }),
          )
          .join('\n'),
      );
    write('train', corpus.train);
    write('validation_matched', corpus.dev.slice(0, 24));
    write('validation_mismatched', corpus.dev.slice(24));
    const run = join(root, 'mnli-run');
    const r = cli([
      'train',
      '--task',
      'mnli',
      '--model',
      modelDir,
      '--data',
      mnli,
      '--output-dir',
      run,
      '--num-train-epochs',
      '2',
      '--per-device-train-batch-size',
      '16',
      '--save-strategy',
      'no',
      '--dropout',
      '0',
      '--device',
      'cpu',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const evals = json(join(run, 'trainer_state.json')).log_history.filter((e: Record<string, number>) =>
      Object.keys(e).some((k) => k.endsWith('_loss') && k.startsWith('eval_')),
    );
    expect(
      evals.map((e: Record<string, number>) => [
        e['step'],
        'eval_matched_loss' in e,
        'eval_mismatched_loss' in e,
      ]),
    ).toEqual([
      [4, true, false],
      [4, false, true],
      [8, true, false],
      [8, false, true],
    ]);
    const results = json(join(run, 'eval_results.json'));
    expect(results['eval_matched_accuracy']).toBe(evals[2]['eval_matched_accuracy']);
    expect(results['eval_mismatched_accuracy']).toBe(evals[3]['eval_mismatched_accuracy']);
    expect(r.stdout).toMatch(
      /Epoch +Step +Training Loss +Matched_loss +Matched_accuracy +Mismatched_loss +Mismatched_accuracy/,
    );
    expect(r.stdout).toContain('on validation_matched and validation_mismatched');
    // pnpm evaluate on one split gives that split's metrics of the run.
    const target = join(root, 'mnli-mismatched.json');
    const e = cli([
      'evaluate',
      '--model',
      run,
      '--data',
      mnli,
      '--split',
      'validation_mismatched',
      '--output',
      target,
    ]);
    expect(e.code, e.stderr).toBe(0);
    expect(json(target)['eval_accuracy']).toBe(results['eval_mismatched_accuracy']);
    expect(json(target)['eval_loss']).toBeCloseTo(results['eval_mismatched_loss'], 5);
  }, 60_000);
});
