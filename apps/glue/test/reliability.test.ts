/**
 * A failed run never damages the previous run's output: each bad model, bad data, bad output location and
 * mismatched resume exits 1 with a message naming it, and every byte already in output_dir stays as it was,
 * even with --overwrite-output-dir (the old run goes only once the new one has run a step). Processes of
 * `node dist/main.js` on the embedded-style tiny model.
 */

import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint } from '@ortrain/trainer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeEmbeddedDefault } from '../src/embedded/index.js';
import { MAIN, type Run, runCli, snapshot } from './process.js';

const root = mkdtempSync(join(tmpdir(), 'ortrain-glue-reliability-'));
const cli = (args: string[]) => runCli(args, root);
const prev = join(root, 'prev');
let modelDir: string;
let dataDir: string;
let before: Map<string, string>;

// 64 rows at batch 16: 4 steps, a checkpoint every 2.
const FLAGS = [
  '--per-device-train-batch-size',
  '16',
  '--max-steps',
  '4',
  '--save-steps',
  '2',
  '--eval-strategy',
  'no',
];
const CPU = ['--device', 'cpu'];

beforeAll(async () => {
  const files = await writeEmbeddedDefault(join(root, 'fixture'), { train: 64, dev: 16, test: 16 });
  modelDir = files.modelDir;
  dataDir = files.dataDir;
  const r = trainInto(prev, modelDir, dataDir, ...FLAGS, ...CPU);
  if (r.code !== 0) throw new Error(`train failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  before = snapshot(prev);
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A copy of `from` with `edit` applied to it. */
function variant(name: string, from: string, edit: (dir: string) => void): string {
  const dir = join(root, name);
  cpSync(from, dir, { recursive: true });
  edit(dir);
  return dir;
}

/** `train --model <model> --data <data> --output-dir <out> ...extra`. */
const trainInto = (out: string, model: string, data: string, ...extra: string[]) =>
  cli(['train', '--model', model, '--data', data, '--output-dir', out, ...extra]);

/** `train --config <out>/train_args.json --output-dir <out> --resume-from-checkpoint latest ...extra`. */
const resumeLatest = (out: string, ...extra: string[]) =>
  cli([
    'train',
    '--config',
    join(out, 'train_args.json'),
    '--output-dir',
    out,
    '--resume-from-checkpoint',
    'latest',
    ...extra,
  ]);

/** A run that must fail: exit 1, one error naming the problem, the previous run byte for byte. */
function refused(args: string[], message: string | RegExp): Run {
  const r = cli(['train', ...args, '--output-dir', prev, '--overwrite-output-dir', ...CPU]);
  expect(r.code, r.stdout + r.stderr).toBe(1);
  if (typeof message === 'string') expect(r.stderr).toContain(message);
  else expect(r.stderr).toMatch(message);
  expect(snapshot(prev)).toEqual(before);
  return r;
}

describe('a failed run leaves the previous output_dir byte for byte (with --overwrite-output-dir)', () => {
  it('a header-only train file', () => {
    const data = variant('header-only', dataDir, (d) => {
      const header = readFileSync(join(d, 'train.tsv'), 'utf8').split('\n')[0]!;
      writeFileSync(join(d, 'train.tsv'), `${header}\n`);
    });
    refused(['--model', modelDir, '--data', data], /^error: /);
  });

  it('a train file without the label column (fails at the first step, after compiling)', () => {
    const data = variant('no-label', dataDir, (d) => {
      const lines = readFileSync(join(d, 'train.tsv'), 'utf8').trimEnd().split('\n');
      writeFileSync(
        join(d, 'train.tsv'),
        `${lines.map((l) => l.split('\t').slice(1).join('\t')).join('\n')}\n`,
      );
    });
    refused(['--model', modelDir, '--data', data], /label/);
  });

  it('token ids past the vocabulary: ONNX Runtime fails the first step, training/ is put back', () => {
    const model = variant('big-vocab', modelDir, (d) =>
      writeFileSync(join(d, 'vocab.txt'), 'zzzqqq\n', { flag: 'a' }),
    );
    const data = variant('oov', dataDir, (d) => {
      const lines = readFileSync(join(d, 'train.tsv'), 'utf8').trimEnd().split('\n');
      const rows = lines.slice(1).map((l) => l.replace(/\t([^\t]*)$/, '\tzzzqqq $1'));
      writeFileSync(join(d, 'train.tsv'), `${[lines[0], ...rows].join('\n')}\n`);
    });
    refused(['--model', model, '--data', data], /idx=\d+|vocab/);
  });

  it('a truncated, a garbage and an empty onnx/model.onnx', () => {
    const onnx = variant('onnx-model', prev, (d) => {
      for (const f of readdirSync(d))
        if (
          !['onnx', 'config.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json'].includes(
            f,
          )
        )
          rmSync(join(d, f), { recursive: true });
    });
    const file = join(onnx, 'onnx', 'model.onnx');
    truncateSync(file, 100_000);
    refused(['--model', onnx, '--data', dataDir], `${file}: not a valid ONNX model`);
    writeFileSync(file, Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251)));
    refused(['--model', onnx, '--data', dataDir], `${file}: `);
    writeFileSync(file, '');
    refused(['--model', onnx, '--data', dataDir], `${file}: model has no graph`);
  });

  it('a config.json that disagrees with the weights, a truncated model.safetensors', () => {
    const layers = variant('three-layers', modelDir, (d) => {
      const config = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
      writeFileSync(join(d, 'config.json'), JSON.stringify({ ...config, num_hidden_layers: 3 }));
    });
    refused(['--model', layers, '--data', dataDir], "missing tensor 'bert.encoder.layer.2.");
    const truncated = variant('truncated', modelDir, (d) =>
      truncateSync(join(d, 'model.safetensors'), 100_000),
    );
    refused(['--model', truncated, '--data', dataDir], 'is truncated');
  });

  it('the training/ a run killed before its first step set aside is put back by the next run', () => {
    const killed = variant('killed-early', prev, (d) => {
      renameSync(join(d, 'training'), join(d, '.tmp-previous-training'));
      mkdirSync(join(d, 'training'));
      writeFileSync(join(d, 'training', 'manifest.json'), '{"half": "written"}');
    });
    const r = trainInto(killed, join(root, 'three-layers'), dataDir, '--overwrite-output-dir', ...CPU);
    expect(r.code).toBe(1);
    const restored = new Map([...snapshot(killed)].map(([p, h]) => [p.replace(killed, prev), h]));
    expect(restored).toEqual(before);
  });

  it('a new run into a fresh folder that fails after compiling leaves no folder', () => {
    const fresh = join(root, 'fresh', 'deeper', 'run');
    const model = join(root, 'big-vocab');
    const r = trainInto(fresh, model, join(root, 'oov'), ...FLAGS, ...CPU);
    expect(r.code).toBe(1);
    expect(existsSync(join(root, 'fresh'))).toBe(false);
  });
});

describe('another run in output_dir', () => {
  it('is refused without --overwrite-output-dir or a resume, naming what is there', () => {
    const r = trainInto(prev, modelDir, dataDir, ...FLAGS, ...CPU);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `--output-dir ${prev} holds another run (checkpoint-2, checkpoint-4, train_args.json`,
    );
    expect(r.stderr).toContain('--overwrite-output-dir');
    expect(snapshot(prev)).toEqual(before);
  });

  it('--overwrite-output-dir replaces it whole: only the new checkpoints, `latest` resumes the new run', () => {
    const out = variant('overwritten', prev, () => {});
    const r = trainInto(
      out,
      modelDir,
      dataDir,
      '--overwrite-output-dir',
      '--per-device-train-batch-size',
      '32',
      '--max-steps',
      '1',
      '--eval-strategy',
      'no',
      ...CPU,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out).filter((f) => f.startsWith('checkpoint-'))).toEqual(['checkpoint-1']);
    expect(r.stdout).toContain(`Checkpoints: ${join(out, 'checkpoint-1')}\n`);
    const events = readFileSync(join(out, 'events.jsonl'), 'utf8');
    expect(events.match(/"event":"train_begin"/g)).toHaveLength(1);
    const resumed = resumeLatest(out);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`Resuming:    ${join(out, 'checkpoint-1')} at step 1`);
    expect(JSON.parse(readFileSync(join(out, 'trainer_state.json'), 'utf8')).global_step).toBe(1);
  });
});

describe('resuming', () => {
  it('refuses another task, model or label set, leaving output_dir as it was', () => {
    const resume = ['--resume-from-checkpoint', 'latest', ...FLAGS, ...CPU];
    const task = trainInto(prev, modelDir, dataDir, '--task', 'rte', ...resume);
    expect(task.code).toBe(1);
    expect(task.stderr).toContain(
      `--resume-from-checkpoint ${join(prev, 'checkpoint-4')}: the checkpoint was trained with --task mrpc, this run has --task rte`,
    );
    const other = variant('other-model', modelDir, () => {});
    const model = trainInto(prev, other, dataDir, ...resume);
    expect(model.code).toBe(1);
    expect(model.stderr).toContain(`trained with --model ${modelDir}, this run has --model ${other}`);
    expect(snapshot(prev)).toEqual(before);
  });

  it('warns as HF does on a changed batch size or accumulation, and goes on', () => {
    const out = variant('rebatched', prev, () =>
      rmSync(join(root, 'rebatched', 'checkpoint-4'), { recursive: true }),
    );
    const r = resumeLatest(out, '--per-device-train-batch-size', '8', '--gradient-accumulation-steps', '2');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('per_device_train_batch_size: 8 (from args) != 16');
    expect(r.stdout).toContain('gradient_accumulation_steps: 2 (from args) != 1');
  });

  it('`latest` says which damaged checkpoint it skipped and why', () => {
    const out = variant('damaged', prev, (d) =>
      truncateSync(join(d, 'checkpoint-4', 'model.safetensors'), 1000),
    );
    const r = resumeLatest(out);
    expect(r.code, r.stderr).toBe(0);
    const file = join(out, 'checkpoint-4', 'model.safetensors');
    expect(r.stderr).toMatch(
      new RegExp(
        `skipping ${join(out, 'checkpoint-4')}, it is damaged \\(${file}: 1000 bytes, the index says \\d+\\)`,
      ),
    );
    expect(r.stdout).toContain(`Resuming:    ${join(out, 'checkpoint-2')} at step 2`);
  });
});

describe('output locations are checked before anything is computed', () => {
  const base = () => ['train', '--model', modelDir, '--data', dataDir, ...FLAGS, ...CPU];

  it('an output_dir that is a file, or inside one', () => {
    const file = join(root, 'a-file');
    writeFileSync(file, 'mine');
    const r = cli([...base(), '--output-dir', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `--output-dir ${file} is a file; expected a folder (or a path to create); nothing was written`,
    );
    const inside = cli([...base(), '--output-dir', join(file, 'run')]);
    expect(inside.code).toBe(1);
    expect(inside.stderr).toContain(`${file} is a file, so no folder can be made in it`);
    expect(readFileSync(file, 'utf8')).toBe('mine');
  });

  // A folder this process cannot write: mode 555 for a user; root writes anywhere but sysfs.
  const readOnly =
    process.getuid?.() === 0 ? (existsSync('/sys/fs') ? '/sys/fs' : undefined) : join(root, 'read-only');
  it.skipIf(readOnly === undefined)('a read-only parent folder', () => {
    if (readOnly!.startsWith(root)) mkdirSync(readOnly!, { mode: 0o555 });
    const target = join(readOnly!, 'ortrain-run');
    const r = cli([...base(), '--output-dir', target]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`--output-dir ${target}: ${readOnly} is not writable \\((EACCES|EPERM)`),
    );
    expect(r.stderr).toContain('nothing was written');
  });

  // A 10 MB tmpfs in a user namespace of its own (no root needed): room to compile and for one checkpoint.
  const unshare = spawnSync('unshare', ['-rm', 'sh', '-c', `mount -t tmpfs -o size=1m tmpfs ${root}`]);
  it.skipIf(unshare.status !== 0)(
    'a full disk during training: the folder, ENOSPC and the phase named, checkpoints whole',
    () => {
      const mount = join(root, 'full');
      const copy = join(root, 'full-copy');
      mkdirSync(mount);
      const train = [
        MAIN,
        'train',
        '--model',
        modelDir,
        '--data',
        dataDir,
        '--output-dir',
        join(mount, 'run'),
        '--max-steps',
        '6',
        '--save-steps',
        '2',
        '--eval-strategy',
        'no',
        ...CPU,
      ];
      const quoted = train.map((a) => `'${a}'`).join(' ');
      const script = `mount -t tmpfs -o size=10m tmpfs '${mount}' && '${process.execPath}' ${quoted}; echo "rc=$?"; cp -r '${mount}/run' '${copy}'`;
      const r = spawnSync('unshare', ['-rm', 'sh', '-c', script], {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, HF_HUB_OFFLINE: '1' },
      });
      expect(r.stdout).toContain('rc=1');
      expect(r.stderr).toContain(
        `--output-dir ${join(mount, 'run')}: no space left on the device (ENOSPC) while training (checkpoints, logs); the checkpoints saved before it are complete (${join(mount, 'run', 'checkpoint-2')})`,
      );
      expect(readdirSync(copy).filter((f) => f.startsWith('checkpoint-') || f.startsWith('.'))).toEqual([
        'checkpoint-2',
      ]);
      expect(() => loadCheckpoint(join(copy, 'checkpoint-2'))).not.toThrow();
    },
  );

  it('predict --output a folder fails before predicting', () => {
    const r = cli(['predict', '--model', prev, '--data', dataDir, '--split', 'test', '--output', root]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `--output ${root} is a folder; expected a file path (e.g. ${join(root, 'predictions.tsv')}); nothing was written`,
    );
    expect(r.stdout).not.toContain('Model:');
    expect(snapshot(prev)).toEqual(before);
  });
});
