/**
 * A training set read as a stream (HF's IterableDataset): its batches come as the file is read, so memory is
 * one batch (plus the stream's shuffle buffer) whatever the file's length. It has no length: training needs
 * max_steps, as HF's Trainer requires, and starts another pass over the stream when one ends.
 */
import type { Batch } from '@ortrain/data';

export interface StreamedDataset {
  readonly streamed: true;
  /** One pass's padded batches of `batchSize` rows (the last may be smaller), in `epoch`'s order. */
  batches(epoch: number, batchSize: number): AsyncIterable<Batch>;
}

export function isStreamed(ds: object): ds is StreamedDataset {
  return (ds as Partial<StreamedDataset>).streamed === true;
}

/** No pass over a stream has 2^32 batches: a streamed batch's dropout seed index is epoch * 2^32 + its index. */
export const STREAM_EPOCH_STRIDE = 2 ** 32;

/** One epoch's batches as BatchQueue's synchronous source, read ahead by `fill` where they arrive asynchronously. */
export interface EpochFeed {
  /** The next batch; undefined at the epoch's end. */
  next(): Batch | undefined;
  /** Reads ahead until `n` batches wait or the epoch ends. */
  fill(n: number): Promise<void>;
}

/** A sampler's batches, collated as they are taken. */
export function sampledFeed(
  rows: Iterator<ArrayLike<number>>,
  collate: (rows: ArrayLike<number>) => Batch,
): EpochFeed {
  return {
    next: () => {
      const r = rows.next();
      return r.done ? undefined : collate(r.value);
    },
    fill: async () => {},
  };
}

/** A stream's pass from batch `first` on: resuming skips the batches already trained on, as HF does. */
export async function streamedFeed(
  ds: StreamedDataset,
  epoch: number,
  batchSize: number,
  first: number,
): Promise<EpochFeed> {
  const it = ds.batches(epoch, batchSize)[Symbol.asyncIterator]();
  for (let i = 0; i < first; i++) if ((await it.next()).done) break;
  const ahead: Batch[] = [];
  let ended = false;
  return {
    next: () => ahead.shift(),
    async fill(n) {
      while (!ended && ahead.length < n) {
        const r = await it.next();
        if (r.done) ended = true;
        else ahead.push(r.value);
      }
    },
  };
}
