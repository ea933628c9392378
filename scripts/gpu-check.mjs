// The Node half of scripts/gpu-check.sh (run from the repository root once the packages are built):
//   node scripts/gpu-check.mjs eps             which execution providers load, and what `auto` picks
//   node scripts/gpu-check.mjs usable webgpu   exit 0 when that device loads on a GPU (not a software adapter)
//   node scripts/gpu-check.mjs bench           a training step on each usable GPU device (float32, fp16 and two
//                                              data-parallel replicas), then PyTorch's
// Environment: GPU_CHECK_GEOMETRY (bert-base | 4x256 | 2x128, default bert-base), GPU_CHECK_STEPS (timed
// steps, default 5), GPU_CHECK_ALLOW_SOFTWARE=1 (count a software adapter: to try the script without a GPU).
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileArtifacts } from '../packages/artifacts/dist/index.js';
import { Replica, ReplicaGroup, selectProvider, softwareAdapter } from '../packages/trainer/dist/index.js';

const bench = (file) => import(`../apps/bench/dist/${file}`);
const ort = createRequire(join(process.cwd(), 'packages/trainer/package.json'))('onnxruntime-node');
const say = (label, text) => console.log(`${`${label}:`.padEnd(16)} ${text}`);
const allowSoftware = process.env.GPU_CHECK_ALLOW_SOFTWARE === '1';
const steps = Number(process.env.GPU_CHECK_STEPS ?? 5);
const BATCH = 8;
const SEQ = 128;

async function probe(device) {
  try {
    const choice = await selectProvider(device);
    const software = device === 'webgpu' ? softwareAdapter() : null;
    if (software && !allowSoftware) return { ok: false, why: `loads, but ${software}` };
    return { ok: true, why: choice.reason + (software ? ` (software adapter: ${software})` : '') };
  } catch (e) {
    return { ok: false, why: e.message };
  }
}

async function eps() {
  say(
    'bundled',
    ort
      .listSupportedBackends()
      .map((b) => `${b.name}${b.bundled ? '' : ' (on request)'}`)
      .join(', '),
  );
  for (const device of ['cuda', 'webgpu']) {
    const p = await probe(device);
    say(device, `${p.ok ? 'usable' : 'not usable'}: ${p.why}`);
  }
  const auto = await selectProvider('auto');
  say('auto', `${auto.device}: ${auto.reason}`);
}

async function geometry() {
  const { BERT_BASE, BERT_SMALL, BERT_TINY } = await bench('geometry.js');
  const name = process.env.GPU_CHECK_GEOMETRY ?? 'bert-base';
  const g = [BERT_BASE, BERT_SMALL, BERT_TINY].find(
    (x) => x.name === name || (name === 'bert-base' && x === BERT_BASE),
  );
  if (!g) throw new Error(`GPU_CHECK_GEOMETRY=${name}: expected bert-base, 4x256 or 2x128`);
  return g;
}

/** NVIDIA GPUs nvidia-smi lists (0 without it). */
function gpuCount() {
  try {
    return execFileSync('nvidia-smi', ['--list-gpus'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .trim()
      .split('\n')
      .filter(Boolean).length;
  } catch {
    return 0;
  }
}

/** Used GPU memory in MiB (all processes), or undefined without nvidia-smi. */
function gpuMemoryMiB() {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return Number(out.trim().split('\n')[0]);
  } catch {
    return undefined;
  }
}

/**
 * One device's figures, in a process of its own (child `step <device> <compiled dir> [replicas]`). With
 * replicas > 1: data parallel at batch BATCH per replica (CUDA replicas on GPUs 0..N-1, WebGPU replicas on the
 * one adapter onnxruntime-node can use), samples/s over the global batch.
 */
async function step(device, dir, replicas = 1) {
  const { syntheticBatch } = await bench('batches.js');
  const before = gpuMemoryMiB();
  let peak = before;
  const timer =
    before === undefined
      ? undefined
      : setInterval(() => {
          execFile('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits'], (err, out) => {
            if (!err) peak = Math.max(peak, Number(out.trim().split('\n')[0]));
          });
        }, 200);
  const providers = await Promise.all(
    Array.from({ length: replicas }, (_, id) => selectProvider(device, device === 'cuda' ? id : undefined)),
  );
  const replica =
    replicas === 1
      ? await Replica.open(dir, { provider: providers[0] })
      : await ReplicaGroup.open(dir, providers);
  const rows = BATCH * replicas;
  const batches = Array.from({ length: steps + 2 }, (_, i) => syntheticBatch(rows, SEQ, i));
  let t = performance.now();
  const first = await replica.step(batches[0], 2e-5, 1);
  const firstMs = performance.now() - t;
  await replica.step(batches[1], 2e-5, 2);
  const times = [];
  let last = first;
  for (let i = 0; i < steps; i++) {
    t = performance.now();
    last = await replica.step(batches[i + 2], 2e-5, i + 3);
    times.push(performance.now() - t);
  }
  const transfer = replica.lastTransferBytes;
  await replica.sync();
  await replica.release();
  if (timer) clearInterval(timer);
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  console.log(
    JSON.stringify({
      device,
      replicas,
      firstStepMs: Math.round(firstMs),
      stepMs: Math.round(median),
      samplesPerSecond: +((rows * 1000) / median).toFixed(2),
      deviceMemoryMiB: before === undefined ? null : peak - before,
      hostDeviceBytesPerStep: transfer,
      firstLoss: first.loss,
      lastLoss: last.loss,
    }),
  );
}

