import { attr, getFloat, getInt } from '../ir/attributes.js';
import { broadcastShapes } from '../ir/broadcast.js';
import type { OpSpec } from './spec.js';

export const matmulOps: Record<string, OpSpec> = {
  MatMul: {
    shape: (_n, s) => {
      const [a, b] = [s.shape(0), s.shape(1)];
      if (!a || !b || a.length < 2 || b.length < 2) return s.set(s.type(0), undefined);
      const batch = broadcastShapes([a.slice(0, -2), b.slice(0, -2)]);
      s.set(s.type(0), [...batch, a[a.length - 2]!, b[b.length - 1]!]);
    },
    grad: (node, [g], c) => {
      const [a, b] = node.inputs as [string, string];
      const ra = c.rank(a);
      const rb = c.rank(b);
      if (ra === undefined || rb === undefined || ra < 2 || rb < 2) {
        throw new Error(
          `MatMul node '${node.name}': gradients need both input ranks known and >= 2 (got ${ra ?? '?'} and ${rb ?? '?'})`,
        );
      }
      // A cheap element-wise function of another activation is recomputed from it (see saved()): attention's P
      // after dropout from the softmax output and the mask. (A GELU output is kept: see units.ts.)
      const aSaved = c.saved(a);
      if (rb === 2) {
        // [.., M, K] x [K, N]: the weight gradient is one 2-D product over all rows, no batched matmul + sum,
        // on a written-out transpose: ONNX Runtime's CPU Gemm re-transposes a transposed A for every 128 columns
        // of B (BERT-base 8 x 128: 17% less kernel time for the weight gradients, transposes included).
        const flat = (x: string) => c.op('Flatten', [x], { axis: attr.int(-1) });
        return [
          c.needs(0) ? c.op('MatMul', [g!, c.transposeLast2(b, 2)]) : undefined,
          c.needs(1) ? c.op('MatMul', [c.transposed(flat(aSaved)), flat(g!)]) : undefined,
        ];
      }
      return [
        c.needs(0) ? c.op('MatMul', [g!, c.transposeLast2(b, rb)]) : undefined,
        c.needs(1) ? c.op('MatMul', [c.transposeLast2(aSaved, ra), g!]) : undefined,
      ];
    },
    // The batch axes broadcast; the last two are the input's own. A 2-D weight's gradient is exact already.
    broadcasts: 'all',
    gradShape: ({ inputs: [a, b] }, i, c) => {
      const [sa, sb] = [c.shape(a!)!, c.shape(b!)!];
      if (sb.length === 2) return false;
      const batch = broadcastShapes([sa.slice(0, -2), sb.slice(0, -2)]);
      return [...batch, ...(i === 0 ? sa : sb).slice(-2)];
    },
  },
  /** Y = alpha * A' B' + beta * C, A' = transA ? A^T : A (same for B). */
  Gemm: {
    shape: (n, s) => {
      const [a, b] = [s.shape(0), s.shape(1)];
      const ta = getInt(n.attributes, 'transA', 0);
      const tb = getInt(n.attributes, 'transB', 0);
      s.set(s.type(0), a && b ? [a[ta ? 1 : 0] ?? null, b[tb ? 0 : 1] ?? null] : undefined);
    },
    grad: (node, [g], c) => {
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
      const dc = cc && c.needs(2) ? (beta === 1 ? g! : c.op('Mul', [g!, c.scalar(beta, g!)])) : undefined;
      return [c.needs(0) ? da : undefined, c.needs(1) ? db : undefined, dc];
    },
    broadcasts: [2],
  },
};
