import type { ArtifactManifest } from '@ortrain/artifacts';

/** Where each gradient accumulator sits in a replica's slot of the shared buffer (float32 elements). */
export interface GradientLayout {
  entries: { name: string; shape: number[]; offset: number; size: number }[];
  /** Elements per slot. */
  size: number;
}

/** The manifest's gradient accumulators (role `gradient`), packed one after another. */
export function gradientLayout(manifest: ArtifactManifest): GradientLayout {
  let offset = 0;
  const entries = manifest.state
    .filter((e) => e.role === 'gradient')
    .map((e) => {
      if (e.dataType !== 'float32') {
        throw new Error(
          `data parallel: gradient accumulator '${e.name}' is ${e.dataType}; only float32 is reduced`,
        );
      }
      const size = e.shape.reduce((a, d) => a * d, 1);
      const entry = { name: e.name, shape: [...e.shape], offset, size };
      offset += size;
      return entry;
    });
  return { entries, size: offset };
}

/** What the all-reduce reads from and writes to one replica's accumulators. */
export interface GradientAccess {
  view(name: string): Float32Array;
  load(tensors: { name: string; dataType: 'float32'; dims: number[]; data: Float32Array }[]): void;
}

/**
 * The all-reduce of the replicas' gradient accumulators through one SharedArrayBuffer (no network, no
 * serialization): one float32 slot per replica. Every replica publishes its accumulators into its slot; then
 * replica r sums the r-th of R equal chunks of all slots into slot 0 (a reduce-scatter, so the R threads share
 * the additions); then every replica reads slot 0 back into its accumulators (the all-gather). The caller puts
 * a barrier between the phases (each phase's promises all settle first). The sum is the full batch's gradient
 * because each replica's gradient graph was already scaled by its share of the batch's rows.
 */
export class SharedGradients {
  readonly buffer: SharedArrayBuffer;

  constructor(
    readonly layout: GradientLayout,
    readonly replicas: number,
    buffer?: SharedArrayBuffer,
  ) {
    this.buffer = buffer ?? new SharedArrayBuffer(replicas * layout.size * 4);
  }

  private slot(rank: number): Float32Array {
    return new Float32Array(this.buffer, rank * this.layout.size * 4, this.layout.size);
  }

  publish(rank: number, replica: GradientAccess): void {
    const slot = this.slot(rank);
    for (const e of this.layout.entries) slot.set(replica.view(e.name), e.offset);
  }

  /** Sums chunk `rank` of every slot into slot 0, in rank order (so the sum is the same whoever adds it). */
  reduce(rank: number): void {
    const n = this.layout.size;
    const chunk = Math.ceil(n / this.replicas);
    const [from, to] = [rank * chunk, Math.min(n, (rank + 1) * chunk)];
    const sum = this.slot(0);
    for (let r = 1; r < this.replicas; r++) {
      const other = this.slot(r);
      for (let i = from; i < to; i++) sum[i] = sum[i]! + other[i]!;
    }
  }

  collect(replica: GradientAccess): void {
    const sum = this.slot(0);
    replica.load(
      this.layout.entries.map((e) => ({
        name: e.name,
        dataType: 'float32' as const,
        dims: e.shape,
        data: sum.subarray(e.offset, e.offset + e.size),
      })),
    );
  }
}
