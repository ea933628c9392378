import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { ArtifactManifest } from '@ortrain/artifacts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BatchesFile, batchesFile, syntheticBatch } from '../src/batches.js';
import { type Geometry, parameterCount } from '../src/geometry.js';
import { peakRssMiB } from '../src/memory.js';
import {
  compileTask,
  evalTask,
  forwardTask,
  gemmTask,
  mrpcTask,
  profileTask,
  serveTask,
  tokenizeTask,
  trainTask,
} from '../src/tasks.js';

// A model small enough to compile and train in well under a second.
const MICRO: Geometry = { name: 'micro', layers: 1, hidden: 32, heads: 2, intermediate: 64 };
const shared = join(import.meta.dirname, '..', '..', '..', '..', 'shared');
const hasShared =
  existsSync(join(shared, 'glue', 'MRPC')) && existsSync(join(shared, 'tokenizers', 'bert-base-uncased'));

let work: string;
let dir: string;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ortrain-bench-tasks-'));
  dir = (await compileTask({ geometry: MICRO, workDir: work })).dir;
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('benchmark tasks on a micro BERT', () => {
  it('compiles the random checkpoint into artifacts with the expected parameters', () => {
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ArtifactManifest;
    const total = m.parameters.reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
    expect(total).toBe(parameterCount(MICRO));
    expect(m.model).toMatchObject({
      numHiddenLayers: 1,
      hiddenSize: 32,
      numAttentionHeads: 2,
      intermediateSize: 64,
    });
  });

  it('trains at each shape and reports medians of the timed steps', async () => {
    const f = await trainTask({
      dir,
      shapes: [
        { batch: 2, seq: 16 },
        { batch: 4, seq: 8 },
      ],
      warmup: 1,
      repeats: 3,
    });
    expect(f.shapes.map((s) => [s.batch, s.seq, s.stepMs.n])).toEqual([
      [2, 16, 3],
      [4, 8, 3],
    ]);
    for (const s of f.shapes) {
      expect(s.stepMs.min).toBeGreaterThan(0);
      expect(s.stepMs.min).toBeLessThanOrEqual(s.stepMs.median);
      expect(s.samplesPerSec.median).toBeCloseTo((s.batch * 1000) / s.stepMs.median);
      expect(Number.isFinite(s.loss)).toBe(true);
    }
    expect(f.timeToFirstStepMs).toBeGreaterThan(f.firstStepMs);
    expect(f.peakRssMiB).toBeGreaterThan(0);
  });

  it('times K steps per session run as per-step figures', async () => {
    const f = await trainTask({
      dir,
      shapes: [{ batch: 2, seq: 16 }],
      warmup: 1,
      repeats: 2,
      stepsPerRun: 3,
    });
    const s = f.shapes[0]!;
    expect(s.stepMs.n).toBe(2);
    expect(s.samplesPerSec.median).toBeCloseTo((2 * 1000) / s.stepMs.median);
    expect(Number.isFinite(s.loss)).toBe(true);
  });

  it('evaluates the initial model at chance level (random head, two balanced classes)', async () => {
    const f = await evalTask({ dir, batch: 4, seq: 16, warmup: 0, repeats: 2 });
    expect(f.initialLoss).toBeGreaterThan(0.6);
    expect(f.initialLoss).toBeLessThan(0.8);
    expect(f.stepMs.n).toBe(2);
  });

  it('times the exported inference model', async () => {
    const f = await forwardTask({ dir, workDir: work, batch: 4, seq: 16, warmup: 1, repeats: 2 });
    expect(existsSync(join(work, 'inference', 'L1-H32-A2-I64', 'onnx', 'model.onnx'))).toBe(true);
    expect(f.stepMs.n).toBe(2);
  });

  it('profiles a training step into per-op kernel times', async () => {
    const f = await profileTask({ dir, workDir: join(work, 'profile'), batch: 2, seq: 16, warmup: 1 });
    const ops = f.byOp.map((o) => o.op);
    expect(ops).toContain('LayerNormalization');
    expect(ops.some((o) => /MatMul|Gemm/.test(o))).toBe(true);
    expect(f.byOp.reduce((a, o) => a + o.share, 0)).toBeCloseTo(1);
    expect(f.kernelMs).toBeLessThanOrEqual(f.runMs);
  });

  it('times a fed MatMul at the kernel and converts to GFLOP/s', async () => {
    const f = await gemmTask({ m: 64, k: 32, n: 48, warmup: 1, repeats: 3, workDir: join(work, 'gemm') });
    expect(f.ms.n).toBe(3);
    expect(f.gflops.median).toBeCloseTo((2 * 64 * 32 * 48) / 1e6 / f.ms.median);
  });

  it('profiles with the ONNX Runtime run, the binding and the phases accounted for', async () => {
    const f = await profileTask({ dir, workDir: join(work, 'profile-phases'), batch: 2, seq: 16, warmup: 1 });
    expect(f.ortRunMs).toBeLessThanOrEqual(f.runMs);
    expect(f.phases.matmulMs).toBeGreaterThan(0);
    expect(f.phases.optimizerMs).toBeGreaterThan(0);
    expect(f.phases.matmulMs + f.phases.optimizerMs + f.phases.otherMs).toBeCloseTo(f.kernelMs);
  });

  it('reads its own peak RSS', () => {
    expect(peakRssMiB() * 2 ** 20).toBeGreaterThanOrEqual(process.memoryUsage().rss * 0.5);
  });
});

