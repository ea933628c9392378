import { describe, it } from 'vitest';
import { gradCheck, randomTensor, rng } from '../../test/gradcheck.js';
import { attr } from '../index.js';

const r = rng(13);
const x = () => randomTensor('x', 'float64', [2, 3, 4], r);

describe('reduce gradient rules vs finite differences', () => {
  for (const op of ['ReduceSum', 'ReduceMean']) {
    for (const keep of [0, 1]) {
      for (const opset of [17, 18]) {
        it(`${op} axes [1,-1] keepdims=${keep} opset ${opset}`, () =>
          gradCheck({
            inputs: [x()],
            opset,
            build: (b) => b.reduce(op, 'x', [1, -1], keep === 1),
            symbolic: true,
          }));
      }
    }
    it(`${op} over all axes`, () =>
      gradCheck({ inputs: [x()], build: (b) => b.op1(op, ['x'], { keepdims: attr.int(0) }) }));
  }
  it('ReduceSum with empty axes and noop_with_empty_axes=1 is the identity', () =>
    gradCheck({
      inputs: [x()],
      build: (b) => b.op1('ReduceSum', ['x', b.ints([])], { noop_with_empty_axes: attr.int(1) }),
    }));
});
