import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CompileOptions, compileArtifacts } from '@ortrain/artifacts';
import { inferShapes, loadModel } from '@ortrain/graph';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../src/checkpoint/checkpoints.js';
import { TrainingArguments, type TrainingArgumentsInit } from '../src/trainer/arguments.js';
import type { LogEntry } from '../src/trainer/state.js';
import { type StepEvent, Trainer, type TrainerOptions } from '../src/trainer/trainer.js';
import { datasetOf, FIXTURES, reference as ref } from './helpers/reference.js';

const tmp = mkdtempSync(join(tmpdir(), 'ortrain-mixed-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const trainSet = datasetOf(ref.train_batches);
const source = join(FIXTURES, 'bert_cls_opset14.onnx');

let runs = 0;
function argsFor(extra: Partial<TrainingArgumentsInit>): TrainingArguments {
  return new TrainingArguments({
    output_dir: join(tmp, `run-${runs++}`),
    per_device_train_batch_size: 4,
    learning_rate: 1e-3,
    num_train_epochs: 2,
    warmup_ratio: 0.1,
    device: 'cpu',
    dropout: 0,
    logging_steps: 1,
    save_strategy: 'no',
    ...extra,
  });
}

async function train(args: TrainingArguments, model: TrainerOptions['model'] = { source }) {
  const trainer = new Trainer({ model, args, trainDataset: trainSet });
  const steps: StepEvent[] = [];
  const messages: string[] = [];
  trainer.on('step', (e) => steps.push(e));
  trainer.on('message', (m) => messages.push(m));
  await trainer.train();
  const weights = (await trainer.getReplica()).weights();
  const exported = trainer.saveModel(join(args.output_dir, 'export'));
  await trainer.close();
  const logs = trainer.state.log_history.filter((e: LogEntry) => e['loss'] !== undefined);
  return { steps, messages, weights, logs, exported };
}

/** The fixture compiled as the Trainer would, with extra compile options (a small loss scale interval). */
function compiled(name: string, options: Partial<CompileOptions>) {
  return compileArtifacts(source, {
    name,
    outDir: tmp,
    dropout: { hidden: 0, attention: 0, classifier: 0 },
    mixedPrecision: 'fp16',
    ...options,
  });
}

describe('TrainingArguments fp16 / bf16', () => {
  it('default off and exclusive', () => {
    expect(argsFor({}).fp16).toBe(false);
    expect(argsFor({}).bf16).toBe(false);
    expect(() => argsFor({ fp16: true, bf16: true })).toThrow(
      'TrainingArguments.fp16 and bf16 cannot both be set',
    );
  });
});

describe('mixed-precision training through the Trainer', () => {
  it('bf16 is refused on cpu with a message naming the device', async () => {
    const trainer = new Trainer({ model: { source }, args: argsFor({ bf16: true }), trainDataset: trainSet });
    await expect(trainer.train()).rejects.toThrow(/bf16: the cpu device has no bfloat16 MatMul kernel/);
    await trainer.close();
  });

  it('fp16 follows the float32 run within half-precision tolerance, logs the scale, exports float32', async () => {
    const fp32 = await train(argsFor({}));
    const fp16 = await train(argsFor({ fp16: true }));
    expect(fp16.messages.some((m) => m.startsWith('fp16 on CPU'))).toBe(true);
    expect(fp16.steps.length).toBe(fp32.steps.length);
    const losses = (r: { steps: StepEvent[] }) => r.steps.map((s) => s.loss);
    for (const [i, loss] of losses(fp16).entries()) {
      expect(Math.abs(loss - losses(fp32)[i]!) / Math.abs(losses(fp32)[i]!)).toBeLessThan(1e-2);
    }
    expect(fp16.steps.every((s) => s.skipped === false)).toBe(true);
    expect(fp32.steps.every((s) => s.skipped === undefined)).toBe(true);
    expect(fp16.logs.map((e) => e['loss_scale'])).toEqual(fp16.logs.map(() => 2 ** 16));
    expect(fp32.logs.every((e) => e['loss_scale'] === undefined)).toBe(true);
    // The export is the float32 predict graph with float32 weights.
    const g = loadModel(fp16.exported).graph;
    const types = inferShapes(g).types;
    const matmuls = g.nodes.filter((n) => n.opType === 'MatMul' || n.opType === 'Gemm');
    expect(matmuls.length).toBeGreaterThan(0);
    for (const n of matmuls) expect(types.get(n.inputs[0]!)?.dataType).toBe('float32');
    expect(g.nodes.some((n) => n.opType === 'Cast' && n.attributes['to']?.value === 10)).toBe(false);
  });

  it('fp16 with gradient accumulation follows the float32 run too', async () => {
    const [fp32, fp16] = [
      await train(argsFor({ gradient_accumulation_steps: 2 })),
      await train(argsFor({ gradient_accumulation_steps: 2, fp16: true })),
    ];
    expect(fp16.steps.length).toBe(fp32.steps.length);
    for (const [i, s] of fp16.steps.entries()) {
      expect(s.skipped).toBe(false);
      expect(Math.abs(s.loss - fp32.steps[i]!.loss) / Math.abs(fp32.steps[i]!.loss)).toBeLessThan(1e-2);
      expect(Math.abs(s.gradNorm - fp32.steps[i]!.gradNorm) / fp32.steps[i]!.gradNorm).toBeLessThan(2e-2);
    }
  });

  it('overflowing steps are skipped: global_step counts them, the scheduler and AdamW do not', async () => {
    // A scale of 2^30 overflows this model's float16 backward for the first steps, then backs off to one that fits.
    const overflowing = compiled('overflow', { lossScaling: { initScale: 2 ** 30 } });
    const args = argsFor({ fp16: true, warmup_ratio: 0, save_strategy: 'steps', save_steps: 4 });
    const r = await train(args, overflowing);
    const skipped = r.steps.filter((s) => s.skipped).length;
    expect(skipped).toBeGreaterThan(0);
    expect(skipped).toBeLessThan(r.steps.length);
    // Every skipped step leaves the learning rate where it was: the next step uses the same one.
    for (const [i, s] of r.steps.entries()) {
      const next = r.steps[i + 1];
      if (s.skipped && next) expect(next.learningRate).toBe(s.learningRate);
      if (!s.skipped && next) expect(next.learningRate).toBeLessThan(s.learningRate);
    }
    expect(r.steps[0]!.learningRate).toBe(1e-3); // linear, no warmup: the first applied step has the base rate
    const scales = r.logs.map((e) => e['loss_scale']!);
    expect(scales[0]).toBe(2 ** 29);
    const c = loadCheckpoint(join(args.output_dir, 'checkpoint-4'));
    const firstFour = r.steps.slice(0, 4).filter((s) => s.skipped).length;
    expect((c.scheduler as { last_epoch: number }).last_epoch).toBe(4 - firstFour);
    const scale = c.optimizer.find((t) => t.name === 'loss_scale')!;
    expect(scale.data[0]).toBe(scales[3]);
  });

  it('steps_per_run 4 skips the same steps as single runs, holding back the rates inside the Loop', async () => {
    // 2^28 overflows the first two steps: the third applies inside the same group of 4.
    const overflowing = compiled('overflow-grouped', {
      lossScaling: { initScale: 2 ** 28 },
      multiStep: true,
    });
    // No log or save between steps, so the runner groups up to 4 steps per session run.
    const run = (stepsPerRun: number) =>
      train(
        argsFor({ fp16: true, warmup_ratio: 0, logging_steps: 100, steps_per_run: stepsPerRun }),
        overflowing,
      );
    const [single, grouped] = [await run(1), await run(4)];
    expect(grouped.steps.length).toBe(single.steps.length);
    const skippedAt = (r: { steps: StepEvent[] }) => r.steps.flatMap((s, i) => (s.skipped ? [i] : []));
    expect(skippedAt(single)).toEqual([0, 1]);
    expect(skippedAt(grouped)).toEqual(skippedAt(single));
    // The losses after the skips show which learning rate and AdamW step the Loop used (slicing by the
    // iteration instead of the applied count is off by 7e-3 at step 4).
    for (const [i, s] of grouped.steps.entries()) {
      const t = single.steps[i]!;
      expect(s.learningRate).toBe(t.learningRate);
      expect(Math.abs(s.loss - t.loss)).toBeLessThanOrEqual(1e-5 * Math.abs(t.loss));
      if (!s.skipped) expect(Math.abs(s.gradNorm - t.gradNorm)).toBeLessThanOrEqual(1e-4 * t.gradNorm);
    }
    // Weights: within two steps of lr 1e-3. Adam divides by sqrt(v), so float16 rounding that differs between
    // the Loop body and the plain graph moves rare embedding rows by about one step (1.25e-3 with no skip).
    for (const [i, w] of grouped.weights.entries()) {
      const v = single.weights[i]!;
      expect(w.name).toBe(v.name);
      const [a, b] = [w.data as Float32Array, v.data as Float32Array];
      for (let j = 0; j < a.length; j++)
        if (Math.abs(a[j]! - b[j]!) > 2e-3) expect([w.name, j, a[j]]).toEqual([w.name, j, b[j]]);
    }
  });

  it('refuses artifacts compiled for another precision than the arguments ask for', async () => {
    const fp32 = compileArtifacts(source, {
      name: 'fp32',
      outDir: tmp,
      dropout: { hidden: 0, attention: 0, classifier: 0 },
    });
    const trainer = new Trainer({ model: fp32, args: argsFor({ fp16: true }), trainDataset: trainSet });
    await expect(trainer.train()).rejects.toThrow(
      /ask for float16 but the artifacts in .* were compiled for float32/,
    );
    await trainer.close();
  });

  it('with every step overflowing, the weights end where they started', async () => {
    const stuck = compiled('stuck', { lossScaling: { initScale: 2 ** 100, backoffFactor: 0.9 } });
    const r = await train(argsFor({ fp16: true, num_train_epochs: 1 }), stuck);
    expect(r.steps.every((s) => s.skipped)).toBe(true);
    for (const w of r.weights) expect([w.name, w.data]).toEqual([w.name, stuck.weights.get(w.name)!.data]);
  });
});
