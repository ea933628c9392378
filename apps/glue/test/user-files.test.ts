/**
 * `pnpm train --train-file ...` on your own CSV files (run_glue's --train_file), then `pnpm predict --data
 * file.csv`, as processes, on the embedded tiny model and its MRPC-style data rewritten as CSV with string
 * labels under other column names. Bad files fail before output_dir exists.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadGlueFromDir } from '@ortrain/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeEmbeddedDefault } from '../src/embedded/index.js';

const MAIN = join(import.meta.dirname, '..', 'dist', 'main.js');
const root = mkdtempSync(join(tmpdir(), 'ortrain-glue-user-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let modelDir: string;
const csv: Record<string, string> = {};

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ORTRAIN_CACHE: join(root, 'cache'), HF_HUB_OFFLINE: '1' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const quote = (t: string) => `"${t.replaceAll('"', '""')}"`;

beforeAll(async () => {
  const files = await writeEmbeddedDefault(join(root, 'fixture'), { train: 96, dev: 32, test: 24 });
  modelDir = files.modelDir;
  for (const split of ['train', 'validation', 'test']) {
    const ds = await loadGlueFromDir(files.dataDir, 'mrpc', split);
    const rows = ['left,right,gold'];
    for (let i = 0; i < ds.numRows; i++) {
      const gold = ds.labels ? (ds.labels[i] === 1 ? 'same' : 'differs') : 'differs';
      rows.push([quote(ds.texts[0]![i]!), quote(ds.texts[1]![i]!), gold].join(','));
    }
    csv[split] = join(root, `${split}.csv`);
    writeFileSync(csv[split]!, `${rows.join('\n')}\n`);
  }
});

const COLUMNS = ['--text-column', 'left', '--text-pair-column', 'right', '--label-column', 'gold'];
const FLAGS = [
  '--max-steps',
  '6',
  '--per-device-train-batch-size',
  '16',
  '--device',
  'cpu',
  '--dropout',
  '0',
];

describe('your own CSV files', () => {
  const out = join(root, 'run');

  it('trains with the inferred, sorted label names, writes test predictions, and predicts a CSV', () => {
    const r = cli([
      'train',
      '--model',
      modelDir,
      '--train-file',
      csv.train!,
      '--validation-file',
      csv.validation!,
      '--test-file',
      csv.test!,
      ...COLUMNS,
      '--output-dir',
      out,
      ...FLAGS,
    ]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config.id2label).toEqual({ 0: 'differs', 1: 'same' });
    expect(config.label2id).toEqual({ differs: 0, same: 1 });
    expect(
      JSON.parse(readFileSync(join(out, 'eval_results.json'), 'utf8')).eval_accuracy,
    ).toBeGreaterThanOrEqual(0);
    const details = readFileSync(join(out, 'predictions_test.details.tsv'), 'utf8').trim().split('\n');
    expect(details[0]).toBe('index\tprediction\tpredicted_label\tprob_differs\tprob_same\ttrue_label');
    expect(details).toHaveLength(25);

    const p = cli(['predict', '--model', out, '--data', csv.validation!, '--output', join(root, 'pred.tsv')]);
    expect(p.code, `${p.stdout}\n${p.stderr}`).toBe(0);
    const rows = readFileSync(join(root, 'pred.details.tsv'), 'utf8').trim().split('\n').slice(1);
    expect(rows).toHaveLength(32);
    for (const row of rows) {
      const [, pred, name] = row.split('\t');
      expect(name).toBe(pred === '1' ? 'same' : 'differs');
    }
  });

  it('takes fractional numeric labels as a regression target (scored like STS-B) and predicts scores', () => {
    const toScores = (file: string) => {
      const [head, ...rows] = readFileSync(file, 'utf8').trim().split('\n');
      const scored = rows.map((r, i) =>
        r.replace(/,(same|differs)$/, (_, g) => `,${g === 'same' ? 4.5 - (i % 3) / 4 : 0.5}`),
      );
      const out = file.replace(/\.csv$/, '-scores.csv');
      writeFileSync(out, `${[head, ...scored].join('\n')}\n`);
      return out;
    };
    const reg = join(root, 'regression');
    const r = cli([
      'train',
      '--model',
      modelDir,
      '--train-file',
      toScores(csv.train!),
      '--validation-file',
      toScores(csv.validation!),
      ...COLUMNS,
      '--output-dir',
      reg,
      ...FLAGS,
    ]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const evalResults = JSON.parse(readFileSync(join(reg, 'eval_results.json'), 'utf8'));
    expect(Object.keys(evalResults)).toContain('eval_pearson');
    const p = cli([
      'predict',
      '--model',
      reg,
      '--data',
      toScores(csv.test!),
      '--output',
      join(root, 'scores.tsv'),
    ]);
    expect(p.code, `${p.stdout}\n${p.stderr}`).toBe(0);
    const lines = readFileSync(join(root, 'scores.tsv'), 'utf8').trim().split('\n');
    expect(lines[0]).toBe('index\tprediction');
    expect(lines).toHaveLength(25);
    for (const l of lines.slice(1)) expect(Number.isFinite(Number(l.split('\t')[1]))).toBe(true);
  });

  it('refuses bad files by file, line and column, writing nothing', () => {
    const bad = (name: string, text: string | Buffer) => {
      const p = join(root, name);
      writeFileSync(p, text);
      return p;
    };
    const unseen = bad('unseen.csv', 'left,right,gold\na,b,same\nc,d,maybe\n');
    const latin1 = bad('latin1.csv', Buffer.from('left,right,gold\na,b,same\ncaf\xe9,d,same\n', 'latin1'));
    const cases: [string[], string][] = [
      [
        ['--train-file', csv.train!, '--text-column', 'sentence', '--label-column', 'gold'],
        `${csv.train}:1: no column "sentence" (columns: left, right, gold)`,
      ],
      [
        ['--train-file', csv.train!, '--validation-file', unseen, ...COLUMNS],
        `${unseen}:3: column "gold": label "maybe": not one of the labels [differs, same]`,
      ],
      [['--train-file', latin1, ...COLUMNS, '--eval-strategy', 'no'], `${latin1}:3: not valid UTF-8`],
      [
        ['--train-file', csv.train!, ...COLUMNS],
        '--train-file: evaluation needs --validation-file (or --eval-strategy no)',
      ],
    ];
    for (const [args, message] of cases) {
      const failed = join(root, 'failed');
      const r = cli(['train', '--model', modelDir, ...args, '--output-dir', failed, ...FLAGS]);
      expect(r.code, r.stdout).toBe(1);
      expect(r.stderr).toContain(message);
      expect(existsSync(failed)).toBe(false);
    }
  });
});
