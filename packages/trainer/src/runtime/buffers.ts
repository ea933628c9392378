import type { FloatType } from '@ortrain/artifacts';
import { numel, storageOf } from '@ortrain/graph';
import * as ort from 'onnxruntime-node';

/** Storage of a float state entry: float32/float64 as such, float16 and bfloat16 as raw 16-bit patterns. */
export type StateArray = Float32Array | Float64Array | Uint16Array;

export interface StateOptions {
  /**
   * Graphs write an entry's new value into the very buffer they read it from. Safe only when every reader of
   * an entry runs before the node that writes its new value: global-norm clipping guarantees that (every update
   * waits for the norm, which waits for every gradient, which waits for every read of a parameter), so the
   * replica enables it when the optimizer clips. Halves the memory of parameters and moments.
   */
  inPlace?: boolean;
}

/** A buffer and the ort.Tensor over it (absent for bfloat16, which onnxruntime-node's JS API cannot feed). */
interface Slot {
  data: StateArray;
  tensor?: ort.Tensor;
}

/**
 * State (parameters, optimizer moments, gradient accumulators) of any ONNX float type, held in typed arrays
 * that ONNX Runtime reads and writes directly, so a training step allocates and copies nothing on our side. A
 * rewritten entry has one buffer updated in place (see {@link StateOptions.inPlace}) or two: a graph reads the
 * front one and writes the new value into the back one, then `swap` exchanges them. The ort.Tensor wrappers
 * are made once, here. Device-resident mode: a run's new values stay on the device (`keepOnDevice`) and are
 * fed back from there; the host buffer is current again once read back (`markReadBack`) or set.
 */
export class StateBuffers {
  private readonly front = new Map<string, Slot>();
  private readonly back = new Map<string, Slot>();
  private readonly types = new Map<string, { dataType: FloatType; shape: readonly number[] }>();
  /** Current values a run left on the device (gpu-buffer outputs); they shadow the host buffer. */
  private readonly onDevice = new Map<string, ort.Tensor>();
  /** Entries on the device whose host buffer was read back since (both copies current). */
  private readonly readBack = new Set<string>();
  readonly inPlace: boolean;

  constructor(options: StateOptions = {}) {
    this.inPlace = options.inPlace ?? false;
  }

  /**
   * Adds an entry, zero or `init` (as many elements of the entry's storage type); `written` false for state no
   * graph rewrites (frozen parameters).
   */
  add(
    name: string,
    type: { dataType: FloatType; shape: readonly number[] },
    init?: ArrayLike<number>,
    written = true,
  ): void {
    if (this.front.has(name)) throw new Error(`state '${name}' is defined twice`);
    const size = numel(type.shape);
    if (init && init.length !== size) {
      throw new Error(
        `state '${name}': ${init.length} values given for shape [${type.shape}] (${size} expected)`,
      );
    }
    const dims = [...type.shape];
    const buffer = (): Slot => {
      const data = new (storageOf(type.dataType) as new (n: number) => StateArray)(size);
      // onnxruntime-node 1.30 has float16 tensors (Uint16Array) but no bfloat16 ones.
      if (type.dataType === 'bfloat16') return { data };
      return { data, tensor: new ort.Tensor(type.dataType, data, dims) };
    };
    const front = buffer();
    if (init) front.data.set(init);
    this.front.set(name, front);
    if (written) this.back.set(name, this.inPlace ? front : buffer());
    this.types.set(name, { dataType: type.dataType, shape: dims });
  }

  has(name: string): boolean {
    return this.front.has(name);
  }

  /** The tensor to feed for `name` (the current values: on the device when a run left them there). */
  tensor(name: string): ort.Tensor {
    return this.onDevice.get(name) ?? this.wrapper(name, this.front.get(name));
  }

  /** The host buffer's tensor for `name`, whatever is current (what a read-back writes into). */
  hostTensor(name: string): ort.Tensor {
    return this.wrapper(name, this.front.get(name));
  }

  /** Keeps `t`, a run's output on the device, as the current value of `name`, releasing the one it replaces. */
  keepOnDevice(name: string, t: ort.Tensor): void {
    const old = this.onDevice.get(name);
    if (old !== t) old?.dispose();
    this.onDevice.set(name, t);
    this.readBack.delete(name);
  }

  /** Whether a device copy of `name` exists (current, whether or not the host one is). */
  hasDeviceCopy(name: string): boolean {
    return this.onDevice.has(name);
  }

  /** Entries whose current values exist on the device only. */
  deviceOnly(): string[] {
    return [...this.onDevice.keys()].filter((n) => !this.readBack.has(n));
  }

  /** The host buffers of `names` now hold their current values (read back from the device). */
  markReadBack(names: Iterable<string>): void {
    for (const n of names) this.readBack.add(n);
  }

  /** Host values replace the device copy of `name` (set, zeroed): the next run feeds them. */
  private dropDevice(name: string): void {
    this.onDevice.get(name)?.dispose();
    this.onDevice.delete(name);
    this.readBack.delete(name);
  }

  /** Zeroes `name` (an accumulator a run consumed). */
  zero(name: string): void {
    this.dropDevice(name);
    this.get(name).fill(0);
  }

  /** Releases every device copy (the sessions are going away). */
  releaseDevice(): void {
    for (const n of [...this.onDevice.keys()]) this.dropDevice(n);
  }

  /** The tensor a graph writes the new value of `name` into (the one it reads, in place). */
  target(name: string): ort.Tensor {
    const b = this.back.get(name);
    if (!b) throw new Error(`state '${name}' is not written by any graph (frozen)`);
    return this.wrapper(name, b);
  }

  private wrapper(name: string, b: Slot | undefined): ort.Tensor {
    if (!b) throw new Error(`no state named '${name}'`);
    if (!b.tensor) {
      throw new Error(
        `state '${name}' is ${this.type(name).dataType}, which onnxruntime-node cannot feed to a graph`,
      );
    }
    return b.tensor;
  }

  /** Current values of `name` (a live view: copy it to keep it past the next step). */
  get(name: string): StateArray {
    const b = this.front.get(name);
    if (!b) throw new Error(`no state named '${name}'`);
    if (this.onDevice.has(name) && !this.readBack.has(name)) {
      throw new Error(`state '${name}' is on the device: read it back first (await Replica.sync())`);
    }
    return b.data;
  }

  /** Element type and shape of `name`. */
  type(name: string): { dataType: FloatType; shape: readonly number[] } {
    const t = this.types.get(name);
    if (!t) throw new Error(`no state named '${name}'`);
    return t;
  }

  shape(name: string): readonly number[] {
    return this.type(name).shape;
  }

  set(name: string, values: ArrayLike<number>): void {
    this.dropDevice(name);
    const cur = this.get(name);
    if (values.length !== cur.length) {
      throw new Error(
        `state '${name}': ${values.length} values given, ${cur.length} expected [${this.shape(name)}]`,
      );
    }
    cur.set(values);
  }

  swap(names: Iterable<string>): void {
    if (this.inPlace) return;
    for (const n of names) {
      const f = this.front.get(n)!;
      this.front.set(n, this.back.get(n)!);
      this.back.set(n, f);
    }
  }

  names(): IterableIterator<string> {
    return this.front.keys();
  }
}
