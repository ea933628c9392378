import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { gradCheck, randomTensor, rng } from '../../test/gradcheck.js';
import { attr, buildGradients, emptyGraph, encodeModel, GraphBuilder, modelOf, tensor } from '../index.js';
import { ONE_HOT_ROWS } from './shape.js';

const r = rng(17);
const f64 = (name: string, dims: number[]) => randomTensor(name, 'float64', dims, r);

describe('shape gradient rules vs finite differences', () => {
  it('Reshape, Flatten, Unsqueeze, Squeeze', async () => {
    await gradCheck({
      inputs: [f64('x', [2, 3, 4])],
      build: (b) => b.op1('Reshape', ['x', b.ints([0, -1, 2])]),
      symbolic: true,
    });
    await gradCheck({
      inputs: [f64('x', [2, 3, 4])],
      build: (b) => b.op1('Flatten', ['x'], { axis: attr.int(2) }),
    });
    await gradCheck({ inputs: [f64('x', [2, 3])], build: (b) => b.squeeze(b.unsqueeze('x', [0, 3]), [0]) });
  });
  it('Transpose with and without perm', async () => {
    await gradCheck({
      inputs: [f64('x', [2, 3, 4])],
      build: (b) => b.op1('Transpose', ['x'], { perm: attr.ints([1, 2, 0]) }),
    });
    await gradCheck({ inputs: [f64('x', [2, 3, 4])], build: (b) => b.op1('Transpose', ['x']) });
  });
  it('Expand sums over the broadcast axes', () =>
    gradCheck({
      inputs: [f64('x', [3, 1])],
      build: (b) => b.op1('Expand', ['x', b.ints([2, 3, 4])]),
      symbolic: true,
    }));
  it('Concat with static and dynamic sizes', async () => {
    const build = (b: Parameters<Parameters<typeof gradCheck>[0]['build']>[0]) =>
      b.op1('Concat', ['a', 'b'], { axis: attr.int(1) });
    await gradCheck({ inputs: [f64('a', [2, 3]), f64('b', [2, 2])], build });
    await gradCheck({ inputs: [f64('a', [2, 3]), f64('b', [2, 2])], build, symbolic: true });
  });
  it('Split (as input, opset 17; as attribute, opset 12 semantics via builder) with an unused output', async () => {
    await gradCheck({ inputs: [f64('x', [2, 5])], build: (b) => b.split('x', [2, 3], 1)[1]! });
    await gradCheck({
      inputs: [f64('x', [2, 5])],
      build: (b) => {
        const [p, q] = b.split('x', [2, 3], 1);
        return b.op1('Concat', [q!, p!], { axis: attr.int(1) });
      },
    });
  });
  it('Slice (positive, negative, clamped ends; static and dynamic dims)', async () => {
    for (const symbolic of [false, true]) {
      await gradCheck({
        inputs: [f64('x', [3, 5])],
        build: (b) => b.op1('Slice', ['x', b.ints([1, -4]), b.ints([1000, -1]), b.ints([0, 1])]),
        symbolic,
      });
    }
  });
  it('Gather: embedding rows with repeated ids (one-hot product, ScatterElements add) and a scalar index on axis 1', async () => {
    await gradCheck({
      inputs: [f64('emb', [5, 3]), tensor('ids', 'int64', [2, 3], [0, 4, 4, 1, -1, 2])],
      constant: ['ids'],
      build: (b) => b.op1('Gather', ['emb', 'ids']),
      symbolic: true,
    });
    await gradCheck({
      inputs: [f64('emb', [5, 2, 2]), tensor('ids', 'int32', [4], [3, 0, 3, -2])],
      constant: ['ids'],
      build: (b) => b.op1('Gather', ['emb', 'ids']),
    });
    await gradCheck({
      inputs: [f64('emb', [ONE_HOT_ROWS + 1, 1]), tensor('ids', 'int64', [2, 3], [0, 512, 512, 1, -1, 2])],
      constant: ['ids'],
      build: (b) => b.op1('Gather', ['emb', 'ids']),
    });
    await gradCheck({
      inputs: [f64('h', [2, 3, 4])],
      build: (b) =>
        b.op1('Gather', ['h', b.initializer(tensor('zero', 'int64', [], [0]))], { axis: attr.int(1) }),
    });
  });
  it('GatherND rows (token packing) and ScatterND into data and updates', async () => {
    const rows = () => tensor('rows', 'int64', [3, 2], [0, 1, 1, 2, 0, 0]);
    await gradCheck({
      inputs: [f64('h', [2, 3, 4]), rows()],
      constant: ['rows'],
      build: (b) => b.op1('GatherND', ['h', 'rows']),
      symbolic: true,
    });
    await gradCheck({
      inputs: [f64('h', [2, 3, 4]), rows(), f64('u', [3, 4])],
      constant: ['rows'],
      build: (b) => b.op1('ScatterND', ['h', 'rows', 'u']),
    });
  });
});

describe("Gather's gradient under ONNX Runtime's threads", () => {
  // ONNX Runtime's CPU ScatterND(reduction='add') adds its update rows from several threads at once, so rows
  // sharing an index (a batch's [CLS], [SEP], frequent words, both token types) lose updates at random.
  it.each([
    ['a one-hot product', 64, 'Gemm'],
    ['ScatterElements', ONE_HOT_ROWS + 64, 'ScatterElements'],
  ])('adds every row of a repeated id, the same on every run: %s', async (_, vocab, summedBy) => {
    const [hidden, tokens] = [256, 4096];
    const g = emptyGraph('embedding');
    const b = new GraphBuilder(g, '', 17);
    b.addInput({ name: 'emb', type: { dataType: 'float32', shape: [vocab, hidden] } });
    b.addInput({ name: 'ids', type: { dataType: 'int64', shape: ['tokens'] } });
    b.addInput({ name: 'w', type: { dataType: 'float32', shape: ['tokens', hidden] } });
    const y = b.op1('Gather', ['emb', 'ids']);
    b.op('ReduceSum', [b.op1('Mul', [y, 'w'])], { keepdims: attr.int(0) }, { outputs: ['loss'] });
    b.addOutput({ name: buildGradients(b, { loss: 'loss', wrt: ['emb'] }).get('emb')! });
    expect(
      g.nodes.filter((n) => ['Gemm', 'ScatterElements'].includes(n.opType)).map((n) => n.opType),
    ).toEqual([summedBy]);
    const session = await ort.InferenceSession.create(encodeModel(modelOf(g, 17)), { intraOpNumThreads: 2 });
    const ids = BigInt64Array.from({ length: tokens }, (_, i) => BigInt(i % 4 === 0 ? 0 : i % vocab));
    const w = Float32Array.from({ length: tokens * hidden }, (_, i) => Math.sin(i));
    const expected = new Float64Array(vocab * hidden);
    ids.forEach((id, t) => {
      for (let j = 0; j < hidden; j++) expected[Number(id) * hidden + j]! += w[t * hidden + j] ?? 0;
    });
    const feeds = {
      emb: new ort.Tensor('float32', new Float32Array(vocab * hidden), [vocab, hidden]),
      ids: new ort.Tensor('int64', ids, [tokens]),
      w: new ort.Tensor('float32', w, [tokens, hidden]),
    };
    for (let run = 0; run < 8; run++) {
      const grad = Object.values(await session.run(feeds))[0]!.data as Float32Array;
      let worst = 0;
      for (let i = 0; i < grad.length; i++) worst = Math.max(worst, Math.abs(grad[i]! - expected[i]!));
      expect(worst, `run ${run}`).toBeLessThan(1e-3);
    }
    await session.release();
  });
});
