/**
 * `pnpm bench`: runs the benchmark suite and writes BENCHMARKS.md (repo root) and apps/bench/results.json.
 * Every benchmark runs in its own child process (worker.js); the PyTorch comparison runs
 * scripts/torch_bench.py with /usr/bin/python3 when it can import torch, and is reported as skipped otherwise.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { batchesFile, syntheticBatch } from './batches.js';
import { runChild } from './child.js';
import { BERT_BASE, BERT_SMALL, BERT_TINY, type Geometry, geometryKey, parameterCount } from './geometry.js';
import { gitCommit, machineInfo } from './machine.js';
import { renderMarkdown } from './markdown.js';
import { interleave, type PairedFigures } from './paired.js';
import { evaluateTargets, type GeometryResult, type Results, type RunConfig } from './results.js';
import { StepServer } from './step-server.js';
import type {
  CompileFigures,
  EvalFigures,
  ForwardFigures,
  GemmFigures,
  MrpcFigures,
  ParallelFigures,
  ProfileFigures,
  Shape,
  TokenizeFigures,
  TrainFigures,
} from './tasks.js';
import { detectTorch, runTorch, startTorchServer, type TorchFigures, type TorchStatus } from './torch.js';

const here = dirname(fileURLToPath(import.meta.url));
const pkgDir = resolve(here, '..');
const repoRoot = resolve(pkgDir, '..', '..');
const WORKER = join(here, 'worker.js');
const TORCH_SCRIPT = join(pkgDir, 'scripts', 'torch_bench.py');
const NOTES = join(pkgDir, 'optimizations.md');

const BENCHMARKS = [
  'gemm',
  'train',
  'eval',
  'forward',
  'torch',
  'mrpc',
  'paired',
  'scaling',
  'parallel',
  'tokenize',
  'profile',
] as const;
type Benchmark = (typeof BENCHMARKS)[number];

const HELP = `Usage: pnpm bench [options]
  --quick              smoke run: small models, few repeats; writes into the work folder, not BENCHMARKS.md
  --warmup N           warm-up runs before timing (default 2: the first runs also fault in the memory)
  --repeats N          timed runs per figure (default 5; quick 3)
  --only LIST          comma-separated subset of ${BENCHMARKS.join(',')}
  --python PATH        Python with torch for the comparison (default $ORTRAIN_BENCH_PYTHON or /usr/bin/python3)
  --no-torch           skip the PyTorch comparison
  --shared DIR         real data (glue/, tokenizers/bert-base-uncased) (default <repo>/../shared)
  --work DIR           checkpoints, artifacts, profiles (default <tmp>/ortrain-bench)
  --md FILE            markdown output (default <repo>/BENCHMARKS.md; quick: <work>/BENCHMARKS.md)
  --json FILE          JSON output (default apps/bench/results.json; quick: <work>/results.json)
  --render FILE        only re-render the markdown from a results JSON (e.g. after editing optimizations.md)`;

// `pnpm bench -- --quick` hands the `--` on: options after it are still ours.
const argv = process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--'));
const { values: o } = parseArgs({
  args: argv,
  options: {
    quick: { type: 'boolean', default: false },
    warmup: { type: 'string' },
    repeats: { type: 'string' },
    only: { type: 'string' },
    python: { type: 'string', default: process.env['ORTRAIN_BENCH_PYTHON'] ?? '/usr/bin/python3' },
    'no-torch': { type: 'boolean', default: false },
    shared: { type: 'string', default: join(repoRoot, '..', 'shared') },
    work: { type: 'string', default: join(tmpdir(), 'ortrain-bench') },
    md: { type: 'string' },
    json: { type: 'string' },
    render: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (o.help) {
  console.log(HELP);
  process.exit(0);
}
const notes = () => (existsSync(NOTES) ? readFileSync(NOTES, 'utf8') : undefined);
if (o.render !== undefined) {
  const saved = JSON.parse(readFileSync(o.render, 'utf8')) as Results;
  if (saved.format !== 'ortrain-bench') throw new Error(`${o.render}: not an ortrain-bench results file`);
  const md = resolve(o.md ?? join(repoRoot, 'BENCHMARKS.md'));
  writeFileSync(md, renderMarkdown(saved, notes()));
  console.error(`[bench] rendered ${md} from ${o.render}`);
  process.exit(0);
}

const count = (name: string, v: string | undefined, fallback: number, min: number): number => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer >= ${min}, got '${v}'`);
    process.exit(2);
  }
  return n;
};
const only = new Set<Benchmark>(BENCHMARKS);
if (o.only !== undefined) {
  only.clear();
  for (const b of o.only.split(',')) {
    if (!(BENCHMARKS as readonly string[]).includes(b)) {
      console.error(`--only: unknown benchmark '${b}' (one of ${BENCHMARKS.join(', ')})`);
      process.exit(2);
    }
    only.add(b as Benchmark);
  }
}
const quick = o.quick;
const work = resolve(o.work);
const config: RunConfig = {
  quick,
  warmup: count('warmup', o.warmup, 2, 0),
  repeats: count('repeats', o.repeats, quick ? 3 : 5, 1),
  batch: 8,
  seq: 128,
  torchThreads: 2,
  stepsPerRun: 8,
  mrpcSample: quick ? 6 : 16,
  pairs: quick ? 3 : 8,
  epochs: 3,
};
const geometries: Geometry[] = quick ? [BERT_SMALL, BERT_TINY] : [BERT_BASE, BERT_SMALL, BERT_TINY];
const mainGeometry = geometries[0]!;
/** Scaling shapes: sequence length at batch 8, then batch size at sequence 128. */
const SCALING: Shape[] = [
  ...[32, 64, 128, 256].map((seq) => ({ batch: 8, seq })),
  ...[1, 32].map((batch) => ({ batch, seq: 128 })),
];
const scalingRepeats = quick ? 2 : 3;
const repeat = { warmup: config.warmup, repeats: config.repeats };

