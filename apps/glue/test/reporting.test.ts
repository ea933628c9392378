import { EventEmitter } from 'node:events';
import type { ProgressReporter } from '@ortrain/cli';
import type { TokenizedDataset } from '@ortrain/data';
import type { Trainer, TrainerEvents } from '@ortrain/trainer';
import { describe, expect, it } from 'vitest';
import { reportEvaluations } from '../src/reporting.js';

/** The Trainer's events and state, nothing else: what reportEvaluations listens to. */
function fakeTrainer() {
  const emitter = new EventEmitter<TrainerEvents>();
  return Object.assign(emitter, { state: { global_step: 7, epoch: 1.5 } }) as unknown as Trainer;
}

function recordingReporter(calls: unknown[][]): ProgressReporter {
  const record =
    (name: string) =>
    (...args: unknown[]) =>
      calls.push([name, ...args]);
  return {
    evaluationStarted: record('started'),
    evaluationStep: record('step'),
    evaluationFinished: record('finished'),
  } as unknown as ProgressReporter;
}

describe('reportEvaluations', () => {
  it('starts, advances and finishes the eval bar from prediction_step, evaluate and predict', () => {
    const calls: unknown[][] = [];
    const trainer = reportEvaluations(fakeTrainer(), recordingReporter(calls), () => 'validation', true);
    const dataset = { numRows: 10 } as TokenizedDataset;
    for (const done of [0, 1, 2])
      trainer.emit('prediction_step', { pass: 'evaluate', dataset, done, batches: 2 });
    trainer.emit('evaluate', { eval_loss: 0.5, epoch: 1.5 });
    trainer.emit('prediction_step', { pass: 'predict', dataset, done: 0, batches: 2 });
    trainer.emit('predict', { test_loss: 0.4 });
    expect(calls).toEqual([
      ['started', { label: 'eval', split: 'validation', batches: 2, examples: 10 }],
      ['step', 1],
      ['step', 2],
      ['finished', { split: 'validation', step: 7, epoch: 1.5, metrics: { eval_loss: 0.5, epoch: 1.5 } }],
      ['started', { label: 'predict', split: 'validation', batches: 2, examples: 10 }],
      // Predictions are not evaluations: no metrics row.
      ['finished', { split: 'validation', step: 7, epoch: 1.5, metrics: {} }],
    ]);
  });

  it('without tabulate (pnpm evaluate) finishes the bar without a metrics row', () => {
    const calls: unknown[][] = [];
    const trainer = reportEvaluations(fakeTrainer(), recordingReporter(calls), () => 'validation', false);
    trainer.emit('prediction_step', {
      pass: 'evaluate',
      dataset: { numRows: 10 } as TokenizedDataset,
      done: 0,
      batches: 2,
    });
    trainer.emit('evaluate', { eval_loss: 0.5 });
    expect(calls.at(-1)).toEqual(['finished', { split: 'validation', step: 7, epoch: 1.5, metrics: {} }]);
  });
});
