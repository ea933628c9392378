import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  readSafetensors,
  TEMP_PREFIX,
  transpose2d,
  writeDirAtomic,
  writeSafetensors,
} from '@ortrain/artifacts';
import type { Tensor } from '@ortrain/graph';

/** Hugging Face's checkpoint folder prefix: `output_dir/checkpoint-<global_step>`. */
export const CHECKPOINT_PREFIX = 'checkpoint-';
const CHECKPOINT_NAME = new RegExp(`^${CHECKPOINT_PREFIX}(\\d+)$`);
const INDEX_FILE = 'ortrain_checkpoint.json';

export interface CheckpointContent {
  /** Every parameter by name, in the graphs' layout; model.safetensors holds them in HF's (see `transposed`). */
  weights: Tensor[];
  /** The Linear weights the graphs store [in, out]: model.safetensors holds them as HF does, [out, in], so that
   * the file is the state dict it looks like; the index lists them so that loading turns them back. */
  transposed?: string[];
  /** optimizer.safetensors: AdamW moments (`p.exp_avg`, `p.exp_avg_sq`). */
  optimizer: Tensor[];
  /** scheduler.json */
  scheduler: Record<string, unknown>;
  /** rng_state.json: seed and sampler position. */
  rngState: Record<string, unknown>;
  /** trainer_state.json, in Hugging Face's format. */
  trainerState: Record<string, unknown>;
  /** training_args.json */
  trainingArgs: Record<string, unknown>;
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

export function checkpointDir(outputDir: string, step: number): string {
  return join(outputDir, `${CHECKPOINT_PREFIX}${step}`);
}

/**
 * Writes `output_dir/checkpoint-<step>` atomically. The index file records every file's size, so a folder
 * damaged after the fact is told apart from a good one.
 */
export function saveCheckpoint(outputDir: string, step: number, c: CheckpointContent): string {
  const dir = checkpointDir(outputDir, step);
  const transposed = new Set(c.transposed);
  writeDirAtomic(dir, {
    'model.safetensors': (path) =>
      writeSafetensors(path, swapLayout(c.weights, transposed), { format: 'pt' }),
    'optimizer.safetensors': (path) => writeSafetensors(path, c.optimizer),
    'scheduler.json': json(c.scheduler),
    'rng_state.json': json(c.rngState),
    'trainer_state.json': json(c.trainerState),
    'training_args.json': json(c.trainingArgs),
    // Written last, from the sizes of the files above as they landed in the temporary folder.
    [INDEX_FILE]: (path) => {
      const files: Record<string, number> = {};
      for (const f of readdirSync(dirname(path)))
        if (f !== INDEX_FILE) files[f] = statSync(join(dirname(path), f)).size;
      writeFileSync(
        path,
        json({ format: 'ortrain-checkpoint', version: 1, step, files, transposed: c.transposed ?? [] }),
      );
    },
  });
  return dir;
}

/** HF's layout <-> the graphs' (the same transpose both ways) for the listed weights. */
function swapLayout(weights: Tensor[], transposed: ReadonlySet<string>): Tensor[] {
  return weights.map((t) => (transposed.has(t.name) ? transpose2d(t) : t));
}

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** Throws a CheckpointError saying what is wrong when `dir` is not a complete checkpoint. */
export function validateCheckpoint(dir: string): void {
  const index = join(dir, INDEX_FILE);
  if (!existsSync(index)) throw new CheckpointError(`${dir}: not an ortrain checkpoint (no ${INDEX_FILE})`);
  let files: Record<string, number>;
  try {
    files = JSON.parse(readFileSync(index, 'utf8')).files;
  } catch (e) {
    throw new CheckpointError(`${index}: unreadable (${(e as Error).message})`);
  }
  for (const [name, size] of Object.entries(files)) {
    const path = join(dir, name);
    if (!existsSync(path)) throw new CheckpointError(`${dir}: ${name} is missing`);
    const actual = statSync(path).size;
    if (actual !== size) throw new CheckpointError(`${path}: ${actual} bytes, the index says ${size}`);
  }
}

export function loadCheckpoint(dir: string): CheckpointContent {
  validateCheckpoint(dir);
  const read = (name: string) => JSON.parse(readFileSync(join(dir, name), 'utf8'));
  const transposed: string[] = read(INDEX_FILE).transposed ?? [];
  return {
    weights: swapLayout([...readSafetensors(join(dir, 'model.safetensors')).values()], new Set(transposed)),
    transposed,
    optimizer: [...readSafetensors(join(dir, 'optimizer.safetensors')).values()],
    scheduler: read('scheduler.json'),
    rngState: read('rng_state.json'),
    trainerState: read('trainer_state.json'),
    trainingArgs: read('training_args.json'),
  };
}

export interface CheckpointEntry {
  step: number;
  path: string;
}

/** `checkpoint-<n>` folders of output_dir, oldest (lowest step) first. */
export function listCheckpoints(outputDir: string): CheckpointEntry[] {
  if (!existsSync(outputDir)) return [];
  const out: CheckpointEntry[] = [];
  for (const e of readdirSync(outputDir, { withFileTypes: true })) {
    const m = CHECKPOINT_NAME.exec(e.name);
    if (m && e.isDirectory()) out.push({ step: Number(m[1]), path: join(outputDir, e.name) });
  }
  return out.sort((a, b) => a.step - b.step);
}

/**
 * The newest checkpoint that validates, or undefined. A damaged one (by hand: a crash never publishes one) is
 * passed over, as HF's get_last_checkpoint passes over non-folders, and told to `skipped` with the reason.
 */
export function latestValidCheckpoint(
  outputDir: string,
  skipped?: (dir: string, reason: string) => void,
): string | undefined {
  const all = listCheckpoints(outputDir);
  for (let i = all.length - 1; i >= 0; i--) {
    try {
      validateCheckpoint(all[i]!.path);
      return all[i]!.path;
    } catch (e) {
      skipped?.(all[i]!.path, (e as Error).message);
    }
  }
  return undefined;
}

/** Removes temporary folders a crashed checkpoint write left behind. */
export function removeStaleTemps(outputDir: string): string[] {
  if (!existsSync(outputDir)) return [];
  const removed: string[] = [];
  for (const e of readdirSync(outputDir)) {
    if (
      e.startsWith(`${TEMP_PREFIX}${CHECKPOINT_PREFIX}`) ||
      e.startsWith(`${TEMP_PREFIX}old-${CHECKPOINT_PREFIX}`)
    ) {
      rmSync(join(outputDir, e), { recursive: true, force: true });
      removed.push(e);
    }
  }
  return removed;
}

/**
 * Hugging Face's `_rotate_checkpoints`: delete the oldest checkpoints beyond `limit`, but never the best one
 * (it is moved next to the newest before choosing), and keep two when the limit is 1 and the best is not the
 * newest so that training can still resume. Returns the deleted folders.
 */
export function rotateCheckpoints(
  outputDir: string,
  limit: number | null,
  bestCheckpoint: string | null,
): string[] {
  if (limit === null || limit <= 0) return [];
  const sorted = listCheckpoints(outputDir).map((c) => c.path);
  const best = bestCheckpoint === null ? -1 : sorted.findIndex((p) => resolve(p) === resolve(bestCheckpoint));
  if (best >= 0) {
    for (let i = best; i < sorted.length - 2; i++) [sorted[i], sorted[i + 1]] = [sorted[i + 1]!, sorted[i]!];
  }
  let keep = limit;
  const newest = sorted[sorted.length - 1];
  if (bestCheckpoint !== null && limit === 1 && newest && resolve(newest) !== resolve(bestCheckpoint))
    keep = 2;
  const doomed = sorted.slice(0, Math.max(0, sorted.length - keep));
  for (const d of doomed) rmSync(d, { recursive: true, force: true });
  return doomed;
}
