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

describe('device-resident state (the bookkeeping; test/webgpu.test.ts runs it on a device)', () => {
  /** Stands in for a run's gpu-buffer output: a tensor that records its disposal. */
  const deviceTensor = (disposed: string[], name: string) => {
    const t = new ort.Tensor('float32', new Float32Array(2), [2]);
    t.dispose = () => disposed.push(name);
    return t;
  };

  it('feeds the device copy, refuses stale host reads until read back, disposes what it replaces', () => {
    const state = new StateBuffers();
    state.add('w', { dataType: 'float32', shape: [2] }, [1, 2]);
    const disposed: string[] = [];
    const first = deviceTensor(disposed, 'first');
    state.keepOnDevice('w', first);
    expect(state.tensor('w')).toBe(first);
    expect(state.deviceOnly()).toEqual(['w']);
    expect(() => state.get('w')).toThrow(
      "state 'w' is on the device: read it back first (await Replica.sync())",
    );
    // A read-back writes the host buffer through hostTensor; both copies are then current.
    (state.hostTensor('w').data as Float32Array).set([3, 4]);
    state.markReadBack(['w']);
    expect(Array.from(state.get('w'))).toEqual([3, 4]);
    expect(state.deviceOnly()).toEqual([]);
    expect(state.tensor('w')).toBe(first);
    // The next run's value replaces (and releases) the previous one, and the host copy is stale again.
    state.keepOnDevice('w', deviceTensor(disposed, 'second'));
    expect(disposed).toEqual(['first']);
    expect(() => state.get('w')).toThrow(/on the device/);
    // Host values set by load() take over: the device copy is released and the host buffer is fed.
    state.set('w', [5, 6]);
    expect(disposed).toEqual(['first', 'second']);
    expect(state.tensor('w')).toBe(state.hostTensor('w'));
    expect(Array.from(state.get('w'))).toEqual([5, 6]);
  });

  it('zeroes a spent accumulator on the host and releases every device copy on demand', () => {
    const state = new StateBuffers();
    state.add('g', { dataType: 'float32', shape: [2] }, [7, 8]);
    state.add('m', { dataType: 'float32', shape: [2] });
    const disposed: string[] = [];
    state.keepOnDevice('g', deviceTensor(disposed, 'g'));
    state.keepOnDevice('m', deviceTensor(disposed, 'm'));
    state.zero('g');
    expect(Array.from(state.get('g'))).toEqual([0, 0]);
    expect(state.deviceOnly()).toEqual(['m']);
    state.releaseDevice();
    expect(disposed).toEqual(['g', 'm']);
    expect(state.deviceOnly()).toEqual([]);
  });
});
