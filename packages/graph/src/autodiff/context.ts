import { attr } from '../ir/attributes.js';
import type { GraphBuilder } from '../ir/builder.js';
import { tensor, zeros } from '../ir/tensor.js';
import type { DataType, Dim, Node } from '../ir/types.js';
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
  /** Set by the driver for the node being differentiated. */
  needed: boolean[] = [];

  constructor(
    readonly b: GraphBuilder,
    readonly info: ShapeInfo,
    private readonly fallbackType: DataType,
  ) {}

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

  /** A scalar constant of the element type of `like`. */
  scalar(value: number, like: string): string {
    return this.b.scalar(value, this.dtype(like));
  }

  /** Shape(x), emitted once per value; a constant when x's shape is fully static. */
  shapeOf(x: string): string {
    const s = this.shape(x);
    if (s?.every((d) => typeof d === 'number')) return this.b.ints(s as number[]);
    let name = this.shapes.get(x);
    if (name === undefined) this.shapes.set(x, (name = this.op('Shape', [x])));
    return name;
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