describe('the step server', () => {
  it('warms up on the first batches, then trains one step per index line and reports its time and loss', async () => {
    const batches = join(work, 'serve.json');
    writeFileSync(batches, JSON.stringify(batchesFile([syntheticBatch(2, 8, 1), syntheticBatch(3, 6, 2)])));
    const input = new PassThrough();
    const output = new PassThrough();
    let text = '';
    output.setEncoding('utf8').on('data', (d: string) => (text += d));
    const served = serveTask({ dir, batchesFile: batches, warmup: 1 }, { input, output });
    input.end('1\n1\n1\n0\n');
    await expect(served).resolves.toEqual({ steps: 4 });
    const [ready, ...replies] = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { ms: number; rows: number; loss: number });
    expect(ready).toEqual({ ready: true });
    expect(replies.map((r) => r.rows)).toEqual([3, 3, 3, 2]);
    for (const r of replies) expect(r.ms).toBeGreaterThan(0);
    // The same batch three times: training moves its loss (each step is a real optimizer step).
    const losses = replies.slice(0, 3).map((r) => r.loss);
    expect(new Set(losses).size).toBe(3);
    for (const l of losses) expect(l).toBeGreaterThan(0);
  });
});

describe.skipIf(!hasShared)('real data (../shared)', () => {
  it('trains on an even sample of MRPC batches at their real padded lengths and projects the fine-tune', async () => {
    const batchesOut = join(work, 'mrpc.json');
    const f = await mrpcTask({
      dir,
      sharedDir: shared,
      batch: 8,
      warmup: 1,
      sample: 3,
      epochs: 3,
      seed: 42,
      evalDev: true,
      batchesOut,
    });
    expect([f.trainRows, f.stepsPerEpoch, f.devRows]).toEqual([3668, 459, 408]);
    expect(f.stepMs.n).toBe(3);
    // Dynamic padding: batches are padded to their own longest row, far below the 512 positions.
    expect(f.epochLengths.max).toBeLessThan(128);
    expect(f.epochLengths.min).toBeLessThan(f.epochLengths.max);
    const expected = (3 * (459 * f.meanStepMs + f.devEvalMs!)) / 60_000;
    expect(f.projectedMinutes).toBeCloseTo(expected);
    const file = JSON.parse(readFileSync(batchesOut, 'utf8')) as BatchesFile;
    expect(file.batches).toHaveLength(1 + 3); // the warm-up batch, then the timed ones
  });

  it('tokenizes MRPC and SST-2 train', async () => {
    const f = await tokenizeTask({ sharedDir: shared, repeats: 1 });
    expect(f.splits.map((s) => [s.task, s.rows])).toEqual([
      ['mrpc', 3668],
      ['sst2', 67349],
    ]);
    for (const s of f.splits) expect(s.tokens).toBeGreaterThan(s.rows * 3);
  });
});
