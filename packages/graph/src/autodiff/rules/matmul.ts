import { attr, getFloat, getInt } from '../../ir/attributes.js';
import { broadcastShapes } from '../../passes/shapes.js';
import type { GradRule } from '../context.js';

export const matmulRules: Record<string, GradRule> = {
  MatMul: (node, [g], c) => {
    const [a, b] = node.inputs as [string, string];
    const ra = c.rank(a);
    const rb = c.rank(b);
    if (ra === undefined || rb === undefined || ra < 2 || rb < 2) {
      throw new Error(
        `MatMul node '${node.name}': gradients need both input ranks known and >= 2 (got ${ra ?? '?'} and ${rb ?? '?'})`,
      );
    }
    // A cheap element-wise function of another activation is recomputed from it (see saved()): attention's P
    // after dropout from the softmax output and the mask, the GELU output from the feed-forward's pre-activation.
    const aSaved = c.saved(a);
    if (rb === 2) {
      // [.., M, K] x [K, N]: the weight gradient is one 2-D product over all rows, no batched matmul + sum.
      const flat = (x: string) => c.op('Flatten', [x], { axis: attr.int(-1) });
      return [
        c.needs(0) ? c.op('MatMul', [g!, c.transposeLast2(b, 2)]) : undefined,
        c.needs(1) ? c.op('Gemm', [flat(aSaved), flat(g!)], { transA: attr.int(1) }) : undefined,
      ];
    }
    const sa = c.shape(a)!;
    const sb = c.shape(b)!;
    const batch = broadcastShapes([sa.slice(0, -2), sb.slice(0, -2)]);
    return [
      c.needs(0)
        ? c.sumToShape(c.op('MatMul', [g!, c.transposeLast2(b, rb)]), a, [...batch, ...sa.slice(-2)])
        : undefined,
      c.needs(1)
        ? c.sumToShape(c.op('MatMul', [c.transposeLast2(aSaved, ra), g!]), b, [...batch, ...sb.slice(-2)])
        : undefined,
    ];
  },
  /** Y = alpha * A' B' + beta * C, A' = transA ? A^T : A (same for B). */
  Gemm: (node, [g], c) => {
    const [a, b, cc] = node.inputs as [string, string, string | undefined];
    const ta = getInt(node.attributes, 'transA', 0);
    const tb = getInt(node.attributes, 'transB', 0);
    const alpha = getFloat(node.attributes, 'alpha', 1);
    const beta = getFloat(node.attributes, 'beta', 1);
    const gemm = (x: string, y: string, tx: number, ty: number) =>
      c.op('Gemm', [x, y], { alpha: attr.float(alpha), transA: attr.int(tx), transB: attr.int(ty) });
    // dA' = alpha g B'^T and dB' = alpha A'^T g, transposed back where A or B were.
    const da = ta ? gemm(b, g!, tb, 1) : gemm(g!, b, 0, tb ? 0 : 1);
    const db = tb ? gemm(g!, a, 1, ta) : gemm(a, g!, ta ? 0 : 1, 0);
    let dc: string | undefined;
    if (cc && c.needs(2)) dc = c.sumToShape(beta === 1 ? g! : c.op('Mul', [g!, c.scalar(beta, g!)]), cc);
    return [c.needs(0) ? da : undefined, c.needs(1) ? db : undefined, dc];
  },
};
