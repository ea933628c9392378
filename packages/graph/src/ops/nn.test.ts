import { describe, it } from 'vitest';
import { gradCheck, randomTensor, rng } from '../../test/gradcheck.js';
import { attr } from '../index.js';

const r = rng(19);
const f64 = (name: string, dims: number[]) => randomTensor(name, 'float64', dims, r);
const f32 = (name: string, dims: number[], lo = -1, hi = 1) => randomTensor(name, 'float32', dims, r, lo, hi);

describe('nn gradient rules vs finite differences', () => {
  for (const op of ['Softmax', 'LogSoftmax']) {
    it(`${op} on the last axis and on axis 1 (opset 17)`, async () => {
      await gradCheck({ inputs: [f64('x', [2, 3, 4])], build: (b) => b.op1(op, ['x']), symbolic: true });
      await gradCheck({
        inputs: [f64('x', [2, 3, 4])],
        build: (b) => b.op1(op, ['x'], { axis: attr.int(1) }),
      });
    });
    it(`${op} with the opset-12 coerced-2D semantics`, () =>
      gradCheck({
        inputs: [f64('x', [2, 3, 4])],
        opset: 12,
        build: (b) => b.op1(op, ['x'], { axis: attr.int(1) }),
      }));
  }
  it('LayerNormalization: x, scale and bias, axis -1 and 1 (float32)', async () => {
    for (const axis of [-1, 1]) {
      const norm = axis === -1 ? [4] : [3, 4];
      await gradCheck({
        inputs: [f32('x', [2, 3, 4], -2, 2), f32('scale', norm, 0.5, 1.5), f32('bias', norm)],
        build: (b) =>
          b.op1('LayerNormalization', ['x', 'scale', 'bias'], {
            axis: attr.int(axis),
            epsilon: attr.float(1e-5),
          }),
        symbolic: axis === -1,
        eps: 1e-2,
        atol: 2e-3,
        rtol: 1e-2,
      });
    }
  });
});
