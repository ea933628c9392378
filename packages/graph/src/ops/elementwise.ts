import type { GradContext } from '../autodiff/context.js';
import { attr, getInt } from '../ir/attributes.js';
import { broadcastShapes } from '../ir/broadcast.js';
import { dataTypeCode, dataTypeOf } from '../ir/dtypes.js';
import { isFloat, toNumbers } from '../ir/tensor.js';
import type { Dim, Node } from '../ir/types.js';
import type { OpSpec, Recompute, ShapeRule, ShapeScope } from './spec.js';

/** Outputs shaped and typed like the first input (a shape tensor passes its elements through Identity). */
export const sameShape: ShapeRule = (n, s) => {
  s.set(s.type(0), s.shape(0));
  if (n.opType === 'Identity' && s.value(0)) s.setValue(s.value(0)!);
};

function broadcastOf(n: Node, s: ShapeScope): Dim[] | undefined {
  const ins = n.inputs.map((_, i) => s.shape(i));
  return ins.every((x) => x !== undefined) ? broadcastShapes(ins as Dim[][]) : undefined;
}

/** Inputs broadcast numpy-style; the element type is the first input's (`Where`: its first branch's). */
const broadcasting: ShapeRule = (n, s) =>
  s.set(n.opType === 'Where' ? s.type(1) : s.type(0), broadcastOf(n, s));

const comparison: ShapeRule = (n, s) => s.set('bool', broadcastOf(n, s));

/** Broadcasting, and on two shape tensors of known, equal-length elements, the elements computed too. */
function arithmetic(f: (p: number, q: number) => number): ShapeRule {
  return (n, s) => {
    broadcasting(n, s);
    const [a, b] = [s.numbers(0), s.numbers(1)];
    if (a && b && a.length === b.length) s.setValue(a.map((v, i) => f(v, b[i]!)));
  };
}

/**
 * GELU's intermediates and their kin: Add/Sub/Mul/Div by a constant scalar, or of two recomputable values of
 * the same root, are recomputed in the backward pass. The recomputation is written differently from the
 * forward node (operands swapped, division as multiplication by the reciprocal) so that ONNX Runtime's
 * common-subexpression elimination does not merge it back.
 */
const recomputeArithmetic: Recompute = (n, saved, c) => {
  if (n.inputs.length !== 2) return undefined;
  const [a, b] = n.inputs as [string, string];
  const v = n.outputs[0]!;
  const k = c.constantScalar(b);
  if (k !== undefined) {
    const from = saved(a);
    if (n.opType === 'Add') return { value: c.op('Add', [b, from]), from };
    if (n.opType === 'Mul') return { value: c.op('Mul', [b, from]), from };
    if (n.opType === 'Sub') return { value: c.op('Add', [from, c.scalar(-k, v)]), from };
    return k === 0 ? undefined : { value: c.op('Mul', [from, c.scalar(1 / k, v)]), from };
  }
  if (c.constantScalar(a) !== undefined && (n.opType === 'Add' || n.opType === 'Mul')) {
    const from = saved(b);
    return { value: c.op(n.opType, [from, a]), from };
  }
  // Both operands from one root (GELU's x * (1 + erf(x / sqrt2))): the recomputation reads only it.
  const [ra, rb] = [saved(a), saved(b)];
  if (ra === rb || (ra === a && rb === b) || c.rootOf(ra) !== c.rootOf(rb)) return undefined;
  const value =
    n.opType === 'Div'
      ? c.op('Mul', [ra, c.op('Reciprocal', [rb])])
      : c.op(n.opType, n.opType === 'Sub' ? [ra, rb] : [rb, ra]);
  return { value, from: ra };
};

/** 1 / (1 - ratio) of a training-mode Dropout whose ratio and training_mode are constants, else undefined. */
function dropoutScale({ inputs: [, ratioIn, trainingIn] }: Node, c: GradContext): number | undefined {
  const ratio = ratioIn ? c.constantScalar(ratioIn) : 0.5;
  const training = trainingIn ? c.constantScalar(trainingIn) : 0;
  if (!training || ratio === undefined || ratio <= 0 || ratio >= 1) return undefined;
  return 1 / (1 - ratio);
}

/** v * Cast(mask), v of the element type of `like`. */
function masked(v: string, mask: string, like: string, c: GradContext): string {
  return c.op('Mul', [v, c.op('Cast', [mask], { to: attr.int(dataTypeCode(c.dtype(like))) })]);
}

/** Sends g (shaped like the output) to the first value where mask holds, to the second elsewhere. */
function route(mask: string, g: string, c: GradContext, first: number) {
  const zero = c.scalar(0, g);
  return [
    c.needs(first) ? c.op('Where', [mask, g, zero]) : undefined,
    c.needs(first + 1) ? c.op('Where', [mask, zero, g]) : undefined,
  ];
}

