import { spawn } from 'node:child_process';

/** Prefix of the one stdout line a benchmark child writes its figures on. */
export const RESULT_MARKER = '@@ortrain-bench-result ';

export interface ChildOptions {
  /** Kill the child after this long (default 20 minutes). */
  timeoutMs?: number;
  /** Extra node flags (e.g. --expose-gc). */
  nodeArgs?: string[];
}

/**
 * Runs `script` in a fresh Node process with `args` and returns the JSON it printed after RESULT_MARKER.
 * The child's stderr (progress, warnings) passes through; a failure reports the exit status and the tail of
 * its output.
 */
export function runChild<T>(script: string, args: string[], options: ChildOptions = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      process.stderr.write(d);
    });
    const timeoutMs = options.timeoutMs ?? 20 * 60_000;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_MARKER));
      if (code === 0 && line !== undefined) {
        try {
          resolve(JSON.parse(line.slice(RESULT_MARKER.length)) as T);
        } catch (e) {
          reject(new Error(`${script} ${args[0] ?? ''}: result is not JSON (${(e as Error).message})`));
        }
        return;
      }
      const why =
        signal === 'SIGKILL'
          ? `killed after ${timeoutMs} ms or for memory`
          : signal
            ? `signal ${signal}`
            : `exit ${code}`;
      const tail = (stderr + stdout).trim().split('\n').slice(-15).join('\n');
      reject(
        new Error(`${script} ${args[0] ?? ''} failed (${why}${line ? '' : ', no result line'}):\n${tail}`),
      );
    });
  });
}
