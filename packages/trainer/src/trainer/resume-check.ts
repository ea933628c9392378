import type { TrainingArguments } from './arguments.js';

/**
 * HF's compare_trainer_and_checkpoint_args: the step options and the batch size a resumed run changes, said
 * once as a warning (HF's wording); ortrain adds gradient_accumulation_steps, which changes the updates'
 * batch as much. The run goes on with the new values.
 */
const COMPARED = [
  'per_device_train_batch_size',
  'gradient_accumulation_steps',
  'logging_steps',
  'eval_steps',
  'save_steps',
] as const;

export function changedSinceCheckpoint(
  args: TrainingArguments,
  saved: Readonly<Record<string, unknown>>,
): string | undefined {
  const lines: string[] = [];
  for (const key of COMPARED) {
    const now = args[key];
    const was = saved[key];
    if (now !== null && was !== undefined && was !== null && now !== was) {
      lines.push(`\n\t${key}: ${now} (from args) != ${was} (from the checkpoint's training_args.json)`);
    }
  }
  if (lines.length === 0) return undefined;
  return `Warning: The following arguments do not match the ones in the checkpoint:${lines.join('')}`;
}
