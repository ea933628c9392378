/**
 * One entry of Hugging Face's `TrainerState.log_history` (trainer_state.json): a training log
 * `{loss, grad_norm, learning_rate, epoch, step}`, an evaluation `{eval_loss, eval_accuracy, ...}`, or
 * the final `{train_runtime, train_loss, ...}`. `epoch` is absent before any training, as HF's is None then.
 */
export interface LogEntry {
  step: number;
  epoch?: number;
  [metric: string]: number | undefined;
}

/** Hugging Face's TrainerState, serialized as trainer_state.json with the same keys. */
export interface TrainerStateJSON {
  best_global_step: number | null;
  best_metric: number | null;
  best_model_checkpoint: string | null;
  epoch: number;
  eval_steps: number;
  global_step: number;
  is_hyper_param_search: false;
  is_local_process_zero: true;
  is_world_process_zero: true;
  log_history: LogEntry[];
  logging_steps: number;
  max_steps: number;
  num_input_tokens_seen: number;
  num_train_epochs: number;
  save_steps: number;
  stateful_callbacks: Record<string, unknown>;
  total_flos: number;
  train_batch_size: number;
  trial_name: null;
  trial_params: null;
}

export function initialState(): TrainerStateJSON {
  return {
    best_global_step: null,
    best_metric: null,
    best_model_checkpoint: null,
    epoch: 0,
    eval_steps: 500,
    global_step: 0,
    is_hyper_param_search: false,
    is_local_process_zero: true,
    is_world_process_zero: true,
    log_history: [],
    logging_steps: 500,
    max_steps: 0,
    num_input_tokens_seen: 0,
    num_train_epochs: 0,
    save_steps: 500,
    stateful_callbacks: {},
    total_flos: 0,
    train_batch_size: 8,
    trial_name: null,
    trial_params: null,
  };
}