async function benchAll() {
  const g = await geometry();
  const usable = [];
  for (const device of ['webgpu', 'cuda']) {
    const p = await probe(device);
    if (p.ok) usable.push(device);
    else say(device, `skipped: ${p.why}`);
  }
  const torch = torchDevice();
  if (usable.length === 0 && !torch.ok) return say('bench', 'skipped: no GPU device is usable');
  const work = mkdtempSync(join(tmpdir(), 'ortrain-gpu-check-'));
  try {
    const { writeRandomBert } = await bench('checkpoint.js');
    const { syntheticBatch, batchesFile } = await bench('batches.js');
    const source = join(work, 'source');
    await writeRandomBert(source, g);
    const { dir } = compileArtifacts(source, { name: g.name, outDir: work });
    const half = compileArtifacts(source, {
      name: `${g.name}-fp16`,
      outDir: work,
      mixedPrecision: 'fp16',
    }).dir;
    say('model', `${g.name} (${g.layers} x ${g.hidden}), batch ${BATCH} x ${SEQ}, ${steps} timed steps`);
    const run = (label, ...args) => {
      const r = spawnSync(process.execPath, [process.argv[1], 'step', ...args], {
        stdio: ['ignore', 'pipe', 'inherit'],
        encoding: 'utf8',
      });
      say(label, r.status === 0 ? r.stdout.trim().split('\n').at(-1) : `failed (exit ${r.status})`);
    };
    for (const device of usable) {
      run(device, device, dir);
      // WebGPU runs fp16 only where the adapter has shader-f16; elsewhere the session fails to load.
      run(`${device} fp16`, device, half);
      if (device === 'cuda' && gpuCount() < 2) say('cuda x2', 'skipped: fewer than 2 GPUs');
      else run(`${device} x2`, device, dir, '2');
    }
    if (!torch.ok) return say('pytorch', `skipped: ${torch.why}`);
    const batchesPath = join(work, 'batches.json');
    const batches = Array.from({ length: steps + 2 }, (_, i) => syntheticBatch(BATCH, SEQ, i));
    writeFileSync(batchesPath, JSON.stringify(batchesFile(batches)));
    const args = ['apps/bench/scripts/torch_bench.py', '--artifacts', dir, '--batches', batchesPath];
    const r = spawnSync(
      torch.python,
      [...args, '--device', 'cuda', '--warmup', '2', '--repeats', String(steps)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        encoding: 'utf8',
      },
    );
    if (r.status !== 0) return say('pytorch', `failed (exit ${r.status})`);
    const t = JSON.parse(r.stdout.trim().split('\n').at(-1));
    const ms = [...t.stepMs].sort((a, b) => a - b)[Math.floor(t.stepMs.length / 2)];
    const mem =
      t.deviceMemoryPeakBytes === undefined ? 'n/a' : `${Math.round(t.deviceMemoryPeakBytes / 2 ** 20)} MiB`;
    say(
      'pytorch cuda',
      `torch ${t.torch}: ${ms.toFixed(1)} ms/step, ${((BATCH * 1000) / ms).toFixed(2)} samples/s, peak allocated ${mem}`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A Python whose torch sees a CUDA GPU ($ORTRAIN_BENCH_PYTHON or python3). */
function torchDevice() {
  const python = process.env.ORTRAIN_BENCH_PYTHON ?? 'python3';
  const r = spawnSync(python, ['-c', 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 3)'], {
    stdio: 'ignore',
  });
  if (r.error) return { ok: false, why: `${python} not found` };
  if (r.status === 3) return { ok: false, why: 'torch sees no CUDA GPU' };
  if (r.status !== 0) return { ok: false, why: `${python} has no torch` };
  return { ok: true, python };
}

const [command, ...rest] = process.argv.slice(2);
if (command === 'eps') await eps();
else if (command === 'usable') process.exitCode = (await probe(rest[0])).ok ? 0 : 1;
else if (command === 'bench') await benchAll();
else if (command === 'step' && rest.length >= 2 && existsSync(rest[1]))
  await step(rest[0], rest[1], Number(rest[2] ?? 1));
else {
  console.error('usage: node scripts/gpu-check.mjs eps | usable <device> | bench');
  process.exitCode = 2;
}
