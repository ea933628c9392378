import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { emptyGraph, encodeModel, GraphBuilder } from '@ortrain/graph';
import * as ort from 'onnxruntime-node';

/**
 * Device selection: which ONNX Runtime execution provider a replica's sessions run on, and why. It knows the
 * CPU (always there), CUDA (an optional library installed by `pnpm setup:cuda`) and WebGPU (bundled with
 * onnxruntime-node, used only when asked for: it needs a GPU adapter, and state does not stay on the device yet).
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
function ortBinaryDir(): string {
  const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
  return join(dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
}

const CUDA_LIB =
  process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';

/** A one-node model, enough to make ONNX Runtime load an execution provider. */
function probeModel(): Uint8Array {
  const g = emptyGraph('probe');
  const b = new GraphBuilder(g);
  b.addInput({ name: 'x', type: { dataType: 'float32', shape: [1] } });
  b.op('Identity', ['x'], {}, { outputs: ['y'] });
  b.addOutput({ name: 'y', type: { dataType: 'float32', shape: [1] } });
  return encodeModel({
    irVersion: 8,
    opsets: new Map([['', 17]]),
    producerName: 'ortrain',
    producerVersion: '0',
    graph: g,
    metadata: {},
  });
}

/** Tries to load the CUDA execution provider (on one GPU); returns why it cannot be used, or null when it works. */
async function cudaUnavailable(deviceId?: number): Promise<string | null> {
  const lib = join(ortBinaryDir(), CUDA_LIB);
  if (!existsSync(lib)) {
    return (
      `the CUDA execution provider is not installed (${lib} is missing; onnxruntime-node downloads it ` +
      'only on request: run `pnpm setup:cuda` in the ortrain repository)'
    );
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
    return `the WebGPU execution provider failed to load (${(e as Error).message.trim()}); it needs a GPU adapter (Vulkan, Metal or Direct3D 12)`;
  }
}

/**
 * Resolves `auto` | `cpu` | `cuda` | `webgpu` to a device: `auto` takes CUDA when it loads, else CPU, and says
 * why; `cuda` and `webgpu` fail with the reason when they cannot be used.
 */
export async function selectProvider(requested: 'auto' | Device, deviceId?: number): Promise<ProviderChoice> {
  if (requested === 'cpu') return { device: 'cpu', reason: 'device "cpu" was requested' };
  if (requested === 'webgpu') {
    const why = await webgpuUnavailable();
    if (why !== null) throw new Error(`device "webgpu" was requested but ${why}`);
    return { device: 'webgpu', reason: 'device "webgpu" was requested' };
  }
  const why = await cudaUnavailable(deviceId);
  const id = deviceId === undefined ? {} : { deviceId };
  if (requested === 'cuda') {
    if (why !== null) throw new Error(`device "cuda" was requested but ${why}`);
    return { device: 'cuda', reason: 'device "cuda" was requested', ...id };
  }
  return why === null
    ? { device: 'cuda', reason: 'device "auto": the CUDA execution provider loaded', ...id }
    : { device: 'cpu', reason: `device "auto" fell back to CPU: ${why}` };
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
