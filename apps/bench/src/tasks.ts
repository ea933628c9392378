/**
 * The benchmarks themselves. Each runs in its own child process (see worker.ts), so that its peak RSS is its
 * own and no benchmark warms another's caches; each can also be called in-process (tests).
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { compileArtifacts, exportInference, readManifest } from '@ortrain/artifacts';
import {
  type Batch,
  DataCollatorWithPadding,
  loadGlueFromDir,
  RandomSampler,
  SequentialSampler,
  TextTokenizer,
  type TokenizedDataset,
  tokenizeDataset,
} from '@ortrain/data';
import { emptyGraph, encodeModel, GraphBuilder } from '@ortrain/graph';
import { Replica, ReplicaGroup, type SessionKind, selectProvider } from '@ortrain/trainer';
import * as ort from 'onnxruntime-node';
import { batchesFile, evenlySpaced, readBatchesFile, syntheticBatch } from './batches.js';
import { writeRandomBert } from './checkpoint.js';
import { type Geometry, geometryKey } from './geometry.js';
import { peakRssMiB } from './memory.js';
import { type ProfileSummary, summarizeProfile, type TraceEvent } from './profile.js';
import { type RepeatOptions, type Summary, scale, summarize, throughput, timeRuns } from './stats.js';
import { type StepServerIO, serveSteps } from './step-server.js';
import { trainGraphRun } from './train-graph.js';

/** The learning rate of every timed step (HF's default; the value does not change a step's cost). */
const LEARNING_RATE = 2e-5;

export interface CompileArgs {
  geometry: Geometry;
  workDir: string;
  /** Compile for fp16 mixed precision (`--fp16`: autocast pass and loss scaling), without the K-step graph. */
  fp16?: boolean;
}

export interface CompileFigures {
  dir: string;
  /** Writing the random HF checkpoint (not part of ortrain's cost; shown for context). */
  checkpointMs: number;
  /** compileArtifacts: import, head, dropout, loss, gradients, optimizer, six ONNX files and weights. */
  compileMs: number;
  artifactBytes: number;
  peakRssMiB: number;
}

export async function compileTask(a: CompileArgs): Promise<CompileFigures> {
  const key = geometryKey(a.geometry);
  const source = join(a.workDir, 'checkpoints', key);
  let t0 = performance.now();
  await writeRandomBert(source, a.geometry);
  const checkpointMs = performance.now() - t0;
  t0 = performance.now();
  // With the K-step graph: trainTask also times steps_per_run (fp16 runs one step per run).
  const { dir } = compileArtifacts(source, {
    name: a.fp16 ? `${key}-fp16` : key,
    outDir: join(a.workDir, 'artifacts'),
    ...(a.fp16 ? { mixedPrecision: 'fp16' as const } : { multiStep: true }),
  });
  const compileMs = performance.now() - t0;
  const artifactBytes = readdirSync(dir).reduce((s, f) => s + statSync(join(dir, f)).size, 0);
  return { dir, checkpointMs, compileMs, artifactBytes, peakRssMiB: peakRssMiB() };
}

export interface Shape {
  batch: number;
  seq: number;
}

export interface TrainArgs extends RepeatOptions {
  dir: string;
  shapes: Shape[];
  threads?: number;
  /** Optimizer steps per session run (the trainer's steps_per_run: an ONNX Loop over K batches); default 1. */
  stepsPerRun?: number;
  /** How the sessions run (the Replica's default: direct, through ONNX Runtime's C API). */
  sessions?: SessionKind;
}

export interface ShapeFigures extends Shape {
  stepMs: Summary;
  samplesPerSec: Summary;
  /** Loss of the last step (a sanity check that training ran on real numbers). */
  loss: number;
}

export interface TrainFigures {
  /** Replica.open: manifest and weights into state buffers. */
  openMs: number;
  /** The first session run (a step, or stepsPerRun of them), which also creates the ONNX Runtime session. */
  firstStepMs: number;
  /** From process start (Node startup and module loading included) to the end of the first step. */
  timeToFirstStepMs: number;
  shapes: ShapeFigures[];
  peakRssMiB: number;
}

