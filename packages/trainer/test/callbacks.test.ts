import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileArtifacts } from '@ortrain/artifacts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../src/checkpoint/checkpoints.js';
import { TrainingArguments, type TrainingArgumentsInit } from '../src/trainer/arguments.js';
import type { TrainerCallback } from '../src/trainer/callbacks.js';
import { DefaultFlowCallback } from '../src/trainer/control.js';
import { EarlyStoppingCallback } from '../src/trainer/early-stopping.js';
import { type PredictionProgress, Trainer, type TrainerOptions } from '../src/trainer/trainer.js';
import { datasetOf, FIXTURES, reference as ref } from './helpers/reference.js';

const tmp = mkdtempSync(join(tmpdir(), 'ortrain-callbacks-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
/** 32 rows: 8 batches of 4 per epoch. */
const trainSet = datasetOf(ref.train_batches);
/** 8 rows: 2 evaluation batches of 4. */
const evalSet = datasetOf([ref.eval_batch]);
let artifacts: string;
beforeAll(() => {
  artifacts = compileArtifacts(join(FIXTURES, 'bert_cls_opset14.onnx'), {
    name: 'tiny',
    outDir: tmp,
    dropout: { hidden: 0, attention: 0, classifier: 0 },
    multiStep: true,
  }).dir;
});

let runs = 0;
function trainerFor(extra: Partial<TrainingArgumentsInit>, options: Partial<TrainerOptions> = {}): Trainer {
  const args = new TrainingArguments({
    output_dir: join(tmp, `run-${runs++}`),
    per_device_train_batch_size: 4,
    per_device_eval_batch_size: 4,
    learning_rate: 1e-3,
    device: 'cpu',
    dropout: 0,
    logging_steps: 1000,
    save_strategy: 'no',
    ...extra,
  });
  return new Trainer({ model: artifacts, args, trainDataset: trainSet, evalDataset: evalSet, ...options });
}

/** Records every event as `name@global_step`. */
function recorder(): TrainerCallback & { events: string[] } {
  const events: string[] = [];
  const hook = (name: string) => (_a: unknown, state: { global_step: number }) => {
    events.push(`${name}@${state.global_step}`);
  };
  return {
    events,
    onInitEnd: hook('init_end'),
    onTrainBegin: hook('train_begin'),
    onTrainEnd: hook('train_end'),
    onEpochBegin: hook('epoch_begin'),
    onEpochEnd: hook('epoch_end'),
    onStepBegin: hook('step_begin'),
    onStepEnd: hook('step_end'),
    onEvaluate: hook('evaluate'),
    onPredict: hook('predict'),
    onSave: hook('save'),
    onLog: hook('log'),
    onPredictionStep: hook('prediction_step'),
  };
}

describe('callbacks', () => {
  it("are called in HF's order for a short run (2 epochs of 2 steps, log and save every 2, eval per epoch)", async () => {
    const rec = recorder();
    const trainer = trainerFor(
      { max_steps: 4, logging_steps: 2, save_strategy: 'steps', save_steps: 2, eval_strategy: 'epoch' },
      // Two batches per epoch: 8 rows at batch size 4.
      { trainDataset: datasetOf(ref.train_batches.slice(0, 2)), callbacks: [rec] },
    );
    await trainer.train();
    await trainer.predict(evalSet);
    await trainer.close();
    // transformers' _inner_training_loop: on_epoch_begin; per optimizer step on_step_begin, on_step_end, then
    // _maybe_log_save_evaluate (on_log, evaluate's on_prediction_step/on_log/on_evaluate, on_save); on_epoch_end
    // then _maybe_log_save_evaluate again; the summary's on_log, then on_train_end.
    const evaluation = ['prediction_step@2', 'prediction_step@2', 'log@2', 'evaluate@2'];
    expect(rec.events).toEqual([
      'init_end@0',
      'train_begin@0',
      'epoch_begin@0',
      'step_begin@0',
      'step_end@1',
      'step_begin@1',
      'step_end@2',
      'log@2',
      'save@2',
      'epoch_end@2',
      ...evaluation,
      'epoch_begin@2',
      'step_begin@2',
      'step_end@3',
      'step_begin@3',
      'step_end@4',
      'log@4',
      'save@4',
      'epoch_end@4',
      ...evaluation.map((e) => e.replace('@2', '@4')),
      'log@4',
      'train_end@4',
      'prediction_step@4',
      'prediction_step@4',
      'predict@4',
    ]);
  });

  it('control flags a callback sets are honoured: log, evaluate, save and stop at the steps it chooses', async () => {
    const steering: TrainerCallback = {
      onStepEnd(_args, state, control) {
        if (state.global_step === 1) control.should_log = true;
        if (state.global_step === 3) {
          control.should_evaluate = true;
          control.should_save = true;
        }
        if (state.global_step === 5) control.should_training_stop = true;
      },
    };
    const trainer = trainerFor({ num_train_epochs: 2 }, { callbacks: [steering] });
    const steps: number[] = [];
    trainer.on('step', (e) => steps.push(e.globalStep));
    const out = await trainer.train();
    await trainer.close();
    expect(steps).toEqual([1, 2, 3, 4, 5]);
    expect(out.globalStep).toBe(5);
    const history = trainer.state.log_history;
    expect(history.filter((e) => 'loss' in e).map((e) => e['step'])).toEqual([1]);
    expect(history.filter((e) => 'eval_loss' in e).map((e) => e['step'])).toEqual([3]);
    const dir = trainer.args.output_dir;
    expect(existsSync(join(dir, 'checkpoint-3'))).toBe(true);
    expect(loadCheckpoint(join(dir, 'checkpoint-3')).trainerState['global_step']).toBe(3);
    expect(existsSync(join(dir, 'checkpoint-5'))).toBe(false);
  });

  it('refuses a flag set inside a group of steps run together (steps_per_run)', async () => {
    const steering: TrainerCallback = {
      onStepEnd(_args, state, control) {
        if (state.global_step === 2) control.should_save = true;
      },
    };
    const trainer = trainerFor({ steps_per_run: 4 }, { callbacks: [steering] });
    await expect(trainer.train()).rejects.toThrow(
      'a callback asked to evaluate, save or stop at step 2, inside steps 1-4 that ran together; set TrainingArguments.steps_per_run to 1',
    );
    await trainer.close();
  });

  it('addCallback, popCallback and removeCallback take instances or classes', () => {
    const trainer = trainerFor({});
    const messages: string[] = [];
    trainer.on('message', (m) => messages.push(m));
    expect(trainer.callbacks.map((c) => c.constructor.name)).toEqual(['DefaultFlowCallback']);
    const flow = trainer.popCallback(DefaultFlowCallback);
    expect(flow).toBeInstanceOf(DefaultFlowCallback);
    expect(trainer.popCallback(DefaultFlowCallback)).toBeUndefined();
    trainer.addCallback(DefaultFlowCallback);
    trainer.addCallback(flow!);
    expect(messages).toEqual(['The Trainer already had a DefaultFlowCallback; it now has two']);
    trainer.removeCallback(flow!);
    expect(trainer.callbacks).toHaveLength(1);
    expect(trainer.callbacks[0]).not.toBe(flow);
  });

  it('prediction_step events count the batches of evaluate and predict', async () => {
    const trainer = trainerFor({});
    const seen: Omit<PredictionProgress, 'dataset'>[] = [];
    trainer.on('prediction_step', ({ dataset: _, ...p }) => seen.push(p));
    await trainer.evaluate();
    await trainer.predict(evalSet);
    await trainer.close();
    const pass = (p: 'evaluate' | 'predict') => [0, 1, 2].map((done) => ({ pass: p, done, batches: 2 }));
    expect(seen).toEqual([...pass('evaluate'), ...pass('predict')]);
  });
});

describe('EarlyStoppingCallback', () => {
  /** computeMetrics returning the scripted `score` of each evaluation in turn. */
  const scripted = (scores: number[]) => {
    let i = 0;
    return () => ({ score: scores[i++]! });
  };
  const earlyArgs = {
    eval_strategy: 'steps',
    eval_steps: 1,
    save_strategy: 'steps',
    save_steps: 1,
    load_best_model_at_end: true,
    metric_for_best_model: 'score',
    num_train_epochs: 2,
  } as const;

  it('stops after `patience` evaluations without improvement and loads the best checkpoint', async () => {
    const trainer = trainerFor(earlyArgs, {
      computeMetrics: scripted([0.5, 0.6, 0.6, 0.55, 0.9, 0.9]),
      callbacks: [new EarlyStoppingCallback({ early_stopping_patience: 2 })],
    });
    const out = await trainer.train();
    const weights = (await trainer.getReplica()).weights();
    await trainer.close();
    // 0.5 sets the best, 0.6 improves, 0.6 and 0.55 do not: the second miss (step 4) stops the run.
    expect(out.globalStep).toBe(4);
    expect(trainer.state.global_step).toBe(4);
    expect(trainer.state.best_metric).toBe(0.6);
    expect(trainer.state.best_model_checkpoint).toBe(join(trainer.args.output_dir, 'checkpoint-2'));
    const best = loadCheckpoint(join(trainer.args.output_dir, 'checkpoint-2')).weights;
    for (let i = 0; i < best.length; i++) expect(weights[i]!.data).toEqual(best[i]!.data);
  });

  it('counts an improvement within the threshold as none', async () => {
    const early = new EarlyStoppingCallback({ early_stopping_patience: 2, early_stopping_threshold: 0.01 });
    const trainer = trainerFor(earlyArgs, {
      computeMetrics: scripted([0.5, 0.505, 0.52, 0.525, 0.53, 0.6]),
      callbacks: [early],
    });
    const counters: number[] = [];
    trainer.on('evaluate', () => counters.push(early.early_stopping_patience_counter));
    await trainer.train();
    await trainer.close();
    // The best follows every strict improvement (0.505, then 0.525); the counter only those above 0.01.
    expect(counters).toEqual([0, 1, 0, 1, 2]);
    expect(trainer.state.global_step).toBe(5);
    expect(trainer.state.best_metric).toBe(0.53);
  });

  it("needs HF's settings: load_best_model_at_end and a metric for the best model", async () => {
    const trainer = trainerFor(
      { eval_strategy: 'steps', eval_steps: 1, metric_for_best_model: 'loss' },
      { callbacks: [new EarlyStoppingCallback()] },
    );
    await expect(trainer.train()).rejects.toThrow(
      'EarlyStoppingCallback requires load_best_model_at_end = true',
    );
    await trainer.close();
    expect(() => new EarlyStoppingCallback({ early_stopping_patience: 0 })).toThrow(
      'early_stopping_patience must be an integer >= 1, got 0',
    );
  });
});
