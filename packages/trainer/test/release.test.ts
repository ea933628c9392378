import { describe, expect, it } from 'vitest';
import { collectGarbage } from '../src/runtime/release.js';

describe('collectGarbage', () => {
  it('frees an unreachable buffer at once, without node --expose-gc', () => {
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
    collectGarbage();
    const before = process.memoryUsage().arrayBuffers;
    let buffer: Float32Array | undefined = new Float32Array(64 * 2 ** 20).fill(1);
    expect(process.memoryUsage().arrayBuffers - before).toBeGreaterThan(250 * 2 ** 20);
    buffer = undefined;
    collectGarbage();
    expect(buffer).toBeUndefined();
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(2 ** 20);
  });
});
