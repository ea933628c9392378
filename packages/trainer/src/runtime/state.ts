import * as ort from 'onnxruntime-node';

/**
 * Float32 state (parameters, AdamW moments, gradient accumulators) held in typed arrays that ONNX Runtime reads
 * and writes in place. Each entry has two buffers: a graph reads the front one and writes `<name>.new` into the
 * back one, then `swap` exchanges them, so a training step allocates and copies nothing. The ort.Tensor
 * wrappers are made once, here.
 */
export class StateBuffers {
  private readonly front = new Map<string, ort.Tensor>();
  private readonly back = new Map<string, ort.Tensor>();
  private readonly shapes = new Map<string, readonly number[]>();

  /** Adds an entry; `doubleBuffered` false for state no graph rewrites (frozen parameters). */
  add(name: string, shape: readonly number[], init?: Float32Array, doubleBuffered = true): void {
    if (this.front.has(name)) throw new Error(`state '${name}' is defined twice`);
    const size = shape.reduce((a, b) => a * b, 1);
    if (init && init.length !== size) {
      throw new Error(`state '${name}': ${init.length} values given for shape [${shape}] (${size} expected)`);
    }
    const dims = [...shape];
    const a = new Float32Array(size);
    if (init) a.set(init);
    this.front.set(name, new ort.Tensor('float32', a, dims));
    if (doubleBuffered) this.back.set(name, new ort.Tensor('float32', new Float32Array(size), dims));
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

  /** The tensor a graph writes `<name>.new` into. */
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
