/** The names of what a run leaves in `output_dir`, so the app, the summary and the docs agree. */
export const OUTPUT_FILES = {
  /** HF's TrainerState, with `log_history` (written by the trainer). */
  trainerState: 'trainer_state.json',
  trainResults: 'train_results.json',
  evalResults: 'eval_results.json',
  allResults: 'all_results.json',
  /** Every logged event, one JSON object per line (`openEventLog`). */
  events: 'events.jsonl',
  /** Loss, learning rate and eval metrics over steps (`writeRunChart`). */
  chart: 'run.svg',
  /** The resolved options, readable by `--config` (`saveOptions`). */
  trainArgs: 'train_args.json',
} as const;
