import type { Device } from '../runtime/device.js';

/**
 * `devices` (HF launches one process per GPU with torchrun; here one replica per entry): `cpu:N` for N CPU
 * replicas, a list of CUDA GPUs (`cuda:0,cuda:1`), or a bare count N of replicas of `device` (CUDA replicas
 * then take GPUs 0..N-1, as `torchrun --nproc_per_node N` does; WebGPU replicas share the one adapter).
 */
export interface DevicePlan {
  /** `auto` when a bare count leaves the choice to `device`. */
  device: 'auto' | Device;
  /** One GPU index per replica (for CPU replicas: 0, 1, ... with no meaning beyond the count). */
  ids: number[];
}

const EXPECTED = 'cpu:N (N CPU replicas), a list of one GPU kind such as cuda:0,cuda:1, or a replica count N';

/**
 * Why `webgpu:N` (N > 0) is refused: onnxruntime-node 1.30 cannot choose a WebGPU adapter. Its binding rejects a
 * `deviceId` for webgpu, and the WebGPU EP's own `deviceId` option (reachable through session config entries)
 * names a WebGPU context on the adapter Dawn picks, not an adapter. webgpu:1 would silently be the same GPU.
 */
const NO_WEBGPU_ADAPTER_CHOICE =
  'onnxruntime-node 1.30 cannot put a WebGPU session on a chosen GPU (its binding takes no adapter index for ' +
  'webgpu; the WebGPU EP uses the adapter Dawn picks), so webgpu:1 would be the same GPU as webgpu:0; for ' +
  'several replicas sharing that GPU give a count (devices 2 with device webgpu), for several NVIDIA GPUs use ' +
  'cuda:0,cuda:1';

/** Parses a `devices` value with `device` the single-device choice; throws naming what is wrong. */
export function parseDevices(spec: string, device: 'auto' | Device): DevicePlan {
  const s = spec.trim();
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  if (/^\d+$/.test(s)) return { device, ids: range(positive(Number(s), spec)) };
  const cpu = /^cpu:(\d+)$/.exec(s);
  if (cpu) return { device: 'cpu', ids: range(positive(Number(cpu[1]), spec)) };
  const entries = s.split(',').map((e) => /^(cuda|webgpu):(\d+)$/.exec(e.trim()));
  if (entries.some((m) => m === null)) throw new Error(`devices '${spec}': expected ${EXPECTED}`);
  const kinds = new Set(entries.map((m) => m![1]));
  if (kinds.size > 1) throw new Error(`devices '${spec}': every replica must be on the same kind of device`);
  const ids = entries.map((m) => Number(m![2]));
  if (new Set(ids).size !== ids.length) throw new Error(`devices '${spec}': a device is listed twice`);
  if (kinds.has('webgpu') && ids.some((id) => id > 0))
    throw new Error(`devices '${spec}': ${NO_WEBGPU_ADAPTER_CHOICE}`);
  return { device: entries[0]![1] as Device, ids };
}

function positive(n: number, spec: string): number {
  if (n < 1) throw new Error(`devices '${spec}': at least one replica is needed`);
  return n;
}
