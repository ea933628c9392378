// pnpm turbo run build --filter=@ortrain/artifacts, then: node packages/artifacts/scripts/mask-bench.mjs
// Forward cost of BERT-base 8x128's dropout sites (25 hidden [1024, 768], 12 attention [8, 12, 128, 128]):
// ORT's Dropout against the seeded mask. Each site's output is summed so that it is computed.

import { attr, emptyGraph, encodeModel, GraphBuilder, modelOf } from '@ortrain/graph';
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
  if (seeded) seedDropout(g);
  const b2 = new GraphBuilder(g);
  let total = sites[0].r;
  for (const s of sites.slice(1)) total = b2.op1('Add', [total, s.r]);
  b2.addOutput({ name: total });
  return encodeModel(modelOf(g));
}
const feeds = {
  h: new ort.Tensor('float32', new Float32Array(1024 * 768).fill(1), [1024, 768]),
  p: new ort.Tensor('float32', new Float32Array(8 * 12 * 128 * 128).fill(1), [8, 12, 128, 128]),
};
const base = await ort.InferenceSession.create(model(false), {
  graphOptimizationLevel: 'all',
  enableMemPattern: false,
});
const mine = await ort.InferenceSession.create(model(true), {
  graphOptimizationLevel: 'all',
  enableMemPattern: false,
});
const time = async (s, extra) => {
  const t = [];
  for (let i = 0; i < 12; i++) {
    const t0 = performance.now();
    await s.run({ ...feeds, ...extra });
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return t.slice(2).map((x) => x.toFixed(0));
};
const seed = { dropout_seed: new ort.Tensor('int64', BigInt64Array.of(1n), []) };
for (let round = 0; round < 2; round++) {
  console.log('ORT Dropout ms (sorted, 2 fastest dropped):', (await time(base, {})).join(' '));
  console.log('seeded mask ms (sorted, 2 fastest dropped):', (await time(mine, seed)).join(' '));
}
