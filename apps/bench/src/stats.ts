/** Timing statistics: every figure is a median over repeated runs after warm-up, with min and max. */

export interface Summary {
  median: number;
  min: number;
  max: number;
  /** Number of timed runs. */
  n: number;
}

export interface RepeatOptions {
  /** Untimed runs first (session arenas, caches, lazy initialization). */
  warmup: number;
  /** Timed runs. */
  repeats: number;
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error('summarize: no samples');
  for (const s of samples) {
    if (!Number.isFinite(s)) throw new Error(`summarize: sample ${s} is not a finite number`);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, n: sorted.length };
}

/** Scales every statistic (e.g. ms per batch to samples per second uses {@link throughput}). */
export function scale(s: Summary, factor: number): Summary {
  return { median: s.median * factor, min: s.min * factor, max: s.max * factor, n: s.n };
}

/**
 * Items per second from per-run milliseconds: the median rate is the rate of the median time, and the
 * fastest run gives the maximum rate.
 */
export function throughput(ms: Summary, itemsPerRun: number): Summary {
  const rate = (t: number) => (itemsPerRun * 1000) / t;
  return { median: rate(ms.median), min: rate(ms.max), max: rate(ms.min), n: ms.n };
}

/** Runs `fn` warmup + repeats times (the run index is passed) and returns the timed runs' milliseconds. */
export async function timeRuns(
  fn: (run: number) => Promise<unknown>,
  options: RepeatOptions,
): Promise<number[]> {
  if (!Number.isInteger(options.warmup) || options.warmup < 0)
    throw new Error(`warmup must be a non-negative integer, got ${options.warmup}`);
  if (!Number.isInteger(options.repeats) || options.repeats < 1)
    throw new Error(`repeats must be a positive integer, got ${options.repeats}`);
  for (let i = 0; i < options.warmup; i++) await fn(i);
  const samples: number[] = [];
  for (let i = 0; i < options.repeats; i++) {
    const t0 = performance.now();
    await fn(options.warmup + i);
    samples.push(performance.now() - t0);
  }
  return samples;
}