const unary = { shape: sameShape, elementwise: true } as const;
/** Gradients of broadcasting ops are returned output-shaped; buildGradients sums them to each input. */
const binary = { elementwise: true, broadcasts: 'all' } as const;

/** Element-wise ops: gradients are products with local derivatives. */
export const elementwiseOps: Record<string, OpSpec> = {
  Add: {
    ...binary,
    shape: arithmetic((p, q) => p + q),
    grad: (_n, [g], c) => [c.needs(0) ? g : undefined, c.needs(1) ? g : undefined],
    recompute: recomputeArithmetic,
  },
  Sub: {
    ...binary,
    shape: arithmetic((p, q) => p - q),
    grad: (_n, [g], c) => [c.needs(0) ? g : undefined, c.needs(1) ? c.op('Neg', [g!]) : undefined],
    recompute: recomputeArithmetic,
  },
  Mul: {
    ...binary,
    shape: arithmetic((p, q) => p * q),
    grad: ({ inputs: [a, b] }, [g], c) => [
      c.needs(0) ? c.op('Mul', [g!, c.saved(b!)]) : undefined,
      c.needs(1) ? c.op('Mul', [g!, c.saved(a!)]) : undefined,
    ],
    recompute: recomputeArithmetic,
  },
  // d(a/b)/db = -y/b
  Div: {
    ...binary,
    shape: arithmetic((p, q) => Math.trunc(p / q)),
    grad: ({ inputs: [, b], outputs: [y] }, [g], c) => [
      c.needs(0) ? c.op('Div', [g!, b!]) : undefined,
      c.needs(1) ? c.op('Neg', [c.op('Div', [c.op('Mul', [g!, y!]), b!])]) : undefined,
    ],
    recompute: recomputeArithmetic,
  },
  Pow: {
    ...binary,
    shape: broadcasting,
    grad: ({ inputs: [a, p], outputs: [y] }, [g], c) => {
      let da: string | undefined;
      if (c.needs(0)) {
        const k = c.b.graph.initializers.get(p!);
        const exponent = k && k.dims.length === 0 ? toNumbers(k)[0]! : undefined;
        // p * a^(p-1), with the common constant exponents folded.
        const local =
          exponent === 2
            ? c.op('Mul', [a!, c.scalar(2, a!)])
            : exponent !== undefined
              ? c.op('Mul', [c.op('Pow', [a!, c.scalar(exponent - 1, a!)]), c.scalar(exponent, a!)])
              : c.op('Mul', [c.op('Pow', [a!, c.op('Sub', [p!, c.scalar(1, p!)])]), p!]);
        da = c.op('Mul', [g!, local]);
      }
      const dp = c.needs(1) ? c.op('Mul', [c.op('Mul', [g!, y!]), c.op('Log', [a!])]) : undefined;
      return [da, dp];
    },
  },
  Sqrt: {
    ...unary,
    grad: ({ outputs: [y] }, [g], c) => [c.op('Div', [c.op('Mul', [g!, c.scalar(0.5, y!)]), y!])],
  },
  Neg: { ...unary, grad: (_n, [g], c) => [c.op('Neg', [g!])] },
  Exp: { ...unary, grad: ({ outputs: [y] }, [g], c) => [c.op('Mul', [g!, y!])] },
  Log: { ...unary, grad: ({ inputs: [x] }, [g], c) => [c.op('Div', [g!, x!])] },
  // 2/sqrt(pi) * exp(-x^2), as a division by exp(x^2): one pass fewer than Neg, and exp(x^2)'s overflow to
  // infinity gives the 0 that exp(-x^2) underflows to.
  Erf: {
    ...unary,
    grad: ({ inputs: [x] }, [g], c) => {
      const u = c.saved(x!);
      const scaled = c.op('Mul', [g!, c.scalar(2 / Math.sqrt(Math.PI), x!)]);
      return [c.op('Div', [scaled, c.op('Exp', [c.op('Mul', [u, u])])])];
    },
    recompute: ({ inputs: [x] }, saved, c) => {
      const from = saved(x!);
      // Erf of the root itself would be the forward node again.
      return from === x ? undefined : { value: c.op('Erf', [from]), from };
    },
  },
  Tanh: {
    ...unary,
    grad: ({ outputs: [y] }, [g], c) => [
      c.op('Mul', [g!, c.op('Sub', [c.scalar(1, y!), c.op('Mul', [y!, y!])])]),
    ],
  },
  Sigmoid: {
    ...unary,
    grad: ({ outputs: [y] }, [g], c) => [
      c.op('Mul', [g!, c.op('Mul', [y!, c.op('Sub', [c.scalar(1, y!), y!])])]),
    ],
  },
  Relu: {
    ...unary,
    grad: ({ inputs: [x] }, [g], c) => [
      c.op('Where', [c.op('Greater', [x!, c.scalar(0, x!)]), g!, c.scalar(0, x!)]),
    ],
  },
  Abs: unary,
  Reciprocal: unary,
  // Ties send the whole gradient to the first input.
  Max: {
    ...binary,
    shape: broadcasting,
    grad: ({ inputs: [a, b] }, [g], c) => route(c.op('GreaterOrEqual', [a!, b!]), g!, c, 0),
  },
  Min: {
    ...binary,
    shape: broadcasting,
    grad: ({ inputs: [a, b] }, [g], c) => route(c.op('LessOrEqual', [a!, b!]), g!, c, 0),
  },
  Where: {
    ...binary,
    shape: broadcasting,
    grad: ({ inputs: [cond] }, [g], c) => [undefined, ...route(cond!, g!, c, 1)],
    // A mask applied to a recomputable value (Where(keep, x * scale, 0)), from the condition, which the
    // gradient keeps anyway. It differs from the forward node by its recomputed operand, which is
    // written differently (see recomputeArithmetic), so ONNX Runtime's CSE does not merge it back.
    recompute: ({ inputs: [cond, x, other] }, saved, c) => {
      if (c.constantScalar(other!) === undefined) return undefined;
      const from = saved(x!);
      return from === x ? undefined : { value: c.op('Where', [cond!, from, other!]), from };
    },
  },
  Sum: { shape: broadcasting },
  Mod: { shape: broadcasting },
  Identity: { ...unary, grad: (_n, [g]) => [g] },
  Cast: {
    elementwise: true,
    shape: (n, s) => {
      s.set(dataTypeOf(getInt(n.attributes, 'to', 0), n.name), s.shape(0));
      if (s.value(0)) s.setValue(s.value(0)!);
    },
    grad: ({ inputs: [x], attributes }, [g], c) => {
      const to = c.dtype(x!);
      if (!isFloat(to) || getInt(attributes, 'to') === undefined) return [undefined];
      return [c.op('Cast', [g!], { to: attr.int(dataTypeCode(to)) })];
    },
  },
  /**
   * Training mode (a training_mode input): dy * mask / (1 - ratio), reading the mask output that
   * exposeOutputs adds when the exporter left it out. Inference mode is the identity. The mask is applied as a
   * multiplication by the cast mask (scale folded in), not as Where: ONNX Runtime's CPU Where costs about three
   * times a Mul, and its Cast from bool is cheap.
   */
  Dropout: {
    elementwise: true,
    shape: (_n, s) => {
      s.set(s.type(0), s.shape(0));
      s.set('bool', s.shape(0), 1);
    },
    gradOutputs: (n) => (n.inputs[2] ? [[1, 'mask']] : []),
    grad: (n, [g], c) => {
      const [, ratio, training] = n.inputs;
      if (!training) return [g];
      const constant = dropoutScale(n, c);
      const keep = () => c.op('Sub', [c.scalar(1, g!), ratio ? ratio : c.scalar(0.5, g!)]);
      const scale =
        constant !== undefined
          ? c.scalar(constant, g!)
          : c.op('Where', [training, c.op('Reciprocal', [keep()]), c.scalar(1, g!)]);
      // Scaled first: ONNX Runtime folds a scalar Mul of a product's output into the product (attention's g).
      return [masked(c.op('Mul', [g!, scale]), n.outputs[1]!, g!, c)];
    },
    // x * mask / (1 - ratio) from its (boolean) mask, which the gradient keeps anyway (their Casts merge in
    // ONNX Runtime's CSE); scaled last, which ONNX Runtime folds into a product reading it (attention's P V).
    recompute: (n, saved, c) => {
      const scale = dropoutScale(n, c);
      const [x] = n.inputs;
      const [v, mask] = n.outputs;
      if (!mask || scale === undefined) return undefined;
      const from = saved(x!);
      return { value: c.op('Mul', [masked(from, mask, v!, c), c.scalar(scale, v!)]), from };
    },
  },
};

/** Element-wise ops whose outputs carry no gradient: comparisons, logic, rounding. */
export const nonDifferentiableElementwiseOps: Record<string, OpSpec> = {
  ...Object.fromEntries(
    ['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor'].map((op) => [
      op,
      { differentiable: false, shape: comparison },
    ]),
  ),
  ...Object.fromEntries(
    ['Not', 'Floor', 'Ceil', 'Sign'].map((op) => [op, { differentiable: false, shape: sameShape }]),
  ),
  Round: { differentiable: false },
};
