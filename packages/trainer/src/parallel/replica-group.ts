import type { ArtifactManifest, CompiledModel } from '@ortrain/artifacts';
import { type Batch, shardPositions } from '@ortrain/data';
import type { Tensor } from '@ortrain/graph';
import type { ProviderChoice } from '../runtime/device.js';
import { type EvalResult, Replica, type StepResult } from '../runtime/replica.js';
import { gradientLayout, SharedGradients } from './all-reduce.js';
import { ReplicaMember } from './member.js';
import { RemoteMember } from './remote.js';

/**
 * Data parallelism on one machine: one replica per device, each with its own sessions and copy of the state.
 * Rank 0 lives in the main thread (the Trainer reads weights, writes checkpoints and the export from it, as from
 * a single replica); ranks 1.. live in worker threads (onnxruntime-node sessions run there, and typed arrays
 * over a SharedArrayBuffer carry the all-reduce without copies between threads or processes).
 *
 * A step takes one global batch, splits its rows as DistributedSampler does (shardPositions), runs the gradient
 * graph on every replica with the loss scaled by gradScale x (its rows / the batch's rows), sums the
 * accumulators through shared memory, and runs the optimizer graph on every replica: the summed gradient is
 * the full batch's mean gradient, and every replica applies the same update to the same state, so no weights
 * cross threads (a broadcast from one replica would copy parameters and both moments, three times the
 * gradients, every step). A replica that fails stops every replica.
 */
export class ReplicaGroup {
  private readonly members: (ReplicaMember | RemoteMember)[];
  private fault?: Error;

  private constructor(
    readonly main: Replica,
    providers: ProviderChoice[],
    numThreads: number,
  ) {
    const layout = gradientLayout(main.manifest);
    const shared = new SharedGradients(layout, providers.length);
    this.members = [new ReplicaMember(main, shared, 0)];
    for (let rank = 1; rank < providers.length; rank++) {
      const init = {
        dir: main.dir,
        provider: providers[rank]!,
        numThreads,
        rank,
        replicas: providers.length,
        layout,
        buffer: shared.buffer,
      };
      this.members.push(
        new RemoteMember(rank, labelOf(rank, providers[rank]!), init, (e) => void this.stop(e)),
      );
    }
  }

  /** Replicas of a compiled folder, one per provider; every replica starts from rank 0's weights. */
  static async open(
    model: CompiledModel | string,
    providers: ProviderChoice[],
    numThreads = 0,
  ): Promise<ReplicaGroup> {
    const main = await Replica.open(model, { provider: providers[0]!, numThreads });
    const group = new ReplicaGroup(main, providers, numThreads);
    group.load(main.weights());
    return group;
  }

  get size(): number {
    return this.members.length;
  }
  get manifest(): ArtifactManifest {
    return this.main.manifest;
  }
  get dir(): string {
    return this.main.dir;
  }
  get provider(): ProviderChoice {
    return this.main.provider;
  }

