/**
 * A worker thread holding one data-parallel replica (its own ONNX Runtime sessions and copy of the state). It
 * runs the main thread's requests in the order they arrive and answers each with its value or error.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Replica } from '../runtime/replica.js';
import { SharedGradients } from './all-reduce.js';
import { type MemberOp, ReplicaMember } from './member.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './remote.js';

const init = workerData as WorkerInit;
const member = Replica.open(init.dir, { provider: init.provider, numThreads: init.numThreads }).then(
  (replica) =>
    new ReplicaMember(replica, new SharedGradients(init.layout, init.replicas, init.buffer), init.rank),
);
let queue: Promise<void> = Promise.resolve();

parentPort!.on('message', (request: WorkerRequest) => {
  queue = queue.then(async () => {
    let reply: WorkerReply;
    try {
      const m = (await member) as unknown as Record<MemberOp, (...args: unknown[]) => unknown>;
      reply = { id: request.id, value: await m[request.op](...request.args) };
    } catch (e) {
      reply = { id: request.id, error: e instanceof Error ? e.message : String(e) };
    }
    parentPort!.postMessage(reply);
  });
});
