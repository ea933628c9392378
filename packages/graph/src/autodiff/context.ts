import { attr } from '../ir/attributes.js';
import type { GraphBuilder } from '../ir/builder.js';
import { numel, tensor, toNumbers } from '../ir/tensor.js';
import type { DataType, Dim, Node } from '../ir/types.js';
import { opSpec } from '../ops/registry.js';
import { constantValue, producers } from '../passes/graph.js';
import type { ShapeInfo } from '../passes/shapes.js';

/**
 * A gradient rule: given a forward node and the gradients of its outputs (undefined where an output gets
 * none), emits nodes through `ctx` and returns one gradient per input (undefined: none). Rules only need to
 * produce the inputs for which `ctx.needs(i)` is true; the inputs their op's registry entry lists in
 * `broadcasts` get their gradients unreduced. Rules read the forward node and never change it.
 */
export type GradRule = (node: Node, dy: (string | undefined)[], ctx: GradContext) => (string | undefined)[];

/** What rules get: the builder (opset-aware), static shape knowledge, and shared helpers. */
export class GradContext {
  private readonly shapes = new Map<string, string>();
  /** Runtime shapes assembled from graph-input dims, by static shape. */
  private readonly assembled = new Map<string, string>();
  /** Rows of ones for leadingSum, by element type and (static or symbolic) leading dims. */
  private readonly onesRows = new Map<string, string>();
  /** Shape(input)[k:k+1] for a symbolic dim, by symbol. */
  private readonly inputDims = new Map<string, string>();
  /** Backward recomputations of forward values, by forward value. */
  private readonly recomputed = new Map<string, string>();
  /** The one forward value each recomputation reads (Dropout's mask aside). */
  private readonly roots = new Map<string, string>();
  /** The forward graph's producers, taken before any gradient node is added. */
  private readonly forward: Map<string, Node>;
  /** Forward values the backward pass reads as they are, never recomputed (units' outputs). */
  private readonly kept = new Set<string>();
  /** Set by the driver for the node being differentiated. */
  needed: boolean[] = [];

  constructor(
    readonly b: GraphBuilder,
    readonly info: ShapeInfo,
    private readonly fallbackType: DataType,
  ) {
    this.forward = producers(b.graph);
  }

  get opset(): number {
    return this.b.opset;
  }

  needs(i: number): boolean {
    return this.needed[i] === true;
  }

  op(opType: string, inputs: string[], attributes: Node['attributes'] = {}): string {
    return this.b.op1(opType, inputs, attributes);
  }

  /** Statically known (possibly symbolic) shape. */
  shape(name: string): Dim[] | undefined {
    return this.info.types.get(name)?.shape;
  }

  rank(name: string): number | undefined {
    return this.shape(name)?.length;
  }

  dtype(name: string): DataType {
    return this.info.types.get(name)?.dataType ?? this.fallbackType;
  }

  /**
   * A forward value for the backward pass to read. When its op has a `recompute` entry (Erf, training-mode
   * Dropout from its mask, Where(cond, f(x), constant) from its condition, Add/Sub/Mul/Div by a constant scalar
   * or of two such functions of the same value, chained), it is recomputed in the backward pass from its root
   * instead, so the forward pass frees the intermediates: GELU's x/sqrt(2), erf and 1 + erf, and the
   * dropped-out attention probabilities, are activation-sized tensors per layer that would otherwise live until
   * the backward pass reaches them. A value marked with `keep` (a unit's output) is read as it is. Recomputed
   * nodes are written differently from the forward ones (operands swapped, division as multiplication by the
   * reciprocal) so that ONNX Runtime's common-subexpression elimination does not merge them back.
   */
  saved(v: string, depth = 0): string {
    const done = this.recomputed.get(v);
    if (done !== undefined) return done;
    if (this.kept.has(v)) return v;
    const n = this.forward.get(v);
    if (!n || depth > 4) return v;
    const r = opSpec(n)?.recompute?.(n, (x) => this.saved(x, depth + 1), this);
    if (r === undefined) return v;
    this.roots.set(r.value, this.rootOf(r.from));
    this.recomputed.set(v, r.value);
    const t = this.info.types.get(v);
    if (t !== undefined) this.info.types.set(r.value, t);
    return r.value;
  }

  /** Makes `saved(v)` return v itself. */
  keep(v: string): void {
    this.kept.add(v);
  }

  /** The forward value a (possibly recomputed) value is computed from: itself when it is not recomputed. */
  rootOf(v: string): string {
    return this.roots.get(v) ?? v;
  }

