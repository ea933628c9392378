/**
 * `pnpm train --train-file ...` on your own CSV files (run_glue's --train_file), then `pnpm predict` and
 * `pnpm evaluate --data file.csv`, as processes, on the embedded tiny model and its MRPC-style data rewritten
 * as CSV with string labels under other column names. Bad files fail before output_dir is touched.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
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
  // The files' folder names the task: `pairs`.
  mkdirSync(join(root, 'pairs'));
  for (const split of ['train', 'validation', 'test']) {
    const ds = await loadGlueFromDir(files.dataDir, 'mrpc', split);
    const rows = ['left,right,gold'];
    for (let i = 0; i < ds.numRows; i++) {
      const gold = ds.labels ? (ds.labels[i] === 1 ? 'same' : 'differs') : 'differs';
      rows.push([quote(ds.texts[0]![i]!), quote(ds.texts[1]![i]!), gold].join(','));
    }
    csv[split] = join(root, 'pairs', `${split}.csv`);
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
    // Its own task, named after the files' folder, not a GLUE stand-in; train_args.json records no GLUE task.
    expect(r.stdout).toMatch(/\bpairs\b/);
    expect(r.stdout).not.toMatch(/\b(sst2|mrpc)\b/);
    const saved = JSON.parse(readFileSync(join(out, 'train_args.json'), 'utf8'));
    expect(saved.task).toBeUndefined();
    expect(saved.train_file).toBe(csv.train);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config.id2label).toEqual({ 0: 'differs', 1: 'same' });
    expect(config.label2id).toEqual({ differs: 0, same: 1 });
    // run_glue's accuracy for files, plus binary F1 for two classes.
    const evalResults = JSON.parse(readFileSync(join(out, 'eval_results.json'), 'utf8'));
    expect(
      Object.keys(evalResults)
        .filter((k) => !/runtime|per_second|epoch/.test(k))
        .sort(),
    ).toEqual(['eval_accuracy', 'eval_f1', 'eval_loss']);
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

    // evaluate on the validation file gives the run's own final evaluation.
    const e = cli(['evaluate', '--model', out, '--data', csv.validation!, '--output', join(root, 'm.json')]);
    expect(e.code, `${e.stdout}\n${e.stderr}`).toBe(0);
    expect(e.stdout).toContain('pairs validation.csv (32 examples): ');
    const metrics = JSON.parse(readFileSync(join(root, 'm.json'), 'utf8'));
    expect(metrics.eval_accuracy).toBeCloseTo(evalResults.eval_accuracy, 6);
    expect(metrics.eval_f1).toBeCloseTo(evalResults.eval_f1, 6);
    expect(metrics.eval_loss).toBeCloseTo(evalResults.eval_loss, 5);

    // Other column names: named on the command line; a file without labels cannot be evaluated.
    const renamed = join(root, 'renamed.csv');
    const [head, ...body] = readFileSync(csv.validation!, 'utf8').trim().split('\n');
    expect(head).toBe('left,right,gold');
    writeFileSync(renamed, `${['a,b,y', ...body].join('\n')}\n`);
    const cols = ['--text-column', 'a', '--text-pair-column', 'b', '--label-column', 'y'];
    const e2 = cli([
      'evaluate',
      '--model',
      out,
      '--data',
      renamed,
      ...cols,
      '--output',
      join(root, 'm2.json'),
    ]);
    expect(e2.code, `${e2.stdout}\n${e2.stderr}`).toBe(0);
    expect(JSON.parse(readFileSync(join(root, 'm2.json'), 'utf8')).eval_accuracy).toBe(metrics.eval_accuracy);
    const unlabelled = join(root, 'unlabelled.csv');
    writeFileSync(
      unlabelled,
      `${['left,right', ...body.map((l) => l.replace(/,[a-z]+$/, ''))].join('\n')}\n`,
    );
    const e3 = cli(['evaluate', '--model', out, '--data', unlabelled]);
    expect(e3.code).toBe(1);
    expect(e3.stderr).toContain(
      `${unlabelled}:1: no label column "gold" to evaluate against (columns: left, right); name it with --label-column, or use pnpm predict`,
    );
    const e4 = cli(['evaluate', '--model', out, '--data', join(root, 'pairs')]);
    expect(e4.code).toBe(1);
    expect(e4.stderr).toContain('trained on your own files: pass one such file');
  });

  it('takes fractional numeric labels as a regression target (mse, Pearson, Spearman) and predicts scores', () => {
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
    expect(Object.keys(evalResults)).toEqual(
      expect.arrayContaining(['eval_mse', 'eval_pearson', 'eval_spearmanr']),
    );
    expect(Object.keys(evalResults)).not.toContain('eval_accuracy');
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

  it('--streaming trains on the same batches as the loaded file (unshuffled), and needs --max-steps', () => {
    const trainArgs = (dir: string, extra: string[]) => [
      'train',
      '--model',
      modelDir,
      '--train-file',
      csv.train!,
      '--validation-file',
      csv.validation!,
      ...COLUMNS,
      '--output-dir',
      join(root, dir),
      ...extra,
    ];
    const run = (dir: string, extra: string[]) =>
      cli(trainArgs(dir, ['--no-shuffle', '--logging-steps', '1', ...FLAGS, ...extra]));
    const losses = (dir: string) =>
      JSON.parse(readFileSync(join(root, dir, 'trainer_state.json'), 'utf8'))
        .log_history.filter((e: { loss?: number }) => e.loss !== undefined)
        .map((e: { step: number; loss: number; grad_norm: number }) => [e.step, e.loss, e.grad_norm]);
    const loaded = run('loaded', []);
    expect(loaded.code, `${loaded.stdout}\n${loaded.stderr}`).toBe(0);
    const streamed = run('streamed', ['--streaming']);
    expect(streamed.code, `${streamed.stdout}\n${streamed.stderr}`).toBe(0);
    // 96 rows, 6 batches of 16 per pass: steps 1-6 read the stream once.
    expect(losses('streamed')).toHaveLength(6);
    expect(losses('streamed')).toEqual(losses('loaded'));
    const config = JSON.parse(readFileSync(join(root, 'streamed', 'config.json'), 'utf8'));
    expect(config.id2label).toEqual({ 0: 'differs', 1: 'same' });
    const evalOf = (dir: string) => JSON.parse(readFileSync(join(root, dir, 'eval_results.json'), 'utf8'));
    expect(evalOf('streamed').eval_accuracy).toBe(evalOf('loaded').eval_accuracy);

    const noSteps = cli(trainArgs('no-steps', ['--streaming']));
    expect(noSteps.code).toBe(1);
    expect(noSteps.stderr).toContain('--streaming: a streamed training file has no length; set --max-steps');
    expect(existsSync(join(root, 'no-steps'))).toBe(false);
  });

  it('refuses every bad file by file, line and column, leaving output_dir as it was', () => {
    const bad = (name: string, text: string | Buffer) => {
      const p = join(root, 'bad', name);
      mkdirSync(join(root, 'bad'), { recursive: true });
      writeFileSync(p, text);
      return p;
    };
    const H = 'left,right,gold\n';
    const unseen = bad('unseen.csv', `${H}a,b,same\nc,d,maybe\n`);
    const emptyLabel = bad('empty-label.csv', `${H}a,b,same\nc,d,\n`);
    const noPair = bad('no-pair.csv', 'left,gold\na,same\n');
    const ragged = bad('ragged.csv', `${H}a,b,same\nc,d,same,extra\n`);
    const unclosed = bad('unclosed.csv', `${H}a,b,same\n"c,d,same\ne,f,differs\n`);
    const latin1 = bad('latin1.csv', Buffer.from(`${H}a,b,same\ncaf\xe9,d,same\n`, 'latin1'));
    const empty = bad('empty.csv', '');
    const headerOnly = bad('header-only.csv', H);
    const notRecords = bad('not-records.json', '{"data": [{"left": "a", "right": "b", "gold": "same"}]}\n');
    const emptyText = bad('empty-text.csv', `${H}a,b,same\n"  ",d,same\n`);
    const train = ['--train-file', csv.train!];
    const withValidation = (file: string) => [...train, '--validation-file', file, ...COLUMNS];
    const trainOnly = (file: string) => ['--train-file', file, ...COLUMNS, '--eval-strategy', 'no'];
    const cases: [string[], string][] = [
      [
        [...train, '--text-column', 'sentence', '--label-column', 'gold'],
        `${csv.train}:1: no column "sentence" (columns: left, right, gold)`,
      ],
      [withValidation(noPair), `${noPair}:1: no column "right" (columns: left, gold)`],
      [
        withValidation(unseen),
        `${unseen}:3: column "gold": label "maybe": not one of the labels [differs, same]`,
      ],
      [withValidation(emptyLabel), `${emptyLabel}:3: column "gold": label is empty: not one of the labels`],
      [
        [...withValidation(csv.validation!), '--test-file', unseen],
        `${unseen}:3: column "gold": label "maybe": not one of the labels [differs, same]`,
      ],
      [withValidation(ragged), `${ragged}:3: expected 3 fields, got 4`],
      [withValidation(unclosed), `${unclosed}:3: quoting error: Quote Not Closed`],
      [trainOnly(latin1), `${latin1}:3: not valid UTF-8`],
      [[...trainOnly(latin1), '--streaming'], `${latin1}:3: not valid UTF-8`],
      [[...trainOnly(ragged), '--streaming'], `${ragged}:3: expected 3 fields, got 4`],
      [[...trainOnly(emptyLabel), '--streaming'], `${emptyLabel}:3: column "gold": label is empty`],
      [[...trainOnly(emptyText), '--streaming'], `${emptyText}:3: column "left": text is empty`],
      [trainOnly(empty), `${empty}:1: file is empty`],
      [trainOnly(headerOnly), `${headerOnly}:2: no data rows`],
      [trainOnly(notRecords), `${notRecords}:1: not a JSON array of records`],
      [withValidation(emptyText), `${emptyText}:3: column "left": text is empty`],
      [[...train, ...COLUMNS], '--train-file: evaluation needs --validation-file (or --eval-strategy no)'],
    ];
    // A fresh output_dir is never created; one that holds a run stays byte for byte as it was.
    const existing = join(root, 'existing');
    mkdirSync(join(existing, 'checkpoint-3'), { recursive: true });
    writeFileSync(join(existing, 'train_args.json'), '{"seed": 1}\n');
    writeFileSync(join(existing, 'checkpoint-3', 'trainer_state.json'), '{"global_step": 3}\n');
    const snapshot = (dir: string) =>
      readdirSync(dir, { recursive: true, withFileTypes: true })
        .map((d) => {
          const path = join(d.parentPath, d.name);
          return [path, d.isDirectory() ? 'folder' : readFileSync(path, 'utf8')];
        })
        .sort(([a], [b]) => a!.localeCompare(b!));
    const before = snapshot(existing);
    for (const [args, message] of cases) {
      for (const outputDir of [join(root, 'failed'), existing]) {
        const r = cli(['train', '--model', modelDir, ...args, '--output-dir', outputDir, ...FLAGS]);
        expect(r.code, `${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(1);
        expect(r.stderr).toContain(message);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
      }
      expect(existsSync(join(root, 'failed'))).toBe(false);
      expect(snapshot(existing)).toEqual(before);
    }
    // 34 runs of the app, one process each.
  }, 400_000);
});
