import type { Node } from '../ir/types.js';
import type { GradContext } from './context.js';

/**
 * A subgraph that differentiates in fewer passes as one unit than op by op. The driver sends the gradient of
 * `output` straight to `input`; the unit's inner nodes then get no gradient and are skipped, and `output` is
 * read as saved by the backward pass rather than recomputed.
 */
export interface Unit {
  input: string;
  output: string;
  grad: (g: string, c: GradContext) => string;
}

/** What a unit's matcher sees of the forward graph. */
export interface ForwardView {
  producer(v: string): Node | undefined;
  /** How many forward nodes read v (graph outputs count as one). */
  readers(v: string): number;
  constant(v: string): number | undefined;
}

/** Matches a unit ending at node n (its last forward node), else undefined. */
export type UnitRule = (n: Node, f: ForwardView) => Unit | undefined;

const near = (v: number | undefined, want: number) => v !== undefined && Math.abs(v - want) < 1e-6 * want;

/** The operand of a two-input node that is not `v`. */
const other = (n: Node, v: string) => (n.inputs[0] === v ? n.inputs[1] : n.inputs[0]);

/** Of a binary node whose other operand is the constant `k`: the non-constant operand. */
function withConstant(n: Node | undefined, op: string, k: number, f: ForwardView): string | undefined {
  if (n?.opType !== op || n.inputs.length !== 2) return undefined;
  const [a, b] = n.inputs as [string, string];
  if (near(f.constant(b), k)) return a;
  if (op !== 'Div' && near(f.constant(a), k)) return b;
  return undefined;
}

/** The x of 1 + erf(x / sqrt 2) (divided or multiplied by the constant) computed into `a`, else undefined. */
function erfPlusOne(a: string, f: ForwardView): { x: string; u: string; e: string } | undefined {
  const e = withConstant(f.producer(a), 'Add', 1, f);
  const erf = e === undefined ? undefined : f.producer(e);
  if (erf?.opType !== 'Erf') return undefined;
  const u = erf.inputs[0]!;
  const un = f.producer(u);
  const x = withConstant(un, 'Div', Math.SQRT2, f) ?? withConstant(un, 'Mul', Math.SQRT1_2, f);
  return x === undefined ? undefined : { x, u, e: e! };
}

/** y = p * q as GELU: (x * a) * 0.5 or (x * 0.5) * a with a = 1 + erf(x / sqrt 2); the values between x and y. */
function geluParts(p: string, q: string, f: ForwardView) {
  const pn = f.producer(p);
  if (pn?.opType !== 'Mul' || pn.inputs.length !== 2) return undefined;
  if (near(f.constant(q), 0.5)) {
    for (const a of pn.inputs) {
      const m = erfPlusOne(a, f);
      if (m !== undefined && other(pn, a) === m.x) return { ...m, a, between: [p, a, m.e, m.u] };
    }
    return undefined;
  }
  const m = erfPlusOne(q, f);
  const x = withConstant(pn, 'Mul', 0.5, f);
  return m !== undefined && x === m.x ? { ...m, a: q, between: [p, q, m.e, m.u] } : undefined;
}

/**
 * GELU as torch exports it and HF's activation writes it: x * 0.5 * (1 + erf(x / sqrt 2)), the 0.5 applied to
 * x or to the product. Op by op its backward takes 14 activation-sized passes, the output recomputed among
 * them; as a unit, with u = x / sqrt 2 and a = 1 + erf(u) recomputed from x, dx = g/2 (a + sqrt(2/pi) x / exp(u^2))
 * takes 9, and ONNX Runtime folds the g/2 into the product that computes g. exp(u^2) overflows to infinity
 * where exp(-u^2) would underflow to 0: the same 0 term. The values between x and y must feed nothing else.
 */
export const gelu: UnitRule = (n, f) => {
  if (n.opType !== 'Mul' || n.inputs.length !== 2) return undefined;
  const [p, q] = n.inputs as [string, string];
  const m = geluParts(p, q, f) ?? geluParts(q, p, f);
  if (m === undefined || m.between.some((v) => f.readers(v) !== 1)) return undefined;
  return {
    input: m.x,
    output: n.outputs[0]!,
    grad: (g, c) => {
      const [u, a] = [c.saved(m.u), c.saved(m.a)];
      const t = c.op('Div', [m.x, c.op('Exp', [c.op('Mul', [u, u])])]);
      const d = c.op('Add', [a, c.op('Mul', [t, c.scalar(Math.sqrt(2 / Math.PI), m.x)])]);
      return c.op('Mul', [c.op('Mul', [g, c.scalar(0.5, g)]), d]);
    },
  };
};

export const unitRules: UnitRule[] = [gelu];
