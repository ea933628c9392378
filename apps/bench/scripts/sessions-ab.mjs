// pnpm bench builds the artifacts and the batch; then: node apps/bench/scripts/sessions-ab.mjs [artifacts dir] [steps]
// The trainer's two ways of running a CPU session, side by side on BERT-base at 8 x 128: two replicas of the
// same model, one through ONNX Runtime's C API (DirectSession, the default), one through onnxruntime-node's
// sessions (which copy every output, the whole new state, into new JS buffers), stepping in alternation on
// the same batch with the same seeds, which of them goes first alternating too, so the host's drift cancels.
// Prints each pair, the medians after the first step, and how far the two runs' classifier weights are apart.

import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Replica, selectProvider } from '@ortrain/trainer';

const bench = join(tmpdir(), 'ortrain-bench');
const dir = process.argv[2] ?? join(bench, 'artifacts', 'L12-H768-A12-I3072');
const steps = Number(process.argv[3] ?? 11);
const [raw] = JSON.parse(readFileSync(join(bench, 'batch-L12-H768-A12-I3072.json'), 'utf8')).batches;
const ints = (xs) => BigInt64Array.from(xs, BigInt);
const batch = {
  dims: raw.dims,
  inputIds: ints(raw.input_ids),
  attentionMask: ints(raw.attention_mask),
  tokenTypeIds: ints(raw.token_type_ids),
  labels: ints(raw.labels ?? new Array(raw.dims[0]).fill(0)),
};
const provider = await selectProvider('cpu');
const kinds = ['direct', 'binding'];
const replicas = await Promise.all(kinds.map((sessions) => Replica.open(dir, { provider, sessions })));
const times = kinds.map(() => []);
for (let step = 1; step <= steps; step++) {
  const order = step % 2 ? [0, 1] : [1, 0];
  const losses = [];
  for (const k of order) {
    const t0 = performance.now();
    losses[k] = (await replicas[k].step(batch, 2e-5, step, BigInt(step))).loss;
    times[k].push(performance.now() - t0);
  }
  console.log(
    `step ${step}: ${kinds.map((k, i) => `${k} ${times[i].at(-1).toFixed(0)} ms (loss ${losses[i]})`).join(', ')}`,
  );
}
const median = (xs) => xs.slice(1).sort((a, b) => a - b)[(xs.length - 1) >> 1];
console.log(
  `median after the first step: ${kinds.map((k, i) => `${k} ${median(times[i]).toFixed(0)} ms`).join(', ')}`,
);
const [a, b] = replicas.map((r) => r.view('classifier.weight'));
console.log(`classifier.weight, largest difference: ${Math.max(...a.map((x, i) => Math.abs(x - b[i])))}`);
