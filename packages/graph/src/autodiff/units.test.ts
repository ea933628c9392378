import { describe, expect, it } from 'vitest';
import { gradCheck, randomTensor, rng } from '../../test/gradcheck.js';
import { type GraphBuilder, inferShapes, tensor } from '../index.js';

const r = rng(11);
const loose = { eps: 1e-3, atol: 2e-3, rtol: 2e-3 };
const constant = (b: GraphBuilder, name: string, v: number) =>
  b.initializer(tensor(name, 'float32', [], [v]));

/** The spellings of x * 0.5 * (1 + erf(x / sqrt 2)) that exporters write. */
const spellings: Record<string, (b: GraphBuilder, x: string) => string> = {
  '(x * (1 + erf(x / sqrt2))) * 0.5 (torch.onnx.export)': (b, x) => {
    const a = b.op1('Add', [
      b.op1('Erf', [b.op1('Div', [x, constant(b, 'sqrt2', Math.SQRT2)])]),
      constant(b, 'one', 1),
    ]);
    return b.op1('Mul', [b.op1('Mul', [x, a]), constant(b, 'half', 0.5)]);
  },
  '(x * 0.5) * (1 + erf(x * 1/sqrt2)), operands swapped': (b, x) => {
    const u = b.op1('Mul', [constant(b, 'rsqrt2', Math.SQRT1_2), x]);
    const a = b.op1('Add', [constant(b, 'one', 1), b.op1('Erf', [u])]);
    return b.op1('Mul', [a, b.op1('Mul', [x, constant(b, 'half', 0.5)])]);
  },
};

describe('GELU unit gradient vs finite differences', () => {
  for (const [name, gelu] of Object.entries(spellings)) {
    it(name, async () => {
      await gradCheck({
        inputs: [randomTensor('x', 'float32', [3, 4], r, -3, 3)],
        build: (b) => gelu(b, 'x'),
        ...loose,
      });
      // exp(u^2) overflows: the x / exp(u^2) term must be 0, not NaN (gradients 0 and 1).
      const far = tensor('x', 'float32', [4], [-12, -9.5, 9.5, 12]);
      await gradCheck({ inputs: [far], build: (b) => gelu(b, 'x'), ...loose });
    });
  }

  it('differentiates as a unit: the output kept for the next product, 10 passes shaped like x', async () => {
    const between: string[] = [];
    let y = '';
    const g = await gradCheck({
      inputs: [randomTensor('x', 'float32', [3, 5], r, -2, 2), randomTensor('w', 'float32', [5, 2], r)],
      build: (b) => {
        const u = b.op1('Div', ['x', constant(b, 'sqrt2', Math.SQRT2)]);
        const e = b.op1('Erf', [u]);
        const a = b.op1('Add', [e, constant(b, 'one', 1)]);
        const m = b.op1('Mul', ['x', a]);
        between.push(u, e, a, m);
        y = b.op1('Mul', [m, constant(b, 'half', 0.5)]);
        return b.op1('MatMul', [y, 'w']);
      },
      ...loose,
    });
    // The weight's gradient reads y itself; the intermediates are recomputed from x, never kept.
    expect(g.nodes.filter((n) => n.inputs.includes(y)).length).toBeGreaterThan(1);
    for (const v of between) expect(g.nodes.filter((n) => n.inputs.includes(v))).toHaveLength(1);
    // The forward's 5; the product's gradient to y and its flat view of y; the unit's 10 (op by op: 14, y among
    // them recomputed).
    const types = inferShapes(g).types;
    const xShaped = g.nodes.filter((n) => JSON.stringify(types.get(n.outputs[0]!)?.shape) === '[3,5]');
    expect(xShaped).toHaveLength(5 + 2 + 10);
  });
});
