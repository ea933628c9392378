/**
 * HF's TrainerCallback seam: objects the Trainer calls at each event with the arguments, the state and the
 * control flags, which they may set (see control.ts). Callbacks run in order, synchronously.
 */
import type { TrainingArguments } from './arguments.js';
import { DefaultFlowCallback, TrainerControl } from './control.js';
import type { TrainerStateJSON } from './state.js';

type Hook = (args: TrainingArguments, state: TrainerStateJSON, control: TrainerControl) => void;
type MetricsHook = (
  args: TrainingArguments,
  state: TrainerStateJSON,
  control: TrainerControl,
  metrics: Record<string, number>,
) => void;

/** Every method is optional; HF's names in camelCase (`on_step_end` is `onStepEnd`). */
export interface TrainerCallback {
  /** At the end of the Trainer's constructor. */
  onInitEnd?: Hook;
  onTrainBegin?: Hook;
  onTrainEnd?: Hook;
  onEpochBegin?: Hook;
  onEpochEnd?: Hook;
  /** Before an optimizer step (with gradient accumulation, one step takes several batches). */
  onStepBegin?: Hook;
  onStepEnd?: Hook;
  /** After an evaluation, with its metrics (before the best metric is updated from them). */
  onEvaluate?: MetricsHook;
  /** After a prediction pass, with its metrics. */
  onPredict?: MetricsHook;
  /** After a checkpoint is saved. */
  onSave?: Hook;
  /** After `logs` were appended to the log history. */
  onLog?: (
    args: TrainingArguments,
    state: TrainerStateJSON,
    control: TrainerControl,
    logs: Record<string, number>,
  ) => void;
  /** After each batch of an evaluation or prediction pass. */
  onPredictionStep?: Hook;
}

export type TrainerCallbackClass = new () => TrainerCallback;

/** HF's DEFAULT_CALLBACKS: the flow that turns the strategies into control flags. */
export const DEFAULT_CALLBACKS: TrainerCallbackClass[] = [DefaultFlowCallback];

/** Calls the callbacks in order and clears the flags each event consumes, as HF's CallbackHandler does. */
export class CallbackHandler {
  readonly callbacks: TrainerCallback[] = [];
  readonly control = new TrainerControl();

  constructor(
    private readonly args: TrainingArguments,
    private readonly state: () => TrainerStateJSON,
  ) {}

  /** Adds a callback (or a new instance of a class); false when one of its class was there already. */
  add(callback: TrainerCallback | TrainerCallbackClass): boolean {
    const cb = typeof callback === 'function' ? new callback() : callback;
    const known = this.callbacks.some((c) => c.constructor === cb.constructor && c.constructor !== Object);
    this.callbacks.push(cb);
    return !known;
  }

  /** Removes and returns the callback, or the first instance of the class; undefined when there is none. */
  pop(callback: TrainerCallback | TrainerCallbackClass): TrainerCallback | undefined {
    const i = this.callbacks.findIndex((c) =>
      typeof callback === 'function' ? c instanceof callback : c === callback,
    );
    return i < 0 ? undefined : this.callbacks.splice(i, 1)[0];
  }

  trainBegin(): void {
    this.control.should_training_stop = false;
    this.each('onTrainBegin');
  }

  epochBegin(): void {
    this.control.should_epoch_stop = false;
    this.each('onEpochBegin');
  }

  stepBegin(): void {
    this.control.should_log = false;
    this.control.should_evaluate = false;
    this.control.should_save = false;
    this.each('onStepBegin');
  }

  evaluated(metrics: Record<string, number>): void {
    this.control.should_evaluate = false;
    for (const cb of this.callbacks) cb.onEvaluate?.(this.args, this.state(), this.control, metrics);
  }

  predicted(metrics: Record<string, number>): void {
    for (const cb of this.callbacks) cb.onPredict?.(this.args, this.state(), this.control, metrics);
  }

  saved(): void {
    this.control.should_save = false;
    this.each('onSave');
  }

  logged(logs: Record<string, number>): void {
    this.control.should_log = false;
    for (const cb of this.callbacks) cb.onLog?.(this.args, this.state(), this.control, logs);
  }

  /** An event that clears no flag. */
  call(event: 'onInitEnd' | 'onTrainEnd' | 'onEpochEnd' | 'onStepEnd' | 'onPredictionStep'): void {
    this.each(event);
  }

  private each(
    event: {
      [K in keyof TrainerCallback]-?: TrainerCallback[K] extends Hook | undefined ? K : never;
    }[keyof TrainerCallback],
  ): void {
    for (const cb of this.callbacks) cb[event]?.(this.args, this.state(), this.control);
  }
}
