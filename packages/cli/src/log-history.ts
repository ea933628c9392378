/**
 * One entry of Hugging Face's `TrainerState.log_history` (trainer_state.json): a training log
 * `{loss, grad_norm, learning_rate, epoch, step}`, an evaluation `{eval_loss, eval_accuracy, ...}`, or
 * the final `{train_runtime, train_loss, ...}`.
 */
export interface LogEntry {
  readonly step: number;
  readonly epoch?: number;
  readonly [metric: string]: number | undefined;
}
