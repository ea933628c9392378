import { BERT_BASE, type Geometry } from './geometry.js';
import type { Machine } from './machine.js';
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

/** The targets for this 2-core machine. */
export const GOALS = {
  baseStepMs: 2100,
  speedupVsTorch: 3,
  stepOverForward: 4.5,
  peakRssBytes: 4e9,
  mrpcMinutes: 30,
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

export function evaluateTargets(r: Results): Target[] {
  const base = r.geometries.find((g) => isBase(g.geometry));
  const step = base?.train?.shapes[0]?.stepMs;
  const shape = `batch ${r.config.batch} x ${r.config.seq}`;
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
  return [
    target(
      `BERT-base training step, ${shape}`,
      `< ${GOALS.baseStepMs / 1000} s`,
      step?.median,
      formatMs,
      (v) => v < GOALS.baseStepMs,
    ),
    target(
      'speed-up over PyTorch (same model and batch)',
      `>= ${GOALS.speedupVsTorch}x`,
      step && base?.torch ? speedup(base.torch.stepMs, step) : undefined,
      (v) => `${v.toFixed(2)}x`,
      (v) => v >= GOALS.speedupVsTorch,
    ),
    target(
      'training step / forward pass (onnxruntime-node)',
      `<= ${GOALS.stepOverForward}x`,
      step && base?.forward ? step.median / base.forward.stepMs.median : undefined,
      (v) => `${v.toFixed(2)}x`,
      (v) => v <= GOALS.stepOverForward,
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
      r.mrpc && isBase(r.mrpc.geometry) ? r.mrpc.figures.projectedMinutes : undefined,
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
