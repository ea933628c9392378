import type { GradContext, GradRule } from '../autodiff/context.js';
import { attr, getInt } from '../ir/attributes.js';
import { normAxis } from '../ir/broadcast.js';
import { dataTypeCode, dataTypeOf } from '../ir/dtypes.js';
import { sameShape } from './elementwise.js';
import type { OpSpec } from './spec.js';

/** Softmax-family axis; before opset 13 the op works on the input flattened to 2-D at `axis` (default 1). */
function softmaxAxis(attributes: Parameters<GradRule>[0]['attributes'], c: GradContext): number {
  return getInt(attributes, 'axis', c.opset >= 13 ? -1 : 1);
}

/** Runs `f` on 2-D views for the pre-13 coerced semantics, reshaping the result back. */
function onCoerced(
  x: string,
  vals: string[],
  axis: number,
  c: GradContext,
  f: (v: string[], axis: number) => string,
) {
  if (c.opset >= 13) return f(vals, axis);
  const flat = vals.map((v) => c.op('Flatten', [v], { axis: attr.int(axis) }));
  return c.op('Reshape', [f(flat, 1), c.shapeOf(x)]);
}

export const nnOps: Record<string, OpSpec> = {
  // dx = y * (g - sum(g * y))
  Softmax: {
    shape: sameShape,
    grad: ({ inputs: [x], outputs: [y], attributes }, [g], c) => [
      onCoerced(x!, [g!, y!], softmaxAxis(attributes, c), c, ([gg, yy], axis) => {
        const s = c.b.reduce('ReduceSum', c.op('Mul', [gg!, yy!]), [axis], true);
        return c.op('Mul', [yy!, c.op('Sub', [gg!, s])]);
      }),
    ],
  },
  // dx = g - exp(y) * sum(g)
  LogSoftmax: {
    shape: sameShape,
    grad: ({ inputs: [x], outputs: [y], attributes }, [g], c) => [
      onCoerced(x!, [g!, y!], softmaxAxis(attributes, c), c, ([gg, yy], axis) => {
        const s = c.b.reduce('ReduceSum', gg!, [axis], true);
        return c.op('Sub', [gg!, c.op('Mul', [c.op('Exp', [yy!]), s])]);
      }),
    ],
  },
  Gelu: { shape: sameShape },
  /**
   * With xhat = (x - mean) * invstd over the normalized axes and gx = g * scale:
   * dx = invstd * (gx - mean(gx) - xhat * mean(gx * xhat)), dscale = sum(g * xhat), dbias = sum(g).
   * Mean and InvStdDev are the node's optional outputs, which exposeOutputs adds when absent.
   */
  LayerNormalization: {
    shape: (n, s) => {
      const x = s.shape(0);
      s.set(s.type(0), x);
      if (!x) return;
      // Mean and InvStdDev keep the leading axes, size 1 on the normalized ones, in stash_type.
      const axis = normAxis(getInt(n.attributes, 'axis', -1), x.length);
      const stats = x.map((d, i) => (i < axis ? d : 1));
      const stash = dataTypeOf(getInt(n.attributes, 'stash_type', 1), n.name);
      s.set(stash, stats, 1);
      s.set(stash, stats, 2);
    },
    gradOutputs: () => [
      [1, 'mean'],
      [2, 'invstd'],
    ],
    grad: (node, [g], c) => {
      const [x, scale, bias] = node.inputs as [string, string, string | undefined];
      const r = c.rank(x);
      const axis = getInt(node.attributes, 'axis', -1);
      const k = axis < 0 ? -axis : r !== undefined ? r - axis : c.rank(scale);
      if (k === undefined) throw new Error(`LayerNormalization node '${node.name}': needs a known rank`);
      const axes = Array.from({ length: k }, (_, i) => i - k);
      const stashType = getInt(node.attributes, 'stash_type', 1);
      const asX = (v: string) =>
        stashType === dataTypeCode(c.dtype(x))
          ? v
          : c.op('Cast', [v], { to: attr.int(dataTypeCode(c.dtype(x))) });
      const mean = asX(node.outputs[1]!);
      const invstd = asX(node.outputs[2]!);
      const xhat = c.op('Mul', [c.op('Sub', [x, mean]), invstd]);
      let dx: string | undefined;
      if (c.needs(0)) {
        const gx = c.op('Mul', [g!, scale]);
        const m1 = c.b.reduce('ReduceMean', gx, axes, true);
        const m2 = c.b.reduce('ReduceMean', c.op('Mul', [gx, xhat]), axes, true);
        dx = c.op('Mul', [invstd, c.op('Sub', [c.op('Sub', [gx, m1]), c.op('Mul', [xhat, m2])])]);
      }
      return [dx, c.needs(1) ? c.op('Mul', [g!, xhat]) : undefined, bias && c.needs(2) ? g : undefined];
    },
    // scale and bias broadcast over the leading axes: their gradients come back shaped like the output.
    broadcasts: [1, 2],
  },
};
