import { describe, expect, it } from 'vitest';
import { scale, summarize, throughput, timeRuns } from '../src/stats.js';

describe('summarize', () => {
  it('takes the middle value of an odd count and the mean of the two middle values of an even count', () => {
    expect(summarize([5, 1, 3])).toEqual({ median: 3, min: 1, max: 5, n: 3 });
    expect(summarize([4, 1, 10, 2])).toEqual({ median: 3, min: 1, max: 10, n: 4 });
    expect(summarize([7])).toEqual({ median: 7, min: 7, max: 7, n: 1 });
  });

  it('does not reorder the caller’s samples', () => {
    const xs = [3, 1, 2];
    summarize(xs);
    expect(xs).toEqual([3, 1, 2]);
  });

  it('rejects no samples and non-finite samples', () => {
    expect(() => summarize([])).toThrow(/no samples/);
    expect(() => summarize([1, Number.NaN])).toThrow(/NaN is not a finite number/);
  });
});

describe('throughput', () => {
  it('turns milliseconds per run into items per second, the slowest run giving the lowest rate', () => {
    const rate = throughput({ median: 500, min: 250, max: 1000, n: 3 }, 8);
    expect(rate).toEqual({ median: 16, min: 8, max: 32, n: 3 });
  });

  it('scale multiplies every statistic', () => {
    expect(scale({ median: 2, min: 1, max: 3, n: 2 }, 10)).toEqual({ median: 20, min: 10, max: 30, n: 2 });
  });
});

describe('timeRuns', () => {
  it('runs warm-up runs untimed, then returns one sample per timed run', async () => {
    const calls: number[] = [];
    const samples = await timeRuns(
      async (i) => {
        calls.push(i);
        // The timed runs wait; a sample must cover the whole awaited run.
        if (i >= 2) await new Promise((r) => setTimeout(r, 20));
      },
      { warmup: 2, repeats: 3 },
    );
    expect(calls).toEqual([0, 1, 2, 3, 4]);
    expect(samples).toHaveLength(3);
    for (const s of samples) expect(s).toBeGreaterThanOrEqual(15);
  });

  it('rejects bad repeat settings', async () => {
    await expect(timeRuns(async () => {}, { warmup: -1, repeats: 1 })).rejects.toThrow(/warmup/);
    await expect(timeRuns(async () => {}, { warmup: 0, repeats: 0 })).rejects.toThrow(/repeats/);
  });
});
