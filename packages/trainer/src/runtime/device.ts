import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FloatType } from '@ortrain/artifacts';
import { emptyGraph, encodeModel, GraphBuilder } from '@ortrain/graph';
import * as ort from 'onnxruntime-node';

/**
 * Device selection: which ONNX Runtime execution provider a replica's sessions run on, and why. It knows the
 * CPU (always there), CUDA (an optional library installed by `pnpm setup:cuda`) and WebGPU (bundled with
 * onnxruntime-node: Dawn over Vulkan, Metal or Direct3D 12; it needs a GPU adapter).
 */
export type Device = 'cpu' | 'cuda' | 'webgpu';

export interface ProviderChoice {
  device: Device;
  /** Which GPU (CUDA's device id) when there are several; absent: the provider's default. */
  deviceId?: number;
  /** Why this device: shown to the user when `auto` picked it or CUDA was refused. */
  reason: string;
}

export interface SessionConfig {
  device: Device;
  /** ONNX Runtime intra-op threads; 0 keeps its default (one per core). */
  numThreads: number;
  /** CUDA device id; absent: GPU 0. */
  deviceId?: number;
}

// Errors are reported through exceptions with our own explanation; ORT's native log would only repeat them.
ort.env.logLevel = 'fatal';

/** Where onnxruntime-node keeps its native libraries (the CUDA EP is an optional file there). */
export function ortBinaryDir(): string {
  const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
  return join(dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
}

const CUDA_LIB =
  process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';

/** A graph of Identity nodes, `y<i>` = `x<i>`: loads a provider (one float), or reads device tensors back. */
export function identityModel(
  tensors: readonly { dataType: FloatType; shape: readonly number[] }[],
): Uint8Array {
  const g = emptyGraph('identity');
  const b = new GraphBuilder(g);
  tensors.forEach((t, i) => {
    const type = { dataType: t.dataType, shape: [...t.shape] };
    b.addInput({ name: `x${i}`, type });
    b.op('Identity', [`x${i}`], {}, { outputs: [`y${i}`] });
    b.addOutput({ name: `y${i}`, type });
  });
  return encodeModel({
    irVersion: 8,
    opsets: new Map([['', 17]]),
    producerName: 'ortrain',
    producerVersion: '0',
    graph: g,
    metadata: {},
  });
}

const probeModel = () => identityModel([{ dataType: 'float32', shape: [1] }]);

/** Tries to load the CUDA execution provider (on one GPU); returns why it cannot be used, or null when it works. */
async function cudaUnavailable(deviceId?: number): Promise<string | null> {
  const lib = join(ortBinaryDir(), CUDA_LIB);
  if (!existsSync(lib)) {
    return `the CUDA execution provider is not installed (onnxruntime-node fetches ${CUDA_LIB} only on request: run \`pnpm setup:cuda\`)`;
  }
  try {
    const s = await ort.InferenceSession.create(probeModel(), {
      executionProviders: [deviceId === undefined ? 'cuda' : { name: 'cuda', deviceId }],
    });
    await s.release();
    return null;
  } catch (e) {
    return `the CUDA execution provider failed to load${deviceId === undefined ? '' : ` on GPU ${deviceId}`} (${(e as Error).message}); it needs an NVIDIA driver, CUDA 12 and cuDNN 9`;
  }
}

/** Software Vulkan drivers: Dawn runs on them, slower than ONNX Runtime's CPU kernels. */
const SOFTWARE_VULKAN = /swiftshader|lvp|llvmpipe|lavapipe/i;

/**
 * Why the adapter Dawn would pick is a software one, or null when a GPU is there. Dawn reports no adapter
 * details through onnxruntime-node, so this reads what it would enumerate: an ICD file forced through
 * VK_ICD_FILENAMES / VK_DRIVER_FILES, and on Linux the GPU device nodes. Metal and Direct3D 12 count as GPUs.
 */
export function softwareAdapter(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  hasPath: (p: string) => boolean = existsSync,
): string | null {
  const forced = env['VK_ICD_FILENAMES'] ?? env['VK_DRIVER_FILES'];
  if (forced && SOFTWARE_VULKAN.test(forced)) return `the Vulkan driver is a software one (${forced})`;
  if (platform !== 'linux') return null;
  const gpuNodes = ['/dev/dri/renderD128', '/dev/nvidia0', '/dev/kfd'];
  if (gpuNodes.some(hasPath)) return null;
  return `no GPU found (no ${gpuNodes.slice(0, -1).join(', ')} or ${gpuNodes.at(-1)})`;
}

/** How to get a WebGPU adapter, for the error when none loads. */
const ADAPTER_HELP =
  "install the Vulkan loader and your GPU's Vulkan driver (Debian: apt-get install libvulkan1 plus " +
  'mesa-vulkan-drivers or the NVIDIA driver); to test without a GPU: apt-get install chromium and set ' +
  'VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json XDG_RUNTIME_DIR=/tmp';

/** Tries to load the WebGPU execution provider; returns why it cannot be used, or null when it works. */
async function webgpuUnavailable(): Promise<string | null> {
  if (!ort.listSupportedBackends().some((b) => b.name === 'webgpu')) {
    return 'this build of onnxruntime-node has no WebGPU execution provider';
  }
  try {
    const s = await ort.InferenceSession.create(probeModel(), { executionProviders: ['webgpu'] });
    await s.release();
    return null;
  } catch (e) {
    const message = (e as Error).message.trim();
    // Dawn's words after ONNX Runtime's source location, e.g. "Failed to get a WebGPU adapter: No supported adapters".
    const dawn = /Failed to get a WebGPU adapter[^\n]*/.exec(message)?.[0] ?? message.split('\n')[0];
    return `no WebGPU adapter loads (no Vulkan driver, or no GPU: ${dawn}); ${ADAPTER_HELP}`;
  }
}

/** Why CUDA (on a GPU) or WebGPU cannot be used, or null once it loaded: each is probed once per process. */
const cudaProbes = new Map<number | undefined, Promise<string | null>>();
const cudaProbe = (deviceId?: number): Promise<string | null> => {
  let p = cudaProbes.get(deviceId);
  if (!p) cudaProbes.set(deviceId, (p = cudaUnavailable(deviceId)));
  return p;
};
let webgpuProbe: Promise<string | null> | undefined;

/**
 * Resolves `auto` | `cpu` | `cuda` | `webgpu` to a device: `auto` takes CUDA when it loads, else WebGPU when
 * it loads on a GPU (not a software adapter), else CPU, and says why; `cuda` and `webgpu` fail with the reason
 * when they cannot be used.
 */
export async function selectProvider(requested: 'auto' | Device, deviceId?: number): Promise<ProviderChoice> {
  if (requested === 'cpu') return { device: 'cpu', reason: 'device "cpu" was requested' };
  if (requested === 'webgpu') {
    const why = await (webgpuProbe ??= webgpuUnavailable());
    if (why !== null) throw new Error(`device "webgpu" was requested but ${why}`);
    return { device: 'webgpu', reason: 'device "webgpu" was requested' };
  }
  const id = deviceId === undefined ? {} : { deviceId };
  const cuda = await cudaProbe(deviceId);
  if (requested === 'cuda') {
    if (cuda !== null) throw new Error(`device "cuda" was requested but ${cuda}`);
    return { device: 'cuda', reason: 'device "cuda" was requested', ...id };
  }
  if (cuda === null) {
    return { device: 'cuda', reason: 'device "auto": the CUDA execution provider loaded', ...id };
  }
  const software = softwareAdapter();
  // Without a GPU, why CUDA and WebGPU do not load is beside the point: one short reason.
  if (software !== null) return { device: 'cpu', reason: `device "auto": ${software}` };
  const webgpu = await (webgpuProbe ??= webgpuUnavailable());
  if (webgpu === null) {
    return { device: 'webgpu', reason: `device "auto": ${cuda}; WebGPU loaded on a GPU adapter` };
  }
  return { device: 'cpu', reason: `device "auto" fell back to CPU: ${cuda}; ${webgpu}` };
}

export function sessionOptions(config: SessionConfig): ort.InferenceSession.SessionOptions {
  return {
    // onnxruntime-node takes a device id for CUDA only; WebGPU replicas share the adapter it picks.
    executionProviders: [
      config.device === 'cuda' && config.deviceId !== undefined
        ? { name: 'cuda', deviceId: config.deviceId }
        : config.device,
    ],
    graphOptimizationLevel: 'all',
    // On CPU the memory pattern costs more than it saves: after the first run it asks the arena for one block
    // as large as all intermediate tensors together (1.8 GB for BERT-base at 8 x 128) while the blocks of that
    // first run stay held; without it a BERT-base training run peaks 1.9 GB lower at the same speed.
    ...(config.device === 'cpu' ? { enableMemPattern: false } : {}),
    ...(config.numThreads > 0 ? { intraOpNumThreads: config.numThreads } : {}),
  };
}
