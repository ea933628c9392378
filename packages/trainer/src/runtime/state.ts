import { numel } from '@ortrain/graph';
import * as ort from 'onnxruntime-node';

export interface StateOptions {
  /**
   * Graphs write `<name>.new` into the very buffer they read `<name>` from. Safe only when every reader of an
   * entry runs before the node that writes its new value: global-norm clipping guarantees that (every update
   * waits for the norm, which waits for every gradient, which waits for every read of a parameter), so the
   * session enables it when the optimizer clips. Halves the memory of parameters and moments.
   */
  inPlace?: boolean;
}

/**
 * Float32 state (parameters, AdamW moments, gradient accumulators) held in typed arrays that ONNX Runtime reads
 * and writes directly, so a training step allocates and copies nothing on our side. A rewritten entry has one
 * buffer updated in place (see {@link StateOptions.inPlace}) or two: a graph reads the front one and writes
 * `<name>.new` into the back one, then `swap` exchanges them. The ort.Tensor wrappers are made once, here.
 */
export class StateBuffers {
  private readonly front = new Map<string, ort.Tensor>();
  private readonly back = new Map<string, ort.Tensor>();
  private readonly shapes = new Map<string, readonly number[]>();
  readonly inPlace: boolean;

  constructor(options: StateOptions = {}) {
    this.inPlace = options.inPlace ?? false;
  }

  /** Adds an entry; `written` false for state no graph rewrites (frozen parameters). */
  add(name: string, shape: readonly number[], init?: Float32Array, written = true): void {
    if (this.front.has(name)) throw new Error(`state '${name}' is defined twice`);
    const size = numel(shape);
    if (init && init.length !== size) {
      throw new Error(`state '${name}': ${init.length} values given for shape [${shape}] (${size} expected)`);
    }
    const dims = [...shape];
    const a = new Float32Array(size);
    if (init) a.set(init);
    const t = new ort.Tensor('float32', a, dims);
    this.front.set(name, t);
    if (written)
      this.back.set(name, this.inPlace ? t : new ort.Tensor('float32', new Float32Array(size), dims));
    this.shapes.set(name, dims);
  }

  has(name: string): boolean {
    return this.front.has(name);
  }

  /** The tensor to feed for `name` (the current values). */
  tensor(name: string): ort.Tensor {
    const t = this.front.get(name);
    if (!t) throw new Error(`no state named '${name}'`);
    return t;
  }

  /** The tensor a graph writes `<name>.new` into (the one it reads, in place). */
  target(name: string): ort.Tensor {
    const t = this.back.get(name);
    if (!t) throw new Error(`state '${name}' is not written by any graph (frozen)`);
    return t;
  }

  /** Current values of `name` (a live view: copy it to keep it past the next step). */
  get(name: string): Float32Array {
    return this.tensor(name).data as Float32Array;
  }

  shape(name: string): readonly number[] {
    return this.shapes.get(name)!;
  }

  set(name: string, values: Float32Array): void {
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
