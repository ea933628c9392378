/**
 * The Trainer with the progress display wired in: evaluation and prediction passes start and finish an eval
 * bar, and each batch the collator builds advances it (the Trainer has no per-batch evaluation event).
 */
import { isRunMetric, type ProgressReporter } from '@ortrain/cli';
import { type Batch, DataCollatorWithPadding, type TokenizedDataset } from '@ortrain/data';
import { type PredictionOutput, Trainer, type TrainerOptions } from '@ortrain/trainer';

/** Counts the batches collated while a pass is being reported. */
class CountingCollator extends DataCollatorWithPadding {
  onBatch: ((done: number) => void) | undefined;
  private count = 0;

  start(onBatch: (done: number) => void): void {
    this.count = 0;
    this.onBatch = onBatch;
  }

  stop(): void {
    this.onBatch = undefined;
  }

  override collate(ds: TokenizedDataset, rows: ArrayLike<number>): Batch {
    // The batch before this one has been run by the time the next is collated.
    if (this.onBatch) this.onBatch(this.count++);
    return super.collate(ds, rows);
  }
}

export class ReportingTrainer extends Trainer {
  private readonly counter: CountingCollator;
  private readonly evalDataset: TokenizedDataset | undefined;

  constructor(
    options: Omit<TrainerOptions, 'dataCollator'>,
    private readonly reporter: ProgressReporter,
    /** Split names of the datasets passed to evaluate/predict, for the display. */
    private readonly splitOf: (ds: TokenizedDataset) => string,
  ) {
    const counter = new CountingCollator();
    super({ ...options, dataCollator: counter });
    this.counter = counter;
    this.evalDataset = options.evalDataset;
  }

  private async reported<T>(
    label: string,
    ds: TokenizedDataset,
    run: () => Promise<T>,
    metricsOf: (r: T) => Record<string, number>,
  ): Promise<T> {
    const batchSize = this.args.per_device_eval_batch_size;
    const split = this.splitOf(ds);
    this.reporter.evaluationStarted({
      label,
      split,
      batches: Math.ceil(ds.numRows / batchSize),
      examples: ds.numRows,
    });
    this.counter.start((done) => this.reporter.evaluationStep(done));
    let result: T;
    try {
      result = await run();
    } finally {
      this.counter.stop();
    }
    this.reporter.evaluationFinished({
      split,
      step: this.state.global_step,
      epoch: this.state.epoch,
      metrics: metricsOf(result),
    });
    return result;
  }

  override evaluate(ds?: TokenizedDataset, metricKeyPrefix = 'eval'): Promise<Record<string, number>> {
    const data = ds ?? this.evalDataset;
    if (!data) return super.evaluate(ds, metricKeyPrefix);
    return this.reported(
      'eval',
      data,
      () => super.evaluate(data, metricKeyPrefix),
      (m) => m,
    );
  }

  override predict(ds: TokenizedDataset, metricKeyPrefix = 'test'): Promise<PredictionOutput> {
    return this.reported(
      'predict',
      ds,
      () => super.predict(ds, metricKeyPrefix),
      // Predictions are not evaluations: no row in the table; the command prints their metrics itself.
      () => ({}),
    );
  }
}

/** The model's metrics without the split prefix and the run's timings: `{accuracy, f1, loss}`. */
export function modelMetrics(metrics: Record<string, number>, prefix: string): Record<string, number> {
  return Object.fromEntries(
    Object.entries(metrics)
      .filter(([k]) => !isRunMetric(k))
      .map(([k, v]) => [k.replace(new RegExp(`^${prefix}_`), ''), v]),
  );
}
