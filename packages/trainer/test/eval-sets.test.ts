import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileArtifacts } from '@ortrain/artifacts';
import { glueComputeMetrics } from '@ortrain/metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrainingArguments, type TrainingArgumentsInit } from '../src/trainer/arguments.js';
import { Trainer } from '../src/trainer/trainer.js';
import { datasetOf, FIXTURES, reference as ref } from './helpers/reference.js';

const tmp = mkdtempSync(join(tmpdir(), 'ortrain-eval-sets-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const trainSet = datasetOf(ref.train_batches);
const matched = datasetOf([ref.eval_batch]);
const mismatched = datasetOf(ref.train_batches.slice(0, 2));
let artifacts: string;
beforeAll(() => {
  artifacts = compileArtifacts(join(FIXTURES, 'bert_cls_opset14.onnx'), {
    name: 'tiny',
    outDir: tmp,
    dropout: { hidden: 0, attention: 0, classifier: 0 },
  }).dir;
});

let runs = 0;
const argsFor = (extra: Partial<TrainingArgumentsInit>) =>
  new TrainingArguments({
    output_dir: join(tmp, `run-${runs++}`),
    per_device_train_batch_size: 4,
    learning_rate: 1e-3,
    num_train_epochs: 2,
    device: 'cpu',
    save_strategy: 'no',
    ...extra,
  });

const speed = /runtime|per_second/;
const withoutSpeed = (m: Record<string, number>) =>
  Object.fromEntries(Object.entries(m).filter(([k]) => !speed.test(k)));

describe('several eval sets (a record, as HF’s dict eval_dataset)', () => {
  it('evaluate() runs each set under eval_<name>, logs each, and returns the merged metrics', async () => {
    const trainer = new Trainer({
      model: artifacts,
      args: argsFor({}),
      evalDataset: { matched, mismatched },
      computeMetrics: glueComputeMetrics('mrpc'),
    });
    const merged = await trainer.evaluate();
    const keys = (p: string) =>
      [`${p}_loss`, `${p}_accuracy`, `${p}_f1`].concat(
        ['runtime', 'samples_per_second', 'steps_per_second'].map((k) => `${p}_${k}`),
      );
    expect(Object.keys(merged)).toEqual([...keys('eval_matched'), ...keys('eval_mismatched')]);
    const logged = trainer.state.log_history;
    expect(logged.map((e) => Object.keys(e).filter((k) => k !== 'step'))).toEqual([
      keys('eval_matched'),
      keys('eval_mismatched'),
    ]);
    // The same values as evaluating each set on its own with that prefix.
    const one = await trainer.evaluate(matched, 'eval_matched');
    const other = await trainer.evaluate(mismatched, 'eval_mismatched');
    expect(withoutSpeed(merged)).toEqual(withoutSpeed({ ...one, ...other }));
    expect(merged['eval_matched_loss']).not.toBe(merged['eval_mismatched_loss']);
    // A record given to evaluate() is used instead of the Trainer's.
    const given = await trainer.evaluate({ dev: matched }, 'test');
    expect(withoutSpeed(given)).toEqual(
      Object.fromEntries(
        Object.entries(withoutSpeed(one)).map(([k, v]) => [k.replace('eval_matched', 'test_dev'), v]),
      ),
    );
    await trainer.close();
  });

  it('evaluates every set during training; metric_for_best_model names a prefixed metric', async () => {
    const args = argsFor({
      eval_strategy: 'steps',
      eval_steps: 2,
      save_strategy: 'steps',
      save_steps: 2,
      load_best_model_at_end: true,
      metric_for_best_model: 'mismatched_loss', // HF adds the eval_ prefix: eval_mismatched_loss
      // The worst loss as "best": an early step, so it is not the last one by chance.
      greater_is_better: true,
    });
    const trainer = new Trainer({
      model: artifacts,
      args,
      trainDataset: trainSet,
      evalDataset: { matched, mismatched },
    });
    await trainer.train();
    await trainer.close();
    const history = trainer.state.log_history;
    const evals = (name: string) => history.filter((e) => `eval_${name}_loss` in e);
    expect(evals('matched').map((e) => e.step)).toEqual([2, 4, 6, 8, 10, 12, 14, 16]);
    expect(evals('mismatched').map((e) => e.step)).toEqual([2, 4, 6, 8, 10, 12, 14, 16]);
    const losses = evals('mismatched').map((e) => e['eval_mismatched_loss']!);
    const worst = Math.max(...losses);
    expect(trainer.state.best_metric).toBe(worst);
    const bestStep = evals('mismatched')[losses.indexOf(worst)]!.step;
    expect(bestStep).toBeLessThan(16);
    expect(trainer.state.best_global_step).toBe(bestStep);
    expect(trainer.state.best_model_checkpoint).toBe(join(args.output_dir, `checkpoint-${bestStep}`));
    // The matched set's losses differ, so the best step is chosen from the named set.
    expect(evals('matched').map((e) => e['eval_matched_loss'])).not.toEqual(losses);
  });

  it('fails clearly on a metric_for_best_model without the set name and on an empty record', async () => {
    const args = argsFor({ eval_strategy: 'epoch', metric_for_best_model: 'loss' });
    const trainer = new Trainer({
      model: artifacts,
      args,
      trainDataset: trainSet,
      evalDataset: { matched, mismatched },
    });
    await expect(trainer.train()).rejects.toThrow(
      /metric_for_best_model "loss" not found in the evaluation metrics \(eval_matched_loss, .*eval_mismatched_loss/,
    );
    await trainer.close();
    expect(() => new Trainer({ model: artifacts, args, evalDataset: {} })).toThrow(
      /evalDataset is a record without any eval set/,
    );
  });
});
