import { describe, expect, it } from 'vitest';
import { gradCheck, randomTensor, rng } from '../../test/gradcheck.js';
import { expectClose, feed, modelOf, optimizedByOrt, run } from '../../test/helpers.js';
import { attr, buildGradients, emptyGraph, GraphBuilder, getInt, producers, tensor } from '../index.js';

const r = rng(11);
const f64 = (name: string, dims: number[]) => randomTensor(name, 'float64', dims, r);

describe('matmul gradient rules vs finite differences', () => {
  it('MatMul [B,S,K] x [K,N] uses one 2-D product on a written-out transpose for the weight (dynamic B, S)', async () => {
    const g = await gradCheck({
      inputs: [f64('x', [2, 3, 4]), f64('w', [4, 5])],
      build: (b) => b.op1('MatMul', ['x', 'w']),
      symbolic: true,
    });
    // dW comes straight from one 2-D MatMul: no batched product followed by a sum, and no transA.
    const byOutput = producers(g);
    const dw = byOutput.get(g.outputs[2]!.name)!;
    expect(dw.opType).toBe('MatMul');
    expect(byOutput.get(byOutput.get(dw.inputs[0]!)!.inputs[0]!)?.opType).toBe('Transpose');
  });

  it("ONNX Runtime's optimizer does not fold the weight gradient's transpose back into a transA product", async () => {
    // Float32, the type its MatMul + Transpose fusion (FusedMatMul, Gemm's transA) applies to.
    const g = emptyGraph('linear');
    const b = new GraphBuilder(g);
    b.addInput({ name: 'x', type: { dataType: 'float32', shape: ['tokens', 8] } });
    b.addInput({ name: 'w', type: { dataType: 'float32', shape: [8, 16] } });
    b.addInput({ name: 'bias', type: { dataType: 'float32', shape: [16] } });
    const y = b.op1('Add', [b.op1('MatMul', ['x', 'w']), 'bias']);
    const loss = b.reduce('ReduceSum', b.op1('Mul', [y, y]), undefined, false);
    const dw = buildGradients(b, { loss, wrt: ['w'] }).get('w')!;
    b.addOutput({ name: dw });
    const products = (await optimizedByOrt(modelOf(g))).graph.nodes.filter((n) =>
      /MatMul|Gemm/.test(n.opType),
    );
    expect(products.map((n) => n.opType).sort()).toEqual(['Gemm', 'MatMul']); // forward Gemm (+ bias), dW
    for (const n of products) expect(getInt(n.attributes, 'transA', 0), n.name).toBe(0);
  });

  it('MatMul of a GELU output: the weight gradient reads the output the GELU unit keeps', async () => {
    let gelu = '';
    const g = await gradCheck({
      inputs: [randomTensor('x', 'float32', [2, 3, 4], r, -2, 2), randomTensor('w', 'float32', [4, 5], r)],
      build: (b) => {
        const c = (name: string, v: number) => b.initializer(tensor(name, 'float32', [], [v]));
        const erf = b.op1('Erf', [b.op1('Div', ['x', c('sqrt2', Math.SQRT2)])]);
        const inner = b.op1('Mul', ['x', b.op1('Add', [erf, c('one', 1)])]);
        gelu = b.op1('Mul', [inner, c('half', 0.5)]);
        return b.op1('MatMul', [gelu, 'w']);
      },
      symbolic: true,
      eps: 1e-3,
      atol: 2e-3,
      rtol: 2e-3,
    });
    // Recomputing it would cost the backward pass 2 more activation-sized passes than keeping it (torch keeps
    // it too, as the Linear's input); the GELU's intermediates are recomputed (see units.test.ts).
    expect(g.nodes.filter((n) => n.inputs.includes(gelu))).toHaveLength(2);
  });

  it('MatMul batched with broadcasting ([2,1,3,4] x [3,4,2])', () =>
    gradCheck({
      inputs: [f64('a', [2, 1, 3, 4]), f64('b', [3, 4, 2])],
      build: (b) => b.op1('MatMul', ['a', 'b']),
    }));

  it('MatMul batched, dynamic dims', () =>
    gradCheck({
      inputs: [f64('a', [2, 2, 3, 4]), f64('b', [2, 2, 4, 3])],
      build: (b) => b.op1('MatMul', ['a', 'b']),
      symbolic: true,
    }));

  for (const [transA, transB] of [
    [0, 0],
    [1, 0],
    [0, 1],
    [1, 1],
  ]) {
    it(`Gemm transA=${transA} transB=${transB} alpha beta`, () =>
      gradCheck({
        inputs: [f64('a', transA ? [4, 3] : [3, 4]), f64('b', transB ? [2, 4] : [4, 2]), f64('c', [2])],
        build: (b) =>
          b.op1('Gemm', ['a', 'b', 'c'], {
            transA: attr.int(transA!),
            transB: attr.int(transB!),
            alpha: attr.float(0.5),
            beta: attr.float(2),
          }),
      }));
  }

  it('P V after dropout: dV is recomputed from the softmax output and the mask, never reading P', async () => {
    // Random masks rule out finite differences; instead one run yields the mask, P and dV together, and dV
    // must equal P_dropped^T R with P_dropped = softmax * mask / (1 - ratio).
    const [S, D] = [3, 2];
    const g = emptyGraph('pv');
    const b = new GraphBuilder(g);
    b.addInput({ name: 's', type: { dataType: 'float32', shape: [S, S] } });
    b.addInput({ name: 'v', type: { dataType: 'float32', shape: [S, D] } });
    b.addInput({ name: 'R', type: { dataType: 'float32', shape: [S, D] } });
    const probs = b.op1('Softmax', ['s'], { axis: attr.int(-1) });
    const training = b.initializer(tensor('training', 'bool', [], [1]));
    const [dropped, mask] = b.op(
      'Dropout',
      [probs, b.scalar(0.5, 'float32'), training],
      {},
      { outputs: ['p_d', 'mask'] },
    );
    const y = b.op1('MatMul', [dropped!, 'v']);
    const loss = b.reduce('ReduceSum', b.op1('Mul', [y, 'R']), undefined, false);
    const dv = buildGradients(b, { loss, wrt: ['v'] }).get('v')!;
    expect(g.nodes.filter((n) => n.inputs.includes(dropped!))).toHaveLength(1); // the forward MatMul only
    for (const name of [dv, probs, mask!]) b.addOutput({ name });
    const rr = rng(5);
    const inputs = [randomTensor('s', 'float32', [S, S], rr), randomTensor('v', 'float32', [S, D], rr)];
    const R = randomTensor('R', 'float32', [S, D], rr);
    const out = await run(modelOf(g), feed(...inputs, R));
    const p = out[probs]!.map((x, i) => (out[mask!]![i] ? x * 2 : 0));
    const expected = Array.from({ length: S * D }, (_, k) => {
      const [i, j] = [Math.floor(k / D), k % D];
      let sum = 0;
      for (let r2 = 0; r2 < S; r2++) sum += p[r2 * S + i]! * (R.data as Float32Array)[r2 * D + j]!;
      return sum;
    });
    expectClose(out[dv]!, expected, 1e-6, 1e-5);
  });
});
