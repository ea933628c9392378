import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type koffiModule from 'koffi';
import * as ort from 'onnxruntime-node';
import { ortBinaryDir } from './device.js';

/**
 * ONNX Runtime's C API, called through koffi (a prebuilt FFI) on the very library onnxruntime-node loads. It
 * exists for one reason: onnxruntime-node copies every output into a new JS buffer, even one written into a
 * pre-allocated tensor, and a CPU training step's outputs are the whole updated state (1.3 GB for BERT-base).
 * Through the C API the pre-allocated outputs stay where ONNX Runtime wrote them.
 */
type Koffi = typeof koffiModule;

/**
 * The `struct OrtApi` slots called, with their C signatures (every status-returning function returns an
 * `OrtStatus*`, NULL on success). The table only ever grows, so an index holds in every version at or above
 * API_VERSION (the header of that version, include/onnxruntime/core/session/onnxruntime_c_api.h, lists them).
 */
const SLOTS = {
  GetErrorMessage: [2, 'const char *GetErrorMessage(void *status)'],
  CreateEnv: [3, 'void *CreateEnv(int level, const char *logid, _Out_ void **env)'],
  CreateSessionFromArray: [
    8,
    'void *CreateSessionFromArray(void *env, void *data, size_t length, void *options, _Out_ void **session)',
  ],
  Run: [
    9,
    'void *Run(void *session, void *runOptions, const char **inputNames, void **inputs, size_t inputCount, ' +
      'const char **outputNames, size_t outputCount, _Inout_ void **outputs)',
  ],
  CreateSessionOptions: [10, 'void *CreateSessionOptions(_Out_ void **options)'],
  DisableMemPattern: [17, 'void *DisableMemPattern(void *options)'],
  SetSessionGraphOptimizationLevel: [23, 'void *SetSessionGraphOptimizationLevel(void *options, int level)'],
  SetIntraOpNumThreads: [24, 'void *SetIntraOpNumThreads(void *options, int threads)'],
  CreateTensorWithDataAsOrtValue: [
    49,
    'void *CreateTensorWithDataAsOrtValue(void *memoryInfo, void *data, size_t bytes, void *shape, ' +
      'size_t rank, int dataType, _Out_ void **value)',
  ],
  GetTensorMutableData: [51, 'void *GetTensorMutableData(void *value, _Out_ void **data)'],
  GetTensorElementType: [60, 'void *GetTensorElementType(void *info, void *dataType)'],
  GetDimensionsCount: [61, 'void *GetDimensionsCount(void *info, void *rank)'],
  GetDimensions: [62, 'void *GetDimensions(void *info, void *dims, size_t rank)'],
  GetTensorTypeAndShape: [65, 'void *GetTensorTypeAndShape(void *value, _Out_ void **info)'],
  CreateCpuMemoryInfo: [69, 'void *CreateCpuMemoryInfo(int allocatorType, int memType, _Out_ void **info)'],
  ReleaseStatus: [93, 'void ReleaseStatus(void *status)'],
  ReleaseSession: [95, 'void ReleaseSession(void *session)'],
  ReleaseValue: [96, 'void ReleaseValue(void *value)'],
  ReleaseTensorTypeAndShapeInfo: [99, 'void ReleaseTensorTypeAndShapeInfo(void *info)'],
  ReleaseSessionOptions: [100, 'void ReleaseSessionOptions(void *options)'],
} as const;
const API_VERSION = 13;
const ORT_LOGGING_LEVEL_FATAL = 4;
const ORT_ARENA_ALLOCATOR = 1;
const ORT_MEM_TYPE_DEFAULT = 0;

/** A C function of the table: called synchronously, or on a worker thread with `.async(...args, callback)`. */
type CFunction = ((...args: unknown[]) => unknown) & {
  async: (...args: unknown[]) => void;
};

/** An opaque native pointer (OrtSession*, OrtValue*, ...), as koffi hands it over. */
export type Handle = unknown;

