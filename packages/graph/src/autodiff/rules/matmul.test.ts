import { describe, expect, it } from 'vitest';
import { gradCheck, randomTensor, rng } from '../../../test/gradcheck.js';
import { attr, producers } from '../../index.js';

const r = rng(11);
const f64 = (name: string, dims: number[]) => randomTensor(name, 'float64', dims, r);

describe('matmul gradient rules vs finite differences', () => {
  it('MatMul [B,S,K] x [K,N] uses one 2-D Gemm for the weight (dynamic B, S)', async () => {
    const g = await gradCheck({
      inputs: [f64('x', [2, 3, 4]), f64('w', [4, 5])],
      build: (b) => b.op1('MatMul', ['x', 'w']),
      symbolic: true,
    });
    // dW comes straight from one 2-D Gemm: no batched product followed by a sum.
    expect(producers(g).get(g.outputs[2]!.name)?.opType).toBe('Gemm');
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
});