export async function trainTask(a: TrainArgs): Promise<TrainFigures> {
  let t0 = performance.now();
  const session = await Replica.open(a.dir, {
    provider: await selectProvider('cpu'),
    numThreads: a.threads ?? 0,
    ...(a.sessions && { sessions: a.sessions }),
  });
  const openMs = performance.now() - t0;
  let step = 0;
  const k = a.stepsPerRun ?? 1;
  /** One session run: a step, or k of them in the multi-step graph. Returns the last loss. */
  const run = async (batch: Batch): Promise<number> => {
    if (k === 1) return (await session.step(batch, LEARNING_RATE, ++step)).loss;
    const results = await session.multiStep(Array(k).fill(batch), Array(k).fill(LEARNING_RATE), step + 1);
    step += k;
    return results.at(-1)!.loss;
  };
  t0 = performance.now();
  await run(syntheticBatch(a.shapes[0]!.batch, a.shapes[0]!.seq));
  const firstStepMs = performance.now() - t0;
  const timeToFirstStepMs = performance.now();
  const shapes: ShapeFigures[] = [];
  for (const s of a.shapes) {
    const batch = syntheticBatch(s.batch, s.seq);
    let loss = Number.NaN;
    const ms = scale(
      summarize(
        await timeRuns(async () => {
          loss = await run(batch);
        }, a),
      ),
      1 / k,
    );
    if (!Number.isFinite(loss)) throw new Error(`training at ${s.batch}x${s.seq} gave loss ${loss}`);
    shapes.push({ ...s, stepMs: ms, samplesPerSec: throughput(ms, s.batch), loss });
  }
  await session.release();
  return { openMs, firstStepMs, timeToFirstStepMs, shapes, peakRssMiB: peakRssMiB() };
}

export interface ParallelArgs extends RepeatOptions, Shape {
  dir: string;
  /** Replica counts to compare; each replica runs ONNX Runtime on one thread. */
  replicas: number[];
}

export interface ParallelFigures {
  rows: { replicas: number; stepMs: Summary; samplesPerSec: Summary; loss: number }[];
  peakRssMiB: number;
}

/**
 * Data parallel on CPU: one optimizer step over the same global batch on 1 replica (Replica.step) and on R
 * replicas of one thread each (ReplicaGroup: the batch split R ways, gradients all-reduced through shared
 * memory, the optimizer on every replica), as `--devices cpu:R` trains.
 */
export async function parallelTask(a: ParallelArgs): Promise<ParallelFigures> {
  const provider = await selectProvider('cpu');
  const batch = syntheticBatch(a.batch, a.seq);
  const rows: ParallelFigures['rows'] = [];
  for (const r of a.replicas) {
    const replica =
      r === 1
        ? await Replica.open(a.dir, { provider, numThreads: 1 })
        : await ReplicaGroup.open(a.dir, Array(r).fill(provider), 1);
    let step = 0;
    let loss = Number.NaN;
    const ms = summarize(
      await timeRuns(async () => {
        loss = (await replica.step(batch, LEARNING_RATE, ++step)).loss;
      }, a),
    );
    if (!Number.isFinite(loss)) throw new Error(`${r} replicas gave loss ${loss}`);
    rows.push({ replicas: r, stepMs: ms, samplesPerSec: throughput(ms, a.batch), loss });
    await replica.release();
  }
  return { rows, peakRssMiB: peakRssMiB() };
}

export interface EvalArgs extends RepeatOptions, Shape {
  dir: string;
}

export interface EvalFigures {
  stepMs: Summary;
  samplesPerSec: Summary;
  /** Eval loss of synthetic batch 0 with the initial weights (compared with PyTorch's on the same model). */
  initialLoss: number;
  peakRssMiB: number;
}

export async function evalTask(a: EvalArgs): Promise<EvalFigures> {
  const session = await Replica.open(a.dir, { provider: await selectProvider('cpu') });
  const batch = syntheticBatch(a.batch, a.seq);
  const initialLoss = (await session.evalBatch(batch)).loss ?? Number.NaN;
  const ms = summarize(await timeRuns(() => session.evalBatch(batch), a));
  await session.release();
  return { stepMs: ms, samplesPerSec: throughput(ms, a.batch), initialLoss, peakRssMiB: peakRssMiB() };
}

export interface ForwardArgs extends RepeatOptions, Shape {
  dir: string;
  workDir: string;
}

export interface ForwardFigures {
  exportMs: number;
  stepMs: Summary;
  samplesPerSec: Summary;
  peakRssMiB: number;
}

/**
 * The yardstick: the same model's forward pass (to logits) as a plain inference model, weights baked in as
 * initializers, run by onnxruntime-node with default session options: what ONNX Runtime does at its best.
 */
