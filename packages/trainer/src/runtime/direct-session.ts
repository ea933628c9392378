import { readFileSync } from 'node:fs';
import { bytesPerElement, type DataType, dataTypeCode, dataTypeOf, numel, storageOf } from '@ortrain/graph';
import * as ort from 'onnxruntime-node';
import { type CApi, cApi, type Handle } from './ort-c-api.js';

/** What a replica needs of a session; onnxruntime-node's sessions get it through `bindingSession`. */
export interface GraphSession {
  /**
   * Runs with `fetches` naming the outputs wanted: a tensor to write that output into, or null for a new one.
   * Returns every output fetched.
   */
  run(
    feeds: Record<string, ort.Tensor>,
    fetches: Record<string, ort.Tensor | null>,
  ): Promise<Record<string, ort.Tensor>>;
  /** Whether the returned outputs are copies even where a tensor was given (onnxruntime-node's). */
  readonly copiesOutputs: boolean;
  release(): Promise<void>;
}

/** onnxruntime-node's session: it copies every output into a new JS buffer, pre-allocated or not. */
export function bindingSession(session: ort.InferenceSession): GraphSession {
  return {
    copiesOutputs: true,
    run: async (feeds, fetches) =>
      (await session.run(feeds, fetches as ort.InferenceSession.FetchesType)) as Record<string, ort.Tensor>,
    release: () => session.release(),
  };
}

/**
 * A CPU session run through ONNX Runtime's C API (see ort-c-api.ts): inputs and pre-allocated outputs are
 * OrtValues over the JS buffers, so ONNX Runtime reads and writes them in place and nothing is copied back;
 * outputs fetched as null are copied out of ONNX Runtime's memory (the loss, norms, logits: small). A run
 * happens on a worker thread, so the event loop keeps turning while a step computes.
 */
export class DirectSession implements GraphSession {
  readonly copiesOutputs = false;
  private readonly running = new Set<Promise<unknown>>();

  private constructor(
    private readonly api: CApi,
    private handle: Handle,
    private readonly file: string,
  ) {}

  /**
   * Opens `file` on the CPU with the session options CPU replicas use (see sessionOptions): the optimization
   * level, the memory pattern and the intra-op threads; any other option is refused rather than ignored.
   */
  static create(file: string, options: ort.InferenceSession.SessionOptions): DirectSession {
    const { executionProviders, graphOptimizationLevel, enableMemPattern, intraOpNumThreads, ...rest } =
      options;
    const unsupported = Object.keys(rest);
    if (executionProviders?.some((p) => (typeof p === 'string' ? p : p.name) !== 'cpu'))
      unsupported.push('executionProviders');
    if (unsupported.length > 0) {
      throw new Error(
        `${file}: sessions through the C API run on the CPU and do not take ${unsupported.join(', ')}`,
      );
    }
    const api = cApi();
    const { fn, out, check } = api;
    const model = readFileSync(file);
    const opts = out((o) => fn.CreateSessionOptions(o), 'CreateSessionOptions');
    try {
      if (graphOptimizationLevel !== undefined) {
        const level = OPTIMIZATION_LEVELS[graphOptimizationLevel];
        check(fn.SetSessionGraphOptimizationLevel(opts, level), 'SetSessionGraphOptimizationLevel');
      }
      if (enableMemPattern === false) check(fn.DisableMemPattern(opts), 'DisableMemPattern');
      if (intraOpNumThreads) check(fn.SetIntraOpNumThreads(opts, intraOpNumThreads), 'SetIntraOpNumThreads');
      const session = out(
        (o) => fn.CreateSessionFromArray(api.env, model, model.byteLength, opts, o),
        `${file}: ONNX Runtime could not load it`,
      );
      return new DirectSession(api, session, file);
    } finally {
      fn.ReleaseSessionOptions(opts);
    }
  }

  run(
    feeds: Record<string, ort.Tensor>,
    fetches: Record<string, ort.Tensor | null>,
  ): Promise<Record<string, ort.Tensor>> {
    if (this.handle === null) return Promise.reject(new Error(`${this.file}: the session was released`));
    const run = this.runOnce(this.handle, feeds, fetches);
    this.running.add(run);
    run.then(
      () => this.running.delete(run),
      () => this.running.delete(run),
    );
    return run;
  }

