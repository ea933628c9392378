/**
 * HF's TrainerControl and DefaultFlowCallback: the flags that decide, between steps, whether to log, evaluate,
 * save or stop, and the default schedule that sets them from the arguments.
 */
import type { TrainingArguments } from './arguments.js';
import type { TrainerCallback } from './callbacks.js';
import type { TrainerStateJSON } from './state.js';

/** Switches callbacks set; the Trainer acts on them and clears each once acted on (HF's TrainerControl). */
export class TrainerControl {
  /** Stop training; stays set. */
  should_training_stop = false;
  /** End the current epoch; cleared when the next begins. */
  should_epoch_stop = false;
  /** Save a checkpoint at this step; cleared at the next step's beginning (and by the save). */
  should_save = false;
  /** Evaluate at this step; cleared at the next step's beginning (and by the evaluation). */
  should_evaluate = false;
  /** Log the training loss at this step; cleared at the next step's beginning (and by the log). */
  should_log = false;
}

/** Sets the flags from the logging, evaluation and save strategies, and stops at max_steps (HF's default flow). */
export class DefaultFlowCallback implements TrainerCallback {
  onStepEnd(args: TrainingArguments, state: TrainerStateJSON, control: TrainerControl): void {
    const gs = state.global_step;
    if (gs === 1 && args.logging_first_step) control.should_log = true;
    if (args.logging_strategy === 'steps' && gs % state.logging_steps === 0) control.should_log = true;
    if (args.eval_strategy === 'steps' && gs % state.eval_steps === 0) control.should_evaluate = true;
    if (args.save_strategy === 'steps' && state.save_steps > 0 && gs % state.save_steps === 0) {
      control.should_save = true;
    }
    if (gs >= state.max_steps) {
      control.should_training_stop = true;
      if (args.save_strategy !== 'no') control.should_save = true;
    }
  }

  onEpochEnd(args: TrainingArguments, _state: TrainerStateJSON, control: TrainerControl): void {
    if (args.logging_strategy === 'epoch') control.should_log = true;
    if (args.eval_strategy === 'epoch') control.should_evaluate = true;
    if (args.save_strategy === 'epoch') control.should_save = true;
  }
}

/**
 * The next global step at which the default flow sets a flag (a log, evaluation, save or the end): steps run
 * together in one session run never cross it.
 */
export function nextFlowStep(args: TrainingArguments, state: TrainerStateJSON): number {
  const gs = state.global_step;
  const nextMultiple = (k: number) => (Math.floor(gs / k) + 1) * k;
  let b = state.max_steps;
  if (args.logging_strategy === 'steps') b = Math.min(b, nextMultiple(state.logging_steps));
  if (args.eval_strategy === 'steps') b = Math.min(b, nextMultiple(state.eval_steps));
  if (args.save_strategy === 'steps') b = Math.min(b, nextMultiple(state.save_steps));
  if (args.logging_first_step && gs === 0) b = 1;
  return b;
}
