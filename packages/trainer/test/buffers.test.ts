import { emptyGraph, encodeModel, GraphBuilder } from '@ortrain/graph';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { StateBuffers } from '../src/runtime/buffers.js';

/** A graph that writes `x.new = x + x` for a float16 input `x` of shape [3]. */
async function doubling(): Promise<ort.InferenceSession> {
  const g = emptyGraph('double');
  const b = new GraphBuilder(g);
  b.addInput({ name: 'x', type: { dataType: 'float16', shape: [3] } });
  b.op('Add', ['x', 'x'], {}, { outputs: ['x.new'] });
  b.addOutput({ name: 'x.new', type: { dataType: 'float16', shape: [3] } });
  const about = { irVersion: 8, producerName: 'ortrain-test', producerVersion: '0', metadata: {} };
  return ort.InferenceSession.create(encodeModel({ ...about, opsets: new Map([['', 17]]), graph: g }));
}

// IEEE half precision bit patterns.
const HALF = { one: 0x3c00, two: 0x4000, four: 0x4400, minusHalf: 0xb800, minusOne: 0xbc00 };

describe('state buffers of other float types', () => {
  it('hold float16 state as 16-bit patterns that ONNX Runtime reads and writes in place of a copy', async () => {
    const state = new StateBuffers();
    state.add('x', { dataType: 'float16', shape: [3] }, [HALF.one, HALF.two, HALF.minusHalf]);
    const front = state.get('x');
    expect(front).toBeInstanceOf(Uint16Array);
    expect(state.tensor('x').type).toBe('float16');
    const session = await doubling();
    await session.run({ x: state.tensor('x') }, { 'x.new': state.target('x') });
    state.swap(['x']);
    // The run wrote into the back buffer, which is now the front one; the old front is untouched.
    expect(Array.from(state.get('x'))).toEqual([HALF.two, HALF.four, HALF.minusOne]);
    expect(state.get('x')).not.toBe(front);
    expect(Array.from(front)).toEqual([HALF.one, HALF.two, HALF.minusHalf]);
    await session.release();
  });

  it('in place, a float16 entry has one buffer that each run rewrites', async () => {
    const state = new StateBuffers({ inPlace: true });
    state.add('x', { dataType: 'float16', shape: [3] }, [HALF.one, HALF.one, HALF.one]);
    const data = state.get('x');
    expect(state.target('x')).toBe(state.tensor('x'));
    const session = await doubling();
    await session.run({ x: state.tensor('x') }, { 'x.new': state.target('x') });
    state.swap(['x']);
    expect(state.get('x')).toBe(data);
    expect(Array.from(data)).toEqual([HALF.two, HALF.two, HALF.two]);
    await session.release();
  });

  it('hold bfloat16 and float64 entries, and say when onnxruntime-node cannot feed one', () => {
    const state = new StateBuffers();
    state.add('b', { dataType: 'bfloat16', shape: [2] }, [0x3f80, 0x4000]);
    state.add('d', { dataType: 'float64', shape: [2] }, [0.5, 1.5]);
    expect(state.get('b')).toBeInstanceOf(Uint16Array);
    expect(Array.from(state.get('b'))).toEqual([0x3f80, 0x4000]);
    expect(() => state.tensor('b')).toThrow("state 'b' is bfloat16, which onnxruntime-node cannot feed");
    expect(state.tensor('d').type).toBe('float64');
    expect(state.get('d')).toEqual(Float64Array.of(0.5, 1.5));
    expect(state.type('b')).toEqual({ dataType: 'bfloat16', shape: [2] });
  });

  it('refuse initial values of the wrong size, naming the entry', () => {
    const state = new StateBuffers();
    expect(() => state.add('x', { dataType: 'float16', shape: [2, 2] }, [1, 2, 3])).toThrow(
      "state 'x': 3 values given for shape [2,2] (4 expected)",
    );
  });
});