export async function forwardTask(a: ForwardArgs): Promise<ForwardFigures> {
  const manifest = readManifest(a.dir);
  const t0 = performance.now();
  const file = exportInference(a.dir, join(a.workDir, 'inference', manifest.name));
  const exportMs = performance.now() - t0;
  const session = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'all' });
  const b = syntheticBatch(a.batch, a.seq);
  const feeds: Record<string, ort.Tensor> = {};
  const fields = { input_ids: b.inputIds, attention_mask: b.attentionMask, token_type_ids: b.tokenTypeIds };
  for (const name of session.inputNames) {
    const data = fields[name as keyof typeof fields];
    if (!data) throw new Error(`${file}: unexpected input '${name}'`);
    feeds[name] = new ort.Tensor('int64', data, [a.batch, a.seq]);
  }
  const ms = summarize(await timeRuns(() => session.run(feeds), a));
  await session.release();
  return { exportMs, stepMs: ms, samplesPerSec: throughput(ms, a.batch), peakRssMiB: peakRssMiB() };
}

/** Where the real data lives: `<sharedDir>/glue/<TASK>` and `<sharedDir>/tokenizers/bert-base-uncased`. */
function tokenizerDir(sharedDir: string): string {
  return join(sharedDir, 'tokenizers', 'bert-base-uncased');
}

async function tokenizedSplit(
  sharedDir: string,
  tokenizer: TextTokenizer,
  task: string,
  split: string,
): Promise<TokenizedDataset> {
  return tokenizeDataset(await loadGlueFromDir(join(sharedDir, 'glue'), task, split), tokenizer);
}

export interface MrpcArgs {
  dir: string;
  sharedDir: string;
  batch: number;
  /** Steps run before timing (their shapes differ from the timed ones, as in a real epoch). */
  warmup: number;
  /** Batches timed, spread evenly over epoch 0's shuffled order. */
  sample: number;
  epochs: number;
  seed: number;
  /** Time one full pass over the dev split (the per-epoch evaluation) too. */
  evalDev: boolean;
  /** Write the warm-up then the timed batches here for the PyTorch comparison. */
  batchesOut?: string;
}

export interface LengthStats {
  mean: number;
  min: number;
  max: number;
}

export interface MrpcFigures {
  trainRows: number;
  stepsPerEpoch: number;
  /** Padded sequence length of every batch of epoch 0, and of the timed sample. */
  epochLengths: LengthStats;
  sampleLengths: LengthStats;
  stepMs: Summary;
  meanStepMs: number;
  /** Rows over time, summed over the timed steps. */
  samplesPerSec: number;
  devRows?: number;
  devEvalMs?: number;
  devSamplesPerSec?: number;
  /** epochs x (steps x mean step time + one dev evaluation), in minutes. */
  projectedMinutes: number;
  peakRssMiB: number;
}

function lengthStats(xs: readonly number[]): LengthStats {
  return { mean: xs.reduce((a, b) => a + b, 0) / xs.length, min: Math.min(...xs), max: Math.max(...xs) };
}

/**
 * Training at MRPC's real length distribution: bert-base-uncased tokenization of GLUE MRPC train, the HF
 * Trainer's shuffled batches with dynamic padding (each batch padded to its longest row), timed on an even
 * sample of epoch 0 and projected to a whole fine-tune, per-epoch dev evaluation included.
 */
