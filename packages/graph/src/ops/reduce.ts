import type { GradContext } from '../autodiff/context.js';
import { attr, getInt, getInts } from '../ir/attributes.js';
import { normAxis } from '../ir/broadcast.js';
import { dataTypeCode } from '../ir/dtypes.js';
import { numel, toNumbers } from '../ir/tensor.js';
import type { Node } from '../ir/types.js';
import { sameShape } from './elementwise.js';
import type { OpSpec, ShapeRule } from './spec.js';

/** Reduced axes: from the attribute (before the opset moved them to an input) or a constant input. */
function reducedAxes(node: Node, c: GradContext): number[] | undefined {
  const fromAttr = getInts(node.attributes, 'axes');
  if (fromAttr) return fromAttr;
  const input = node.inputs[1];
  if (!input) return undefined;
  const t = c.b.graph.initializers.get(input);
  if (!t) throw new Error(`${node.opType} node '${node.name}': axes input '${input}' must be a constant`);
  return toNumbers(t);
}

/** Broadcasts g back over the reduced axes (re-inserted first when keepdims=0). */
function spread(node: Node, g: string, c: GradContext): { grad: string; axes: number[] | undefined } {
  const x = node.inputs[0]!;
  const axes = reducedAxes(node, c);
  const all = axes === undefined || axes.length === 0;
  if (all && getInt(node.attributes, 'noop_with_empty_axes', 0) === 1) return { grad: g, axes: [] };
  const kept = getInt(node.attributes, 'keepdims', 1) === 1 || all ? g : c.b.unsqueeze(g, axes!);
  return { grad: c.op('Expand', [kept, c.shapeOf(x)]), axes: all ? undefined : axes };
}

/** Reduced axes dropped (keepdims 0) or kept as 1; no axes reduce all of them unless noop_with_empty_axes. */
const reduced: ShapeRule = (n, s) => {
  const x = s.shape(0);
  const keep = getInt(n.attributes, 'keepdims', 1);
  const axes = s.axes();
  const noop = getInt(n.attributes, 'noop_with_empty_axes', 0);
  if (!x || (n.inputs[1] && !axes)) return s.set(s.type(0), undefined);
  if ((!axes || axes.length === 0) && noop) return s.set(s.type(0), x);
  const ax = new Set((axes && axes.length > 0 ? axes : x.map((_, i) => i)).map((a) => normAxis(a, x.length)));
  s.set(s.type(0), keep ? x.map((d, i) => (ax.has(i) ? 1 : d)) : x.filter((_, i) => !ax.has(i)));
};

export const reduceOps: Record<string, OpSpec> = {
  ReduceSum: { shape: reduced, grad: (node, [g], c) => [spread(node, g!, c).grad] },
  ReduceMean: {
    shape: reduced,
    grad: (node, [g], c) => {
      const x = node.inputs[0]!;
      const { grad, axes } = spread(node, g!, c);
      if (axes?.length === 0) return [grad];
      // The mean's divisor: the reduced element count, static when the reduced dims are.
      const s = c.shape(x);
      const dims = s && (axes ? axes.map((a) => s[a < 0 ? a + s.length : a]) : s);
      const count = dims?.every((d) => typeof d === 'number')
        ? c.scalar(numel(dims as number[]), x)
        : c.op('Cast', [c.op('Div', [c.op('Size', [x]), c.op('Size', [node.outputs[0]!])])], {
            to: attr.int(dataTypeCode(c.dtype(x))),
          });
      return [c.op('Div', [grad, count])];
    },
  },
  ReduceMax: { shape: reduced },
  ReduceMin: { shape: reduced },
  CumSum: { shape: sameShape },
};
