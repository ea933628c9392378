import { BERT_BASE, forwardFlops, type Geometry } from './geometry.js';
import type { Machine } from './machine.js';
import type { PairedFigures } from './paired.js';
import type { Summary } from './stats.js';
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
import type { TorchFigures, TorchStatus } from './torch.js';

export interface RunConfig {
  quick: boolean;
  warmup: number;
  repeats: number;
  /** The fixed training shape of the main table. */
  batch: number;
  seq: number;
  torchThreads: number;
  /** steps_per_run of the multi-step comparison run (main model only). */
  stepsPerRun: number;
  mrpcSample: number;
  /** Interleaved step pairs with PyTorch at the fixed shape (the MRPC pairs take the MRPC sample). */
  pairs: number;
  epochs: number;
}

export interface GeometryResult {
  geometry: Geometry;
  parameters: number;
  compile?: CompileFigures;
  /** Training at the fixed shape (one child: its peak RSS is the training run's). */
  train?: TrainFigures;
  /** The same with config.stepsPerRun steps per session run (main model only). */
  trainMultiStep?: TrainFigures;
  /** The same steps through onnxruntime-node's sessions instead of the C API's (main model only). */
  trainBinding?: TrainFigures;
  /** The same model compiled for fp16 mixed precision (main model only). */
  trainFp16?: TrainFigures;
  eval?: EvalFigures;
  forward?: ForwardFigures;
  torch?: TorchFigures;
}

export interface Results {
  format: 'ortrain-bench';
  version: 1;
  date: string;
  commit: string | null;
  /** Wall time of the whole benchmark run. */
  durationS: number;
  config: RunConfig;
  machine: Machine;
  torch: TorchStatus;
  /** Fed MatMuls of the main model's linear-layer shapes: the matrix-product speed ONNX Runtime reaches here. */
  gemm?: { m: number; k: number; n: number; figures: GemmFigures }[];
  geometries: GeometryResult[];
  mrpc?: { geometry: Geometry; figures: MrpcFigures; torch?: TorchFigures };
  /** ortrain and PyTorch stepping in alternation on the main model: at the fixed shape, and on MRPC's batches. */
  paired?: { geometry: Geometry; fixed?: PairedFigures; mrpc?: PairedFigures };
  scaling?: { geometry: Geometry; repeats: number; train: TrainFigures };
  /** One optimizer step over the same global batch on 1 and on several one-thread CPU replicas. */
  parallel?: { geometry: Geometry; shape: Shape; figures: ParallelFigures };
  tokenize?: TokenizeFigures;
  profile?: { geometry: Geometry; shape: Shape; figures: ProfileFigures };
  /**
   * The machine's 1-minute load average, sampled every few seconds through the run. The suite itself
   * accounts for about 2 on 2 cores; well above that, other processes competed for the CPU.
   */
  load?: { mean: number; max: number; samples: number };
  /** Benchmarks left out, with why (no real data, no PyTorch, quick mode). */
  skipped: string[];
  errors: { benchmark: string; message: string }[];
}

export interface Target {
  name: string;
  goal: string;
  value: string;
  /** null: not measured in this run. */
  pass: boolean | null;
}

/** Issue 19's targets (CPU training speed), on each 2-core host. */
export const GOALS = {
  speedupVsTorch: 1.5,
  mrpcSpeedupVsTorch: 1.5,
  stepOverMatmulFloor: 1.5,
  peakRssBytes: 4e9,
  mrpcMinutes: 40,
} as const;

export function isBase(g: Geometry): boolean {
  return (
    g.layers === BERT_BASE.layers &&
    g.hidden === BERT_BASE.hidden &&
    g.intermediate === BERT_BASE.intermediate
  );
}

export function speedup(torch: Summary, ours: Summary): number {
  return torch.median / ours.median;
}

