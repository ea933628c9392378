import type { Batch } from '@ortrain/data';
import type { Tensor } from '@ortrain/graph';
import type { EvalResult, Replica } from '../runtime/replica.js';
import type { SharedGradients } from './all-reduce.js';

/**
 * One replica's part of a data-parallel run, the same code in the main thread (rank 0) and in each worker:
 * gradients into its accumulators, its share of the all-reduce, then the optimizer on the reduced gradients.
 */
export class ReplicaMember {
  constructor(
    readonly replica: Replica,
    private readonly shared: SharedGradients,
    readonly rank: number,
  ) {}

  accumulate(batch: Batch, gradScale: number, dropoutSeed?: bigint): Promise<number> {
    return this.replica.accumulate(batch, gradScale, dropoutSeed);
  }

  publish(): void {
    this.shared.publish(this.rank, this.replica);
  }

  reduce(): void {
    this.shared.reduce(this.rank);
  }

  /** The reduced gradients into the accumulators, then clipping and AdamW; the pre-clip norm. */
  applyReduced(learningRate: number, step: number): Promise<{ gradNorm: number; skipped?: boolean }> {
    this.shared.collect(this.replica);
    return this.replica.applyOptimizer(learningRate, step);
  }

  evalBatch(batch: Batch): Promise<EvalResult> {
    return this.replica.evalBatch(batch);
  }

  load(tensors: Tensor[], what?: string): void {
    this.replica.load(tensors, what);
  }

  release(): Promise<void> {
    return this.replica.release();
  }
}

/** The operations the main thread asks of a worker's member. */
export type MemberOp = 'accumulate' | 'publish' | 'reduce' | 'applyReduced' | 'evalBatch' | 'load';
