/**
 * The progress display wired to a Trainer's events: evaluation and prediction passes start, advance and finish
 * an eval bar.
 */
import { isRunMetric, type ProgressReporter } from '@ortrain/cli';
import type { TokenizedDataset } from '@ortrain/data';
import type { Trainer } from '@ortrain/trainer';

/**
 * Reports the trainer's evaluation and prediction passes; `splitOf` names the datasets for the display. With
 * `tabulate` each evaluation is a row of the training table; without (`pnpm evaluate`, which prints its
 * result itself) there is no table.
 */
export function reportEvaluations<T extends Trainer>(
  trainer: T,
  reporter: ProgressReporter,
  splitOf: (ds: TokenizedDataset) => string,
  tabulate: boolean,
): T {
  let split = '';
  trainer.on('prediction_step', (p) => {
    if (p.done > 0) return reporter.evaluationStep(p.done);
    split = splitOf(p.dataset);
    reporter.evaluationStarted({
      label: p.pass === 'predict' ? 'predict' : 'eval',
      split,
      batches: p.batches,
      examples: p.dataset.numRows,
    });
  });
  const finished = (metrics: Record<string, number>) =>
    reporter.evaluationFinished({
      split,
      step: trainer.state.global_step,
      epoch: trainer.state.epoch,
      metrics,
    });
  trainer.on('evaluate', (metrics) => finished(tabulate ? metrics : {}));
  // Predictions are not evaluations: no row in the table; the command prints their metrics itself.
  trainer.on('predict', () => finished({}));
  return trainer;
}

/** The model's metrics without the split prefix and the run's timings: `{accuracy, f1, loss}`. */
export function modelMetrics(metrics: Record<string, number>, prefix: string): Record<string, number> {
  return Object.fromEntries(
    Object.entries(metrics)
      .filter(([k]) => !isRunMetric(k))
      .map(([k, v]) => [k.replace(new RegExp(`^${prefix}_`), ''), v]),
  );
}