  /** The value of a one-element constant (initializer or Constant node), else undefined. */
  constantScalar(name: string): number | undefined {
    const p = this.forward.get(name);
    const t =
      this.b.graph.initializers.get(name) ?? (p?.opType === 'Constant' ? constantValue(p) : undefined);
    if (!t || numel(t.dims) !== 1 || t.dataType === 'string') return undefined;
    return toNumbers(t)[0];
  }

  /** A scalar constant of the element type of `like`. */
  scalar(value: number, like: string): string {
    return this.b.scalar(value, this.dtype(like));
  }

  /**
   * Shape(x) at run time: a constant when x's shape is fully static; assembled from the graph inputs' dims when
   * its symbolic dims all name input dims; else Shape(x), emitted once per value. Avoiding Shape(x) matters: a
   * backward node reading x, even only for its shape, keeps the whole activation alive through the forward
   * pass (for BERT-base at 8 x 128, about 1 GB of them).
   */
  shapeOf(x: string): string {
    let name = this.shapes.get(x);
    if (name === undefined)
      this.shapes.set(x, (name = this.dimsValue(this.shape(x), () => this.op('Shape', [x]))));
    return name;
  }

  /** A 1-D int64 value holding dims `s`: a constant when static, else fromInputDims, else `read()`. */
  private dimsValue(s: Dim[] | undefined, read: () => string): string {
    if (s?.every((d) => typeof d === 'number')) return this.b.ints(s as number[]);
    return (s && this.fromInputDims(s)) ?? read();
  }

  /** A 1-D int64 value holding shape `s`, its symbols read from graph inputs; undefined when one is not there. */
  private fromInputDims(s: Dim[]): string | undefined {
    // Shape's start/end attributes arrive in opset 15.
    if (this.opset < 15 || s.some((d) => d === null)) return undefined;
    const key = JSON.stringify(s);
    const cached = this.assembled.get(key);
    if (cached !== undefined) return cached;
    const parts: string[] = [];
    let run: number[] = [];
    const flush = () => {
      if (run.length > 0) parts.push(this.b.ints(run));
      run = [];
    };
    for (const d of s) {
      if (typeof d === 'number') {
        run.push(d);
        continue;
      }
      const dim = this.inputDim(d as string);
      if (dim === undefined) return undefined;
      flush();
      parts.push(dim);
    }
    flush();
    const out = parts.length === 1 ? parts[0]! : this.op('Concat', parts, { axis: attr.int(0) });
    this.assembled.set(key, out);
    return out;
  }

  private inputDim(symbol: string): string | undefined {
    const cached = this.inputDims.get(symbol);
    if (cached !== undefined) return cached;
    for (const input of this.b.graph.inputs) {
      const k = input.type?.shape?.indexOf(symbol) ?? -1;
      if (k < 0) continue;
      const dim = this.op('Shape', [input.name], { start: attr.int(k), end: attr.int(k + 1) });
      this.inputDims.set(symbol, dim);
      return dim;
    }
    return undefined;
  }

  /**
   * A zero tensor shaped like x: a zero scalar expanded, not ConstantOfShape, which ONNX Runtime's WebGPU EP
   * has no kernel for (activation-sized zeros would be made on the CPU and uploaded every step).
   */
  zerosLike(x: string): string {
    return this.op('Expand', [this.b.scalar(0, this.dtype(x)), this.shapeOf(x)]);
  }

