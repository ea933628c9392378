import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GroupByLengthSampler,
  mulberry32,
  permutation,
  RandomSampler,
  SequentialSampler,
  shardPositions,
} from '../src/index.js';

const all = (it: Iterable<Int32Array>) => Array.from(it, (b) => Array.from(b));

describe('seeded permutations', () => {
  it('equal the independent Python reference bit for bit (scripts/reference_permutation.py)', () => {
    const g = mulberry32(42);
    expect([g(), g(), g(), g()]).toEqual([2581720956, 1925393290, 3661312704, 2876485805]);
    expect(Array.from(permutation(12, 42, 0))).toEqual([3, 4, 6, 7, 9, 5, 10, 1, 8, 2, 11, 0]);
    expect(Array.from(permutation(12, 42, 1))).toEqual([10, 5, 4, 9, 3, 1, 2, 6, 8, 0, 11, 7]);
    expect(Array.from(permutation(12, 7, 0))).toEqual([0, 2, 5, 8, 4, 6, 10, 1, 7, 9, 11, 3]);
  });

  it('are permutations; same (seed, epoch) repeats, another epoch or seed differs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 20, max: 500 }), fc.nat(), fc.nat(1000), (n, seed, epoch) => {
        const p = permutation(n, seed, epoch);
        expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
        expect(permutation(n, seed, epoch)).toEqual(p);
        expect(permutation(n, seed, epoch + 1)).not.toEqual(p);
        expect(permutation(n, seed + 1, epoch)).not.toEqual(p);
      }),
      { numRuns: 50 },
    );
  });
});

describe('batch samplers', () => {
  it('sequential: in order, last batch short unless dropLast', () => {
    expect(all(new SequentialSampler(5, { batchSize: 2 }).batches(0))).toEqual([[0, 1], [2, 3], [4]]);
    const s = new SequentialSampler(5, { batchSize: 2, dropLast: true });
    expect([s.numBatches, all(s.batches(3))]).toEqual([
      2,
      [
        [0, 1],
        [2, 3],
      ],
    ]);
  });

  it('random: covers every row once per epoch and resumes exactly from (epoch, step)', () => {
    const s = new RandomSampler(103, { batchSize: 8, seed: 1234 });
    for (const epoch of [0, 1, 2]) {
      const full = all(s.batches(epoch));
      expect(full).toHaveLength(13);
      expect(full.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 103 }, (_, i) => i));
      for (const step of [0, 1, 7, 12, 13]) expect(all(s.batches(epoch, step))).toEqual(full.slice(step));
    }
    expect(all(s.batches(0))).not.toEqual(all(s.batches(1)));
    expect(() => s.batches(0, 14).next()).toThrow(/step 14 out of range \[0, 13\]/);
  });

  it('group-by-length: sorted megabatches, longest batch first, seeded, resumable', () => {
    const n = 1000;
    const lengths = Int32Array.from({ length: n }, (_, i) => 5 + ((i * 7919) % 120));
    const s = new GroupByLengthSampler(lengths, { batchSize: 4, seed: 3, megabatchMult: 5 });
    const order = s.order(0);
    expect(Array.from(order).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(lengths[order[0]!]).toBe(Math.max(...lengths));
    // Each megabatch (5 * 4 rows) is sorted longest first; only its head may have been swapped with row 0.
    for (let start = 0; start < n; start += 20) {
      const mb = Array.from(order.subarray(start + 1, start + 20), (i) => lengths[i]!);
      expect(mb).toEqual([...mb].sort((a, b) => b - a));
    }
    // Padding waste (sum over batches of max length * size - tokens) is far below a random order's.
    const waste = (batches: number[][]) =>
      batches.reduce((w, b) => {
        const ls = b.map((i) => lengths[i]!);
        return w + Math.max(...ls) * ls.length - ls.reduce((a, c) => a + c, 0);
      }, 0);
    const random = new RandomSampler(n, { batchSize: 4, seed: 3 });
    expect(waste(all(s.batches(0)))).toBeLessThan(waste(all(random.batches(0))) / 3);
    expect(s.order(0)).toEqual(order);
    expect(s.order(1)).not.toEqual(order);
    expect(all(s.batches(1, 100))).toEqual(all(s.batches(1)).slice(100));
  });

  it('rejects a bad batch size', () => {
    expect(() => new SequentialSampler(3, { batchSize: 0 })).toThrow(/batchSize must be a positive integer/);
  });
});

describe('shardPositions (DistributedSampler split of a global batch)', () => {
  it('gives replica r every R-th row from r, covering each row once', () => {
    expect(shardPositions(8, 2).map((s) => Array.from(s))).toEqual([
      [0, 2, 4, 6],
      [1, 3, 5, 7],
    ]);
    expect(shardPositions(5, 3).map((s) => Array.from(s))).toEqual([[0, 3], [1, 4], [2]]);
    expect(shardPositions(1, 2).map((s) => Array.from(s))).toEqual([[0], []]);
  });

  it('over an epoch equals DistributedSampler: shard r of the order, batched by the per-replica size', () => {
    const order = new RandomSampler(24, { batchSize: 6, seed: 3 }).order(0);
    const R = 3;
    const perReplica = 2;
    for (let r = 0; r < R; r++) {
      const torchShard = Array.from(order).filter((_, i) => i % R === r); // indices[rank::num_replicas]
      const ours: number[] = [];
      for (let g = 0; g < 24 / (R * perReplica); g++) {
        const batch = order.subarray(g * R * perReplica, (g + 1) * R * perReplica);
        ours.push(...Array.from(shardPositions(batch.length, R)[r]!, (p) => batch[p]!));
      }
      expect(ours).toEqual(torchShard);
    }
  });

  it('rejects a bad replica count', () => {
    expect(() => shardPositions(4, 0)).toThrow(/numReplicas must be a positive integer/);
  });
});
