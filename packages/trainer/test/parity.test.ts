import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TrainingArguments } from '../src/trainer/arguments.js';
import { type StepEvent, Trainer } from '../src/trainer/trainer.js';
import {
  datasetOf,
  FIXTURES,
  maxAbsDiff,
  maxRelDiff,
  type RefRun,
  reference as ref,
} from './helpers/reference.js';

const tmp = mkdtempSync(join(tmpdir(), 'ortrain-parity-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const trainSet = datasetOf(ref.train_batches);
const evalSet = datasetOf([ref.eval_batch]);

/** The reference run's hyperparameters, in order, no shuffling, no dropout. */
function argsFor(name: string, run: RefRun): TrainingArguments {
  return new TrainingArguments({
    output_dir: join(tmp, name),
    max_steps: run.steps,
    per_device_train_batch_size: 4,
    gradient_accumulation_steps: run.accumulation,
    learning_rate: run.lr,
    warmup_steps: run.warmup,
    weight_decay: run.weight_decay,
    max_grad_norm: run.max_grad_norm,
    shuffle: false,
    dropout: 0,
    device: 'cpu',
    logging_steps: 2,
    save_strategy: 'no',
  });
}

describe('Trainer vs PyTorch (the artifacts parity fixture, dropout 0)', () => {
  for (const name of ['classification', 'accumulation'] as const) {
    it(`${name}: per-step losses, grad norms, learning rates and final logits`, async () => {
      const run = ref.runs[name];
      const trainer = new Trainer({
        model: { source: join(FIXTURES, 'bert_cls_opset14.onnx') },
        args: argsFor(name, run),
        trainDataset: trainSet,
      });
      const steps: StepEvent[] = [];
      trainer.on('step', (e) => steps.push(e));
      await trainer.train();
      // HF's reported step loss is the mean of the step's micro-batch losses.
      const perStep = Array.from({ length: run.steps }, (_, s) => {
        const micro = run.micro_losses.slice(s * run.accumulation, (s + 1) * run.accumulation);
        return micro.reduce((a, b) => a + b, 0) / run.accumulation;
      });
      expect(
        maxRelDiff(
          steps.map((s) => s.loss),
          perStep,
        ),
      ).toBeLessThan(1e-5);
      expect(
        maxRelDiff(
          steps.map((s) => s.gradNorm),
          run.grad_norms,
        ),
      ).toBeLessThan(1e-4);
      expect(
        maxRelDiff(
          steps.map((s) => s.learningRate),
          run.learning_rates,
        ),
      ).toBeLessThan(1e-12);
      const pred = await trainer.predict(evalSet);
      expect(pred.shape).toEqual([5, 2]);
      expect(maxAbsDiff(pred.predictions, ref.logits_before.classification)).toBeGreaterThan(1e-2);
      expect(maxAbsDiff(pred.predictions, run.logits_after)).toBeLessThan(1e-5);
      // test_loss: the mean cross-entropy of PyTorch's final logits against the eval labels.
      let ce = 0;
      for (let i = 0; i < 5; i++) {
        const [a0, a1] = [run.logits_after[2 * i]!, run.logits_after[2 * i + 1]!];
        const label = ref.eval_batch.labels[i]!;
        const lse =
          Math.max(a0, a1) + Math.log(Math.exp(a0 - Math.max(a0, a1)) + Math.exp(a1 - Math.max(a0, a1)));
        ce += lse - (label === 0 ? a0 : a1);
      }
      expect(pred.metrics['test_loss']).toBeCloseTo(ce / 5, 5);
      // log_history: one entry per logging_steps with the mean of those steps' losses, HF's keys.
      const logs = trainer.state.log_history.filter((e) => 'loss' in e);
      expect(logs.map((e) => e['step'])).toEqual([2, 4, 6, 8].filter((s) => s <= run.steps));
      expect(Object.keys(logs[0]!)).toEqual(['loss', 'grad_norm', 'learning_rate', 'epoch', 'step']);
      expect(logs[0]!['loss']).toBeCloseTo((perStep[0]! + perStep[1]!) / 2, 4);
      // The logged rate is the one PyTorch's logged step ran with (HF >= 4.51), as the step event says.
      expect(
        maxRelDiff(
          logs.map((e) => e['learning_rate']!),
          logs.map((e) => run.learning_rates[e['step']! - 1]!),
        ),
      ).toBeLessThan(1e-12);
      await trainer.close();
    });
  }

  it('regression (num_labels 1, MSE, float labels): losses, grad norms and final outputs', async () => {
    const run = ref.runs.regression;
    const trainer = new Trainer({
      model: { source: join(FIXTURES, 'bert_fe_opset14_folded.onnx'), numLabels: 1 },
      args: argsFor('regression', run),
      trainDataset: datasetOf(ref.train_batches, ref.regression_labels),
    });
    // Start from torch's head (the compiler initializes a new one with its own seed).
    const session = await trainer.getReplica();
    const shapes = new Map(session.manifest.parameters.map((p) => [p.name, p.shape]));
    session.load(
      Object.entries(ref.regression_head).map(([name, t]) => ({
        name,
        dataType: 'float32' as const,
        dims: shapes.get(name)!,
        data: Float32Array.from(t.data),
      })),
    );
    const evalRegression = datasetOf([ref.eval_batch], [[0, 0, 0, 0, 0]]);
    const before = await trainer.predict(evalRegression);
    expect(maxAbsDiff(before.predictions, ref.logits_before.regression)).toBeLessThan(1e-5);
    const steps: StepEvent[] = [];
    trainer.on('step', (e) => steps.push(e));
    await trainer.train();
    expect(
      maxRelDiff(
        steps.map((s) => s.loss),
        run.micro_losses,
      ),
    ).toBeLessThan(1e-5);
    expect(
      maxRelDiff(
        steps.map((s) => s.gradNorm),
        run.grad_norms,
      ),
    ).toBeLessThan(2e-5);
    const after = await trainer.predict(evalRegression);
    expect(after.shape).toEqual([5, 1]);
    expect(maxAbsDiff(after.predictions, run.logits_after)).toBeLessThan(2e-5);
    await trainer.close();
  });
});
