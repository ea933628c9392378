import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { selectProvider, softwareAdapter } from '../src/runtime/device.js';

const ortDir = dirname(createRequire(import.meta.url).resolve('onnxruntime-node'));
const cudaInstalled = existsSync(
  join(ortDir, '..', 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so'),
);

describe('execution provider selection', () => {
  it('uses the CPU when asked', async () => {
    expect(await selectProvider('cpu')).toEqual({ device: 'cpu', reason: 'device "cpu" was requested' });
  });

  it.skipIf(cudaInstalled)(
    'auto falls back to CPU and says why, shortly; cuda fails with the way to get it',
    async () => {
      const auto = await selectProvider('auto');
      expect(auto.device).toBe('cpu');
      // Without a GPU the missing CUDA provider is no news; with one, the way to install it is.
      if (softwareAdapter() !== null) expect(auto.reason).toBe(`device "auto": ${softwareAdapter()}`);
      else
        expect(auto.reason).toMatch(
          /^device "auto" fell back to CPU: the CUDA execution provider is not installed/,
        );
      const cuda = await selectProvider('cuda').catch((e: Error) => e.message);
      expect(cuda).toBe(
        'device "cuda" was requested but the CUDA execution provider is not installed (onnxruntime-node fetches ' +
          'libonnxruntime_providers_cuda.so only on request: run `pnpm setup:cuda`)',
      );
    },
  );
});

describe('WebGPU', () => {
  it('is used only when requested, and says why when it cannot load', async () => {
    // onnxruntime-node bundles the WebGPU provider; whether it loads depends on a GPU adapter being there.
    const choice = await selectProvider('webgpu').catch((e: Error) => e);
    if (choice instanceof Error) {
      expect(choice.message).toMatch(
        /^device "webgpu" was requested but no WebGPU adapter loads \(no Vulkan driver, or no GPU: .+\); install the Vulkan loader/,
      );
      expect(choice.message).not.toContain('\n');
      expect(choice.message).toContain('VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json');
    } else {
      expect(choice).toEqual({ device: 'webgpu', reason: 'device "webgpu" was requested' });
    }
  });
});

describe('auto and software adapters', () => {
  const none = () => false;
  it('counts SwiftShader and llvmpipe as software, whatever the GPU nodes', () => {
    const swiftshader = { VK_ICD_FILENAMES: '/usr/lib/chromium/vk_swiftshader_icd.json' };
    expect(softwareAdapter(swiftshader, 'linux', () => true)).toBe(
      'the Vulkan driver is a software one (/usr/lib/chromium/vk_swiftshader_icd.json)',
    );
    expect(
      softwareAdapter({ VK_DRIVER_FILES: '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json' }, 'darwin', none),
    ).toMatch(/software one/);
  });

  it('on Linux needs a GPU device node; Metal and Direct3D 12 count as GPUs', () => {
    expect(softwareAdapter({}, 'linux', none)).toBe(
      'no GPU found (no /dev/dri/renderD128, /dev/nvidia0 or /dev/kfd)',
    );
    expect(softwareAdapter({}, 'linux', (p) => p === '/dev/nvidia0')).toBeNull();
    expect(
      softwareAdapter(
        { VK_ICD_FILENAMES: '/etc/vulkan/icd.d/nvidia_icd.json' },
        'linux',
        (p) => p === '/dev/dri/renderD128',
      ),
    ).toBeNull();
    expect(softwareAdapter({}, 'darwin', none)).toBeNull();
    expect(softwareAdapter({}, 'win32', none)).toBeNull();
  });

  it.skipIf(cudaInstalled || softwareAdapter() === null)(
    'auto passes over a software WebGPU adapter to the CPU, saying so',
    async () => {
      const auto = await selectProvider('auto');
      expect(auto.device).toBe('cpu');
      expect(auto.reason).toMatch(/^device "auto": (the Vulkan driver is a software one|no GPU found)/);
    },
  );
});
