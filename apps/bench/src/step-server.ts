import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * The step-server protocol, shared by ortrain's server (the worker's `serve` task) and PyTorch's
 * (torch_bench.py --serve): the
 * server warms up, then writes one JSON object line on stdout saying it is ready; each line it reads on stdin
 * is a batch index, answered by one JSON object line with that training step's time. Stdout lines that are
 * not JSON objects are progress and ignored; end of input ends the server.
 */
export interface StepReply {
  /** Wall time of the step (forward, loss, backward, clipping, AdamW). */
  ms: number;
  rows: number;
  loss: number;
}

export interface ReadyLine {
  ready: true;
  [key: string]: unknown;
}

/** Longest wait for one reply: a warm-up (the first steps fault in gigabytes) or one step. */
const REPLY_TIMEOUT_MS = 20 * 60_000;

/** A running step server: one training step per `step(index)`, answered in order. */
export class StepServer {
  private readonly waiting: { resolve: (line: object) => void; reject: (e: Error) => void }[] = [];
  private stderr = '';
  private exited: Error | undefined;
  private readonly closed: Promise<void>;

  private constructor(
    private readonly label: string,
    private readonly child: ChildProcessWithoutNullStreams,
  ) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      const next = this.waiting.shift();
      if (!next) return;
      try {
        next.resolve(JSON.parse(line) as object);
      } catch (e) {
        next.reject(new Error(`${label}: reply is not JSON (${(e as Error).message}): ${line}`));
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-4000);
    });
    this.closed = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        const tail = this.stderr.trim().split('\n').slice(-10).join('\n');
        this.exited = new Error(`${label} exited (${signal ?? `exit ${code}`}):\n${tail}`);
        for (const w of this.waiting.splice(0)) w.reject(this.exited);
        resolve();
      });
    });
  }

  /** Starts `command args` and waits until it has warmed up; resolves to the server and its ready line. */
  static async start(
    label: string,
    command: string,
    args: string[],
  ): Promise<{ server: StepServer; ready: ReadyLine }> {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const server = new StepServer(label, child);
    try {
      const ready = (await server.next()) as ReadyLine;
      if (ready.ready !== true)
        throw new Error(`${label}: expected a ready line, got ${JSON.stringify(ready)}`);
      return { server, ready };
    } catch (e) {
      child.kill('SIGKILL');
      throw e;
    }
  }

  /** Times one training step on batch `index` of the server's batches file. */
  async step(index: number): Promise<StepReply> {
    const reply = this.next() as Promise<StepReply>;
    this.child.stdin.write(`${index}\n`);
    const r = await reply;
    if (!Number.isFinite(r.ms) || !Number.isFinite(r.loss))
      throw new Error(`${this.label}: step ${index} answered ${JSON.stringify(r)}`);
    return r;
  }

  /** Ends the server's input and waits for it to exit. */
  async close(): Promise<void> {
    this.child.stdin.end();
    await this.closed;
  }

  /** The next JSON line; a server silent for REPLY_TIMEOUT_MS is killed (its exit rejects the wait). */
  private next(): Promise<object> {
    if (this.exited) return Promise.reject(this.exited);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), REPLY_TIMEOUT_MS);
    return new Promise<object>((resolve, reject) => this.waiting.push({ resolve, reject })).finally(() =>
      clearTimeout(timer),
    );
  }
}

export interface StepServerIO {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
}

/**
 * Serves steps: announces `ready`, then answers each index line of `io.input` with `step`'s reply, until the
 * input ends. Returns the number of steps served.
 */
export async function serveSteps(
  ready: Omit<ReadyLine, 'ready'>,
  step: (index: number) => Promise<StepReply>,
  io: StepServerIO = { input: process.stdin, output: process.stdout },
): Promise<number> {
  const say = (o: object) => io.output.write(`${JSON.stringify(o)}\n`);
  say({ ready: true, ...ready });
  let served = 0;
  for await (const line of createInterface({ input: io.input })) {
    const index = Number(line.trim());
    if (line.trim() === '' || !Number.isInteger(index) || index < 0)
      throw new Error(`step server: '${line}' is not a batch index`);
    say(await step(index));
    served++;
  }
  return served;
}
