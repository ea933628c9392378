import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';

/**
 * Whether the WebGPU tests run, and on which adapter. Without a GPU, CI gives Dawn Chromium's SwiftShader
 * Vulkan driver (see .ci/run); ORTRAIN_WEBGPU_TEST=0 skips them, ORTRAIN_WEBGPU_TEST=hardware leaves the
 * environment's own Vulkan driver in place (scripts/gpu-check.sh). Importing this sets the driver's
 * environment, so child processes inherit it.
 */
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const VULKAN_LOADER = ['x86_64', 'aarch64'].map((arch) => `/usr/lib/${arch}-linux-gnu/libvulkan.so.1`);
const mode = process.env['ORTRAIN_WEBGPU_TEST'] ?? 'swiftshader';

/** Why the WebGPU tests skip here, or undefined when they run. */
export const webgpuSkipWhy =
  mode === '0'
    ? 'ORTRAIN_WEBGPU_TEST=0'
    : mode === 'swiftshader' && !(existsSync(SWIFTSHADER_ICD) && VULKAN_LOADER.some((p) => existsSync(p)))
      ? `${SWIFTSHADER_ICD} or the Vulkan loader is absent (apt-get install chromium libvulkan1)`
      : undefined;

if (webgpuSkipWhy === undefined && mode === 'swiftshader') {
  process.env['VK_ICD_FILENAMES'] = SWIFTSHADER_ICD;
  process.env['XDG_RUNTIME_DIR'] ??= tmpdir();
}
