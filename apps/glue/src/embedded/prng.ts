import { mulberry32 } from '@ortrain/data';

/**
 * A small seeded PRNG (data's mulberry32) so the embedded default is byte-identical on every machine: only 32-bit
 * integer arithmetic, no dependence on Math.random or platform state.
 */
export interface Rng {
  /** Uniform float in [0, 1) with 32 bits of resolution. */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** A uniformly chosen element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
  /** Standard normal sample (Box-Muller). */
  normal(): number;
}

export function createRng(seed: number): Rng {
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  const nextU32 = mulberry32(seed);
  const next = (): number => nextU32() / 4294967296;
  const int = (n: number): number => {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`int(n) needs a positive integer, got ${n}`);
    return Math.floor(next() * n);
  };
  return {
    next,
    int,
    chance: (p) => next() < p,
    pick: <T>(items: readonly T[]): T => {
      if (items.length === 0) throw new Error('pick() from an empty list');
      return items[int(items.length)] as T;
    },
    // Box-Muller; V8 computes log/cos/sqrt with its fdlibm port, so results do not vary by platform.
    normal: () => {
      const u = 1 - next(); // (0, 1]: log(0) would be -Infinity
      const v = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
  };
}
