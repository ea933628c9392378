import { attr } from '../ir/attributes.js';
import type { GraphBuilder } from '../ir/builder.js';
import { numel, tensor, toNumbers, zeros } from '../ir/tensor.js';
import type { DataType, Dim, Node } from '../ir/types.js';
import { constantValue, producers } from '../passes/graph.js';
import type { ShapeInfo } from '../passes/shapes.js';

/**
 * A gradient rule: given a forward node and the gradients of its outputs (undefined where an output gets
 * none), emits nodes through `ctx` and returns one gradient per input (undefined: none). Rules only need to
 * produce the inputs for which `ctx.needs(i)` is true.
 */
export type GradRule = (node: Node, dy: (string | undefined)[], ctx: GradContext) => (string | undefined)[];

/** What rules get: the builder (opset-aware), static shape knowledge, and shared helpers. */
export class GradContext {
  private readonly shapes = new Map<string, string>();
  /** Runtime shapes assembled from graph-input dims, by static shape. */
  private readonly assembled = new Map<string, string>();
  /** Shape(input)[k:k+1] for a symbolic dim, by symbol. */
  private readonly inputDims = new Map<string, string>();
  /** Backward recomputations of forward values, by forward value. */
  private readonly recomputed = new Map<string, string>();
  /** The one forward value each recomputation reads (Dropout's mask aside). */
  private readonly roots = new Map<string, string>();
  /** The forward graph's producers, taken before any gradient node is added. */
  private readonly forward: Map<string, Node>;
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
   * A forward value for the backward pass to read. When it is a cheap element-wise function of another
   * forward value (Erf, training-mode Dropout from its mask, Where(cond, f(x), constant) from its condition,
   * Add/Sub/Mul/Div by a constant scalar, or of two such functions of the same value, chained), it is
   * recomputed in the backward pass from that root instead, so the forward pass frees the intermediates:
   * GELU's x/sqrt(2), erf, 1 + erf and output, and the dropped-out attention probabilities, are
   * activation-sized tensors per layer that would otherwise live until the backward pass reaches them. Recomputed nodes are written differently from the
   * forward ones (operands swapped, division as multiplication by the reciprocal) so that ONNX Runtime's
   * common-subexpression elimination does not merge them back.
   */
  saved(v: string, depth = 0): string {
    const done = this.recomputed.get(v);
    if (done !== undefined) return done;
    const n = this.forward.get(v);
    if (!n || depth > 4 || (n.domain !== '' && n.domain !== 'ai.onnx')) return v;
    let out: string | undefined;
    let from: string | undefined;
    if (n.opType === 'Dropout') {
      // Training-mode dropout: x * mask / (1 - ratio), from its (boolean) mask, which the gradient keeps anyway.
      const ratio = n.inputs[1] ? this.scalarConstant(n.inputs[1]) : 0.5;
      const training = n.inputs[2] ? this.scalarConstant(n.inputs[2]) : 0;
      if (training && ratio !== undefined && ratio > 0 && ratio < 1) {
        if (!n.outputs[1]) n.outputs[1] = this.b.fresh(`${n.name}_mask`);
        from = this.saved(n.inputs[0]!, depth + 1);
        out = this.op('Where', [
          n.outputs[1],
          this.op('Mul', [from, this.scalar(1 / (1 - ratio), v)]),
          this.scalar(0, v),
        ]);
      }
    } else if (n.opType === 'Where' && this.scalarConstant(n.inputs[2]!) !== undefined) {
      // A mask applied to a recomputable value (seeded dropout: Where(keep, x * scale, 0)), from the condition,
      // which the gradient keeps anyway.
      from = this.saved(n.inputs[1]!, depth + 1);
      if (from !== n.inputs[1]) out = this.op('Where', [n.inputs[0]!, from, n.inputs[2]!]);
    } else if (n.opType === 'Erf') {
      from = this.saved(n.inputs[0]!, depth + 1);
      // Erf of the root itself would be the forward node again.
      if (from !== n.inputs[0]) out = this.op('Erf', [from]);
    } else if (['Add', 'Sub', 'Mul', 'Div'].includes(n.opType) && n.inputs.length === 2) {
      const [a, b] = n.inputs as [string, string];
      const k = this.scalarConstant(b);
      if (k !== undefined) {
        const x = (from = this.saved(a, depth + 1));
        if (n.opType === 'Add') out = this.op('Add', [b, x]);
        else if (n.opType === 'Mul') out = this.op('Mul', [b, x]);
        else if (n.opType === 'Sub') out = this.op('Add', [x, this.scalar(-k, v)]);
        else if (k !== 0) out = this.op('Mul', [x, this.scalar(1 / k, v)]);
      } else if (this.scalarConstant(a) !== undefined && (n.opType === 'Add' || n.opType === 'Mul')) {
        from = this.saved(b, depth + 1);
        out = this.op(n.opType, [from, a]);
      } else {
        // Both operands from one root (GELU's x * (1 + erf(x / sqrt2))): the recomputation reads only it.
        const [ra, rb] = [this.saved(a, depth + 1), this.saved(b, depth + 1)];
        if (ra !== rb && (ra !== a || rb !== b) && this.rootOf(ra) === this.rootOf(rb)) {
          from = ra;
          out =
            n.opType === 'Div'
              ? this.op('Mul', [ra, this.op('Reciprocal', [rb])])
              : this.op(n.opType, n.opType === 'Sub' ? [ra, rb] : [rb, ra]);
        }
      }
    }
    if (out === undefined) return v;
    this.roots.set(out, this.rootOf(from!));
    this.recomputed.set(v, out);
    const t = this.info.types.get(v);
    if (t !== undefined) this.info.types.set(out, t);
    return out;
  }

  /** The forward value a (possibly recomputed) value is computed from: itself when it is not recomputed. */
  private rootOf(v: string): string {
    return this.roots.get(v) ?? v;
  }

  /** The op type of the forward node producing v (undefined for inputs, initializers and backward values). */
  producerOp(v: string): string | undefined {
    return this.forward.get(v)?.opType;
  }

  /** The value of a one-element constant (initializer or Constant node), else undefined. */
  private scalarConstant(name: string): number | undefined {
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
    const s = this.shape(x);
    if (s?.every((d) => typeof d === 'number')) return this.b.ints(s as number[]);
    let name = this.shapes.get(x);
    if (name === undefined)
      this.shapes.set(x, (name = (s && this.fromInputDims(s)) ?? this.op('Shape', [x])));
    return name;
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

  /** A zero tensor shaped like x. */
  zerosLike(x: string): string {
    return this.op('ConstantOfShape', [this.shapeOf(x)], {
      value: attr.tensor(zeros('zero', this.dtype(x), [1])),
    });
  }

  /** Swaps the last two axes of a value of rank r. */
  transposeLast2(x: string, r: number): string {
    const perm = Array.from({ length: r }, (_, i) => i);
    [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
    return this.op('Transpose', [x], { perm: attr.ints(perm) });
  }

  /**
   * Reduces `grad` (shaped like a broadcast result) to the shape of `x`, summing over broadcast axes. Uses
   * static shapes when they decide the axes; otherwise emits a dynamic subgraph that works for any runtime
   * batch/sequence size.
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
        if (axes.length === lead) return this.b.reduce('ReduceSum', grad, axes, false);
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