/**
 * The fp32 MatMul floor of the main model's step: its matrix products (forward, and backward twice that) at the
 * best speed the run's fed MatMuls reached. No fp32 step on this machine can be faster, whatever runs it.
 */
export function matmulFloor(r: Results): { ms: number; gflop: number; gflops: number } | undefined {
  const base = r.geometries[0];
  const best = r.gemm?.reduce<number | undefined>(
    (a, x) => (a === undefined || x.figures.gflops.median > a ? x.figures.gflops.median : a),
    undefined,
  );
  if (!base || best === undefined) return undefined;
  const gflop = (3 * forwardFlops(base.geometry, r.config.batch, r.config.seq)) / 1e9;
  return { ms: (gflop * 1000) / best, gflop, gflops: best };
}

export function evaluateTargets(r: Results): Target[] {
  const base = r.geometries.find((g) => isBase(g.geometry));
  const step = base?.train?.shapes[0]?.stepMs;
  const shape = `batch ${r.config.batch} x ${r.config.seq}`;
  const floor = base === r.geometries[0] ? matmulFloor(r) : undefined;
  const mrpc = r.mrpc && isBase(r.mrpc.geometry) ? r.mrpc : undefined;
  const paired = r.paired && isBase(r.paired.geometry) ? r.paired : undefined;
  const target = (
    name: string,
    goal: string,
    value: number | undefined,
    show: (v: number) => string,
    ok: (v: number) => boolean,
  ): Target =>
    value === undefined || !Number.isFinite(value)
      ? { name, goal, value: 'not measured', pass: null }
      : { name, goal, value: show(value), pass: ok(value) };
  const ratio = (v: number) => `${v.toFixed(2)}x`;
  return [
    target(
      `speed-up over PyTorch, BERT-base step, ${shape}${paired?.fixed ? ' (interleaved steps, median pair)' : ''}`,
      `>= ${GOALS.speedupVsTorch}x`,
      paired?.fixed
        ? paired.fixed.speedup.median
        : step && base?.torch
          ? speedup(base.torch.stepMs, step)
          : undefined,
      ratio,
      (v) => v >= GOALS.speedupVsTorch,
    ),
    target(
      `speed-up over PyTorch, BERT-base step at MRPC's real lengths (mean step${paired?.mrpc ? ', interleaved steps' : ''})`,
      `>= ${GOALS.mrpcSpeedupVsTorch}x`,
      paired?.mrpc
        ? paired.mrpc.meanSpeedup
        : mrpc?.torch
          ? mrpc.torch.meanStepMs / mrpc.figures.meanStepMs
          : undefined,
      ratio,
      (v) => v >= GOALS.mrpcSpeedupVsTorch,
    ),
    target(
      `BERT-base step / its fp32 MatMul floor, ${shape}`,
      `<= ${GOALS.stepOverMatmulFloor}x`,
      step && floor ? step.median / floor.ms : undefined,
      ratio,
      (v) => v <= GOALS.stepOverMatmulFloor,
    ),
    target(
      'peak RSS of BERT-base training',
      `< ${GOALS.peakRssBytes / 1e9} GB`,
      base?.train?.peakRssMiB,
      (v) => `${formatMiB(v)} (${((v * 2 ** 20) / 1e9).toFixed(3)} GB)`,
      (v) => v * 2 ** 20 < GOALS.peakRssBytes,
    ),
    target(
      `${r.config.epochs}-epoch MRPC fine-tune, BERT-base, real lengths (projected)`,
      `< ${GOALS.mrpcMinutes} min`,
      mrpc?.figures.projectedMinutes,
      (v) => `${v.toFixed(1)} min`,
      (v) => v < GOALS.mrpcMinutes,
    ),
  ];
}

export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms >= 100_000 ? 0 : 2)} s`;
  return `${ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2)} ms`;
}

export function formatMiB(mib: number): string {
  return mib >= 1024 ? `${(mib / 1024).toFixed(2)} GiB` : `${mib.toFixed(0)} MiB`;
}
