import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { selectProvider } from '../src/runtime/provider.js';
import { readManifest } from '../src/runtime/session.js';

const ortDir = dirname(createRequire(import.meta.url).resolve('onnxruntime-node'));
const cudaInstalled = existsSync(
  join(ortDir, '..', 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so'),
);

describe('execution provider selection', () => {
  it('uses the CPU when asked', async () => {
    expect(await selectProvider('cpu')).toEqual({ device: 'cpu', reason: 'device "cpu" was requested' });
  });

  it.skipIf(cudaInstalled)('auto falls back to CPU and says why; cuda fails with the reason', async () => {
    const auto = await selectProvider('auto');
    expect(auto.device).toBe('cpu');
    expect(auto.reason).toMatch(
      /^device "auto" fell back to CPU: the CUDA execution provider is not installed \(.*libonnxruntime_providers_cuda.so is missing/,
    );
    expect(auto.reason).toContain('pnpm setup:cuda');
    await expect(selectProvider('cuda')).rejects.toThrow(
      /device "cuda" was requested but the CUDA execution provider is not installed/,
    );
  });
});

describe('artifacts manifest', () => {
  it('names the file when it is missing or not a manifest', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ortrain-manifest-'));
    try {
      expect(() => readManifest(dir)).toThrow(
        `${join(dir, 'manifest.json')}: cannot read the artifacts manifest`,
      );
      writeFileSync(join(dir, 'manifest.json'), '{"format":"other","version":3}');
      expect(() => readManifest(dir)).toThrow(
        /not an ortrain artifacts manifest \(format other, version 3\)/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
