/**
 * `pnpm train` checks its inputs against each other before compiling or writing: a tokenizer larger than the
 * model's embeddings, an empty or unlabelled split. Each fails as a process with exit code 1, one message naming
 * the file and both numbers, no training banner, and the previous run's output_dir byte for byte as it was.
 * Also: evaluation after training only when asked (`do_eval`), as HF; and what the commands print (resume,
 * device, help) and batch by.
 */
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMBEDDED_DIR } from '../src/commands/train.js';
import { writeEmbeddedDefault } from '../src/embedded/index.js';
import { type Run, runCli, snapshot } from './process.js';

const root = mkdtempSync(join(tmpdir(), 'ortrain-glue-preflight-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const cli = (args: string[]): Run => runCli(args, root, { ORTRAIN_CACHE: join(root, 'cache') });
const out = join(root, 'run');
let modelDir: string;
let dataDir: string;
/** The generated model's vocabulary: the generator sizes it to the words of its corpus. */
let vocabSize: number;
const FLAGS = ['--max-steps', '2', '--per-device-train-batch-size', '16', '--device', 'cpu'];

beforeAll(async () => {
  const files = await writeEmbeddedDefault(join(root, 'fixture'), { train: 64, dev: 24, test: 16 });
  modelDir = files.modelDir;
  dataDir = files.dataDir;
  vocabSize = files.config.vocab_size;
  const first = cli([
    'train',
    ...['--model', modelDir, '--data', dataDir, '--output-dir', out, ...FLAGS],
    ...['--per-device-eval-batch-size', '5', '--save-steps', '1'],
  ]);
  if (first.code !== 0) throw new Error(`train failed (${first.code}):\n${first.stdout}\n${first.stderr}`);
}, 60_000);

/** A copy of the fixture's model or data folder under `name`, changed by `edit`. */
function variant(from: string, name: string, edit: (dir: string) => void): string {
  const dir = join(root, name);
  cpSync(from, dir, { recursive: true });
  edit(dir);
  return dir;
}

/** Trains into the previous run's output_dir: it must fail with `message` and leave every byte there. */
function expectRefused(args: string[], ...message: string[]): void {
  const before = snapshot(out);
  const r = cli(['train', '--output-dir', out, ...FLAGS, ...args]);
  expect(r.code, r.stderr).toBe(1);
  for (const m of message) expect(r.stderr).toContain(m);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stdout).not.toContain('***** Running training *****');
  expect(snapshot(out)).toEqual(before);
}

describe('the tokenizer against the model', () => {
  it("refuses a tokenizer with ids past the model's vocab_size, naming both numbers and files", () => {
    const big = variant(modelDir, 'big-vocab', (d) =>
      appendFileSync(join(d, 'vocab.txt'), Array.from({ length: 20 }, (_, i) => `extra${i}\n`).join('')),
    );
    expectRefused(
      ['--model', big, '--data', dataDir],
      `${join(big, 'vocab.txt')}: the tokenizer emits ids up to ${vocabSize + 19} (${vocabSize + 20} tokens, ` +
        'special tokens included)',
      `the model's embeddings hold ${vocabSize} (vocab_size in ${join(big, 'config.json')})`,
    );
  });

  it('refuses token type ids the model has no embedding for', () => {
    const oneType = variant(modelDir, 'one-type', (d) => {
      const config = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
      writeFileSync(join(d, 'config.json'), JSON.stringify({ ...config, type_vocab_size: 1 }));
    });
    expectRefused(
      ['--model', oneType, '--data', dataDir],
      'the tokenizer gives token type ids up to 1 but the model has 1 token types',
      `type_vocab_size in ${join(oneType, 'config.json')}`,
    );
  });

  it('checks an ONNX file without config.json on its compiled geometry, before any step or run file', () => {
    const onnxOnly = join(root, 'onnx-only');
    mkdirSync(onnxOnly);
    cpSync(join(out, 'onnx', 'model.onnx'), join(onnxOnly, 'model.onnx'));
    const vocab = readFileSync(join(modelDir, 'vocab.txt'), 'utf8');
    writeFileSync(join(onnxOnly, 'vocab.txt'), `${vocab}extra0\nextra1\n`);
    const fresh = join(root, 'onnx-only-run');
    const r = cli(['train', '--model', onnxOnly, '--data', dataDir, '--output-dir', fresh, ...FLAGS]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(
      `ids up to ${vocabSize + 1} (${vocabSize + 2} tokens, special tokens included) but the model's ` +
        `embeddings hold ${vocabSize} ` +
        `(the word embeddings of ${join(onnxOnly, 'model.onnx')})`,
    );
    expect(r.stdout).not.toContain('***** Running training *****');
    for (const f of ['train_args.json', 'events.jsonl']) expect(existsSync(join(fresh, f)), f).toBe(false);
  });
});

describe('splits training and evaluation cannot use', () => {
  it('a header-only train.tsv', () => {
    const data = variant(dataDir, 'header-only', (d) => {
      const [header] = readFileSync(join(d, 'train.tsv'), 'utf8').split('\n');
      writeFileSync(join(d, 'train.tsv'), `${header}\n`);
    });
    expectRefused(
      ['--model', modelDir, '--data', data],
      `${join(data, 'train.tsv')}: no rows in the train split; training needs at least one`,
    );
  });

  it('a train.tsv without its label column', () => {
    const data = variant(dataDir, 'no-labels', (d) => {
      const lines = readFileSync(join(d, 'train.tsv'), 'utf8').trim().split('\n');
      writeFileSync(
        join(d, 'train.tsv'),
        `${lines.map((l) => l.split('\t').slice(1).join('\t')).join('\n')}\n`,
      );
    });
    expectRefused(
      ['--model', modelDir, '--data', data],
      `${join(data, 'train.tsv')}: the train split has no labels (no label column); training needs them`,
    );
  });

  it('a validation file without labels when the run evaluates', () => {
    const train = join(root, 'own-train.csv');
    const validation = join(root, 'own-validation.csv');
    writeFileSync(train, 'text,label\nthe deal closed,yes\nthe deal did not close,no\nshares rose,yes\n');
    writeFileSync(validation, 'text\nthe deal closed\nshares fell\n');
    expectRefused(
      ['--model', modelDir, '--train-file', train, '--validation-file', validation],
      `${validation}: the validation split has no labels (no label column); evaluation needs them`,
    );
  });
});

describe("evaluation after training only when asked (HF's do_eval)", () => {
  const trainInto = (name: string, ...extra: string[]) => {
    const dir = join(root, name);
    const r = cli(['train', '--model', modelDir, '--data', dataDir, '--output-dir', dir, ...FLAGS, ...extra]);
    expect(r.code, r.stderr).toBe(0);
    return { dir, r, all: JSON.parse(readFileSync(join(dir, 'all_results.json'), 'utf8')) };
  };

  it('--eval-strategy no evaluates nothing and writes no eval_results.json', () => {
    const { dir, r, all } = trainInto('no-eval', '--eval-strategy', 'no');
    expect(existsSync(join(dir, 'eval_results.json'))).toBe(false);
    expect(Object.keys(all).filter((k) => k.startsWith('eval_'))).toEqual([]);
    expect(r.stdout).not.toMatch(/^eval /m);
    expect(r.stdout).toContain('Data:        train 64\n');
  });

  it('a rerun of an evaluating run with --eval-strategy no evaluates nothing: do_eval was implied, not saved', () => {
    expect(JSON.parse(readFileSync(join(out, 'train_args.json'), 'utf8'))).toMatchObject({
      eval_strategy: 'epoch',
      do_eval: false,
    });
    const { dir } = trainInto(
      'rerun-no-eval',
      '--config',
      join(out, 'train_args.json'),
      '--eval-strategy',
      'no',
    );
    expect(existsSync(join(dir, 'eval_results.json'))).toBe(false);
  });

  it('--eval-strategy no --do-eval evaluates once, after training', () => {
    const { dir, r, all } = trainInto('final-eval', '--eval-strategy', 'no', '--do-eval');
    const results = JSON.parse(readFileSync(join(dir, 'eval_results.json'), 'utf8'));
    expect(results['eval_accuracy']).toBe(all['eval_accuracy']);
    expect(r.stdout.match(/^eval +validation: 24 examples/gm)).toHaveLength(1);
  });
});

describe('what the commands print', () => {
  it('resuming says where once, without the newly-initialized warning its checkpoint makes untrue', () => {
    const resumed = join(root, 'resumed');
    cpSync(out, resumed, { recursive: true });
    rmSync(join(resumed, 'checkpoint-2'), { recursive: true });
    const config = ['--config', join(out, 'train_args.json'), '--output-dir', resumed];
    const r = cli(['train', ...config, '--resume-from-checkpoint', 'latest']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.match(/Resuming/g)).toHaveLength(1);
    expect(r.stdout).toContain(`Resuming:    ${join(resumed, 'checkpoint-1')} at step 1`);
    expect(r.stdout).not.toContain('newly initialized');
    // Its event log still records the trainer's own line.
    expect(readFileSync(join(resumed, 'events.jsonl'), 'utf8')).toContain('"Resuming from ');
  });

  it('predict and evaluate batch as the run did (its per_device_eval_batch_size) unless told', () => {
    const predict = cli(['predict', '--model', out, '--data', dataDir, '--output', join(root, 'p.tsv')]);
    expect(predict.code, predict.stderr).toBe(0);
    expect(predict.stdout).toContain('predict test: 16 examples in 4 batches');
    const evaluate = cli([
      'evaluate',
      '--model',
      out,
      '--data',
      dataDir,
      '--per-device-eval-batch-size',
      '24',
    ]);
    expect(evaluate.code, evaluate.stderr).toBe(0);
    expect(evaluate.stdout).toContain('eval  validation: 24 examples in 1 batches');
  });

  it('--help examples name the folders the default run writes', () => {
    for (const command of ['predict', 'evaluate']) {
      const help = cli([command, '--help']).stdout;
      expect(help).not.toContain('../glue');
      expect(help).toContain(`--model artifacts/mrpc-embedded --data ${join(EMBEDDED_DIR, 'data')}`);
    }
  });

  it('says in one short line that auto found no GPU, naming no node_modules path', () => {
    const r = cli(['evaluate', '--model', out, '--data', dataDir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('node_modules');
    if (!['/dev/dri/renderD128', '/dev/nvidia0', '/dev/kfd'].some(existsSync)) {
      expect(r.stdout).toContain(
        '(CPU: device "auto": no GPU found (no /dev/dri/renderD128, /dev/nvidia0 or /dev/kfd))',
      );
    }
  });
});
