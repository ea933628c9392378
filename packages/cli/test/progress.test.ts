import { describe, expect, it } from 'vitest';
import {
  createReporter,
  formatCount,
  formatDuration,
  formatLearningRate,
  formatMetrics,
  type ProgressReporter,
  shellQuote,
  type TrainingResult,
  type TrainingSummary,
} from '../src/index.js';

const ESC = String.fromCharCode(27);

class Collector {
  text = '';
  constructor(readonly isTTY: boolean) {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

const SUMMARY: TrainingSummary = {
  task: 'mrpc',
  labelNames: ['not_equivalent', 'equivalent'],
  splits: { train: 3668, validation: 408, test: 1725 },
  model: 'bert-base-uncased',
  architecture: 'BertForSequenceClassification',
  geometry: {
    layers: 12,
    hiddenSize: 768,
    heads: 12,
    intermediateSize: 3072,
    vocabSize: 30522,
    maxPositions: 512,
  },
  totalParameters: 109483778,
  trainableParameters: 109483778,
  device: 'cpu',
  deviceReason: 'auto: no CUDA execution provider in this onnxruntime-node build',
  threads: 2,
  newlyInitialized: ['classifier.bias', 'classifier.weight'],
  numExamples: 3668,
  numEpochs: 2,
  perDeviceBatchSize: 8,
  gradientAccumulationSteps: 1,
  totalSteps: 20,
  outputDir: 'runs/mrpc',
};

const RESULT: TrainingResult = {
  globalStep: 20,
  epoch: 2,
  trainRuntime: 252.4,
  trainSamplesPerSecond: 43.6,
  trainStepsPerSecond: 5.45,
  trainLoss: 0.39151,
  finalMetrics: { eval_loss: 0.41, eval_accuracy: 0.857843, eval_f1: 0.89966, eval_runtime: 3.2 },
  metricsSplit: 'validation',
  outputDir: 'runs/mrpc',
  modelDir: 'runs/mrpc',
  checkpoints: ['runs/mrpc/checkpoint-10', 'runs/mrpc/checkpoint-20'],
  files: ['trainer_state.json', 'all_results.json', 'events.jsonl', 'run.svg'],
  configFile: 'runs/mrpc/train_args.json',
  data: "/data/my glue's/MRPC",
};

/** Two epochs of ten steps, 100 ms each, logging every 5 steps, evaluating at each epoch end. */
function simulateRun(reporter: ProgressReporter, clock: { t: number }): void {
  reporter.trainingStarted(SUMMARY);
  for (let step = 1; step <= 20; step++) {
    clock.t += 100;
    const epoch = step / 10;
    const loss = 0.7 - step * 0.01;
    const learningRate = 5e-5 * (1 - step / 20);
    reporter.step({ step, epoch, loss, learningRate });
    if (step % 5 === 0) reporter.log({ step, epoch, loss, grad_norm: 3.25, learning_rate: learningRate });
    if (step % 10 === 0) {
      reporter.evaluationStarted({ split: 'validation', batches: 51, examples: 408 });
      for (let b = 1; b <= 51; b++) {
        clock.t += 10;
        reporter.evaluationStep(b);
      }
      const metrics = {
        eval_loss: 0.5 - epoch / 10,
        eval_accuracy: 0.8 + epoch / 100,
        eval_f1: 0.85,
        eval_runtime: 0.51,
      };
      reporter.evaluationFinished({ split: 'validation', step, epoch, metrics });
      reporter.checkpointSaved(`runs/mrpc/checkpoint-${step}`, step);
    }
  }
  reporter.trainingFinished(RESULT);
}

describe('formatting', () => {
  it('formats counts, durations, learning rates, metrics and shell words', () => {
    expect(formatCount(109483778)).toBe('109,483,778');
    expect(formatDuration(3.21)).toBe('3.2s');
    expect(formatDuration(42.4)).toBe('42s');
    expect(formatDuration(252.4)).toBe('4m12s');
    expect(formatDuration(3723)).toBe('1h02m03s');
    expect(formatDuration(Number.NaN)).toBe('?');
    expect(formatLearningRate(2e-5)).toBe('2e-05');
    expect(formatLearningRate(3.1875e-5)).toBe('3.19e-05');
    expect(formatLearningRate(0)).toBe('0');
    expect(formatMetrics({ eval_accuracy: 0.857843, eval_f1: 0.8996655 })).toBe(
      '{accuracy: 0.8578, f1: 0.8997}',
    );
    expect(shellQuote('runs/mrpc')).toBe('runs/mrpc');
    expect(shellQuote("it's here")).toBe(`'it'\\''s here'`);
  });
});

describe('reporter without a TTY', () => {
  const out = new Collector(false);
  const clock = { t: 0 };
  simulateRun(createReporter({ stream: out, now: () => clock.t }), clock);
  const lines = out.text.split('\n');

  it('prints no ANSI escape codes or carriage returns', () => {
    expect(out.text).not.toContain(ESC);
    expect(out.text).not.toContain('\r');
  });

  it('prints the pre-training block with geometry, parameters, device and the HF warning', () => {
    expect(lines).toContain('Task:        mrpc (2 labels: not_equivalent, equivalent)');
    expect(lines).toContain('Data:        train 3,668 | validation 408 | test 1,725');
    expect(out.text).toContain(
      'bert-base-uncased: BertForSequenceClassification, 12 layers, hidden 768, 12 heads, FFN 3072, vocab 30,522',
    );
    expect(lines).toContain(
      'Device:      cpu, 2 threads (auto: no CUDA execution provider in this onnxruntime-node build)',
    );
    expect(out.text).toContain(
      'Some weights of BertForSequenceClassification were not initialized from the model checkpoint at ' +
        "bert-base-uncased and are newly initialized: ['classifier.bias', 'classifier.weight']",
    );
    expect(lines).toContain('  Total optimization steps = 20');
    expect(lines).toContain('  Number of trainable parameters = 109,483,778');
  });

  it('prints one progress line per 10% of the steps, with rate, ETA, loss and lr', () => {
    const progress = lines.filter((l) => l.startsWith('train '));
    expect(progress).toHaveLength(10);
    expect(progress.map((l) => l.match(/step (\d+)\/20/)?.[1])).toEqual([
      '2',
      '4',
      '6',
      '8',
      '10',
      '12',
      '14',
      '16',
      '18',
      '20',
    ]);
    // Step 2 at 200 ms (no evaluation yet): 10 it/s, 18 steps left -> 1.8 s.
    expect(progress[0]).toBe(
      'train  10% step 2/20 | epoch 0.20 | 10.00 it/s | elapsed 0.2s | ETA 1.8s | loss 0.6800 | lr 4.5e-05',
    );
    expect(progress.at(-1)).toMatch(/^train 100% step 20\/20 \| epoch 2\.00 \|/);
  });

  it('prints every logging event and every checkpoint', () => {
    const logs = lines.filter((l) => l.startsWith('log '));
    expect(logs).toHaveLength(4);
    expect(logs[0]).toBe('log   step 5/20 epoch 0.50 | loss 0.6500 | grad_norm 3.2500 | lr 3.75e-05');
    expect(lines.filter((l) => l.startsWith('save '))).toEqual([
      'save  step 10: runs/mrpc/checkpoint-10',
      'save  step 20: runs/mrpc/checkpoint-20',
    ]);
  });

  it('brackets each evaluation and prints the cumulative metrics table', () => {
    expect(lines.filter((l) => l.startsWith('eval '))).toEqual([
      'eval  validation: 408 examples in 51 batches',
      'eval  validation done in 0.5s (100.00 it/s)',
      'eval  validation: 408 examples in 51 batches',
      'eval  validation done in 0.5s (100.00 it/s)',
    ]);
    const header = lines.filter((l) => l.includes('Training Loss'));
    expect(header).toHaveLength(2);
    expect(header[1]).toMatch(/Epoch +Step +Training Loss +Validation Loss +Accuracy +F1/);
    const last = lines.lastIndexOf(header[1]!);
    expect(lines[last + 2]!.trim().split(/\s+/)).toEqual([
      '1.00',
      '10',
      '0.6000',
      '0.4000',
      '0.8100',
      '0.8500',
    ]);
    expect(lines[last + 3]!.trim().split(/\s+/)).toEqual([
      '2.00',
      '20',
      '0.5000',
      '0.3000',
      '0.8200',
      '0.8500',
    ]);
    expect(out.text).not.toContain('eval_runtime');
  });

  it('ends with the summary, paths and copy-pasteable resume and predict commands', () => {
    expect(lines).toContain('  Runtime:     4m12s (20 steps, 2.00 epochs)');
    expect(lines).toContain('  Throughput:  43.60 samples/s, 5.45 steps/s');
    expect(lines).toContain('  Metrics:     {loss: 0.4100, accuracy: 0.8578, f1: 0.8997} on validation');
    expect(lines).toContain('  Checkpoints: runs/mrpc/checkpoint-10, runs/mrpc/checkpoint-20');
    expect(lines).toContain(
      '  Resume:      pnpm train --config runs/mrpc/train_args.json --resume-from-checkpoint runs/mrpc/checkpoint-20',
    );
    expect(lines).toContain(
      `  Predict:     pnpm predict --model runs/mrpc --data '/data/my glue'\\''s/MRPC' --split test`,
    );
  });
});

describe('reporter edge cases', () => {
  it('counts rate and ETA from the resume point and says where it resumed', () => {
    const out = new Collector(false);
    const clock = { t: 0 };
    const reporter = createReporter({ stream: out, now: () => clock.t });
    reporter.trainingStarted({
      ...SUMMARY,
      resumedFrom: { checkpoint: 'runs/mrpc/checkpoint-10', step: 10 },
    });
    clock.t += 500;
    reporter.step({ step: 11, epoch: 1.1 });
    clock.t += 500;
    reporter.step({ step: 12, epoch: 1.2 });
    expect(out.text).toContain('Resuming:    runs/mrpc/checkpoint-10 at step 10');
    // Steps 11 (at 10%... boundaries from 50%) is not a boundary; 12 crosses 60%: 2 steps in 1 s.
    const progress = out.text.split('\n').filter((l) => l.startsWith('train '));
    expect(progress).toEqual(['train  60% step 12/20 | epoch 1.20 | 2.00 it/s | elapsed 1.0s | ETA 4.0s']);
  });

  it('prints no metrics table for a prediction pass without labels', () => {
    const out = new Collector(false);
    const reporter = createReporter({ stream: out, now: () => 0 });
    reporter.evaluationStarted({ label: 'predict', split: 'test', batches: 2, examples: 16 });
    reporter.evaluationFinished({ split: 'test', step: 0, epoch: 0, metrics: { test_runtime: 1 } });
    expect(out.text).toBe('predict test: 16 examples in 2 batches\npredict test done in 0.0s (0.00 it/s)\n');
  });
});

describe('reporter: several eval sets', () => {
  it("puts MNLI's matched and mismatched evaluations at one step in one row", () => {
    const out = new Collector(false);
    const reporter = createReporter({ stream: out, now: () => 0 });
    reporter.log({ step: 10, epoch: 1, loss: 0.9 });
    for (const [step, m] of [
      [10, 0.61],
      [20, 0.72],
    ] as const) {
      reporter.evaluationFinished({
        split: 'validation_matched',
        step,
        epoch: step / 10,
        metrics: { eval_matched_accuracy: m },
      });
      reporter.evaluationFinished({
        split: 'validation_mismatched',
        step,
        epoch: step / 10,
        metrics: { eval_mismatched_accuracy: m + 0.01 },
      });
    }
    const lines = out.text.trimEnd().split('\n');
    expect(lines.at(-4)!.trim().split(/\s+/)).toEqual([
      'Epoch',
      'Step',
      'Training',
      'Loss',
      'Matched_accuracy',
      'Mismatched_accuracy',
    ]);
    expect(lines.at(-2)!.trim().split(/\s+/)).toEqual(['1.00', '10', '0.9000', '0.6100', '0.6200']);
    expect(lines.at(-1)!.trim().split(/\s+/)).toEqual(['2.00', '20', '0.9000', '0.7200', '0.7300']);
  });
});

describe('reporter on a TTY', () => {
  it('draws live bars with cli-progress and still prints the events and summary', () => {
    const out = new Collector(true);
    const clock = { t: 0 };
    simulateRun(createReporter({ stream: out, isTTY: true, now: () => clock.t }), clock);
    // Cursor movement / line clearing from the live bar.
    expect(out.text).toContain(`${ESC}[`);
    expect(out.text).toMatch(/train \|█+░*\| \d+\/20 epoch/);
    expect(out.text).toContain('log   step 5/20 epoch 0.50 | loss 0.6500');
    expect(out.text).toMatch(/Epoch +Step +Training Loss/);
    expect(out.text).toContain('***** Training finished *****');
    // No terminal modes (hidden cursor, wrapping off) that a Ctrl-C would leave behind.
    expect(out.text).not.toContain(`${ESC}[?7l`);
    expect(out.text).not.toContain(`${ESC}[?25l`);
    // Periodic plain lines are only for non-TTY output.
    expect(out.text).not.toMatch(/^train +\d+% step/m);
  });

  it('draws the evaluation bar on the next redraw', async () => {
    const out = new Collector(true);
    const reporter = createReporter({ stream: out, isTTY: true, now: () => 0 });
    reporter.evaluationStarted({ split: 'validation', batches: 51, examples: 408 });
    reporter.evaluationStep(17);
    await new Promise((resolve) => setTimeout(resolve, 250));
    reporter.close();
    expect(out.text).toMatch(/eval {2}\|█{8}░{16}\| 17\/51 /);
  });

  it('keeps bar lines narrower than the terminal', async () => {
    const out = Object.assign(new Collector(true), { columns: 40 });
    const reporter = createReporter({ stream: out, now: () => 0 });
    reporter.trainingStarted(SUMMARY);
    reporter.step({ step: 3, epoch: 0.3, loss: 0.5, learningRate: 1e-5 });
    reporter.close();
    const bars = out.text.split(`${ESC}[`).filter((chunk) => chunk.includes('train |'));
    expect(bars.length).toBeGreaterThan(0);
    for (const chunk of bars) expect(chunk.slice(chunk.indexOf('train |')).length).toBeLessThan(40);
  });

  it('fits the course run in 80 columns, giving up elapsed time and rate before ETA, loss and learning rate', () => {
    const out = Object.assign(new Collector(true), { columns: 80 });
    const clock = { t: 0 };
    const reporter = createReporter({ stream: out, now: () => clock.t });
    reporter.trainingStarted({ ...SUMMARY, totalSteps: 1377 });
    clock.t = 3_725_000; // an hour in: 1h02m05s elapsed, as long again to go
    reporter.step({ step: 688, epoch: 1.5, loss: 0.41234, learningRate: 2.5e-5 });
    reporter.close();
    const bars = out.text.split(`${ESC}[`).filter((chunk) => chunk.includes('train |'));
    const last = bars.at(-1)!;
    const line = last.slice(last.indexOf('train |')).split('\n')[0]!;
    expect(line.length).toBeLessThan(80);
    expect(line).toMatch(/\| 688\/1377 epoch 1\.50 \| ETA 1h02m\d\ds \| loss 0\.4123 \| lr 2\.5e-05$/);
  });

  it('close() stops the bars so the process can exit', () => {
    const out = new Collector(true);
    const reporter = createReporter({ stream: out, isTTY: true, now: () => 0 });
    reporter.trainingStarted(SUMMARY);
    reporter.step({ step: 1, epoch: 0.1 });
    reporter.close();
    reporter.close();
    const length = out.text.length;
    return new Promise<void>((done) =>
      setTimeout(() => {
        // No redraw timer left running after close().
        expect(out.text.length).toBe(length);
        done();
      }, 250),
    );
  });
});
