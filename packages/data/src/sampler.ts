/**
 * Batch samplers. Every order is a pure function of (seed, epoch) computed with 32-bit integer arithmetic,
 * so it is identical on every machine, and resuming at (epoch, step) just skips `step` batches.
 */

/**
 * mulberry32 (Tommy Ettinger's 32-bit generator, public domain): a tiny, well-mixed PRNG whose state is a
 * single uint32. Returns uint32 values.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** MurmurHash3's 32-bit finalizer, to derive well-separated streams from (seed, epoch). */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Uniform integer in [0, n) without modulo bias (rejection on the top of the uint32 range). */
function below(next: () => number, n: number): number {
  const limit = 0x100000000 - (0x100000000 % n);
  let x = next();
  while (x >= limit) x = next();
  return x % n;
}

/** Uniform integers in [0, n) from the stream of (seed, epoch): each epoch's draws are its own. */
export function epochIntegers(seed: number, epoch: number): (n: number) => number {
  const next = mulberry32(fmix32((seed >>> 0) ^ fmix32(epoch + 0x9e3779b9)));
  return (n) => below(next, n);
}

/** Seeded Fisher–Yates permutation of 0..n-1 for (seed, epoch). */
export function permutation(n: number, seed: number, epoch: number): Int32Array {
  const integer = epochIntegers(seed, epoch);
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = integer(i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

export interface SamplerOptions {
  batchSize: number;
  /** Drop the last incomplete batch. Default false (like the HF Trainer's default). */
  dropLast?: boolean;
}

/** Splits an epoch's row order into batches; subclasses only decide the order. */
export abstract class BatchSampler {
  readonly batchSize: number;
  readonly dropLast: boolean;

  constructor(
    readonly numRows: number,
    options: SamplerOptions,
  ) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
      throw new Error(`batchSize must be a positive integer, got ${options.batchSize}`);
    }
    this.batchSize = options.batchSize;
    this.dropLast = options.dropLast ?? false;
  }

  /** Row order for `epoch` (0-based). */
  abstract order(epoch: number): Int32Array;

  /** Batches per epoch. */
  get numBatches(): number {
    return this.dropLast
      ? Math.floor(this.numRows / this.batchSize)
      : Math.ceil(this.numRows / this.batchSize);
  }

  /** The batches of `epoch`, starting at batch `fromStep` (to resume exactly where a run stopped). */
  *batches(epoch: number, fromStep = 0): Generator<Int32Array> {
    if (!Number.isInteger(fromStep) || fromStep < 0 || fromStep > this.numBatches) {
      throw new Error(`step ${fromStep} out of range [0, ${this.numBatches}]`);
    }
    const order = this.order(epoch);
    for (let s = fromStep; s < this.numBatches; s++) {
      yield order.subarray(s * this.batchSize, Math.min((s + 1) * this.batchSize, this.numRows));
    }
  }
}

export class SequentialSampler extends BatchSampler {
  order(): Int32Array {
    const p = new Int32Array(this.numRows);
    for (let i = 0; i < p.length; i++) p[i] = i;
    return p;
  }
}

export class RandomSampler extends BatchSampler {
  private readonly seed: number;

  constructor(numRows: number, options: SamplerOptions & { seed: number }) {
    super(numRows, options);
    this.seed = options.seed;
  }

  order(epoch: number): Int32Array {
    return permutation(this.numRows, this.seed, epoch);
  }
}

/**
 * HF's LengthGroupedSampler idea: shuffle, cut into megabatches of `megabatchMult * batchSize` rows, sort
 * each megabatch by length (longest first), and put the batch holding the longest row first so an
 * out-of-memory shows up at step 0. Batches then hold rows of similar length while the order stays seeded.
 */
export class GroupByLengthSampler extends BatchSampler {
  private readonly seed: number;
  private readonly megabatch: number;

  constructor(
    private readonly lengths: ArrayLike<number>,
    options: SamplerOptions & { seed: number; megabatchMult?: number },
  ) {
    super(lengths.length, options);
    this.seed = options.seed;
    this.megabatch = (options.megabatchMult ?? 50) * this.batchSize;
  }

  order(epoch: number): Int32Array {
    const p = permutation(this.numRows, this.seed, epoch);
    const len = this.lengths;
    for (let start = 0; start < p.length; start += this.megabatch) {
      // Stable sort keeps ties in shuffled order, so the result is still fully determined by the seed.
      const mb = Array.from(p.subarray(start, start + this.megabatch)).sort((a, b) => len[b]! - len[a]!);
      p.set(mb, start);
    }
    // Swap the longest row's megabatch head to the front (each megabatch starts with its longest row).
    let best = 0;
    for (let start = 0; start < p.length; start += this.megabatch) {
      if (len[p[start]!]! > len[p[best]!]!) best = start;
    }
    const head = p[0]!;
    p[0] = p[best]!;
    p[best] = head;
    return p;
  }
}

/**
 * torch's DistributedSampler split of one global batch across `numReplicas` replicas: replica r takes the
 * positions r, r + R, r + 2R, ... Over an epoch cut into global batches of R x B rows this is exactly the
 * split DistributedSampler makes (its shard is the order's every R-th row from r, batched by B), so the global
 * batches hold the rows one replica with batch R x B would see. A last, smaller global batch is split the same
 * way without repeating rows (DistributedSampler pads with repeats): shards then differ in size, by at most
 * one row, and a replica can get none.
 */
export function shardPositions(batchRows: number, numReplicas: number): Int32Array[] {
  if (!Number.isInteger(numReplicas) || numReplicas < 1) {
    throw new Error(`numReplicas must be a positive integer, got ${numReplicas}`);
  }
  return Array.from({ length: numReplicas }, (_, r) =>
    Int32Array.from(
      { length: Math.max(0, Math.ceil((batchRows - r) / numReplicas)) },
      (_, j) => r + j * numReplicas,
    ),
  );
}
