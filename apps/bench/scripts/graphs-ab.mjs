// pnpm bench builds the batch; then: node apps/bench/scripts/graphs-ab.mjs DIR_A DIR_B [DIR ...] [rounds]
// Two or more compiled BERT-base artifact folders, e.g. the same seeded checkpoint compiled at two commits: in a
// checkout of each, `node apps/bench/dist/worker.js compile '{"geometry":{"name":"BERT-base 12x768","layers":12,
// "hidden":768,"heads":12,"intermediate":3072},"workDir":"/tmp/at-X"}'` writes /tmp/at-X/artifacts/L12-H768-A12-I3072.
// They take one train-graph run each in turn under ONNX Runtime's profiler, on the bench's 8 x 128 batch, who
// goes first rotating, so a graph change is judged by kernel times taken seconds, not minutes, apart. Prints,
// per folder, the medians over the rounds after two warm-up runs of: all kernels; the weight gradients'
// products (outputs shaped like a weight) and the Transposes that feed them; the other products; the
// optimizer; the rest.

import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DROPOUT_SEED, readManifest, readSafetensors } from '@ortrain/artifacts';
import * as ort from 'onnxruntime-node';

const args = process.argv.slice(2);
const rounds = /^\d+$/.test(args.at(-1) ?? '') ? Number(args.pop()) : 10;
if (args.length < 2) throw new Error('usage: graphs-ab.mjs DIR_A DIR_B [DIR ...] [rounds]');
const bench = join(tmpdir(), 'ortrain-bench');
const [raw] = JSON.parse(readFileSync(join(bench, 'batch-L12-H768-A12-I3072.json'), 'utf8')).batches;
const ints = (xs) => BigInt64Array.from(xs, BigInt);
const zeros = (shape) => new Float32Array(shape.reduce((a, b) => a * b, 1));

async function open(dir) {
  const manifest = readManifest(dir);
  const weights = readSafetensors(join(dir, manifest.weights));
  const [batch, seq] = raw.dims;
  const values = {
    input_ids: new ort.Tensor('int64', ints(raw.input_ids), raw.dims),
    attention_mask: new ort.Tensor('int64', ints(raw.attention_mask), raw.dims),
    token_type_ids: new ort.Tensor('int64', ints(raw.token_type_ids), [batch, seq]),
    labels: new ort.Tensor('int64', ints(raw.labels ?? new Array(batch).fill(0)), [batch]),
    learning_rate: new ort.Tensor('float32', Float32Array.of(2e-5), []),
    step: new ort.Tensor('float32', Float32Array.of(1), []),
    [DROPOUT_SEED]: new ort.Tensor('int64', BigInt64Array.of(42n << 32n), []),
  };
  const state = manifest.state.filter((e) => e.readBy.includes('train'));
  for (const e of state)
    values[e.name] = new ort.Tensor('float32', weights.get(e.name)?.data ?? zeros(e.shape), e.shape);
  const io = manifest.graphs.train;
  const feeds = Object.fromEntries(io.inputs.map((n) => [n, values[n]]));
  // The new state goes into pre-allocated buffers, as in training.
  const fetches = Object.fromEntries(io.outputs.map((o) => [o, null]));
  for (const e of state.filter((x) => x.writtenBy.includes('train'))) {
    fetches[e.update] = new ort.Tensor('float32', zeros(e.shape), e.shape);
  }
  const workDir = mkdtempSync(join(tmpdir(), 'ortrain-graphs-ab-'));
  const session = await ort.InferenceSession.create(join(dir, io.file), {
    graphOptimizationLevel: 'all',
    enableProfiling: true,
    profileFilePrefix: join(workDir, 'profile'),
  });
  const weightShapes = new Set(state.map((e) => JSON.stringify(e.shape)));
  return { dir, workDir, session, weightShapes, run: () => session.run(feeds, fetches) };
}

const dims = (shapes) => (shapes ?? []).map((s) => Object.values(s)[0]);
function category(e, weightShapes) {
  const op = e.args.op_name;
  const [out] = dims(e.args.output_type_shape);
  if (e.name.startsWith('/optimizer/')) return 'optimizer';
  if (/MatMul|Gemm/.test(op))
    return weightShapes.has(JSON.stringify(out)) ? 'weight gradients' : 'other products';
  // The weight gradients' written-out transposes: [rows, cols, 1] views (GradContext.transposed).
  if (op === 'Transpose' && dims(e.args.input_type_shape)[0]?.at(-1) === 1) return 'their transposes';
  return 'rest';
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
