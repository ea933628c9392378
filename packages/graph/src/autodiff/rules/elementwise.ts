import { attr, getInt } from '../../ir/attributes.js';
import { isFloat, toNumbers } from '../../ir/tensor.js';
import { dataTypeCode } from '../../onnx/proto.js';
import type { GradContext, GradRule } from '../context.js';

/** Elementwise ops: gradients are products with local derivatives, summed back over broadcast axes. */
export const elementwiseRules: Record<string, GradRule> = {
  // Every product below has the output's shape (an input broadcasts to it), which decides the reductions
  // statically when the output's shape is known.
  Add: ({ inputs: [a, b], outputs: [y] }, [g], c) => [
    c.needs(0) ? c.sumToShape(g!, a!, c.shape(y!)) : undefined,
    c.needs(1) ? c.sumToShape(g!, b!, c.shape(y!)) : undefined,
  ],
  Sub: ({ inputs: [a, b], outputs: [y] }, [g], c) => [
    c.needs(0) ? c.sumToShape(g!, a!, c.shape(y!)) : undefined,
    c.needs(1) ? c.sumToShape(c.op('Neg', [g!]), b!, c.shape(y!)) : undefined,
  ],
  Mul: ({ inputs: [a, b], outputs: [y] }, [g], c) => [
    c.needs(0) ? c.sumToShape(c.op('Mul', [g!, c.saved(b!)]), a!, c.shape(y!)) : undefined,
    c.needs(1) ? c.sumToShape(c.op('Mul', [g!, c.saved(a!)]), b!, c.shape(y!)) : undefined,
  ],
  // d(a/b)/db = -y/b
  Div: ({ inputs: [a, b], outputs: [y] }, [g], c) => [
    c.needs(0) ? c.sumToShape(c.op('Div', [g!, b!]), a!, c.shape(y!)) : undefined,
    c.needs(1)
      ? c.sumToShape(c.op('Neg', [c.op('Div', [c.op('Mul', [g!, y!]), b!])]), b!, c.shape(y!))
      : undefined,
  ],
  Pow: ({ inputs: [a, p], outputs: [y] }, [g], c) => {
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
      da = c.sumToShape(c.op('Mul', [g!, local]), a!, c.shape(y!));
    }
    const dp = c.needs(1)
      ? c.sumToShape(c.op('Mul', [c.op('Mul', [g!, y!]), c.op('Log', [a!])]), p!, c.shape(y!))
      : undefined;
    return [da, dp];
  },
  Sqrt: ({ outputs: [y] }, [g], c) => [c.op('Div', [c.op('Mul', [g!, c.scalar(0.5, y!)]), y!])],
  Neg: (_n, [g], c) => [c.op('Neg', [g!])],
  Exp: ({ outputs: [y] }, [g], c) => [c.op('Mul', [g!, y!])],
  Log: ({ inputs: [x] }, [g], c) => [c.op('Div', [g!, x!])],
  // 2/sqrt(pi) * exp(-x^2)
  Erf: ({ inputs: [x] }, [g], c) => {
    const u = c.saved(x!);
    const e = c.op('Exp', [c.op('Neg', [c.op('Mul', [u, u])])]);
    return [c.op('Mul', [g!, c.op('Mul', [e, c.scalar(2 / Math.sqrt(Math.PI), x!)])])];
  },
  Tanh: ({ outputs: [y] }, [g], c) => [
    c.op('Mul', [g!, c.op('Sub', [c.scalar(1, y!), c.op('Mul', [y!, y!])])]),
  ],
  Sigmoid: ({ outputs: [y] }, [g], c) => [
    c.op('Mul', [g!, c.op('Mul', [y!, c.op('Sub', [c.scalar(1, y!), y!])])]),
  ],
  Relu: ({ inputs: [x] }, [g], c) => [
    c.op('Where', [c.op('Greater', [x!, c.scalar(0, x!)]), g!, c.scalar(0, x!)]),
  ],
  // Ties send the whole gradient to the first input.
  Max: ({ inputs: [a, b], outputs: [y] }, [g], c) =>
    route(c.op('GreaterOrEqual', [a!, b!]), [a!, b!], g!, y!, c, 0),
  Min: ({ inputs: [a, b], outputs: [y] }, [g], c) =>
    route(c.op('LessOrEqual', [a!, b!]), [a!, b!], g!, y!, c, 0),
  Where: ({ inputs: [cond, a, b], outputs: [y] }, [g], c) => [
    undefined,
    ...route(cond!, [a!, b!], g!, y!, c, 1),
  ],
  Identity: (_n, [g]) => [g],
  Cast: ({ inputs: [x], attributes }, [g], c) => {
    const to = c.dtype(x!);
    if (!isFloat(to) || getInt(attributes, 'to') === undefined) return [undefined];
    return [c.op('Cast', [g!], { to: attr.int(dataTypeCode(to)) })];
  },
  /**
   * Training mode (a true training_mode input): dy * mask / (1 - ratio), reading the forward node's mask
   * output (added when the exporter left it out). Inference mode is the identity.
   */
  Dropout: (node, [g], c) => {
    const [, ratio, training] = node.inputs;
    if (!training) return [g];
    if (!node.outputs[1]) node.outputs[1] = c.b.fresh(`${node.name}_mask`);
    const keep = c.op('Sub', [c.scalar(1, g!), ratio ? ratio : c.scalar(0.5, g!)]);
    const scale = c.op('Where', [training, c.op('Reciprocal', [keep]), c.scalar(1, g!)]);
    return [c.op('Where', [node.outputs[1]!, c.op('Mul', [g!, scale]), c.scalar(0, g!)])];
  },
};

/** Sends g (shaped like y) to the first value where mask holds, to the second elsewhere (inputs `first`, `first + 1`). */
function route(mask: string, [a, b]: [string, string], g: string, y: string, c: GradContext, first: number) {
  const zero = c.scalar(0, g);
  return [
    c.needs(first) ? c.sumToShape(c.op('Where', [mask, g, zero]), a, c.shape(y)) : undefined,
    c.needs(first + 1) ? c.sumToShape(c.op('Where', [mask, zero, g]), b, c.shape(y)) : undefined,
  ];
}