  private async runOnce(
    handle: Handle,
    feeds: Record<string, ort.Tensor>,
    fetches: Record<string, ort.Tensor | null>,
  ): Promise<Record<string, ort.Tensor>> {
    const { fn, check } = this.api;
    const inputNames = Object.keys(feeds);
    const outputNames = Object.keys(fetches);
    const created: Handle[] = [];
    try {
      const inputs = inputNames.map((n) => this.value(feeds[n]!, n, created));
      const outputs = outputNames.map((n) => (fetches[n] ? this.value(fetches[n]!, n, created) : null));
      const status = await new Promise((resolve, reject) => {
        fn.Run.async(
          handle,
          null,
          inputNames,
          inputs,
          inputs.length,
          outputNames,
          outputs.length,
          outputs,
          (err: Error | null, result: unknown) => (err ? reject(err) : resolve(result)),
        );
      });
      // ONNX Runtime's new outputs are ours to release, whether or not the run succeeded.
      outputNames.forEach((n, i) => {
        if (!fetches[n] && outputs[i] !== null) created.push(outputs[i]);
      });
      check(status, this.file);
      const results: Record<string, ort.Tensor> = {};
      outputNames.forEach((n, i) => {
        results[n] = fetches[n] ?? this.read(outputs[i], n);
      });
      return results;
    } finally {
      for (const v of created) fn.ReleaseValue(v);
    }
  }

  /** An OrtValue over the tensor's own buffer (released by the caller after the run). */
  private value(t: ort.Tensor, name: string, created: Handle[]): Handle {
    if (t.location !== 'cpu' || t.type === 'string') {
      throw new Error(`${this.file}: '${name}' must be a numeric CPU tensor, got ${t.type} on ${t.location}`);
    }
    const data = t.data as ArrayBufferView;
    const { fn, out } = this.api;
    const v = out(
      (o) =>
        fn.CreateTensorWithDataAsOrtValue(
          this.api.cpu,
          data,
          data.byteLength,
          BigInt64Array.from(t.dims, BigInt),
          t.dims.length,
          dataTypeCode(t.type as DataType),
          o,
        ),
      `${this.file}: '${name}'`,
    );
    created.push(v);
    return v;
  }

  /** A copy of an output ONNX Runtime allocated, as a tensor of its type and shape. */
  private read(value: Handle, name: string): ort.Tensor {
    const { fn, out, check, koffi } = this.api;
    const where = `${this.file}: output '${name}'`;
    const info = out((o) => fn.GetTensorTypeAndShape(value, o), where);
    let type: DataType;
    let dims: number[];
    try {
      const code = new Int32Array(1);
      check(fn.GetTensorElementType(info, code), where);
      type = dataTypeOf(code[0]!, where);
      const rank = new BigUint64Array(1);
      check(fn.GetDimensionsCount(info, rank), where);
      const shape = new BigInt64Array(Number(rank[0]));
      check(fn.GetDimensions(info, shape, shape.length), where);
      dims = Array.from(shape, Number);
    } finally {
      fn.ReleaseTensorTypeAndShapeInfo(info);
    }
    // onnxruntime-node has no bfloat16 (or string) tensors to hand such an output back in.
    if (type === 'string' || type === 'bfloat16')
      throw new Error(`${where} is ${type}, which ortrain does not read`);
    const bytes = numel(dims) * bytesPerElement(type);
    // A view of ONNX Runtime's memory, copied before the value is released.
    const data =
      bytes === 0
        ? new ArrayBuffer(0)
        : koffi
            .view(
              out((o) => fn.GetTensorMutableData(value, o), where),
              bytes,
            )
            .slice(0);
    const Storage = storageOf(type) as new (buffer: ArrayBuffer) => ort.Tensor['data'];
    return new ort.Tensor(type as ort.Tensor.Type, new Storage(data) as never, dims);
  }

  /** Refuses new runs at once; frees the session once the runs in flight are done (not under them). */
  async release(): Promise<void> {
    if (this.handle === null) return;
    const handle = this.handle;
    this.handle = null;
    await Promise.allSettled(this.running);
    this.api.fn.ReleaseSession(handle);
  }
}

/** GraphOptimizationLevel (onnxruntime_c_api.h) by onnxruntime-node's names for it. */
const OPTIMIZATION_LEVELS = { disabled: 0, basic: 1, extended: 2, layout: 3, all: 99 } as const;