export async function mrpcTask(a: MrpcArgs): Promise<MrpcFigures> {
  // One tokenizer load serves train and dev.
  const tokenizer = await TextTokenizer.fromPretrained(tokenizerDir(a.sharedDir));
  const train = await tokenizedSplit(a.sharedDir, tokenizer, 'mrpc', 'train');
  const collator = new DataCollatorWithPadding();
  const sampler = new RandomSampler(train.numRows, { batchSize: a.batch, seed: a.seed });
  const epoch = [...sampler.batches(0)].map((rows) => collator.collate(train, rows));
  const picked = evenlySpaced(epoch.length, a.sample).map((i) => epoch[i]!);
  // Warm up on the epoch's last batches, outside the sample, so that no timed shape has been seen before.
  const warmup = Array.from({ length: a.warmup }, (_, i) => epoch[epoch.length - 1 - i]!);
  if (a.batchesOut) writeFileSync(a.batchesOut, JSON.stringify(batchesFile([...warmup, ...picked])));

  const session = await Replica.open(a.dir, { provider: await selectProvider('cpu') });
  let step = 0;
  for (const b of warmup) await session.step(b, LEARNING_RATE, ++step);
  const times: number[] = [];
  let rows = 0;
  for (const b of picked) {
    const t0 = performance.now();
    await session.step(b, LEARNING_RATE, ++step);
    times.push(performance.now() - t0);
    rows += b.dims[0];
  }
  const total = times.reduce((x, y) => x + y, 0);
  const meanStepMs = total / times.length;
  const figures: MrpcFigures = {
    trainRows: train.numRows,
    stepsPerEpoch: epoch.length,
    epochLengths: lengthStats(epoch.map((b) => b.dims[1])),
    sampleLengths: lengthStats(picked.map((b) => b.dims[1])),
    stepMs: summarize(times),
    meanStepMs,
    samplesPerSec: (rows * 1000) / total,
    projectedMinutes: 0,
    peakRssMiB: 0,
  };
  let evalMs = 0;
  if (a.evalDev) {
    const dev = await tokenizedSplit(a.sharedDir, tokenizer, 'mrpc', 'validation');
    const t0 = performance.now();
    for (const r of new SequentialSampler(dev.numRows, { batchSize: a.batch }).batches(0)) {
      await session.evalBatch(collator.collate(dev, r));
    }
    evalMs = performance.now() - t0;
    figures.devRows = dev.numRows;
    figures.devEvalMs = evalMs;
    figures.devSamplesPerSec = (dev.numRows * 1000) / evalMs;
  }
  await session.release();
  figures.projectedMinutes = (a.epochs * (epoch.length * meanStepMs + evalMs)) / 60_000;
  figures.peakRssMiB = peakRssMiB();
  return figures;
}

export interface TokenizeArgs {
  sharedDir: string;
  repeats: number;
}

export interface TokenizeFigures {
  loadMs: number;
  splits: {
    task: string;
    rows: number;
    tokens: number;
    ms: Summary;
    rowsPerSec: Summary;
    tokensPerSec: Summary;
  }[];
  peakRssMiB: number;
}

/** bert-base-uncased tokenization (with truncation, packed into typed arrays) of MRPC train and SST-2 train. */
export async function tokenizeTask(a: TokenizeArgs): Promise<TokenizeFigures> {
  const t0 = performance.now();
  const tokenizer = await TextTokenizer.fromPretrained(tokenizerDir(a.sharedDir));
  const loadMs = performance.now() - t0;
  const splits: TokenizeFigures['splits'] = [];
  for (const task of ['mrpc', 'sst2']) {
    const ds = await loadGlueFromDir(join(a.sharedDir, 'glue'), task, 'train');
    let tokens = 0;
    const ms = summarize(
      await timeRuns(
        async () => {
          tokens = tokenizeDataset(ds, tokenizer).inputIds.length;
        },
        { warmup: 0, repeats: a.repeats },
      ),
    );
    splits.push({
      task,
      rows: ds.numRows,
      tokens,
      ms,
      rowsPerSec: throughput(ms, ds.numRows),
      tokensPerSec: throughput(ms, tokens),
    });
  }
  return { loadMs, splits, peakRssMiB: peakRssMiB() };
}

export interface ProfileArgs extends Shape {
  dir: string;
  workDir: string;
  warmup: number;
}

export interface ProfileFigures extends ProfileSummary {
  /** Wall time of the profiled run (profiling adds a little overhead). */
  runMs: number;
  profileFile: string;
}

/**
 * One training step (the train graph: forward, loss, gradients, clipping, AdamW) under ONNX Runtime's
 * profiler, per-op-type and per-node kernel time of the last run after warm-up.
 */
export async function profileTask(a: ProfileArgs): Promise<ProfileFigures> {
  const { file: graph, feeds, fetches } = trainGraphRun(a.dir, a, LEARNING_RATE);
  mkdirSync(a.workDir, { recursive: true });
  const session = await ort.InferenceSession.create(graph, {
    graphOptimizationLevel: 'all',
    enableProfiling: true,
    profileFilePrefix: join(a.workDir, 'ort-profile'),
  });
  const run = () => session.run(feeds, fetches as ort.InferenceSession.FetchesType);
  for (let i = 0; i < a.warmup; i++) await run();
  const t0 = performance.now();
  await run();
  const runMs = performance.now() - t0;
  session.endProfiling();
  await session.release();
  const file = latestProfile(a.workDir);
  const summary = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')));
  return { runMs, ...summary, profileFile: file };
}

