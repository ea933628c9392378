// pnpm bench builds the artifacts; then: node apps/bench/scripts/state-copy-bench.mjs [artifacts dir]
// The fixed cost of a CPU training step's state, apart from any model: every parameter and moment of the
// compiled model (default: the bench's BERT-base) goes through one element-wise pass (x + 1) and comes back as
// an output written in place into its input's buffer, as the trainer's Replica does; the same graph with the
// outputs reduced to a scalar each inside ONNX Runtime runs the same passes without returning the state.
// The difference is what onnxruntime-node's copy of every output into a new JS buffer costs per step; the
// reduced graph's kernel time is one pass over the state (AdamW makes 13, plus the norm's). The trainer's
// DirectSession runs the returning graph through ONNX Runtime's C API, where the outputs stay in place.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readManifest } from '@ortrain/artifacts';
import { attr, emptyGraph, encodeModel, GraphBuilder, modelOf } from '@ortrain/graph';
import { DirectSession } from '@ortrain/trainer';
import * as ort from 'onnxruntime-node';

const dir = process.argv[2] ?? join(tmpdir(), 'ortrain-bench', 'artifacts', 'L12-H768-A12-I3072');
const state = readManifest(dir).state.filter((e) => e.role === 'parameter' || e.role === 'moment');
const bytes = state.reduce((n, e) => n + 4 * e.shape.reduce((a, b) => a * b, 1), 0);

function model(returnState) {
  const g = emptyGraph('state');
  const b = new GraphBuilder(g);
  const one = b.scalar(1, 'float32');
  for (const [i, e] of state.entries()) {
    b.addInput({ name: `x${i}`, type: { dataType: 'float32', shape: e.shape } });
    const y = b.op1('Add', [`x${i}`, one], {}, { outputs: [`y${i}`] });
    if (returnState) b.addOutput({ name: y });
    else b.addOutput({ name: b.op1('ReduceMax', [y], { keepdims: attr.int(0) }, { outputs: [`r${i}`] }) });
  }
  return encodeModel(modelOf(g));
}

const feeds = Object.fromEntries(
  state.map((e, i) => [
    `x${i}`,
    new ort.Tensor('float32', new Float32Array(e.shape.reduce((a, b) => a * b, 1)), e.shape),
  ]),
);
const inPlace = Object.fromEntries(state.map((_, i) => [`y${i}`, feeds[`x${i}`]]));
const work = mkdtempSync(join(tmpdir(), 'state-copy-'));
const open = (returnState) =>
  ort.InferenceSession.create(model(returnState), {
    enableMemPattern: false,
    enableProfiling: true,
    profileFilePrefix: join(work, returnState ? 'returned' : 'reduced'),
  });
const returning = join(work, 'returning.onnx');
writeFileSync(returning, model(true));
const runs = [
  ['state returned (written in place)', await open(true), inPlace],
  ['state reduced inside ONNX Runtime', await open(false), {}],
  ['state returned through the C API', DirectSession.create(returning, { enableMemPattern: false }), inPlace],
];
const wall = runs.map(() => []);
for (let i = 0; i < 10; i++) {
  for (const [k, [, s, fetches]] of runs.entries()) {
    const t0 = performance.now();
    await s.run(feeds, fetches);
    if (i >= 2) wall[k].push(performance.now() - t0);
  }
}
const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
for (const [, s] of runs.slice(0, 2)) s.endProfiling();
const kernelMs = (prefix) => {
  const file = readdirSync(work).find((f) => f.startsWith(prefix));
  const events = JSON.parse(readFileSync(join(work, file), 'utf8'));
  const perRun = events.filter((e) => e.name === 'model_run').slice(2);
  const inRun = (r) =>
    events
      .filter(
        (e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.ts >= r.ts && e.ts <= r.ts + r.dur,
      )
      .reduce((n, e) => n + e.dur, 0) / 1000;
  return median(perRun.map(inRun));
};
const [returned, reduced, direct] = wall.map(median);
console.log(`${state.length} state tensors, ${(bytes / 2 ** 30).toFixed(2)} GiB (${dir})`);
console.log(`  ${runs[0][0]}: ${returned.toFixed(0)} ms per run`);
console.log(
  `  ${runs[1][0]}: ${reduced.toFixed(0)} ms per run (kernels ${kernelMs('reduced').toFixed(0)} ms: one pass over the state)`,
);
console.log(`  ${runs[2][0]}: ${direct.toFixed(0)} ms per run`);
console.log(`  onnxruntime-node's copies of the state: ${(returned - reduced).toFixed(0)} ms per step`);
rmSync(work, { recursive: true, force: true });
