import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CompileOptions, compileArtifacts } from '@ortrain/artifacts';
import { DataCollatorWithPadding } from '@ortrain/data';
import { glueComputeMetrics } from '@ortrain/metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../src/checkpoint/checkpoints.js';
import { selectProvider } from '../src/runtime/device.js';
import { Replica } from '../src/runtime/replica.js';
import { TrainingArguments, type TrainingArgumentsInit } from '../src/trainer/arguments.js';
import type { LogEntry } from '../src/trainer/state.js';
import { type StepEvent, Trainer, type TrainerOptions, TrainingInterrupted } from '../src/trainer/trainer.js';
import { datasetOf, FIXTURES, maxAbsDiff, reference as ref } from './helpers/reference.js';

const tmp = mkdtempSync(join(tmpdir(), 'ortrain-training-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const trainSet = datasetOf(ref.train_batches);
const evalSet = datasetOf([ref.eval_batch]);
let artifacts: string;
/** The tiny fixture BERT compiled without dropout (deterministic steps), with extra compile options. */
const compileTiny = (name: string, options: Partial<CompileOptions> = {}) =>
  compileArtifacts(join(FIXTURES, 'bert_cls_opset14.onnx'), {
    name,
    outDir: tmp,
    dropout: { hidden: 0, attention: 0, classifier: 0 },
    ...options,
  }).dir;
beforeAll(() => {
  artifacts = compileTiny('tiny', { optimizer: { weightDecay: 0.01 }, multiStep: true });
});

let runs = 0;
function argsFor(extra: Partial<TrainingArgumentsInit>): TrainingArguments {
  return new TrainingArguments({
    output_dir: join(tmp, `run-${runs++}`),
    per_device_train_batch_size: 4,
    learning_rate: 1e-3,
    weight_decay: 0.01,
    num_train_epochs: 2,
    warmup_ratio: 0.1,
    device: 'cpu',
    dropout: 0,
    logging_steps: 3,
    save_strategy: 'no',
    ...extra,
  });
}

async function train(
  args: TrainingArguments,
  resume?: string | boolean,
  model: TrainerOptions['model'] = artifacts,
) {
  const trainer = new Trainer({ model, args, trainDataset: trainSet, evalDataset: evalSet });
  const steps: StepEvent[] = [];
  trainer.on('step', (e) => steps.push(e));
  let interrupted: TrainingInterrupted | undefined;
  try {
    await trainer.train(resume === undefined ? {} : { resumeFromCheckpoint: resume });
  } catch (e) {
    if (!(e instanceof TrainingInterrupted)) throw e;
    interrupted = e;
  }
  const session = await trainer.getReplica();
  const weights = session.weights();
  await trainer.close();
  return { trainer, steps, weights, interrupted };
}

describe('zero-copy state', () => {
  it('with clipping, steps update parameters and moments in place: one buffer each, nothing allocated', async () => {
    const session = await Replica.open(artifacts, { provider: await selectProvider('cpu') });
    expect(session.manifest.optimizer.maxGradNorm).toBeGreaterThan(0);
    const batch = new DataCollatorWithPadding().collate(trainSet, [0, 1, 2, 3]);
    const name = session.manifest.parameters[0]!.name;
    const moment = `${name}.exp_avg`;
    const p0 = session.view(name);
    const m0 = session.view(moment);
    const before = p0.slice();
    await session.step(batch, 1e-3, 1);
    expect(session.view(name)).toBe(p0);
    expect(session.view(moment)).toBe(m0);
    expect(maxAbsDiff(p0, before)).toBeGreaterThan(0);
    expect(maxAbsDiff(m0, new Float32Array(m0.length))).toBeGreaterThan(0);
    await session.release();
  });

  it('without clipping, steps write into a second buffer per parameter and swap them', async () => {
    // No clipping: an update need not wait for every gradient, so a parameter could be overwritten before the
    // backward pass reads it; the session keeps two buffers.
    const noClip = compileTiny('no-clip', { optimizer: { maxGradNorm: 0 } });
    const session = await Replica.open(noClip, { provider: await selectProvider('cpu') });
    const batch = new DataCollatorWithPadding().collate(trainSet, [0, 1, 2, 3]);
    const name = session.manifest.parameters[0]!.name;
    const moment = `${name}.exp_avg`;
    const p0 = session.view(name);
    const m0 = session.view(moment);
    const before = p0.slice();
    await session.step(batch, 1e-3, 1);
    const p1 = session.view(name);
    expect(p1).not.toBe(p0);
    expect(maxAbsDiff(p1, before)).toBeGreaterThan(0);
    expect(p0).toEqual(before); // the step read p0 and wrote p1
    await session.step(batch, 1e-3, 2);
    // After two steps the first buffers hold the state again: no array was allocated for it.
    expect(session.view(name)).toBe(p0);
    expect(session.view(moment)).toBe(m0);
    await session.release();
  });

  it('in-place and double-buffered steps give the same state (clipping inactive at a huge threshold)', async () => {
    // maxGradNorm 1e9 keeps the clip (so the in-place path) without ever scaling: the same math as no clipping.
    const compile = (name: string, maxGradNorm: number) =>
      compileTiny(name, { optimizer: { maxGradNorm, weightDecay: 0.01 } });
    const inPlace = await Replica.open(compile('huge-clip', 1e9), { provider: await selectProvider('cpu') });
    const swapped = await Replica.open(compile('no-clip-2', 0), { provider: await selectProvider('cpu') });
    const collator = new DataCollatorWithPadding();
    for (let i = 0; i < 3; i++) {
      const batch = collator.collate(trainSet, [4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3]);
      const a = await inPlace.step(batch, 1e-2, i + 1);
      const b = await swapped.step(batch, 1e-2, i + 1);
      expect(a.loss).toBeCloseTo(b.loss, 6);
    }
    const [wa, wb] = [inPlace.weights(), swapped.weights()];
    for (let i = 0; i < wa.length; i++)
      expect(maxAbsDiff(wa[i]!.data as Float32Array, wb[i]!.data as Float32Array)).toBeLessThan(1e-6);
    const [sa, sb] = [inPlace.optimizerState(), swapped.optimizerState()];
    for (let i = 0; i < sa.length; i++)
      expect(maxAbsDiff(sa[i]!.data as Float32Array, sb[i]!.data as Float32Array)).toBeLessThan(1e-7);
    await inPlace.release();
    await swapped.release();
  });

  it("freeing the binding's copies after each run changes nothing but when they are freed", async () => {
    // A threshold of 0 makes the tiny model free them as BERT-base does (its 1.3 GB are above the default).
    const provider = await selectProvider('cpu');
    const released = await Replica.open(artifacts, { provider, sessions: 'binding', releaseCopiesAbove: 0 });
    const kept = await Replica.open(artifacts, { provider, sessions: 'binding' });
    const collator = new DataCollatorWithPadding();
    for (let i = 0; i < 3; i++) {
      const batch = collator.collate(trainSet, [4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3]);
      const [a, b] = [await released.step(batch, 1e-3, i + 1), await kept.step(batch, 1e-3, i + 1)];
      expect(a).toEqual(b);
    }
    const [wa, wb] = [released.weights(), kept.weights()];
    for (let i = 0; i < wa.length; i++) expect(wa[i]!.data).toEqual(wb[i]!.data);
    await released.release();
    await kept.release();
  });
});

describe('multi-step (device-resident) runs', () => {
  it('K steps in one ONNX Loop equal K single steps', async () => {
    const collator = new DataCollatorWithPadding();
    const batches = [0, 1, 2, 3].map((b) =>
      collator.collate(trainSet, [4 * b, 4 * b + 1, 4 * b + 2, 4 * b + 3]),
    );
    // Different lengths: the Loop pads them to a common one.
    expect(new Set(batches.map((b) => b.dims[1])).size).toBeGreaterThan(1);
    const lrs = [1e-3, 2e-3, 1.5e-3, 5e-4];
    const single = await Replica.open(artifacts, { provider: await selectProvider('cpu') });
    const one = [];
    for (let i = 0; i < 4; i++) one.push(await single.step(batches[i]!, lrs[i]!, i + 1));
    const multi = await Replica.open(artifacts, { provider: await selectProvider('cpu') });
    const many = await multi.multiStep(batches, lrs, 1);
    expect(many.map((r) => r.loss)).toHaveLength(4);
    for (let i = 0; i < 4; i++) {
      expect(many[i]!.loss).toBeCloseTo(one[i]!.loss, 5);
      expect(many[i]!.gradNorm).toBeCloseTo(one[i]!.gradNorm, 4);
    }
    const a = single.weights();
    const b = multi.weights();
    for (let i = 0; i < a.length; i++)
      expect(maxAbsDiff(a[i]!.data as Float32Array, b[i]!.data as Float32Array)).toBeLessThan(1e-5);
    const ma = single.optimizerState();
    const mb = multi.optimizerState();
    for (let i = 0; i < ma.length; i++)
      expect(maxAbsDiff(ma[i]!.data as Float32Array, mb[i]!.data as Float32Array)).toBeLessThan(1e-6);
    await single.release();
    await multi.release();
  });

  it('with dropout, step i of the Loop draws the masks of firstDropoutSeed + i', async () => {
    const withDropout = compileTiny('tiny-dropout-loop', {
      dropout: { hidden: 0.1, attention: 0.1, classifier: 0.1 },
      multiStep: true,
    });
    // One batch three times: same shapes in the Loop and in single steps, so the same seeds give the same masks.
    const batch = new DataCollatorWithPadding().collate(trainSet, [0, 1, 2, 3]);
    const seed = 42n << 32n;
    const single = await Replica.open(withDropout, { provider: await selectProvider('cpu') });
    const one = [];
    for (let i = 0; i < 3; i++) one.push((await single.step(batch, 1e-3, i + 1, seed + BigInt(i))).loss);
    const multi = await Replica.open(withDropout, { provider: await selectProvider('cpu') });
    const many = (await multi.multiStep([batch, batch, batch], [1e-3, 1e-3, 1e-3], 1, seed)).map(
      (r) => r.loss,
    );
    for (let i = 0; i < 3; i++) expect(many[i]).toBeCloseTo(one[i]!, 5);
    const reseeded = await Replica.open(withDropout, { provider: await selectProvider('cpu') });
    expect((await reseeded.step(batch, 1e-3, 1, seed + 1n)).loss).not.toBeCloseTo(one[0]!, 5);
    for (const s of [single, multi, reseeded]) await s.release();
  });

  it('frozen parameters stay fixed in single and multi-step runs', async () => {
    const frozen = compileTiny('frozen', { freeze: ['bert.embeddings.'], multiStep: true });
    const collator = new DataCollatorWithPadding();
    const batches = [0, 1].map((b) => collator.collate(trainSet, [4 * b, 4 * b + 1, 4 * b + 2, 4 * b + 3]));
    const single = await Replica.open(frozen, { provider: await selectProvider('cpu') });
    const multi = await Replica.open(frozen, { provider: await selectProvider('cpu') });
    const emb = 'bert.embeddings.word_embeddings.weight';
    const head = 'classifier.weight';
    const [emb0, head0] = [single.view(emb).slice(), single.view(head).slice()];
    const one = [];
    for (let i = 0; i < 2; i++) one.push(await single.step(batches[i]!, 1e-2, i + 1));
    const many = await multi.multiStep(batches, [1e-2, 1e-2], 1);
    for (const s of [single, multi]) {
      expect(s.view(emb)).toEqual(emb0);
      expect(maxAbsDiff(s.view(head), head0)).toBeGreaterThan(1e-4);
    }
    expect(many[1]!.loss).toBeCloseTo(one[1]!.loss, 5);
    const [w1, w2] = [single.weights(), multi.weights()];
    for (let i = 0; i < w1.length; i++) {
      expect(maxAbsDiff(w1[i]!.data as Float32Array, w2[i]!.data as Float32Array)).toBeLessThan(1e-5);
    }
    await single.release();
    await multi.release();
  });

  it('the Trainer with steps_per_run 4 logs the same losses as with single steps', async () => {
    const base = await train(argsFor({}));
    const looped = await train(argsFor({ steps_per_run: 4 }));
    expect(looped.steps.map((s) => s.globalStep)).toEqual(base.steps.map((s) => s.globalStep));
    for (let i = 0; i < base.steps.length; i++)
      expect(looped.steps[i]!.loss).toBeCloseTo(base.steps[i]!.loss, 4);
    expect(looped.trainer.state.log_history.filter((e) => 'loss' in e).map((e) => e['step'])).toEqual([
      3, 6, 9, 12, 15,
    ]);
  });
});

describe('stop and resume', () => {
  it('a run stopped (SIGINT) and resumed gives the same losses, logs and weights as an uninterrupted one', async () => {
    const full = await train(argsFor({ eval_strategy: 'epoch' }));
    expect(full.steps).toHaveLength(16);
    for (const stopAt of [5, 8]) {
      const args = argsFor({ eval_strategy: 'epoch' });
      const first = new Trainer({ model: artifacts, args, trainDataset: trainSet, evalDataset: evalSet });
      first.on('step', (e) => {
        if (e.globalStep === stopAt) process.emit('SIGINT');
      });
      await expect(first.train()).rejects.toThrow(TrainingInterrupted);
      await first.close();
      const ckpt = join(args.output_dir, `checkpoint-${stopAt}`);
      expect(existsSync(ckpt)).toBe(true);
      const resumed = await train(args, true);
      expect(resumed.steps.map((s) => s.globalStep)).toEqual(
        full.steps.slice(stopAt).map((s) => s.globalStep),
      );
      expect(resumed.steps.map((s) => s.loss)).toEqual(full.steps.slice(stopAt).map((s) => s.loss));
      for (let i = 0; i < full.weights.length; i++)
        expect(resumed.weights[i]!.data).toEqual(full.weights[i]!.data);
      const strip = (h: LogEntry[]) =>
        h.map((e) => Object.fromEntries(Object.entries(e).filter(([k]) => !/runtime|per_second/.test(k))));
      expect(strip(resumed.trainer.state.log_history)).toEqual(strip(full.trainer.state.log_history));
    }
  });

  it('with dropout 0.1: the same seed gives bit-identical runs, resume equals the uninterrupted run', async () => {
    const withDropout = compileTiny('tiny-dropout', {
      optimizer: { weightDecay: 0.01 },
      dropout: { hidden: 0.1, attention: 0.1, classifier: 0.1 },
    });
    const run = (
      extra: Partial<TrainingArgumentsInit>,
      resume?: boolean,
      args = argsFor({ dropout: 0.1, ...extra }),
    ) => train(args, resume, withDropout);
    const full = await run({});
    const again = await run({});
    expect(again.steps.map((s) => s.loss)).toEqual(full.steps.map((s) => s.loss));
    for (let i = 0; i < full.weights.length; i++)
      expect(again.weights[i]!.data).toEqual(full.weights[i]!.data);
    // The masks do act: another seed, or the same data order with other masks, changes every loss after the first.
    const reseeded = await run({ seed: 7, data_seed: 42 });
    const losses = (r: typeof full) => r.steps.map((s) => s.loss);
    expect(losses(reseeded).filter((l, i) => l === losses(full)[i])).toEqual([]);
    const noDropout = await train(argsFor({}));
    expect(losses(full).filter((l, i) => l === losses(noDropout)[i])).toEqual([]);

    const stopAt = 5;
    const args = argsFor({ dropout: 0.1 });
    const first = new Trainer({ model: withDropout, args, trainDataset: trainSet });
    first.on('step', (e) => {
      if (e.globalStep === stopAt) process.emit('SIGINT');
    });
    await expect(first.train()).rejects.toThrow(TrainingInterrupted);
    await first.close();
    const resumed = await run({}, true, args);
    expect(resumed.steps.map((s) => s.loss)).toEqual(full.steps.slice(stopAt).map((s) => s.loss));
    for (let i = 0; i < full.weights.length; i++)
      expect(resumed.weights[i]!.data).toEqual(full.weights[i]!.data);
  });

  it('with gradient accumulation, each micro-batch draws its own masks, and resume stays exact', async () => {
    const withDropout = compileTiny('tiny-dropout-ga', {
      dropout: { hidden: 0.1, attention: 0.1, classifier: 0.1 },
    });
    const args = () => argsFor({ dropout: 0.1, gradient_accumulation_steps: 2, weight_decay: 0 });
    // The masks are a function of the seed alone: the trainer gives each micro-batch its own (seed << 32) + index.
    const session = await Replica.open(withDropout, { provider: await selectProvider('cpu') });
    const batch = new DataCollatorWithPadding().collate(trainSet, [0, 1, 2, 3]);
    const losses = [];
    for (const seed of [(42n << 32n) + 1n, (42n << 32n) + 2n, (42n << 32n) + 1n])
      losses.push(await session.accumulate(batch, 0, seed));
    await session.release();
    expect(losses[1]).not.toBe(losses[0]);
    expect(losses[2]).toBe(losses[0]);
    const full = await train(args(), undefined, withDropout);
    const stopAt = 3;
    const stopped = args();
    const first = new Trainer({ model: withDropout, args: stopped, trainDataset: trainSet });
    first.on('step', (e) => {
      if (e.globalStep === stopAt) process.emit('SIGINT');
    });
    await expect(first.train()).rejects.toThrow(TrainingInterrupted);
    await first.close();
    const resumed = await train(stopped, true, withDropout);
    expect(resumed.steps.map((s) => s.loss)).toEqual(full.steps.slice(stopAt).map((s) => s.loss));
    for (let i = 0; i < full.weights.length; i++)
      expect(resumed.weights[i]!.data).toEqual(full.weights[i]!.data);
  });

  it('data_seed alone sets the shuffle (seed then only seeds init and dropout)', async () => {
    const losses = async (extra: Partial<TrainingArgumentsInit>) =>
      (await train(argsFor(extra))).steps.map((s) => s.loss);
    const base = await losses({});
    expect(await losses({ seed: 7, data_seed: 42 })).toEqual(base);
    expect(await losses({ data_seed: 3 })).not.toEqual(base);
  });

  it('says why a training set gives no batch: fewer rows than one batch with dataloader_drop_last', async () => {
    const rows = trainSet.numRows;
    const args = argsFor({ dataloader_drop_last: true, per_device_train_batch_size: rows + 1 });
    const t = new Trainer({ model: artifacts, args, trainDataset: trainSet });
    await expect(t.train()).rejects.toThrow(
      `the training set (${rows} rows) gives no batch of ${rows + 1} rows with dataloader_drop_last`,
    );
    await t.close();
  });

  it('rejects resuming when there is no checkpoint', async () => {
    const args = argsFor({});
    const t = new Trainer({ model: artifacts, args, trainDataset: trainSet });
    await expect(t.train({ resumeFromCheckpoint: true })).rejects.toThrow(/no valid checkpoint in/);
    await t.close();
  });
});

describe('label_smoothing_factor', () => {
  it("compiles HF's LabelSmoother into the loss: eval_loss is the smoothed loss of the logits", async () => {
    const eps = 0.2;
    const args = argsFor({ label_smoothing_factor: eps });
    const model = { source: join(FIXTURES, 'bert_cls_opset14.onnx') };
    const t = new Trainer({ model, args, evalDataset: trainSet });
    const metrics = await t.evaluate();
    const { predictions, labelIds } = await t.predict(trainSet);
    await t.close();
    let expected = 0;
    for (let i = 0; i < 32; i++) {
      const [a, b] = [predictions[2 * i]!, predictions[2 * i + 1]!];
      const lse = Math.log(Math.exp(a) + Math.exp(b));
      const nll = lse - (labelIds![i] === 0 ? a : b);
      expected += ((1 - eps) * nll + (eps * (2 * lse - a - b)) / 2) / 32;
    }
    // eval_loss averages batch losses weighted by rows; the batches are the same size here.
    expect(metrics['eval_loss']).toBeCloseTo(expected, 5);
  });
});

describe('reduce_lr_on_plateau', () => {
  it('halves the rate after each evaluation that does not improve, and resumes with that rate', async () => {
    // An absolute threshold no loss can beat: only the first evaluation counts as an improvement.
    const plateau = (output_dir?: string) =>
      argsFor({
        eval_strategy: 'steps',
        eval_steps: 4,
        lr_scheduler_type: 'reduce_lr_on_plateau',
        lr_scheduler_kwargs: { patience: 0, factor: 0.5, threshold: 100, threshold_mode: 'abs' },
        ...(output_dir !== undefined && { output_dir }),
      });
    const full = await train(plateau());
    // Evaluations after steps 4, 8, 12 (and 16); warmup does not apply, as with torch's ReduceLROnPlateau.
    const expected = [1, 1, 1, 1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25].map(
      (f) => f * 1e-3,
    );
    expect(full.steps.map((s) => s.learningRate)).toEqual(expected);
    // Logs at steps 3, 6, 9, 12, 15; at step 12 the log comes before the evaluation, as in HF.
    expect(full.trainer.state.log_history.filter((e) => 'loss' in e).map((e) => e['learning_rate'])).toEqual([
      1e-3, 1e-3, 0.5e-3, 0.5e-3, 0.25e-3,
    ]);

    const args = plateau();
    const first = new Trainer({ model: artifacts, args, trainDataset: trainSet, evalDataset: evalSet });
    first.on('step', (e) => {
      if (e.globalStep === 10) process.emit('SIGINT');
    });
    await expect(first.train()).rejects.toThrow(TrainingInterrupted);
    await first.close();
    const resumed = await train(args, true);
    expect(resumed.steps.map((s) => s.learningRate)).toEqual(expected.slice(10));
    expect(resumed.steps.map((s) => s.loss)).toEqual(full.steps.slice(10).map((s) => s.loss));
  });
});

describe('checkpoints during training', () => {
  it('saves every save_steps, rotates with save_total_limit and keeps the best', async () => {
    const args = argsFor({
      eval_strategy: 'steps',
      eval_steps: 2,
      save_strategy: 'steps',
      save_steps: 2,
      save_total_limit: 2,
      load_best_model_at_end: true,
      metric_for_best_model: 'loss',
      // The worst loss as "best": an early checkpoint, so keeping and loading it is not the newest by chance.
      greater_is_better: true,
    });
    const { trainer, weights } = await train(args);
    const state = trainer.state;
    const left = readdirSync(args.output_dir).filter((d) => d.startsWith('checkpoint-'));
    const best = state.best_model_checkpoint!;
    expect(best).toMatch(/checkpoint-\d+$/);
    expect(left).toContain(best.split('/').pop());
    expect(left).toContain('checkpoint-16');
    expect(left).toHaveLength(2);
    const evals = state.log_history.filter((e) => 'eval_loss' in e);
    expect(evals).toHaveLength(8);
    expect(state.best_metric).toBe(Math.max(...evals.map((e) => e['eval_loss']!)));
    expect(best).not.toMatch(/checkpoint-16$/);
    const saved = loadCheckpoint(join(args.output_dir, 'checkpoint-16'));
    expect(saved.trainerState['global_step']).toBe(16);
    expect(
      JSON.parse(readFileSync(join(args.output_dir, 'trainer_state.json'), 'utf8')).best_model_checkpoint,
    ).toBe(best);
    // load_best_model_at_end: the final weights (and so the export) are the best checkpoint's.
    const bestWeights = loadCheckpoint(best).weights;
    expect(weights.map((w) => w.name)).toEqual(bestWeights.map((w) => w.name));
    for (let i = 0; i < weights.length; i++) expect(weights[i]!.data).toEqual(bestWeights[i]!.data);
    expect(existsSync(join(args.output_dir, 'onnx', 'model.onnx'))).toBe(true);
  });
});

describe('evaluate and predict', () => {
  it("report HF's metric keys, with computeMetrics' values under the prefix", async () => {
    const trainer = new Trainer({
      model: artifacts,
      args: argsFor({}),
      evalDataset: trainSet,
      computeMetrics: glueComputeMetrics('mrpc'),
    });
    const metrics = await trainer.evaluate();
    // Before any training there is no epoch, as in HF.
    expect(Object.keys(metrics)).toEqual([
      'eval_loss',
      'eval_accuracy',
      'eval_f1',
      'eval_runtime',
      'eval_samples_per_second',
      'eval_steps_per_second',
    ]);
    const pred = await trainer.predict(trainSet);
    expect(pred.shape).toEqual([32, 2]);
    expect(Object.keys(pred.metrics).slice(0, 3)).toEqual(['test_loss', 'test_accuracy', 'test_f1']);
    expect(pred.metrics['test_loss']).toBeCloseTo(metrics['eval_loss']!, 6);
    const labels = pred.labelIds!;
    let correct = 0;
    for (let i = 0; i < 32; i++)
      correct += Number((pred.predictions[2 * i + 1]! > pred.predictions[2 * i]! ? 1 : 0) === labels[i]);
    expect(metrics['eval_accuracy']).toBe(correct / 32);
    // eval_loss is the mean over rows of the batch-mean losses (HF repeats each batch loss batch_size times).
    expect(trainer.state.log_history).toHaveLength(1);
    await trainer.close();
  });

  it('refuses eval_strategy without an evalDataset', () => {
    expect(
      () =>
        new Trainer({ model: artifacts, args: argsFor({ eval_strategy: 'epoch' }), trainDataset: trainSet }),
    ).toThrow('TrainingArguments.eval_strategy is "epoch" but no evalDataset was given');
  });
});

describe('the model', () => {
  it('a source is compiled into output_dir/training, where pnpm predict finds it', async () => {
    const args = argsFor({ max_steps: 1 });
    await train(args, undefined, { source: join(FIXTURES, 'bert_cls_opset14.onnx') });
    expect(existsSync(join(args.output_dir, 'training', 'manifest.json'))).toBe(true);
    expect(existsSync(join(args.output_dir, 'artifacts'))).toBe(false);
  });

  it('a compiled model in memory trains as its folder does', async () => {
    const compiled = compileArtifacts(join(FIXTURES, 'bert_cls_opset14.onnx'), {
      name: 'in-memory',
      outDir: tmp,
      dropout: { hidden: 0, attention: 0, classifier: 0 },
      optimizer: { weightDecay: 0.01 },
    });
    const fromMemory = await train(argsFor({ max_steps: 4 }), undefined, compiled);
    const fromFolder = await train(argsFor({ max_steps: 4 }), undefined, compiled.dir);
    expect(fromMemory.steps.map((s) => s.loss)).toEqual(fromFolder.steps.map((s) => s.loss));
  });

  it('a replica refuses state of another type or shape, naming it', async () => {
    const replica = await Replica.open(artifacts, { provider: await selectProvider('cpu') });
    const [w] = replica.weights();
    expect(() =>
      replica.load([{ ...w!, dataType: 'float16', data: new Uint16Array(w!.data.length) }], 'f'),
    ).toThrow(`f: '${w!.name}' is float16, expected float32`);
    expect(() => replica.load([{ ...w!, dims: [1] }], 'f')).toThrow(
      `f: '${w!.name}' is [1], expected [${w!.dims}]`,
    );
    expect(() => replica.load([{ ...w!, name: 'nope' }], 'f')).toThrow(
      "f: 'nope' is not a parameter or moment of this model",
    );
    await replica.release();
  });
});

describe('errors', () => {
  it('stops on a non-finite loss naming the step', async () => {
    const source = { source: join(FIXTURES, 'bert_cls_opset14.onnx') };
    await expect(
      train(argsFor({ learning_rate: 1e30, max_grad_norm: 0, warmup_ratio: 0 }), undefined, source),
    ).rejects.toThrow(/Training loss is (NaN|Infinity|-Infinity) at step \d+/);
  });

  it('refuses arguments that disagree with precompiled artifacts', async () => {
    const t = new Trainer({ model: artifacts, args: argsFor({ weight_decay: 0.1 }), trainDataset: trainSet });
    await expect(t.train()).rejects.toThrow(
      /TrainingArguments.weight_decay is 0.1 but the artifacts in .* were compiled with 0.01/,
    );
  });

  it('refuses a label_smoothing_factor the precompiled artifacts lack', async () => {
    const args = argsFor({ label_smoothing_factor: 0.1 });
    const t = new Trainer({ model: artifacts, args, trainDataset: trainSet });
    await expect(t.train()).rejects.toThrow(/label_smoothing_factor is 0.1 but .* were compiled with 0;/);
  });

  it('downloads a hub model into the cache once, then reads it offline', async () => {
    const cacheDir = join(tmp, 'hub-cache');
    const served: string[] = [];
    const fakeFetch = (async (url: string | URL) => {
      const file = join(FIXTURES, 'hf_checkpoint', String(url).split('/').pop()!);
      if (!existsSync(file)) return new Response('', { status: 404 }); // no tokenizer files in this repo
      served.push(file);
      return new Response(readFileSync(file));
    }) as typeof fetch;
    const run = async (hub: Record<string, unknown>) => {
      const t = new Trainer({
        model: 'ortrain-test/tiny-bert',
        args: argsFor({ max_steps: 1 }),
        trainDataset: trainSet,
        hub: { cacheDir, ...hub },
      });
      await t.train();
      await t.close();
    };
    await run({ fetch: fakeFetch, offline: false });
    expect(served.map((f) => f.split('/').pop()).sort()).toEqual(['config.json', 'model.safetensors']);
    await run({ offline: true });
    expect(served).toHaveLength(2);
  });

  it('explains a missing model offline', async () => {
    const prev = process.env['HF_HUB_OFFLINE'];
    process.env['HF_HUB_OFFLINE'] = '1';
    process.env['ORTRAIN_CACHE'] = join(tmp, 'empty-cache');
    try {
      const t = new Trainer({ model: 'bert-base-uncased', args: argsFor({}), trainDataset: trainSet });
      await expect(t.train()).rejects.toThrow(/model 'bert-base-uncased'.*not in the cache.*offline/);
    } finally {
      if (prev === undefined) delete process.env['HF_HUB_OFFLINE'];
      else process.env['HF_HUB_OFFLINE'] = prev;
      delete process.env['ORTRAIN_CACHE'];
    }
  });
});