/** The newest profile ONNX Runtime wrote under `prefix` (it appends a timestamp to the prefix). */
function latestProfile(dir: string, prefix = join(dir, 'ort-profile')): string {
  const base = basename(prefix);
  const files = readdirSync(dir)
    .filter((f) => f.startsWith(base) && f.endsWith('.json'))
    .map((f) => join(dir, f))
    .sort((x, y) => statSync(y).mtimeMs - statSync(x).mtimeMs);
  if (!files[0]) throw new Error(`${dir}: ONNX Runtime wrote no profile`);
  return files[0];
}

export interface GemmArgs extends RepeatOptions {
  m: number;
  k: number;
  n: number;
  /** Folder for ONNX Runtime's profile (kernel times). */
  workDir: string;
}

export interface GemmFigures {
  /** Kernel time of the MatMul, from ONNX Runtime's profiler: no session or binding overhead. */
  ms: Summary;
  gflops: Summary;
}

/**
 * The machine's matrix-product speed as ONNX Runtime delivers it: one MatMul [m, k] x [k, n] with both operands
 * fed (as training feeds its weights), timed by the profiler at the kernel, the yardstick for how close a step
 * is to being compute-bound.
 */
export async function gemmTask(a: GemmArgs): Promise<GemmFigures> {
  const g = emptyGraph('gemm');
  const b = new GraphBuilder(g);
  b.addInput({ name: 'a', type: { dataType: 'float32', shape: [a.m, a.k] } });
  b.addInput({ name: 'b', type: { dataType: 'float32', shape: [a.k, a.n] } });
  b.op('MatMul', ['a', 'b'], {}, { outputs: ['c'], name: 'gemm' });
  b.addOutput({ name: 'c', type: { dataType: 'float32', shape: [a.m, a.n] } });
  const model = encodeModel({
    irVersion: 8,
    opsets: new Map([['', 17]]),
    producerName: 'ortrain-bench',
    producerVersion: '0',
    graph: g,
    metadata: {},
  });
  mkdirSync(a.workDir, { recursive: true });
  const prefix = join(a.workDir, `gemm-${a.m}x${a.k}x${a.n}`);
  const session = await ort.InferenceSession.create(model, {
    graphOptimizationLevel: 'all',
    enableProfiling: true,
    profileFilePrefix: prefix,
  });
  const fill = (n: number) => Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const feeds = {
    a: new ort.Tensor('float32', fill(a.m * a.k), [a.m, a.k]),
    b: new ort.Tensor('float32', fill(a.k * a.n), [a.k, a.n]),
  };
  await timeRuns(() => session.run(feeds), a);
  session.endProfiling();
  await session.release();
  const events = JSON.parse(readFileSync(latestProfile(a.workDir, prefix), 'utf8')) as TraceEvent[];
  const kernels = events
    .filter((e) => e.cat === 'Node' && e.name === 'gemm_kernel_time')
    .map((e) => e.dur / 1000);
  if (kernels.length !== a.warmup + a.repeats)
    throw new Error(`gemm profile: ${kernels.length} MatMul kernels for ${a.warmup + a.repeats} runs`);
  const ms = summarize(kernels.slice(a.warmup));
  return { ms, gflops: throughput(ms, (2 * a.m * a.k * a.n) / 1e9) };
}

export interface ServeArgs {
  dir: string;
  /** A batches file (see batchesFile): its first `warmup` batches are run untimed. */
  batchesFile: string;
  warmup: number;
}

/**
 * ortrain's step server for the interleaved comparison with PyTorch (paired.ts): a Replica on the artifacts,
 * warmed up, then one timed optimizer step per batch index read (step-server.ts's protocol).
 */
export async function serveTask(a: ServeArgs, io?: StepServerIO): Promise<{ steps: number }> {
  const batches = readBatchesFile(a.batchesFile);
  const replica = await Replica.open(a.dir, { provider: await selectProvider('cpu') });
  let step = 0;
  for (let i = 0; i < a.warmup; i++) await replica.step(batches[i % batches.length]!, LEARNING_RATE, ++step);
  const steps = await serveSteps(
    {},
    async (index) => {
      const batch = batches[index % batches.length]!;
      const t0 = performance.now();
      const { loss } = await replica.step(batch, LEARNING_RATE, ++step);
      return { ms: performance.now() - t0, rows: batch.dims[0], loss };
    },
    io,
  );
  await replica.release();
  return { steps };
}