const log = (msg: string) => console.error(`[bench] ${msg}`);
const started = performance.now();
// Contention shows in the figures, so the run records how busy the machine was.
const loads: number[] = [];
const sampler = setInterval(() => loads.push(loadavg()[0]!), 5000);
mkdirSync(work, { recursive: true });

const results: Results = {
  format: 'ortrain-bench',
  version: 1,
  date: new Date().toISOString(),
  commit: gitCommit(repoRoot),
  durationS: 0,
  config,
  machine: machineInfo(),
  torch: { available: false, reason: 'not requested (--no-torch or --only without torch)' },
  geometries: [],
  skipped: [],
  errors: [],
};

/** Runs one benchmark; a failure is recorded and the suite goes on. */
async function attempt<T>(benchmark: string, fn: () => Promise<T>): Promise<T | undefined> {
  log(`${benchmark} ...`);
  const t0 = performance.now();
  try {
    const v = await fn();
    log(`${benchmark} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return v;
  } catch (e) {
    const message = (e as Error).message;
    log(`${benchmark} FAILED: ${message}`);
    results.errors.push({ benchmark, message });
    return undefined;
  }
}

const child = <T>(task: string, args: object) => runChild<T>(WORKER, [task, JSON.stringify(args)]);

let torch: TorchStatus = results.torch;
if ((only.has('torch') || only.has('paired')) && !o['no-torch']) {
  torch = await detectTorch(o.python, TORCH_SCRIPT);
  results.torch = torch;
  if (torch.available) {
    results.machine.torch = torch.version;
    results.machine.blas = torch.blas;
    if (torch.blasCore !== null) results.machine.blasCore = torch.blasCore;
    log(`PyTorch ${torch.version} (${torch.blas}; OpenBLAS kernels ${torch.blasCore ?? 'n/a'})`);
  } else {
    results.skipped.push(`PyTorch comparison: ${torch.reason}`);
    log(`PyTorch comparison skipped: ${torch.reason}`);
  }
}
const torchRun = (
  name: string,
  artifactsDir: string,
  batches: string,
  repeats: number,
): Promise<TorchFigures | undefined> =>
  torch.available
    ? attempt(`torch ${name}`, () =>
        runTorch({
          python: torch.available ? torch.python : '',
          script: TORCH_SCRIPT,
          artifactsDir,
          batchesFile: batches,
          warmup: config.warmup,
          repeats,
          threads: config.torchThreads,
        }),
      )
    : Promise.resolve(undefined);

/** The batches file of the fixed training shape, for PyTorch's side. */
function fixedBatchFile(g: Geometry): string {
  const file = join(work, `batch-${geometryKey(g)}.json`);
  writeFileSync(file, JSON.stringify(batchesFile([syntheticBatch(config.batch, config.seq)])));
  return file;
}

/** Both step servers on the same model and batches file, warmed up one after the other, then interleaved. */
async function pairedRun(dir: string, batches: string, indices: number[]): Promise<PairedFigures> {
  if (!torch.available) throw new Error('PyTorch is not available');
  const serve = { dir, batchesFile: batches, warmup: config.warmup };
  const ours = (await StepServer.start('ortrain', process.execPath, [WORKER, 'serve', JSON.stringify(serve)]))
    .server;
  try {
    const theirs = await startTorchServer({
      python: torch.python,
      script: TORCH_SCRIPT,
      artifactsDir: dir,
      batchesFile: batches,
      warmup: config.warmup,
      threads: config.torchThreads,
    });
    try {
      return await interleave(ours, theirs, indices);
    } finally {
      await theirs.close();
    }
  } finally {
    await ours.close();
  }
}

if (only.has('gemm')) {
  // The main model's linear layers at the fixed shape: attention projections, FFN up, FFN down.
  const [m, h, i] = [config.batch * config.seq, mainGeometry.hidden, mainGeometry.intermediate];
  results.gemm = [];
  for (const [k, n] of [
    [h, h],
    [h, i],
    [i, h],
  ] as const) {
    const figures = await attempt(`gemm ${m}x${k}x${n}`, () =>
      child<GemmFigures>('gemm', {
        m,
        k,
        n,
        warmup: config.warmup,
        repeats: 2 * config.repeats,
        workDir: join(work, 'profile'),
      }),
    );
    if (figures) results.gemm.push({ m, k, n, figures });
  }
}

const artifactDirs = new Map<Geometry, string>();
for (const g of geometries) {
  const r: GeometryResult = { geometry: g, parameters: parameterCount(g) };
  results.geometries.push(r);
  const compiled = await attempt(`compile ${g.name}`, () =>
    child<CompileFigures>('compile', { geometry: g, workDir: work }),
  );
  if (!compiled) continue;
  r.compile = compiled;
  artifactDirs.set(g, compiled.dir);
  const dir = compiled.dir;
  const shape = { batch: config.batch, seq: config.seq };
  if (only.has('train'))
    r.train = await attempt(`train ${g.name}`, () =>
      child<TrainFigures>('train', { dir, shapes: [shape], ...repeat }),
    );
  // The trade the trainer's steps_per_run makes: state copied in and out once per K steps, for more memory.
  if (only.has('train') && g === mainGeometry)
    r.trainMultiStep = await attempt(`train ${g.name}, ${config.stepsPerRun} steps per run`, () =>
      child<TrainFigures>('train', {
        dir,
        shapes: [shape],
        warmup: 1,
        repeats: quick ? 1 : 3,
        stepsPerRun: config.stepsPerRun,
      }),
    );
  // The same steps through onnxruntime-node's sessions, which copy the whole new state out of every run.
  if (only.has('train') && g === mainGeometry)
    r.trainBinding = await attempt(`train ${g.name}, onnxruntime-node sessions`, () =>
      child<TrainFigures>('train', { dir, shapes: [shape], ...repeat, sessions: 'binding' }),
    );
  // --fp16: the autocast graphs against float32 on the same shape (the CPU EP has float16 kernels).
  if (only.has('train') && g === mainGeometry)
    r.trainFp16 = await attempt(`train ${g.name}, fp16`, async () => {
      const fp16 = await child<CompileFigures>('compile', { geometry: g, workDir: work, fp16: true });
      return child<TrainFigures>('train', { dir: fp16.dir, shapes: [shape], ...repeat });
    });
  if (only.has('eval'))
    r.eval = await attempt(`eval ${g.name}`, () => child<EvalFigures>('eval', { dir, ...shape, ...repeat }));
  if (only.has('forward'))
    r.forward = await attempt(`forward ${g.name}`, () =>
      child<ForwardFigures>('forward', { dir, workDir: work, ...shape, ...repeat }),
    );
  if (only.has('torch')) r.torch = await torchRun(g.name, dir, fixedBatchFile(g), config.repeats);
}

const mainDir = artifactDirs.get(mainGeometry);
/** The MRPC benchmark's batches (its warm-up, then its timed sample), for PyTorch's side. */
const mrpcBatches = join(work, 'mrpc-batches.json');
const hasShared =
  existsSync(join(o.shared, 'glue', 'MRPC')) && existsSync(join(o.shared, 'tokenizers', 'bert-base-uncased'));
if (only.has('mrpc') && mainDir) {
  if (!hasShared)
    results.skipped.push(
      `MRPC real lengths: ${o.shared}/glue/MRPC or tokenizers/bert-base-uncased not found`,
    );
  else {
    const figures = await attempt(`mrpc ${mainGeometry.name}`, () =>
      child<MrpcFigures>('mrpc', {
        dir: mainDir,
        sharedDir: o.shared,
        batch: config.batch,
        warmup: config.warmup,
        sample: config.mrpcSample,
        epochs: config.epochs,
        seed: 42,
        evalDev: true,
        batchesOut: mrpcBatches,
      }),
    );
    if (figures) {
      results.mrpc = { geometry: mainGeometry, figures };
      const t = only.has('torch')
        ? await torchRun(`mrpc ${mainGeometry.name}`, mainDir, mrpcBatches, config.mrpcSample)
        : undefined;
      if (t) results.mrpc.torch = t;
    }
  }
}

// The speed-up targets' figures: ortrain and PyTorch stepping in alternation (see paired.ts).
if (only.has('paired') && mainDir) {
  if (!torch.available) results.skipped.push('side-by-side steps with PyTorch: PyTorch is not available');
  else {
    results.paired = { geometry: mainGeometry };
    const fixed = Array.from({ length: config.pairs }, () => 0);
    const f = await attempt(`paired ${mainGeometry.name} ${config.batch}x${config.seq}`, () =>
      pairedRun(mainDir, fixedBatchFile(mainGeometry), fixed),
    );
    if (f) results.paired.fixed = f;
    // The MRPC run's file: its warm-up batches, then the timed sample.
    if (results.mrpc) {
      const sample = Array.from({ length: config.mrpcSample }, (_, i) => config.warmup + i);
      const m = await attempt(`paired ${mainGeometry.name} MRPC`, () =>
        pairedRun(mainDir, mrpcBatches, sample),
      );
      if (m) results.paired.mrpc = m;
    }
  }
}

const scalingGeometry = mainGeometry;
const scalingDir = artifactDirs.get(scalingGeometry);
if (only.has('scaling') && scalingDir) {
  const train = await attempt(`scaling ${scalingGeometry.name}`, () =>
    child<TrainFigures>('train', {
      dir: scalingDir,
      shapes: SCALING,
      warmup: config.warmup,
      repeats: scalingRepeats,
    }),
  );
  if (train) results.scaling = { geometry: scalingGeometry, repeats: scalingRepeats, train };
}

if (only.has('parallel') && scalingDir) {
  const shape = { batch: config.batch, seq: config.seq };
  const figures = await attempt(`parallel ${scalingGeometry.name}`, () =>
    child<ParallelFigures>('parallel', { dir: scalingDir, replicas: [1, 2], ...shape, ...repeat }),
  );
  if (figures) results.parallel = { geometry: scalingGeometry, shape, figures };
}

if (only.has('tokenize')) {
  if (!hasShared)
    results.skipped.push(`tokenization: ${o.shared} has no GLUE data or bert-base-uncased tokenizer`);
  else
    results.tokenize = await attempt('tokenize', () =>
      child<TokenizeFigures>('tokenize', { sharedDir: o.shared, repeats: config.repeats }),
    );
}

if (only.has('profile') && mainDir) {
  const shape = { batch: config.batch, seq: config.seq };
  const figures = await attempt(`profile ${mainGeometry.name}`, () =>
    child<ProfileFigures>('profile', {
      dir: mainDir,
      workDir: join(work, 'profile'),
      warmup: config.warmup,
      ...shape,
    }),
  );
  if (figures) results.profile = { geometry: mainGeometry, shape, figures };
}

results.durationS = (performance.now() - started) / 1000;
clearInterval(sampler);
if (loads.length > 0)
  results.load = {
    mean: loads.reduce((a, b) => a + b, 0) / loads.length,
    max: Math.max(...loads),
    samples: loads.length,
  };
const jsonPath = resolve(o.json ?? (quick ? join(work, 'results.json') : join(pkgDir, 'results.json')));
const mdPath = resolve(o.md ?? (quick ? join(work, 'BENCHMARKS.md') : join(repoRoot, 'BENCHMARKS.md')));
writeFileSync(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(mdPath, renderMarkdown(results, notes()));
for (const t of evaluateTargets(results))
  log(`${t.pass === null ? 'n/a ' : t.pass ? 'pass' : 'FAIL'}  ${t.name}: ${t.value} (goal ${t.goal})`);
log(`wrote ${mdPath} and ${jsonPath} (${(results.durationS / 60).toFixed(1)} min)`);
