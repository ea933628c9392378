import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { selectProvider } from '../src/runtime/device.js';

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

describe('WebGPU', () => {
  it('is used only when requested, and says why when it cannot load', async () => {
    // onnxruntime-node bundles the WebGPU provider; whether it loads depends on a GPU adapter being there.
    const choice = await selectProvider('webgpu').catch((e: Error) => e);
    if (choice instanceof Error) {
      expect(choice.message).toMatch(
        /^device "webgpu" was requested but the WebGPU execution provider failed to load \(.+\); it needs a GPU adapter/s,
      );
    } else {
      expect(choice).toEqual({ device: 'webgpu', reason: 'device "webgpu" was requested' });
    }
  });
});
