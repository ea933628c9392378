/**
 * A worker thread holding one data-parallel replica (its own ONNX Runtime sessions and copy of the state). It
 * runs the main thread's requests in the order they arrive and answers each with its value or error. A close
 * request lets the run in flight finish (ending the thread under a native run would free what ONNX Runtime is
 * still writing, and take the process down), refuses the requests queued behind it, frees the sessions and
 * ends the thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Replica } from '../runtime/replica.js';
import { SharedGradients } from './all-reduce.js';
import { type MemberOp, ReplicaMember } from './member.js';
import type { WorkerInit, WorkerMessage, WorkerReply } from './remote.js';

const init = workerData as WorkerInit;
const member = Replica.open(init.dir, { provider: init.provider, numThreads: init.numThreads }).then(
  (replica) =>
    new ReplicaMember(replica, new SharedGradients(init.layout, init.replicas, init.buffer), init.rank),
);
let queue: Promise<void> = Promise.resolve();
let closing: string | undefined;

parentPort!.on('message', (message: WorkerMessage) => {
  if ('close' in message) {
    closing = message.close;
    queue = queue.then(close);
    return;
  }
  queue = queue.then(async () => {
    let reply: WorkerReply;
    try {
      if (closing !== undefined) throw new Error(closing);
      const m = (await member) as unknown as Record<MemberOp, (...args: unknown[]) => unknown>;
      reply = { id: message.id, value: await m[message.op](...message.args) };
    } catch (e) {
      reply = { id: message.id, error: e instanceof Error ? e.message : String(e) };
    }
    parentPort!.postMessage(reply);
  });
});

/** Frees the sessions and ends the thread: code 0, or 1 where the replica never opened or would not release. */
async function close(): Promise<void> {
  const released = await member
    .then((m) => m.release())
    .then(
      () => true,
      () => false,
    );
  process.exit(released ? 0 : 1);
}
