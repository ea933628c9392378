// pnpm build; then: node apps/bench/scripts/graphs-ab.mjs DIR_A DIR_B [DIR ...] [rounds]
// Two or more compiled BERT-base artifact folders, e.g. the same seeded checkpoint compiled at two commits: in a
// checkout of each, `node apps/bench/dist/worker.js compile '{"geometry":{"name":"BERT-base 12x768","layers":12,
// "hidden":768,"heads":12,"intermediate":3072},"workDir":"/tmp/at-X"}'` writes /tmp/at-X/artifacts/L12-H768-A12-I3072.
// They take one train-graph run each in turn under ONNX Runtime's profiler, on the profile task's synthetic
// 8 x 128 batch, who goes first rotating, so a graph change is judged by kernel times taken seconds, not
// minutes, apart. Prints, per folder, the medians over the rounds after two warm-up runs of: all kernels; the
// weight gradients' products (outputs shaped like a weight) and the Transposes that feed them; the other
// products; the optimizer; the rest.

import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readManifest } from '@ortrain/artifacts';
import * as ort from 'onnxruntime-node';
import { kernelPhase } from '../dist/profile.js';
import { trainGraphRun } from '../dist/train-graph.js';

const args = process.argv.slice(2);
const rounds = /^\d+$/.test(args.at(-1) ?? '') ? Number(args.pop()) : 10;
if (args.length < 2) throw new Error('usage: graphs-ab.mjs DIR_A DIR_B [DIR ...] [rounds]');

async function open(dir) {
  const { file, feeds, fetches } = trainGraphRun(dir, { batch: 8, seq: 128 }, 2e-5);
  const workDir = mkdtempSync(join(tmpdir(), 'ortrain-graphs-ab-'));
  const session = await ort.InferenceSession.create(file, {
    graphOptimizationLevel: 'all',
    enableProfiling: true,
    profileFilePrefix: join(workDir, 'profile'),
  });
  const weightShapes = new Set(readManifest(dir).state.map((e) => JSON.stringify(e.shape)));
  return { dir, workDir, session, weightShapes, run: () => session.run(feeds, fetches) };
}

const dims = (shapes) => (shapes ?? []).map((s) => Object.values(s)[0]);
/** kernelPhase's split, with the weight gradients and their written-out transposes apart. */
function category(e, weightShapes) {
  const phase = kernelPhase(e);
  if (phase === 'optimizerMs') return 'optimizer';
  if (phase === 'matmulMs') {
    const [out] = dims(e.args.output_type_shape);
    return weightShapes.has(JSON.stringify(out)) ? 'weight gradients' : 'other products';
  }
  // [rows, cols, 1] views: GradContext.transposed.
  const input = dims(e.args.input_type_shape)[0];
  return e.args.op_name === 'Transpose' && input?.at(-1) === 1 ? 'their transposes' : 'rest';
}

const graphs = [];
for (const dir of args) graphs.push(await open(dir));
for (let round = 0; round < rounds + 2; round++) {
  for (let i = 0; i < graphs.length; i++) await graphs[(i + round) % graphs.length].run();
}
const names = ['all', 'weight gradients', 'their transposes', 'other products', 'optimizer', 'rest'];
for (const g of graphs) {
  g.session.endProfiling();
  const file = readdirSync(g.workDir).find((f) => f.endsWith('.json'));
  const events = JSON.parse(readFileSync(join(g.workDir, file), 'utf8'));
  const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
  const runs = events.filter((e) => e.name === 'model_run').slice(2);
  const sums = runs.map((r) => {
    const s = Object.fromEntries(names.map((n) => [n, 0]));
    for (const e of kernels) {
      if (e.ts < r.ts || e.ts > r.ts + r.dur) continue;
      s[category(e, g.weightShapes)] += e.dur / 1000;
      s.all += e.dur / 1000;
    }
    return s;
  });
  const median = (n) => sums.map((s) => s[n]).sort((a, b) => a - b)[sums.length >> 1];
  console.log(`${g.dir}: ${names.map((n) => `${n} ${median(n).toFixed(0)} ms`).join(', ')}`);
  console.log(`  all kernels per run: ${sums.map((s) => s.all.toFixed(0)).join(' ')}`);
}