  /** Swaps the last two axes of a value of rank r. */
  transposeLast2(x: string, r: number): string {
    const perm = Array.from({ length: r }, (_, i) => i);
    [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
    return this.op('Transpose', [x], { perm: attr.ints(perm) });
  }

  /**
   * The transpose of a 2-D value, written out in memory for a product to read (see the MatMul rule's weight
   * gradient). ONNX Runtime folds a 2-D Transpose that feeds a MatMul back into the product's transA, so this
   * swaps the first two axes of a [rows, cols, 1] view instead.
   */
  transposed(x: string): string {
    const t = this.op('Transpose', [this.b.unsqueeze(x, [2])], { perm: attr.ints([1, 0, 2]) });
    return this.b.squeeze(t, [2]);
  }

  /**
   * Reduces `grad` (shaped like a broadcast result) to the shape of `x`, summing over broadcast axes. Uses
   * static shapes when they decide the axes; otherwise emits a dynamic subgraph that works for any runtime
   * batch/sequence size. buildGradients calls it once per broadcasting input (see OpSpec.broadcasts).
   */
  sumToShape(grad: string, x: string, gradShape: Dim[] | undefined = this.shape(grad)): string {
    const sx = this.shape(x);
    const sg = gradShape;
    if (sx && sg && sx.length === sg.length && sx.every((d, i) => d !== null && d === sg[i])) return grad;
    if (sx && sg && sg.length >= sx.length) {
      const lead = sg.length - sx.length;
      const axes: number[] = Array.from({ length: lead }, (_, i) => i);
      let decided = true;
      sx.forEach((d, i) => {
        const e = sg[lead + i];
        if (d === 1 && e !== 1) axes.push(lead + i);
        else if (!(d === e && d !== null) && !(typeof d === 'number' && d > 1)) decided = false;
      });
      if (decided) {
        if (axes.length === 0) return grad;
        if (axes.length === lead) return this.leadingSum(grad, x, sg.slice(0, lead));
        const summed = this.b.reduce('ReduceSum', grad, axes, true);
        return lead === 0 ? summed : this.op('Reshape', [summed, this.shapeOf(x)]);
      }
    }
    if (sx?.every((d) => typeof d === 'number')) {
      // x static, grad's rank unknown: sum x's size-1 axes (counted from the end), then all leading axes.
      const ones = sx.flatMap((d, i) => (d === 1 ? [i - sx.length] : []));
      let g = ones.length > 0 ? this.b.reduce('ReduceSum', grad, ones, true) : grad;
      if (sx.length === 0) return this.b.reduce('ReduceSum', g, undefined, false);
      g = this.op('Reshape', [g, this.b.ints([-1, ...(sx as number[])])]);
      return this.b.reduce('ReduceSum', g, [0], false);
    }
    return this.dynamicSumToShape(grad, x);
  }

  /**
   * grad summed over its leading axes, of dims `leading` (a bias's or a LayerNorm scale's gradient). In float32
   * and float64 this is a row of ones times grad's rows, one product: ONNX Runtime's CPU ReduceSum over leading
   * axes takes about twice as long ([1024, 768]: 0.74 against 0.41 ms, 104 of them per BERT-base step). Half
   * gradients keep ReduceSum: a float16 product's sum overflows at loss scales ReduceSum survives. The row count
   * comes from grad's dims as dimsValue assembles them, and Expand, which every execution provider runs (not a
   * ReduceProd).
   */
  private leadingSum(grad: string, x: string, leading: Dim[]): string {
    const sx = this.shape(x);
    const type = this.info.types.get(x)?.dataType;
    const numeric = sx?.every((d): d is number => typeof d === 'number');
    if (!numeric || this.opset < 15 || (type !== 'float32' && type !== 'float64')) {
      const axes = Array.from({ length: leading.length }, (_, i) => i);
      return this.b.reduce('ReduceSum', grad, axes, false);
    }
    const key = leading.includes(null) ? undefined : `${type} ${JSON.stringify(leading)}`;
    let ones = key === undefined ? undefined : this.onesRows.get(key);
    if (ones === undefined) {
      const rows = this.dimsValue(leading, () =>
        this.op('Shape', [grad], { start: attr.int(0), end: attr.int(leading.length) }),
      );
      ones = this.op('Reshape', [this.op('Expand', [this.b.scalar(1, type), rows]), this.b.ints([1, -1])]);
      if (key !== undefined) this.onesRows.set(key, ones);
    }
    const matrix = this.op('Reshape', [grad, this.b.ints([-1, numel(sx as number[])])]);
    return this.op('Reshape', [this.op('MatMul', [ones, matrix]), this.b.ints(sx as number[])]);
  }

  /** Pads Shape(x) with leading 1s to grad's rank, sums over the axes where it differs, reshapes to x. */
  private dynamicSumToShape(grad: string, x: string): string {
    if (this.opset < 13)
      throw new Error(`broadcast gradient to '${x}' with dynamic shapes needs opset >= 13`);
    const sx = this.shapeOf(x);
    const sg = this.op('Shape', [grad]);
    const missing = this.op('Sub', [this.op('Shape', [sg]), this.op('Shape', [sx])]);
    const one = tensor('one', 'int64', [1], [1]);
    const ones = this.op('ConstantOfShape', [missing], { value: attr.tensor(one) });
    const padded = this.op('Concat', [ones, sx], { axis: attr.int(0) });
    const differ = this.op('Not', [this.op('Equal', [padded, sg])]);
    const axes = this.op('Reshape', [this.op('NonZero', [differ]), this.b.ints([-1])]);
    const summed = this.op('ReduceSum', [grad, axes], {
      keepdims: attr.int(1),
      noop_with_empty_axes: attr.int(1),
    });
    return this.op('Reshape', [summed, sx]);
  }
}
