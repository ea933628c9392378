import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectTorch, parseTorchOutput } from '../src/torch.js';

const SCRIPT = join(import.meta.dirname, '..', 'scripts', 'torch_bench.py');

describe('detectTorch', () => {
  it('skips the comparison with a reason when the Python does not exist', async () => {
    await expect(detectTorch('/nonexistent/python3', SCRIPT)).resolves.toEqual({
      available: false,
      reason: '/nonexistent/python3 does not exist',
    });
  });

  it('skips the comparison with a reason when the interpreter cannot run the script', async () => {
    // /bin/false stands in for a Python without torch: it exits non-zero without printing the version line.
    const status = await detectTorch('/bin/false', SCRIPT);
    expect(status.available).toBe(false);
    if (!status.available) expect(status.reason).toMatch(/^\/bin\/false cannot run the PyTorch script/);
  });
});

describe('parseTorchOutput', () => {
  it('summarizes the step times of the last JSON line', () => {
    const line = JSON.stringify({
      torch: '1.13.0',
      initialLoss: 0.69,
      stepMs: [300, 100, 200],
      rows: [8, 8, 4],
      lastLoss: 0.5,
    });
    const f = parseTorchOutput(`warning: something\n${line}\n`);
    expect(f.stepMs).toEqual({ median: 200, min: 100, max: 300, n: 3 });
    expect(f.meanStepMs).toBe(200);
    expect(f.samplesPerSec).toBeCloseTo((20 * 1000) / 600);
    expect(f.initialLoss).toBe(0.69);
  });

  it('rejects output without step times', () => {
    expect(() => parseTorchOutput('{"stepMs": []}')).toThrow(/no step times/);
    expect(() => parseTorchOutput('Traceback (most recent call last)')).toThrow();
  });
});
