import { attr, getInt } from '../../ir/attributes.js';
import { dataTypeCode } from '../../onnx/proto.js';
import type { GradContext, GradRule } from '../context.js';

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

export const nnRules: Record<string, GradRule> = {
  // dx = y * (g - sum(g * y))
  Softmax: ({ inputs: [x], outputs: [y], attributes }, [g], c) => [
    onCoerced(x!, [g!, y!], softmaxAxis(attributes, c), c, ([gg, yy], axis) => {
      const s = c.b.reduce('ReduceSum', c.op('Mul', [gg!, yy!]), [axis], true);
      return c.op('Mul', [yy!, c.op('Sub', [gg!, s])]);
    }),
  ],
  // dx = g - exp(y) * sum(g)
  LogSoftmax: ({ inputs: [x], outputs: [y], attributes }, [g], c) => [
    onCoerced(x!, [g!, y!], softmaxAxis(attributes, c), c, ([gg, yy], axis) => {
      const s = c.b.reduce('ReduceSum', gg!, [axis], true);
      return c.op('Sub', [gg!, c.op('Mul', [c.op('Exp', [yy!]), s])]);
    }),
  ],
  /**
   * With xhat = (x - mean) * invstd over the normalized axes and gx = g * scale:
   * dx = invstd * (gx - mean(gx) - xhat * mean(gx * xhat)), dscale = sum(g * xhat), dbias = sum(g).
   * Mean and InvStdDev come from the forward node's optional outputs (added when absent).
   */
  LayerNormalization: (node, [g], c) => {
    const [x, scale, bias] = node.inputs as [string, string, string | undefined];
    const r = c.rank(x);
    const axis = getInt(node.attributes, 'axis', -1);
    const k = axis < 0 ? -axis : r !== undefined ? r - axis : c.rank(scale);
    if (k === undefined) throw new Error(`LayerNormalization node '${node.name}': needs a known rank`);
    const axes = Array.from({ length: k }, (_, i) => i - k);
    for (const i of [1, 2])
      if (!node.outputs[i]) node.outputs[i] = c.b.fresh(`${node.name}_${i === 1 ? 'mean' : 'invstd'}`);
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
    return [
      dx,
      c.needs(1) ? c.sumToShape(c.op('Mul', [g!, xhat]), scale) : undefined,
      bias && c.needs(2) ? c.sumToShape(g!, bias) : undefined,
    ];
  },
};
