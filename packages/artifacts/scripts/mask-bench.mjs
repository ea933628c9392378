// pnpm turbo run build --filter=@ortrain/artifacts, then: node packages/artifacts/scripts/mask-bench.mjs
// Cost of BERT-base 8x128's dropout sites (25 hidden [1024, 768], 12 attention [8, 12, 128, 128]): ORT's
// Dropout against the seeded mask, alternating in one process: wall time, and the kernel time ONNX Runtime's
// profiler counts (steadier on a loaded host). Each site's output is summed, and the graphs compute the
// gradient of that sum with respect to the inputs (the masks seeded after autodiff, as compileArtifacts does):
// without a reader of its mask, ONNX Runtime removes a Dropout altogether (EliminateDropout), so a forward
// alone would time ORT's side without any dropout.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { attr, buildGradients, emptyGraph, encodeModel, GraphBuilder, modelOf } from '@ortrain/graph';
import * as ort from 'onnxruntime-node';
import { insertDropout } from '../dist/dropout/dropout.js';
import { seedDropout } from '../dist/dropout/mask.js';

function model(seeded) {
  const g = emptyGraph('m');
  const b = new GraphBuilder(g);
  b.addInput({ name: 'h', type: { dataType: 'float32', shape: [1024, 768] } });
  b.addInput({ name: 'p', type: { dataType: 'float32', shape: [8, 12, 128, 128] } });
  const sites = [];
  for (let i = 0; i < 37; i++) {
    const src = i < 25 ? 'h' : 'p';
    const v = b.op1('Mul', [src, b.scalar(1 + i / 64, 'float32')]);
    const r = b.op1('ReduceSum', [v], { keepdims: attr.int(0) });
    sites.push({ value: v, kind: i < 25 ? 'hidden' : 'attention', readers: [g.nodes.at(-1)], r });
  }
  insertDropout(g, sites, { hidden: 0.1, attention: 0.1, classifier: 0 });
  const b2 = new GraphBuilder(g);
  let total = sites[0].r;
  for (const s of sites.slice(1)) total = b2.op1('Add', [total, s.r]);
  b2.addOutput({ name: total });
  const grads = buildGradients(b2, { loss: total, wrt: ['h', 'p'] });
  for (const x of ['h', 'p']) b2.addOutput({ name: grads.get(x) });
  if (seeded) seedDropout(g);
  return encodeModel(modelOf(g));
}
const feeds = {
  h: new ort.Tensor('float32', new Float32Array(1024 * 768).fill(1), [1024, 768]),
  p: new ort.Tensor('float32', new Float32Array(8 * 12 * 128 * 128).fill(1), [8, 12, 128, 128]),
};
const work = mkdtempSync(join(tmpdir(), 'mask-bench-'));
const session = (seeded) =>
  ort.InferenceSession.create(model(seeded), {
    graphOptimizationLevel: 'all',
    enableMemPattern: false,
    enableProfiling: true,
    profileFilePrefix: join(work, seeded ? 'seeded' : 'ort'),
  });
const runs = [
  ['ORT Dropout', await session(false), {}],
  ['seeded mask', await session(true), { dropout_seed: new ort.Tensor('int64', BigInt64Array.of(1n), []) }],
];
const wall = runs.map(() => []);
for (let i = 0; i < 12; i++) {
  for (const [k, [, s, extra]] of runs.entries()) {
    const t0 = performance.now();
    await s.run({ ...feeds, ...extra });
    if (i >= 2) wall[k].push(performance.now() - t0);
  }
}
const median = (t) => [...t].sort((a, b) => a - b)[t.length >> 1];
/** Kernel milliseconds of each timed run (the profile's model_run events after the 2 warm-up runs). */
const kernels = (file) => {
  const events = JSON.parse(readFileSync(file, 'utf8'));
  return events
    .filter((e) => e.cat === 'Session' && e.name === 'model_run')
    .slice(2)
    .map((r) =>
      events
        .filter(
          (e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.ts >= r.ts && e.ts <= r.ts + r.dur,
        )
        .reduce((t, e) => t + e.dur / 1000, 0),
    );
};
console.log(`forward + backward, 10 runs each after 2, alternating; 1-min load average ${loadavg()[0]}`);
for (const [k, [name, s]] of runs.entries()) {
  s.endProfiling(); // onnxruntime-node returns no file name: the profile is the one file under its prefix
  const k2 = kernels(
    join(
      work,
      readdirSync(work).find((f) => f.startsWith(name.startsWith('ORT') ? 'ort' : 'seeded')),
    ),
  );
  const range = (t) => `${Math.min(...t).toFixed(0)}-${Math.max(...t).toFixed(0)}`;
  console.log(
    `${name}: wall median ${median(wall[k]).toFixed(0)} ms (${range(wall[k])}), kernels median ${median(k2).toFixed(0)} ms (${range(k2)})`,
  );
}
rmSync(work, { recursive: true, force: true });
