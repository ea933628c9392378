/**
 * `--resume-from-checkpoint`: the checkpoint to resume, checked before anything is written: complete (with
 * `latest`, the newest complete one, saying which newer ones were skipped and why), and made by a run of the
 * same task, model and labels (the run's train_args.json and compiled config.json beside it say which).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { OUTPUT_FILES, type TrainOptions } from '@ortrain/cli';
import type { ClassificationTask } from '@ortrain/data';
import { COMPILED_DIR, latestValidCheckpoint, validateCheckpoint } from '@ortrain/trainer';
import { InputError } from './resolve.js';
import { id2labelNames } from './trained.js';

/** The checkpoint to resume from, or undefined; `warn` hears of each damaged checkpoint `latest` passed over. */
export function resumePoint(o: TrainOptions, warn: (text: string) => void): string | undefined {
  const r = o.resume_from_checkpoint;
  if (r === undefined) return undefined;
  if (r === 'latest') {
    const latest = latestValidCheckpoint(o.output_dir, (dir, reason) =>
      warn(`--resume-from-checkpoint latest: skipping ${dir}, it is damaged (${reason})`),
    );
    if (!latest) {
      throw new InputError(`--resume-from-checkpoint latest: no valid checkpoint in ${o.output_dir}`);
    }
    return latest;
  }
  try {
    validateCheckpoint(r);
  } catch (e) {
    throw new InputError(`--resume-from-checkpoint ${r}: ${(e as Error).message}`);
  }
  return r;
}

const readJson = (path: string): Record<string, unknown> | undefined =>
  existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : undefined;

/** A model as given: a folder by its absolute path (a relative and an absolute spelling are the same model). */
const sameModel = (a: string, b: string) =>
  a === b || (existsSync(a) && existsSync(b) && resolve(a) === resolve(b));

/**
 * Refuses to resume a checkpoint of another task, model or label set: its weights would load (same shapes)
 * and train on without a word. Compared with the run that made it: train_args.json and training/config.json
 * in the checkpoint's folder, when they are there.
 */
export function checkResumeMatches(checkpoint: string, o: TrainOptions, task: ClassificationTask): void {
  const runDir = dirname(checkpoint);
  const saved = readJson(join(runDir, OUTPUT_FILES.trainArgs));
  const refuse = (what: string, was: string, now: string) => {
    throw new InputError(
      `--resume-from-checkpoint ${checkpoint}: the checkpoint was trained with ${what} ${was}, this run has ${what} ${now}; ` +
        'resume with the same one, or start a new run in another --output-dir',
    );
  };
  if (saved) {
    const userFiles = saved['train_file'] !== undefined || o.train_file !== undefined;
    if (!userFiles && typeof saved['task'] === 'string' && saved['task'] !== task.name) {
      refuse('--task', saved['task'], task.name);
    }
    if (typeof saved['model'] === 'string' && !sameModel(saved['model'], o.model)) {
      refuse('--model', saved['model'], o.model);
    }
  }
  const config = readJson(join(runDir, COMPILED_DIR, 'config.json'));
  const id2label = config?.['id2label'] as Record<string, string> | undefined;
  if (id2label) {
    const was = id2labelNames(id2label);
    const now = task.isRegression ? ['LABEL_0'] : [...task.labelNames];
    if (was.join('\n') !== now.join('\n')) refuse('the labels', `[${was.join(', ')}]`, `[${now.join(', ')}]`);
  }
}
