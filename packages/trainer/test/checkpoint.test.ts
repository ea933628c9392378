import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { readSafetensors, writeDirAtomic } from '@ortrain/artifacts';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  type CheckpointContent,
  latestValidCheckpoint,
  listCheckpoints,
  loadCheckpoint,
  removeStaleTemps,
  rotateCheckpoints,
  saveCheckpoint,
  validateCheckpoint,
} from '../src/checkpoint/checkpoints.js';
import { transpileSources } from './helpers/transpile.js';

const tmp = mkdtempSync(join(tmpdir(), 'ortrain-ckpt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const fresh = () => {
  const d = join(tmp, `case-${n++}`);
  mkdirSync(d);
  return d;
};

function content(step: number): CheckpointContent {
  return {
    weights: [
      { name: 'w', dataType: 'float32', dims: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, step]) },
      { name: 'b', dataType: 'float32', dims: [3], data: Float32Array.from([0.5, -0.5, 0.25]) },
    ],
    optimizer: [
      { name: 'w.exp_avg', dataType: 'float32', dims: [2, 3], data: new Float32Array(6).fill(step) },
    ],
    scheduler: { last_epoch: step },
    rngState: { seed: 42 },
    trainerState: { global_step: step, log_history: [] },
    trainingArgs: { output_dir: 'x' },
  };
}

describe('checkpoints', () => {
  it('saves and loads a checkpoint folder with HF file names', () => {
    const out = fresh();
    const dir = saveCheckpoint(out, 7, content(7));
    expect(basename(dir)).toBe('checkpoint-7');
    expect(readdirSync(dir).sort()).toEqual([
      'model.safetensors',
      'optimizer.safetensors',
      'ortrain_checkpoint.json',
      'rng_state.json',
      'scheduler.json',
      'trainer_state.json',
      'training_args.json',
    ]);
    const back = loadCheckpoint(dir);
    expect(back.weights.map((w) => w.name)).toEqual(['w', 'b']);
    expect(back.weights[0]!.data).toEqual(Float32Array.from([1, 2, 3, 4, 5, 7]));
    expect(back.trainerState).toEqual({ global_step: 7, log_history: [] });
    expect(readdirSync(out)).toEqual(['checkpoint-7']);
  });

  it("stores the graphs' transposed Linear weights in HF's layout, and loads them back", () => {
    const out = fresh();
    const dir = saveCheckpoint(out, 5, { ...content(5), transposed: ['w'] });
    // model.safetensors is the state dict HF would load: w [in, out] in the graphs is [out, in] = [3, 2] here.
    const file = readSafetensors(join(dir, 'model.safetensors'));
    expect(file.get('w')!.dims).toEqual([3, 2]);
    expect(file.get('w')!.data).toEqual(Float32Array.from([1, 4, 2, 5, 3, 5]));
    expect(file.get('b')!.data).toEqual(Float32Array.from([0.5, -0.5, 0.25]));
    const back = loadCheckpoint(dir);
    expect(back.weights[0]!.dims).toEqual([2, 3]);
    expect(back.weights[0]!.data).toEqual(Float32Array.from([1, 2, 3, 4, 5, 5]));
    expect(back.transposed).toEqual(['w']);
  });

  it('replaces an existing checkpoint of the same step', () => {
    const out = fresh();
    saveCheckpoint(out, 3, content(3));
    const c = content(3);
    c.trainerState = { global_step: 3, replaced: true };
    saveCheckpoint(out, 3, c);
    expect(loadCheckpoint(join(out, 'checkpoint-3')).trainerState).toEqual({
      global_step: 3,
      replaced: true,
    });
    expect(readdirSync(out)).toEqual(['checkpoint-3']);
  });

  it('detects truncated and missing files, and skips them for the latest valid checkpoint', () => {
    const out = fresh();
    saveCheckpoint(out, 1, content(1));
    saveCheckpoint(out, 2, content(2));
    const two = join(out, 'checkpoint-2');
    writeFileSync(join(two, 'model.safetensors'), 'x');
    expect(() => validateCheckpoint(two)).toThrow(/model.safetensors: 1 bytes, the index says/);
    expect(latestValidCheckpoint(out)).toBe(join(out, 'checkpoint-1'));
    rmSync(join(out, 'checkpoint-1', 'optimizer.safetensors'));
    expect(() => validateCheckpoint(join(out, 'checkpoint-1'))).toThrow(/optimizer.safetensors is missing/);
    expect(latestValidCheckpoint(out)).toBeUndefined();
  });

  it('sorts checkpoints by step number, not by name', () => {
    const out = fresh();
    for (const s of [10, 9, 100]) saveCheckpoint(out, s, content(s));
    mkdirSync(join(out, 'checkpoint-final'));
    expect(listCheckpoints(out).map((c) => c.step)).toEqual([9, 10, 100]);
  });
});

