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
/** Milliseconds from "Running training" to the exit of an uninterrupted run. */
let trainingMs: number;

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

/**
 * Runs train into `out`; with `killAt`, SIGKILLs it that many ms after it starts training (a negative value:
 * that many ms after the process starts, while it compiles). Resolves with the ms it ran after starting.
 */
function train(out: string, killAt?: number): Promise<{ code: number | null; ms: number }> {
  const child = spawn(process.execPath, [MAIN, 'train', ...inputs, '--output-dir', out, ...FLAGS], {
    cwd: root,
    env: { ...process.env, HF_HUB_OFFLINE: '1' },
  });
  const spawned = performance.now();
  let started = 0;
  const kill = (ms: number) => setTimeout(() => child.kill('SIGKILL'), ms);
  if (killAt !== undefined && killAt < 0) kill(-killAt);
  child.stdout.on('data', (chunk: Buffer) => {
    if (started === 0 && chunk.toString().includes('***** Running training *****')) {
      started = performance.now();
      if (killAt !== undefined && killAt >= 0) kill(killAt);
    }
  });
  return new Promise((resolve) =>
    child.on('exit', (code) => resolve({ code, ms: performance.now() - (started || spawned) })),
  );
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
  if (whole.code !== 0) throw new Error(`the uninterrupted run failed (${whole.code})`);
  trainingMs = whole.ms;
  reference = weightsOf(join(root, 'whole', 'model.safetensors'));
}, 60_000);

describe('SIGKILL at seeded points leaves only complete files, and latest resumes', () => {
  const random = seeded(18);
  // One kill while compiling, the others spread over training, checkpoints and the export.
  const points = [-300, ...Array.from({ length: 5 }, (_, i) => (i + random()) / 5)];
  let resumedRuns = 0;
  it.each(points.map((p, i) => [i, p]))('kill %i', async (_, point) => {
    const out = join(root, `killed-${point}`);
    const killed = await train(out, point < 0 ? point : Math.round(point * trainingMs));
    expectComplete(out);
    if (killed.code === 0) return; // it finished first: the whole run is checked above
    expect(killed.code).toBeNull(); // killed by the signal
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
