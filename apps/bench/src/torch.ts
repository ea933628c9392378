import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { type Summary, summarize } from './stats.js';
import { StepServer } from './step-server.js';

const exec = promisify(execFile);

export interface TorchAvailable {
  available: true;
  python: string;
  version: string;
  /** The BLAS libraries torch loaded. */
  blas: string;
  /** OpenBLAS's kernel set, and whether the script chose it over a generic fallback; null for other BLAS. */
  blasCore: string | null;
}

export interface TorchMissing {
  available: false;
  reason: string;
}

export type TorchStatus = TorchAvailable | TorchMissing;

/** Whether `python` exists and imports torch; the comparison is skipped, with this reason, when not. */
export async function detectTorch(python: string, script: string): Promise<TorchStatus> {
  if (!existsSync(python)) return { available: false, reason: `${python} does not exist` };
  try {
    // Includes probing OpenBLAS's core types (a child process each; reused for an hour).
    const { stdout } = await exec(python, [script, '--version'], { timeout: 300_000 });
    const info = JSON.parse(lastLine(stdout)) as { torch: string; blas: string; blasCore?: string | null };
    return { available: true, python, version: info.torch, blas: info.blas, blasCore: info.blasCore ?? null };
  } catch (e) {
    const err = e as Error & { stderr?: string };
    const detail = (err.stderr ?? err.message).trim().split('\n').at(-1);
    return { available: false, reason: `${python} cannot run the PyTorch script (${detail})` };
  }
}

export interface TorchArgs {
  python: string;
  script: string;
  artifactsDir: string;
  batchesFile: string;
  warmup: number;
  /** Timed steps, cycling through the batches file. */
  repeats: number;
  threads: number;
}

export interface TorchFigures {
  stepMs: Summary;
  /** Rows over time, summed over the timed steps. */
  samplesPerSec: number;
  meanStepMs: number;
  /** No-dropout loss of the first batch with the initial weights: equals ortrain's when the models agree. */
  initialLoss: number;
  lastLoss: number;
}

/** The script's arguments for a run on `a`'s model and batches, with `a.warmup` untimed steps first. */
function scriptArgs(a: Omit<TorchArgs, 'repeats'>): string[] {
  return [
    a.script,
    '--artifacts',
    a.artifactsDir,
    '--batches',
    a.batchesFile,
    '--warmup',
    String(a.warmup),
    '--threads',
    String(a.threads),
  ];
}

export async function runTorch(a: TorchArgs): Promise<TorchFigures> {
  const { stdout } = await exec(a.python, [...scriptArgs(a), '--repeats', String(a.repeats)], {
    maxBuffer: 16 * 2 ** 20,
    timeout: 60 * 60_000,
  });
  return parseTorchOutput(stdout);
}

/** PyTorch's step server (torch_bench.py --serve) on `a`'s model and batches, warmed up. */
export async function startTorchServer(a: Omit<TorchArgs, 'repeats'>): Promise<StepServer> {
  return (await StepServer.start('PyTorch', a.python, [...scriptArgs(a), '--serve'])).server;
}

interface TorchOutput {
  initialLoss: number;
  stepMs: number[];
  rows: number[];
  lastLoss: number;
}

export function parseTorchOutput(stdout: string): TorchFigures {
  const out = JSON.parse(lastLine(stdout)) as TorchOutput;
  if (!Array.isArray(out.stepMs) || out.stepMs.length === 0 || out.rows?.length !== out.stepMs.length)
    throw new Error(`PyTorch script output has no step times: ${lastLine(stdout).slice(0, 200)}`);
  const total = out.stepMs.reduce((x, y) => x + y, 0);
  const rows = out.rows.reduce((x, y) => x + y, 0);
  return {
    stepMs: summarize(out.stepMs),
    samplesPerSec: (rows * 1000) / total,
    meanStepMs: total / out.stepMs.length,
    initialLoss: out.initialLoss,
    lastLoss: out.lastLoss,
  };
}

function lastLine(s: string): string {
  const lines = s.trim().split('\n');
  return lines[lines.length - 1] ?? '';
}
