import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { interleave, pairedFigures } from '../src/paired.js';
import { StepServer, serveSteps } from '../src/step-server.js';

const dir = mkdtempSync(join(tmpdir(), 'ortrain-bench-server-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A server speaking the protocol by hand, as torch_bench.py --serve does: progress lines on stdout are not JSON;
// batch 99 makes it fail.
const FAKE = join(dir, 'fake-server.mjs');
writeFileSync(
  FAKE,
  `import { createInterface } from 'node:readline';
   console.log('loading model ...');
   console.log(JSON.stringify({ ready: true, initialLoss: 0.69 }));
   for await (const line of createInterface({ input: process.stdin })) {
     const i = Number(line);
     if (i === 99) { console.error('out of memory at batch 99'); process.exit(3); }
     console.log('step', i);
     console.log(JSON.stringify({ ms: 10 * i + 1, rows: 2, loss: 0.5 }));
   }`,
);

describe('StepServer', () => {
  it('waits for the ready line, then answers each step in order, skipping progress lines', async () => {
    const { server, ready } = await StepServer.start('fake', process.execPath, [FAKE]);
    expect(ready).toEqual({ ready: true, initialLoss: 0.69 });
    const replies = await Promise.all([server.step(1), server.step(4)]);
    expect(replies.map((r) => r.ms)).toEqual([11, 41]);
    await server.close();
  });

  it('rejects a step when the server dies, with its exit status and stderr', async () => {
    const { server } = await StepServer.start('fake', process.execPath, [FAKE]);
    await expect(server.step(99)).rejects.toThrow(/fake exited \(exit 3\):\nout of memory at batch 99/);
    await expect(server.step(1)).rejects.toThrow(/exit 3/);
  });

  it('fails to start a server that exits before it is ready', async () => {
    await expect(
      StepServer.start('broken', process.execPath, ['-e', 'console.error("no torch"); process.exit(1)']),
    ).rejects.toThrow(/broken exited \(exit 1\):\nno torch/);
  });
});

describe('serveSteps', () => {
  it('announces ready, answers every index line and returns the count', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let text = '';
    output.setEncoding('utf8').on('data', (d: string) => (text += d));
    const served = serveSteps({ model: 'm' }, async (i) => ({ ms: i, rows: 1, loss: 0 }), { input, output });
    input.end('3\n5\n');
    await expect(served).resolves.toBe(2);
    expect(
      text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { ready: true, model: 'm' },
      { ms: 3, rows: 1, loss: 0 },
      { ms: 5, rows: 1, loss: 0 },
    ]);
  });

  it('refuses a line that is not a batch index', async () => {
    const input = new PassThrough();
    const served = serveSteps({}, async () => ({ ms: 1, rows: 1, loss: 0 }), {
      input,
      output: new PassThrough(),
    });
    input.end('step 1\n');
    await expect(served).rejects.toThrow("step server: 'step 1' is not a batch index");
  });
});

describe('interleave', () => {
  it('alternates which side steps first and pairs the times batch by batch', async () => {
    const calls: string[] = [];
    const side = (name: string, ms: (i: number) => number) => ({
      step: async (i: number) => {
        calls.push(`${name}${i}`);
        return { ms: ms(i), rows: 2, loss: 0.1 };
      },
    });
    const f = await interleave(
      side('o', (i) => 100 * (i + 1)),
      side('t', (i) => 150 * (i + 1)),
      [0, 1, 2],
    );
    expect(calls).toEqual(['o0', 't0', 't1', 'o1', 'o2', 't2']);
    expect(f.pairs).toEqual([
      { batch: 0, ortrainMs: 100, torchMs: 150 },
      { batch: 1, ortrainMs: 200, torchMs: 300 },
      { batch: 2, ortrainMs: 300, torchMs: 450 },
    ]);
    expect(f.speedup).toEqual({ median: 1.5, min: 1.5, max: 1.5, n: 3 });
  });
});

describe('pairedFigures', () => {
  it('gives the per-pair ratios and the ratio of summed times separately', () => {
    const reply = (ms: number) => ({ ms, rows: 8, loss: 0.3 });
    // A short batch where ortrain is 3x faster and a long one where it is 1.2x: the per-pair median (2.1x)
    // and the mean-step ratio (1 s + 5 s against 3 s + 6 s = 1.5x) differ.
    const f = pairedFigures([
      { batch: 0, ours: reply(1000), theirs: reply(3000) },
      { batch: 1, ours: reply(5000), theirs: reply(6000) },
    ]);
    expect(f.speedup.min).toBeCloseTo(1.2, 12);
    expect(f.speedup.max).toBeCloseTo(3, 12);
    expect(f.speedup.median).toBeCloseTo(2.1, 12);
    expect(f.meanSpeedup).toBeCloseTo(1.5, 12);
    expect(f.ortrainSamplesPerSec).toBeCloseTo(16000 / 6000, 12);
    expect(f.torchSamplesPerSec).toBeCloseTo(16000 / 9000, 12);
  });
});
