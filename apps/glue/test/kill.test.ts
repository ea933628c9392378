/**
 * `kill -9` at seeded points through compiling, training, checkpointing and the export: whatever a killed
 * run published is complete (every checkpoint-N loads, the export loads or is absent), and
 * `--resume-from-checkpoint latest` finishes it to the weights of the uninterrupted run (dropout 0).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors } from '@ortrain/artifacts';
import { loadModel } from '@ortrain/graph';
import { listCheckpoints, loadCheckpoint } from '@ortrain/trainer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeEmbeddedDefault } from '../src/embedded/index.js';
import { MAIN, runCli } from './process.js';

const root = mkdtempSync(join(tmpdir(), 'ortrain-glue-kill-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// 96 rows at batch 8: 12 steps, a checkpoint every 2, then the export.
const FLAGS = [
  '--per-device-train-batch-size',
  '8',
  '--max-steps',
  '12',
  '--save-steps',
  '2',
  '--logging-steps',
  '1',
  '--eval-strategy',
  'no',
  '--dropout',
  '0',
  '--device',
  'cpu',
];
let inputs: string[];
let reference: Map<string, Float32Array>;

/** A seeded stream in [0, 1) (mulberry32), so the kill points are the same on every run of the test. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** When to kill: this long after the process starts (while it compiles), or after a step's log or save line. */
type KillPoint = { afterMs: number } | { after: 'log' | 'save'; step: number; delayMs: number };

// Without a TTY each log and each save is a line: `log   step <n>/12 ...`, `save  step <n>: <folder>`; a
// step's log comes right before its save, and the last save right before the export.
const LINES = { log: /^log +step (\d+)\//gm, save: /^save +step (\d+):/gm };

/** Runs train into `out`, SIGKILLed at `kill` if given. Resolves with its exit code (null when killed). */
function train(out: string, kill?: KillPoint): Promise<number | null> {
  const child = spawn(process.execPath, [MAIN, 'train', ...inputs, '--output-dir', out, ...FLAGS], {
    cwd: root,
    env: { ...process.env, HF_HUB_OFFLINE: '1' },
  });
  const killIn = (ms: number) => setTimeout(() => child.kill('SIGKILL'), ms);
  if (kill && 'afterMs' in kill) killIn(kill.afterMs);
  child.stdout.on('data', (chunk: Buffer) => {
    if (!kill || !('step' in kill)) return;
    for (const m of chunk.toString().matchAll(LINES[kill.after])) {
      if (Number(m[1]) === kill.step) killIn(kill.delayMs);
    }
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

const weightsOf = (file: string) =>
  new Map([...readSafetensors(file)].map(([name, t]) => [name, t.data as Float32Array]));

/** Every published file of `out` is whole: each checkpoint loads, the export parses or is absent. */
function expectComplete(out: string): void {
  for (const c of listCheckpoints(out)) expect(() => loadCheckpoint(c.path), c.path).not.toThrow();
  const onnx = join(out, 'onnx', 'model.onnx');
  if (!existsSync(onnx)) return;
  expect(() => loadModel(onnx)).not.toThrow();
  for (const f of ['config.json', 'vocab.txt']) expect(existsSync(join(out, f)), f).toBe(true);
  expect(weightsOf(join(out, 'model.safetensors')).size).toBe(reference.size);
}

beforeAll(async () => {
  const files = await writeEmbeddedDefault(join(root, 'fixture'), { train: 96, dev: 16, test: 16 });
  inputs = ['--model', files.modelDir, '--data', files.dataDir];
  const whole = await train(join(root, 'whole'));
  if (whole !== 0) throw new Error(`the uninterrupted run failed (${whole})`);
  reference = weightsOf(join(root, 'whole', 'model.safetensors'));
}, 60_000);

describe('SIGKILL at seeded points leaves only complete files, and latest resumes', () => {
  const random = seeded(18);
  // One kill while compiling; one in each fifth of the 12 steps (a short delay after a log line lands in or
  // near the checkpoint write that follows); one 60-160 ms after the last save, in the export (measured:
  // from about 90 ms the export is under way on an idle machine).
  const steps = [0, 1, 2, 3, 4].map((i) => Math.ceil((i + random()) * 2.4));
  const points: KillPoint[] = [
    { afterMs: 300 },
    ...steps.map((step) => ({ after: 'log' as const, step, delayMs: Math.floor(random() * 60) })),
    { after: 'save', step: 12, delayMs: 60 + Math.floor(random() * 100) },
  ];
  let resumedRuns = 0;
  it.each(points.map((p, i) => [JSON.stringify(p), i, p] as const))('kill at %s', async (_, i, point) => {
    const out = join(root, `killed-${i}`);
    const code = await train(out, point);
    expectComplete(out);
    if (code === 0) return; // it finished first: the whole run is checked above
    expect(code).toBeNull(); // killed by the signal
    if (listCheckpoints(out).length === 0) return; // nothing to resume yet
    const resumed = runCli(
      ['train', '--config', join(out, 'train_args.json'), '--resume-from-checkpoint', 'latest'],
      root,
    );
    expect(resumed.code, resumed.stderr).toBe(0);
    resumedRuns++;
    expectComplete(out);
    expect(JSON.parse(readFileSync(join(out, 'trainer_state.json'), 'utf8')).global_step).toBe(12);
    const weights = weightsOf(join(out, 'model.safetensors'));
    for (const [name, w] of reference) {
      const got = weights.get(name)!;
      let diff = 0;
      for (let i = 0; i < w.length; i++) diff = Math.max(diff, Math.abs(got[i]! - w[i]!));
      expect(diff, name).toBeLessThanOrEqual(1e-5);
    }
  });

  it('killed most runs mid-way: the kill points are not all past the end', () => {
    expect(resumedRuns).toBeGreaterThanOrEqual(3);
  });
});
