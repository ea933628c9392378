import type { LogEntry } from '@ortrain/trainer';

/**
 * A log_history shaped like the course's MRPC run (3 epochs of 459 steps, lr 5e-5 decaying linearly,
 * epoch-end evaluations, HF's final summary entry), with a deterministic noisy loss.
 */
export function mrpcLikeHistory(loggingSteps = 50): LogEntry[] {
  const stepsPerEpoch = 459;
  const total = 3 * stepsPerEpoch;
  const history: LogEntry[] = [];
  let noise = 0.5;
  const events = new Set<number>();
  for (let s = loggingSteps; s <= total; s += loggingSteps) events.add(s);
  for (let e = 1; e <= 3; e++) events.add(e * stepsPerEpoch);
  for (const step of [...events].sort((a, b) => a - b)) {
    const epoch = Number((step / stepsPerEpoch).toFixed(4));
    if (step % loggingSteps === 0) {
      noise = (noise * 9301 + 49297) % 233280;
      const loss = 0.62 * Math.exp(-step / 700) + 0.08 + 0.06 * (noise / 233280 - 0.5);
      history.push({
        loss,
        grad_norm: 4 + (noise % 7),
        learning_rate: 5e-5 * (1 - step / total),
        epoch,
        step,
      });
    }
    if (step % stepsPerEpoch === 0) {
      const e = step / stepsPerEpoch;
      history.push({
        eval_loss: [0.38, 0.41, 0.53][e - 1]!,
        eval_accuracy: [0.8358, 0.8529, 0.8578][e - 1]!,
        eval_f1: [0.8848, 0.8966, 0.8997][e - 1]!,
        eval_runtime: 2.1,
        eval_samples_per_second: 194.3,
        eval_steps_per_second: 24.3,
        epoch,
        step,
      });
    }
  }
  history.push({
    train_runtime: 252.4,
    train_samples_per_second: 43.6,
    train_steps_per_second: 5.46,
    total_flos: 405114969714960,
    train_loss: 0.3915,
    epoch: 3,
    step: total,
  });
  return history;
}