describe('rotateCheckpoints (HF _rotate_checkpoints)', () => {
  const setup = (steps: number[]) => {
    const out = fresh();
    for (const s of steps) mkdirSync(join(out, `checkpoint-${s}`));
    return out;
  };
  const left = (out: string) => listCheckpoints(out).map((c) => c.step);

  it('deletes the oldest beyond the limit', () => {
    const out = setup([5, 10, 15, 20]);
    rotateCheckpoints(out, 2, null);
    expect(left(out)).toEqual([15, 20]);
  });

  it('never deletes the best checkpoint', () => {
    const out = setup([5, 10, 15, 20]);
    rotateCheckpoints(out, 2, join(out, 'checkpoint-5'));
    expect(left(out)).toEqual([5, 20]);
    const out2 = setup([5, 10, 15, 20]);
    rotateCheckpoints(out2, 3, join(out2, 'checkpoint-10'));
    expect(left(out2)).toEqual([10, 15, 20]);
  });

  it('keeps two with limit 1 when the best is not the newest', () => {
    const out = setup([5, 10, 15]);
    rotateCheckpoints(out, 1, join(out, 'checkpoint-5'));
    expect(left(out)).toEqual([5, 15]);
    const out2 = setup([5, 10, 15]);
    rotateCheckpoints(out2, 1, join(out2, 'checkpoint-15'));
    expect(left(out2)).toEqual([15]);
  });

  it('does nothing without a limit', () => {
    const out = setup([1, 2, 3]);
    expect(rotateCheckpoints(out, null, null)).toEqual([]);
    expect(left(out)).toEqual([1, 2, 3]);
  });
});

describe('atomic writes', () => {
  it('leaves no folder behind when writing fails', () => {
    const out = fresh();
    expect(() => writeDirAtomic(join(out, 'checkpoint-1'), { 'a/b': 'x' })).toThrow(/plain file name/);
    expect(readdirSync(out)).toEqual([]);
  });

  it('a process killed mid-write leaves the previous checkpoint intact and no partial one', async () => {
    const { index, cleanup } = transpileSources();
    onTestFinished(cleanup);
    const out = fresh();
    // The child saves checkpoint-1, then starts checkpoint-2 with a slow, chunked weights file and is killed
    // (SIGKILL, no cleanup) once it reports being inside that write.
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `
        const { saveCheckpoint, writeDirAtomic } = await import(${JSON.stringify(index)});
        const out = ${JSON.stringify(out)};
        saveCheckpoint(out, 1, ${JSON.stringify({ ...content(1), weights: [], optimizer: [] })});
        function* slow() {
          for (let i = 0; ; i++) {
            yield new Uint8Array(1 << 16).fill(i);
            if (i === 3) process.stdout.write('mid-write\\n');
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
          }
        }
        writeDirAtomic(out + '/checkpoint-2', { 'model.safetensors': slow() });
        `,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('mid-write')) child.kill('SIGKILL');
      });
      child.on('exit', () => resolve());
    });
    expect(child.signalCode).toBe('SIGKILL');
    expect(listCheckpoints(out).map((c) => c.step)).toEqual([1]);
    expect(latestValidCheckpoint(out)).toBe(join(out, 'checkpoint-1'));
    expect(loadCheckpoint(join(out, 'checkpoint-1')).trainerState).toEqual({
      global_step: 1,
      log_history: [],
    });
    const temps = removeStaleTemps(out);
    expect(temps).toHaveLength(1);
    expect(temps[0]).toMatch(/^\.tmp-checkpoint-2-/);
    expect(readdirSync(out)).toEqual(['checkpoint-1']);
    expect(existsSync(join(out, 'checkpoint-2'))).toBe(false);
  });
});
