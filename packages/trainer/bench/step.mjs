// CPU training-step benchmark on a randomly initialized BERT of a chosen size (nothing is downloaded):
//   pnpm --filter @ortrain/trainer build && node packages/trainer/bench/step.mjs --layers 12 --hidden 768
// Reports ms per optimizer step (single runs and K-step Loop runs) and memory growth across steps, which
// stays flat because parameters and moments live in pre-allocated, swapped buffers.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { compileArtifacts, writeSafetensors } from '@ortrain/artifacts';
import { TrainingSession } from '../dist/index.js';

const { values: o } = parseArgs({
  options: {
    layers: { type: 'string', default: '4' },
    hidden: { type: 'string', default: '256' },
    batch: { type: 'string', default: '8' },
    seq: { type: 'string', default: '128' },
    steps: { type: 'string', default: '10' },
    k: { type: 'string', default: '4' },
    threads: { type: 'string', default: '0' },
  },
});
const [L, H, B, S, N, K] = [o.layers, o.hidden, o.batch, o.seq, o.steps, o.k].map(Number);
const I = 4 * H;
const V = 30522;

// Deterministic small normal-ish init (HF's std 0.02); values do not matter for timing.
let seed = 1;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 0.07;
const t = (name, dims, fill) => {
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = fill ?? rand();
  return { name, dataType: 'float32', dims, data };
};
const linear = (p, out, inp) => [t(`${p}.weight`, [out, inp]), t(`${p}.bias`, [out], 0)];
const norm = (p) => [t(`${p}.weight`, [H], 1), t(`${p}.bias`, [H], 0)];
const tensors = [
  t('bert.embeddings.word_embeddings.weight', [V, H]),
  t('bert.embeddings.position_embeddings.weight', [512, H]),
  t('bert.embeddings.token_type_embeddings.weight', [2, H]),
  ...norm('bert.embeddings.LayerNorm'),
];
for (let l = 0; l < L; l++) {
  const p = `bert.encoder.layer.${l}`;
  for (const m of ['query', 'key', 'value']) tensors.push(...linear(`${p}.attention.self.${m}`, H, H));
  tensors.push(...linear(`${p}.attention.output.dense`, H, H), ...norm(`${p}.attention.output.LayerNorm`));
  tensors.push(...linear(`${p}.intermediate.dense`, I, H), ...linear(`${p}.output.dense`, H, I));
  tensors.push(...norm(`${p}.output.LayerNorm`));
}
tensors.push(...linear('bert.pooler.dense', H, H));

const tmp = mkdtempSync(join(tmpdir(), 'ortrain-bench-'));
try {
  const hf = join(tmp, 'hf');
  mkdirSync(hf);
  const config = {
    model_type: 'bert',
    architectures: ['BertModel'],
    hidden_size: H,
    num_hidden_layers: L,
    num_attention_heads: H / 64,
    intermediate_size: I,
    vocab_size: V,
    max_position_embeddings: 512,
    type_vocab_size: 2,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    layer_norm_eps: 1e-12,
    initializer_range: 0.02,
    pad_token_id: 0,
  };
  writeFileSync(join(hf, 'config.json'), JSON.stringify(config));
  writeSafetensors(join(hf, 'model.safetensors'), tensors);
  let t0 = performance.now();
  const { dir } = compileArtifacts(hf, { name: 'bench', outDir: tmp });
  const compileS = (performance.now() - t0) / 1000;

  const session = await TrainingSession.open(dir, { device: 'cpu', numThreads: Number(o.threads) });
  const params = session.manifest.parameters.reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
  const ids = new BigInt64Array(B * S).map((_, i) => BigInt(i % S === 0 ? 101 : 1000 + ((i * 7919) % 20000)));
  const batch = {
    dims: [B, S],
    inputIds: ids,
    attentionMask: new BigInt64Array(B * S).fill(1n),
    tokenTypeIds: new BigInt64Array(B * S),
    labels: new BigInt64Array(B).map((_, i) => BigInt(i % 2)),
    rows: new Int32Array(B),
  };
  for (let i = 0; i < 2; i++) await session.step(batch, 1e-5, i + 1); // warm-up (session creation, arenas)
  const mem0 = process.memoryUsage();
  const times = [];
  for (let i = 0; i < N; i++) {
    t0 = performance.now();
    await session.step(batch, 1e-5, i + 3);
    times.push(performance.now() - t0);
  }
  const stepMs = times.reduce((a, b) => a + b, 0) / N;
  const mem1 = process.memoryUsage();
  await session.multiStep(Array(K).fill(batch), Array(K).fill(1e-5), N + 3); // warm-up
  const loopTimes = [];
  const groups = Math.max(1, Math.round(N / K));
  for (let g = 0; g < groups; g++) {
    t0 = performance.now();
    await session.multiStep(Array(K).fill(batch), Array(K).fill(1e-5), N + 3 + K * (g + 1));
    loopTimes.push((performance.now() - t0) / K);
  }
  const loopMs = loopTimes.reduce((a, b) => a + b, 0) / groups;
  await session.release();
  const mb = (x) => Math.round(x / 2 ** 20);
  console.log(
    JSON.stringify(
      {
        model: { layers: L, hidden: H, parameters: params },
        batch: [B, S],
        compile_s: Number(compileS.toFixed(1)),
        single_step_ms: Math.round(stepMs),
        single_step_ms_each: times.map(Math.round),
        loop_step_ms: Math.round(loopMs),
        loop_step_ms_each_group: loopTimes.map(Math.round),
        k: K,
        rss_growth_mb_over_steps: mb(mem1.rss - mem0.rss),
        array_buffers_growth_mb_over_steps: mb(mem1.arrayBuffers - mem0.arrayBuffers),
        state_mb: mb(params * 4 * 3 * 2),
      },
      null,
      2,
    ),
  );
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
