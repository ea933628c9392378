import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { gradCheck, randomTensor, rng } from '../../test/gradcheck.js';
import { expectClose, modelOf, session } from '../../test/helpers.js';
import { attr, buildGradients, type DataType, emptyGraph, GraphBuilder, tensor } from '../index.js';

const r = rng(7);
const f64 = (name: string, dims: number[], lo = -1, hi = 1) => randomTensor(name, 'float64', dims, r, lo, hi);
const f32 = (name: string, dims: number[], lo = -1, hi = 1) => randomTensor(name, 'float32', dims, r, lo, hi);
const loose = { eps: 1e-3, atol: 2e-3, rtol: 2e-3 };

describe('elementwise gradient rules vs finite differences', () => {
  for (const op of ['Add', 'Sub', 'Mul', 'Div']) {
    it(`${op} with broadcasting ([2,3,4] and [4], [2,1,4])`, async () => {
      await gradCheck({
        inputs: [f64('a', [2, 3, 4]), f64('b', [4], 0.5, 1.5)],
        build: (b) => b.op1(op, ['a', 'b']),
      });
      await gradCheck({
        inputs: [f64('a', [2, 1, 4], 0.5, 1.5), f64('b', [3, 1])],
        build: (b) => b.op1(op, ['b', 'a']),
        symbolic: true,
      });
    });
  }

  it('a sum over leading axes is a row of ones times the rows (float32/64), for any batch and sequence size', async () => {
    const g = await gradCheck({
      inputs: [f64('a', [2, 3, 4]), f64('b', [4])],
      build: (b) => b.op1('Add', ['a', 'b']),
    });
    expect(g.nodes.map((n) => n.opType)).toContain('MatMul');
    expect(g.nodes.filter((n) => n.opType === 'ReduceSum')).toHaveLength(1); // the loss's
    // Dynamic leading dims: the row count is read from the graph input's dims, never from an activation.
    const { graph, grad } = biasGradient('float32');
    const shapeReads = graph.nodes.filter((n) => n.opType === 'Shape').map((n) => n.inputs[0]);
    expect(new Set(shapeReads)).toEqual(new Set(['x']));
    const s = await session(modelOf(graph));
    for (const [batch, seq] of [
      [1, 5],
      [3, 2],
    ] as const) {
      const rows = batch * seq;
      const x = new ort.Tensor('float32', new Float32Array(rows * 4), [batch, seq, 4]);
      const r = Float32Array.from({ length: rows * 4 }, (_, i) => ((i * 7) % 11) - 5);
      const bias = new ort.Tensor('float32', new Float32Array(4), [4]);
      const out = await s.run({ x, b: bias, R: new ort.Tensor('float32', r, [batch, seq, 4]) });
      const expected = [0, 1, 2, 3].map((c) => r.filter((_, i) => i % 4 === c).reduce((p, q) => p + q, 0));
      expectClose(out[grad]!.data as Float32Array, expected, 0, 0);
    }
  });

  it('a float16 sum over leading axes stays a ReduceSum (a half product overflows)', () => {
    const { graph } = biasGradient('float16');
    const ops = graph.nodes.map((n) => n.opType);
    expect(ops).not.toContain('MatMul');
    expect(ops.filter((o) => o === 'ReduceSum')).toHaveLength(2);
  });

  it('Pow with a constant exponent (2 and 1.5) and a general exponent', async () => {
    for (const p of [2, 1.5]) {
      await gradCheck({
        inputs: [f32('a', [2, 3], 0.5, 2)],
        build: (b) => b.op1('Pow', ['a', b.initializer(tensor('p', 'float32', [], [p]))]),
        ...loose,
      });
    }
    await gradCheck({
      inputs: [f32('a', [2, 3], 0.5, 2), f32('p', [3], 0.5, 2)],
      build: (b) => b.op1('Pow', ['a', 'p']),
      ...loose,
    });
  });

  for (const op of ['Sqrt', 'Log']) {
    it(op, () => gradCheck({ inputs: [f64('x', [3, 4], 0.5, 2)], build: (b) => b.op1(op, ['x']) }));
  }
  for (const op of ['Neg', 'Exp', 'Tanh', 'Sigmoid', 'Relu', 'Identity']) {
    it(op, () => gradCheck({ inputs: [f64('x', [3, 4])], build: (b) => b.op1(op, ['x']) }));
  }
  it('Erf (float32), also where exp(x^2) overflows (|x| up to 12: a gradient of 0, not NaN)', async () => {
    await gradCheck({ inputs: [f32('x', [3, 4])], build: (b) => b.op1('Erf', ['x']), ...loose });
    const far = tensor('x', 'float32', [4], [-12, -9.5, 9.5, 12]);
    await gradCheck({ inputs: [far], build: (b) => b.op1('Erf', ['x']), ...loose });
  });

  it('GELU as exported (x * 0.5 * (1 + erf(x / sqrt2))): backward reads x, not the intermediates', async () => {
    const kept: string[] = [];
    const g = await gradCheck({
      inputs: [f32('x', [3, 4], -2, 2)],
      build: (b) => {
        const c = (name: string, v: number) => b.initializer(tensor(name, 'float32', [], [v]));
        const u = b.op1('Div', ['x', c('sqrt2', Math.SQRT2)]);
        const e = b.op1('Erf', [u]);
        const t = b.op1('Add', [e, c('one', 1)]);
        kept.push(u, e, t);
        return b.op1('Mul', [b.op1('Mul', ['x', t]), c('half', 0.5)]);
      },
      symbolic: true,
      ...loose,
    });
    // Each intermediate is read only by its forward consumer; the backward pass recomputes it from x.
    for (const v of kept) expect(g.nodes.filter((n) => n.inputs.includes(v))).toHaveLength(1);
  });

  for (const op of ['Max', 'Min']) {
    it(op, () =>
      gradCheck({ inputs: [f64('a', [3, 4]), f64('b', [4])], build: (b) => b.op1(op, ['a', 'b']) }),
    );
  }

  it('Where: gradients to X and Y, none to the condition', () =>
    gradCheck({
      inputs: [f64('x', [3, 4]), f64('y', [1, 4])],
      build: (b) => b.op1('Where', [b.op1('Greater', ['x', b.scalar(0, 'float64')]), 'x', 'y']),
      symbolic: true,
    }));

  it('Where(cond, x * k, 0) as a seeded mask writes it: backward reads cond and x, not the masked values', async () => {
    const kept: string[] = [];
    const g = await gradCheck({
      inputs: [f64('x', [3, 4])],
      build: (b) => {
        const scaled = b.op1('Mul', ['x', b.initializer(tensor('k', 'float64', [], [1.25]))]);
        const masked = b.op1('Where', [
          b.op1('Greater', ['x', b.scalar(0, 'float64')]),
          scaled,
          b.scalar(0, 'float64'),
        ]);
        kept.push(scaled, masked);
        return b.op1('Mul', [masked, masked]);
      },
    });
    // Each is read only by its forward consumer; the backward pass recomputes them from x and the condition.
    for (const v of kept) expect(g.nodes.filter((n) => n.inputs.includes(v))).toHaveLength(1);
  });

  it('Cast float32 -> float64 passes the gradient back cast', () =>
    gradCheck({
      inputs: [f32('x', [2, 3])],
      build: (b) =>
        b.op1('Mul', [
          b.op1('Cast', ['x'], { to: attr.int(11) }),
          b.op1('Cast', ['x'], { to: attr.int(11) }),
        ]),
      ...loose,
    }));

  it('Dropout in training mode scales by the mask / (1 - ratio); inference mode is the identity', async () => {
    // ratio 0: the mask is all true, so FD through the (deterministic) forward pass is valid.
    await gradCheck({
      inputs: [f32('x', [3, 4])],
      build: (b) =>
        b.op1('Dropout', ['x', b.scalar(0, 'float32'), b.initializer(tensor('train', 'bool', [], [1]))]),
      ...loose,
    });
    await gradCheck({ inputs: [f32('x', [3, 4])], build: (b) => b.op1('Dropout', ['x']), ...loose });
  });
});

/** d/db sum((x + b) * R) for x, R: [batch, seq, 4] and b: [4] of `type`, with dynamic batch and sequence sizes. */
function biasGradient(type: DataType) {
  const graph = emptyGraph('bias');
  const b = new GraphBuilder(graph);
  for (const name of ['x', 'R']) b.addInput({ name, type: { dataType: type, shape: ['batch', 'seq', 4] } });
  b.addInput({ name: 'b', type: { dataType: type, shape: [4] } });
  const loss = b.reduce('ReduceSum', b.op1('Mul', [b.op1('Add', ['x', 'b']), 'R']), undefined, false);
  const grad = buildGradients(b, { loss, wrt: ['b'] }).get('b')!;
  b.addOutput({ name: grad });
  return { graph, grad };
}
