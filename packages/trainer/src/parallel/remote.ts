import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ProviderChoice } from '../runtime/device.js';
import type { GradientLayout } from './all-reduce.js';
import type { MemberOp, ReplicaMember } from './member.js';

/** What a worker starts from: the compiled folder, its device, and the shared gradient buffer. */
export interface WorkerInit {
  dir: string;
  provider: ProviderChoice;
  numThreads: number;
  rank: number;
  replicas: number;
  layout: GradientLayout;
  buffer: SharedArrayBuffer;
}
export interface WorkerRequest {
  id: number;
  op: MemberOp;
  args: unknown[];
}
/** A request, or the close that ends the worker once its run in flight is done (`close` is the reason). */
export type WorkerMessage = WorkerRequest | { close: string };
export type WorkerReply = { id: number; value?: unknown; error?: string };

type Result<K extends MemberOp> = Awaited<ReturnType<ReplicaMember[K]>>;

/**
 * The main thread's handle on a replica in a worker thread: the member's operations as messages. A worker
 * that throws, fails to start or exits fails every pending call and calls `onFault` once; the worker holds
 * the process open only while a call is pending, so a failed or idle group never keeps Node running.
 */
export class RemoteMember {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private fault?: Error;
  private readonly exited: Promise<number>;

  constructor(
    readonly rank: number,
    readonly label: string,
    init: WorkerInit,
    private readonly onFault: (error: Error) => void,
  ) {
    const script = new URL('./worker.js', import.meta.url);
    if (!existsSync(fileURLToPath(script))) {
      throw new Error(
        `data parallel: the replica worker script ${fileURLToPath(script)} is missing; run the built package (pnpm build)`,
      );
    }
    this.worker = new Worker(script, { workerData: init });
    this.worker.unref();
    this.worker.on('message', (reply: WorkerReply) => this.settle(reply));
    this.worker.on('error', (e) => this.fail(`${label} failed: ${e.message}`));
    this.worker.on('exit', (code) => this.fail(`${label} exited (code ${code})`));
    this.exited = new Promise((resolve) => this.worker.once('exit', resolve));
  }

  call<K extends MemberOp>(op: K, ...args: Parameters<ReplicaMember[K]>): Promise<Result<K>> {
    if (this.fault) return Promise.reject(this.fault);
    const id = this.nextId++;
    return new Promise<Result<K>>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ id, op, args } satisfies WorkerRequest);
    });
  }

  private settle(reply: WorkerReply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.error !== undefined) p.reject(new Error(`${this.label} failed: ${reply.error}`));
    else p.resolve(reply.value);
  }

  private fail(message: string): void {
    if (this.fault) return;
    this.fault = new Error(message);
    for (const p of this.pending.values()) p.reject(this.fault);
    this.pending.clear();
    this.worker.unref();
    this.onFault(this.fault);
  }

  /**
   * Ends the worker; pending calls fail with `reason` at once. The thread itself ends only after the run it may
   * be in finishes (see worker.ts), and holds the process open until then: Node ending it at exit mid-run would
   * be the same crash.
   */
  async close(reason: string): Promise<void> {
    this.fault ??= new Error(reason);
    for (const p of this.pending.values()) p.reject(this.fault);
    this.pending.clear();
    this.worker.ref();
    this.worker.postMessage({ close: reason } satisfies WorkerMessage);
    await this.exited;
  }
}