export interface CApi {
  readonly koffi: Koffi;
  readonly fn: { readonly [K in keyof typeof SLOTS]: CFunction };
  /** The process's OrtEnv (ONNX Runtime keeps one: the same one onnxruntime-node's sessions use). */
  readonly env: Handle;
  /** CPU memory info for tensors over JS buffers. */
  readonly cpu: Handle;
  /** Throws ONNX Runtime's message, prefixed by `what`, when `status` is an error (non-NULL). */
  check(status: unknown, what: string): void;
  /** Calls `f` with an out-pointer and returns what it wrote. */
  out(f: (out: Handle[]) => unknown, what: string): Handle;
}

/** The shared library onnxruntime-node's binding links against, in the folder of that binding. */
function libraryPath(): string {
  const dir = ortBinaryDir();
  const pattern =
    process.platform === 'win32'
      ? /^onnxruntime\.dll$/
      : process.platform === 'darwin'
        ? /^libonnxruntime\.[\d.]+\.dylib$/
        : /^libonnxruntime\.so\.\d+$/;
  const file = readdirSync(dir).find((f) => pattern.test(f));
  if (!file) throw new Error(`no ONNX Runtime library in ${dir}`);
  return join(dir, file);
}

function load(): CApi {
  const koffi = createRequire(import.meta.url)('koffi') as Koffi;
  const lib = koffi.load(libraryPath());
  const base = koffi.decode(
    lib.func('void *OrtGetApiBase()')(),
    koffi.struct({ GetApi: 'void *', GetVersionString: 'void *' }),
  ) as { GetApi: unknown; GetVersionString: unknown };
  const version = koffi.call(base.GetVersionString, koffi.proto('const char *GetVersionString()')) as string;
  if (version !== ort.env.versions.node) {
    throw new Error(`its library is ONNX Runtime ${version}, onnxruntime-node is ${ort.env.versions.node}`);
  }
  const table = koffi.call(base.GetApi, koffi.proto('void *GetApi(uint32_t version)'), API_VERSION);
  if (table === null) throw new Error(`ONNX Runtime ${version} does not offer C API version ${API_VERSION}`);
  const slots = koffi.decode(table, 'void *', Math.max(...Object.values(SLOTS).map(([i]) => i)) + 1);
  const fn = Object.fromEntries(
    Object.entries(SLOTS).map(([name, [i, signature]]) => [
      name,
      koffi.decode(slots[i], koffi.proto(signature)),
    ]),
  ) as CApi['fn'];
  const check = (status: unknown, what: string): void => {
    if (status === null) return;
    const message = fn.GetErrorMessage(status) as string;
    fn.ReleaseStatus(status);
    throw new Error(`${what}: ${message}`);
  };
  const out = (f: (out: Handle[]) => unknown, what: string): Handle => {
    const slot: Handle[] = [null];
    check(f(slot), what);
    return slot[0];
  };
  const env = out((o) => fn.CreateEnv(ORT_LOGGING_LEVEL_FATAL, 'ortrain', o), 'CreateEnv');
  const cpu = out(
    (o) => fn.CreateCpuMemoryInfo(ORT_ARENA_ALLOCATOR, ORT_MEM_TYPE_DEFAULT, o),
    'CreateCpuMemoryInfo',
  );
  return { koffi, fn, env, cpu, check, out };
}

let loaded: CApi | Error | undefined;

/** The C API, loaded once; throws why it cannot be used (no koffi build for this platform, another ORT). */
export function cApi(): CApi {
  if (loaded === undefined) {
    try {
      loaded = load();
    } catch (e) {
      loaded = new Error(`ONNX Runtime's C API cannot be called directly: ${(e as Error).message}`);
    }
  }
  if (loaded instanceof Error) throw loaded;
  return loaded;
}

/** Why the C API cannot be used, or null when it loads. */
export function cApiUnavailable(): string | null {
  try {
    cApi();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}
