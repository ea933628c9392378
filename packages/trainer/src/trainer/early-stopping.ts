import { evalMetricKey, type TrainingArguments } from './arguments.js';
import type { TrainerCallback } from './callbacks.js';
import type { TrainerControl } from './control.js';
import type { TrainerStateJSON } from './state.js';

export interface EarlyStoppingOptions {
  /** Evaluations without improvement before training stops (default 1). */
  early_stopping_patience?: number;
  /** How much the metric must improve on the best to count as an improvement (default 0). */
  early_stopping_threshold?: number;
}

/**
 * HF's EarlyStoppingCallback: stops training once `metric_for_best_model` has not improved on the best so far
 * (by more than the threshold) for `early_stopping_patience` evaluations in a row.
 */
export class EarlyStoppingCallback implements TrainerCallback {
  readonly early_stopping_patience: number;
  readonly early_stopping_threshold: number;
  /** Evaluations in a row that failed to improve. */
  early_stopping_patience_counter = 0;

  constructor(options: EarlyStoppingOptions = {}) {
    this.early_stopping_patience = options.early_stopping_patience ?? 1;
    this.early_stopping_threshold = options.early_stopping_threshold ?? 0;
    if (!Number.isInteger(this.early_stopping_patience) || this.early_stopping_patience < 1) {
      throw new Error(`early_stopping_patience must be an integer >= 1, got ${this.early_stopping_patience}`);
    }
    if (!(this.early_stopping_threshold >= 0)) {
      throw new Error(`early_stopping_threshold must be >= 0, got ${this.early_stopping_threshold}`);
    }
  }

  onTrainBegin(args: TrainingArguments): void {
    const needs = (what: string) => new Error(`EarlyStoppingCallback requires ${what}`);
    if (!args.load_best_model_at_end) throw needs('load_best_model_at_end = true');
    if (args.metric_for_best_model === null) throw needs('metric_for_best_model to be defined');
    if (args.eval_strategy === 'no') throw needs('an eval_strategy of steps or epoch');
  }

  /** Runs before the Trainer updates `best_metric`, so the value is compared with the best before it. */
  onEvaluate(
    args: TrainingArguments,
    state: TrainerStateJSON,
    control: TrainerControl,
    metrics: Record<string, number>,
  ): void {
    const name = args.metric_for_best_model;
    if (name === null) return;
    const value = metrics[evalMetricKey(name)];
    // The Trainer fails on a missing metric_for_best_model right after this call.
    if (value === undefined) return;
    const best = state.best_metric;
    const improved =
      best === null ||
      ((args.greater_is_better ? value > best : value < best) &&
        Math.abs(value - best) > this.early_stopping_threshold);
    this.early_stopping_patience_counter = improved ? 0 : this.early_stopping_patience_counter + 1;
    if (this.early_stopping_patience_counter >= this.early_stopping_patience)
      control.should_training_stop = true;
  }
}
