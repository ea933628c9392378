import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from './atomic.js';

export type Metrics = Readonly<Record<string, number>>;

/**
 * Whether a metric describes the run rather than the model: `eval_runtime`, `*_samples_per_second`,
 * `*_steps_per_second`, `epoch`, `total_flos`. Tables and charts show the others.
 */
export function isRunMetric(key: string): boolean {
  return /_(runtime|per_second)$/.test(key) || key === 'epoch' || key === 'total_flos';
}

/**
 * Hugging Face's `speed_metrics`: `<prefix>_runtime` (seconds, 4 decimals) and samples and steps per
 * second (3 decimals, from the unrounded runtime), e.g. `train_runtime`, `train_samples_per_second`, `train_steps_per_second`.
 */
export function speedMetrics(
  prefix: string,
  runtimeSeconds: number,
  samples: number,
  steps?: number,
): Metrics {
  const round = (v: number, digits: number) => Number(v.toFixed(digits));
  const metrics: Record<string, number> = { [`${prefix}_runtime`]: round(runtimeSeconds, 4) };
  // HF leaves the rates out rather than dividing by a zero runtime.
  if (runtimeSeconds === 0) return metrics;
  metrics[`${prefix}_samples_per_second`] = round(samples / runtimeSeconds, 3);
  if (steps !== undefined) metrics[`${prefix}_steps_per_second`] = round(steps / runtimeSeconds, 3);
  return metrics;
}

/**
 * Hugging Face's `Trainer.save_metrics(split, metrics, combined=True)`: writes `<split>_results.json`
 * (`train_results.json`, `eval_results.json`, `test_results.json`) and merges the same keys into
 * `all_results.json`; keys sorted, four-space indent. Non-finite values (a diverged loss) are written
 * as `null`, since JSON has no NaN. Returns the paths written.
 */
export async function saveMetrics(
  outputDir: string,
  split: string,
  metrics: Metrics,
  combined = true,
): Promise<string[]> {
  const splitPath = join(outputDir, `${split}_results.json`);
  writeJsonAtomic(splitPath, metrics);
  if (!combined) return [splitPath];
  const allPath = join(outputDir, 'all_results.json');
  let all: Record<string, unknown> = {};
  try {
    all = JSON.parse(await readFile(allPath, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`${allPath}: cannot merge metrics into it (${(error as Error).message})`);
    }
  }
  if (all === null || typeof all !== 'object' || Array.isArray(all)) {
    throw new Error(`${allPath}: expected a JSON object of metrics`);
  }
  writeJsonAtomic(allPath, { ...all, ...metrics });
  return [splitPath, allPath];
}