  /**
   * Runs `op` on every member (rank 0 here, the others in their workers); a failure stops all. It waits for
   * every member's part to settle first, so no run of rank 0 is still in flight when the error reaches a
   * caller that may release its sessions.
   */
  private async all<T>(op: (m: ReplicaMember | RemoteMember) => Promise<T> | T): Promise<T[]> {
    if (this.fault) throw this.fault;
    const settled = await Promise.allSettled(this.members.map(async (m) => op(m)));
    const failed = settled.find((s) => s.status === 'rejected');
    if (!failed) return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
    await this.stop(failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason)));
    throw this.fault!;
  }

  /** Closes every worker once, with a message saying which replica failed and that all stopped. */
  private async stop(cause: Error): Promise<void> {
    if (this.fault) return;
    this.fault = new Error(`data parallel: ${cause.message}; every replica stopped`, { cause });
    await Promise.all(
      this.members.map((m) => (m instanceof RemoteMember ? m.close(this.fault!.message) : undefined)),
    );
  }

  /**
   * Adds one global batch's gradients (scaled by gradScale) across the replicas; its mean loss over all rows.
   * Each replica draws its dropout masks from its own seed (replicaSeed), not the same masks as its peers.
   */
  async accumulate(batch: Batch, gradScale: number, dropoutSeed?: bigint): Promise<number> {
    const rows = batch.dims[0];
    const parts = shardPositions(rows, this.size).map((p) => (p.length > 0 ? selectRows(batch, p) : null));
    const losses = await this.all((m) => {
      const part = parts[m.rank];
      if (!part) return 0;
      const scale = (gradScale * part.dims[0]) / rows;
      const seed = dropoutSeed === undefined ? undefined : replicaSeed(dropoutSeed, m.rank, this.size);
      return m instanceof RemoteMember
        ? m.call('accumulate', part, scale, seed)
        : m.accumulate(part, scale, seed);
    });
    return losses.reduce((sum, l, r) => sum + (parts[r] ? (l * parts[r].dims[0]) / rows : 0), 0);
  }

  /** All-reduces the accumulators, then clips and applies them on every replica; the pre-clip norm. */
  /** Every replica applies the same reduced gradients, so each one's outcome (norm, skipped step) is rank 0's. */
  async applyOptimizer(learningRate: number, step: number): Promise<{ gradNorm: number; skipped?: boolean }> {
    await this.all((m) => (m instanceof RemoteMember ? m.call('publish') : m.publish()));
    await this.all((m) => (m instanceof RemoteMember ? m.call('reduce') : m.reduce()));
    const norms = await this.all((m) =>
      m instanceof RemoteMember
        ? m.call('applyReduced', learningRate, step)
        : m.applyReduced(learningRate, step),
    );
    return norms[0]!;
  }

  async step(batch: Batch, learningRate: number, step: number, dropoutSeed?: bigint): Promise<StepResult> {
    const loss = await this.accumulate(batch, 1, dropoutSeed);
    return { loss, ...(await this.applyOptimizer(learningRate, step)) };
  }

  /** Evaluates a global batch split across the replicas; logits gathered back in the batch's row order. */
  async evalBatch(batch: Batch): Promise<EvalResult> {
    const rows = batch.dims[0];
    const shards = shardPositions(rows, this.size);
    const results = await this.all((m) => {
      const p = shards[m.rank]!;
      if (p.length === 0) return null;
      const part = selectRows(batch, p);
      return m instanceof RemoteMember ? m.call('evalBatch', part) : m.evalBatch(part);
    });
    const numLabels = this.manifest.model.numLabels;
    const logits = new Float32Array(rows * numLabels);
    let lossSum = 0;
    let withLoss = 0;
    results.forEach((r, rank) => {
      if (!r) return;
      shards[rank]!.forEach((pos, j) => {
        logits.set(r.logits.subarray(j * numLabels, (j + 1) * numLabels), pos * numLabels);
      });
      if (r.loss !== undefined) {
        lossSum += r.loss * shards[rank]!.length;
        withLoss += shards[rank]!.length;
      }
    });
    return withLoss > 0 ? { logits, loss: lossSum / withLoss } : { logits };
  }

  /** Loads state into every replica (rank 0 now; the workers' copies before their next request). */
  load(tensors: Iterable<Tensor>, what?: string): void {
    if (this.fault) throw this.fault;
    const list = [...tensors];
    this.main.load(list, what);
    for (const m of this.members) {
      if (m instanceof RemoteMember) m.call('load', list, what).catch((e: Error) => this.stop(e));
    }
  }

  weights(): Tensor[] {
    return this.main.weights();
  }
  optimizerState(): Tensor[] {
    return this.main.optimizerState();
  }
  /** Rank 0's host<->device bytes in its last run (the other ranks move as much). */
  get lastTransferBytes(): number {
    return this.main.lastTransferBytes;
  }

  /** Reads rank 0's device-resident state back to the host, for checkpoints and the export. */
  sync(): Promise<void> {
    return this.main.sync();
  }

  /** fp16's loss scale: every replica updates it from the same reduced gradients, so rank 0's is everyone's. */
  lossScale(): Promise<number | undefined> {
    return this.main.lossScale();
  }
  view(name: string): Float32Array {
    return this.main.view(name);
  }

  async release(): Promise<void> {
    await this.main.release();
    await Promise.all(
      this.members.map((m) =>
        m instanceof RemoteMember ? m.close('the replica group was released') : undefined,
      ),
    );
  }
}

/**
 * A replica's dropout seed: the trainer's seed keeps args.seed in its high 32 bits and counts micro-batches in
 * the low ones; replica r of R takes micro-batch x R + r there, so no two (micro-batch, replica) pairs share masks.
 */
export function replicaSeed(seed: bigint, rank: number, replicas: number): bigint {
  const low = seed & 0xffffffffn;
  return seed - low + ((low * BigInt(replicas) + BigInt(rank)) & 0xffffffffn);
}

function labelOf(rank: number, p: ProviderChoice): string {
  return `replica ${rank} (${p.device}${p.deviceId !== undefined ? `:${p.deviceId}` : ''})`;
}

/** The rows at `positions` of a collated batch, keeping its padded length (every replica pads alike). */
function selectRows(batch: Batch, positions: Int32Array): Batch {
  const seq = batch.dims[1];
  const pick = (a: BigInt64Array) => {
    const out = new BigInt64Array(positions.length * seq);
    positions.forEach((p, j) => {
      out.set(a.subarray(p * seq, (p + 1) * seq), j * seq);
    });
    return out;
  };
  const labels = batch.labels;
  return {
    dims: [positions.length, seq],
    inputIds: pick(batch.inputIds),
    attentionMask: pick(batch.attentionMask),
    tokenTypeIds: pick(batch.tokenTypeIds),
    labels:
      labels === null
        ? null
        : labels instanceof Float32Array
          ? Float32Array.from(positions, (p) => labels[p]!)
          : BigInt64Array.from(positions, (p) => labels[p]!),
    rows: Int32Array.from(positions, (p) => batch.rows[p]!),
  };
}
