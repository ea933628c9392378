import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import * as ort from 'onnxruntime-node';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  onnxruntime: string;
  /** PyTorch version and BLAS, when the comparison ran. */
  torch?: string;
  blas?: string;
  /** OpenBLAS's kernels in the PyTorch runs (see scripts/torch_bench.py). */
  blasCore?: string;
}

export function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1]!.trim();
  } catch {
    // Not Linux: os.cpus() below.
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

export function machineInfo(): Machine {
  return {
    cpu: cpuModel(),
    cores: os.availableParallelism(),
    memoryGiB: os.totalmem() / 2 ** 30,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    onnxruntime: ort.env.versions.node ?? ort.env.versions.common,
  };
}

/** The commit the figures came from (`+dirty` with uncommitted changes), or null outside a git checkout. */
export function gitCommit(cwd: string): string | null {
  try {
    const run = (args: string[]) =>
      execFileSync('git', args, { cwd, encoding: 'utf8', stdio: 'pipe' }).trim();
    const dirty = run(['status', '--porcelain', '--untracked-files=no']) !== '';
    return `${run(['rev-parse', '--short', 'HEAD'])}${dirty ? '+dirty' : ''}`;
  } catch {
    return null;
  }
}
