import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { expectClose, feed, modelOf, run } from '../../test/helpers.js';
import {
  attr,
  emptyGraph,
  encodeModel,
  GraphBuilder,
  loadModel,
  type Model,
  saveModel,
  tensor,
} from '../index.js';
import { ModelProto } from './proto.js';

const fixtures = new URL('../../test/fixtures/', import.meta.url).pathname;
const tmp = () => mkdtempSync(join(tmpdir(), 'ortrain-graph-'));

/** y = If(flag, then: x * w, else: x + c) with typed attributes, metadata and symbolic dims. */
function sampleModel(): Model {
  const g = emptyGraph('sample');
  const b = new GraphBuilder(g);
  b.addInput({ name: 'x', type: { dataType: 'float32', shape: ['batch', 3] } });
  b.addInput({ name: 'flag', type: { dataType: 'bool', shape: [] } });
  const w = b.initializer(tensor('w', 'float32', [3], [1.5, -2, 0.25]));
  const thenG = emptyGraph('then');
  new GraphBuilder(thenG).op('Mul', ['x', w], {}, { outputs: ['then_y'] });
  thenG.outputs.push({ name: 'then_y', type: { dataType: 'float32', shape: ['batch', 3] } });
  const elseG = emptyGraph('else');
  const eb = new GraphBuilder(elseG);
  const c = eb.op1('Constant', [], { value: attr.tensor(tensor('c', 'float32', [3], [10, 20, 30])) });
  eb.op('Add', ['x', c], {}, { outputs: ['else_y'] });
  elseG.outputs.push({ name: 'else_y', type: { dataType: 'float32', shape: ['batch', 3] } });
  b.op(
    'If',
    ['flag'],
    { then_branch: attr.graph(thenG), else_branch: attr.graph(elseG) },
    { outputs: ['y'] },
  );
  b.addOutput({ name: 'y', type: { dataType: 'float32', shape: ['batch', 3] } });
  g.initializers.set('ids', tensor('ids', 'int64', [2], [-1, 9007199254740991]));
  g.initializers.set('names', { name: 'names', dataType: 'string', dims: [2], data: ['a', 'héllo'] });
  g.initializers.set('half', tensor('half', 'float16', [2], [0x3c00, 0xc000]));
  g.initializers.set('f64', tensor('f64', 'float64', [1], [Math.PI]));
  g.valueInfo.set('y', { name: 'y', type: { dataType: 'float32', shape: [null, 3] } });
  const m = modelOf(g, 17);
  m.metadata = { note: 'round trip' };
  m.opsets.set('ai.onnx.ml', 3);
  return m;
}

describe('ONNX I/O', () => {
  it('round-trips a model with subgraphs, typed tensors, symbolic dims and metadata', async () => {
    const m = sampleModel();
    const back = loadModel(encodeModel(m));
    expect(back).toEqual(m);
    const x = tensor('x', 'float32', [2, 3], [1, 2, 3, 4, 5, 6]);
    const yes = await run(back, feed(x, tensor('flag', 'bool', [], [1])));
    expect(yes.y).toEqual([1.5, -4, 0.75, 6, -10, 1.5]);
    const no = await run(back, feed(x, tensor('flag', 'bool', [], [0])));
    expect(no.y).toEqual([11, 22, 33, 14, 25, 36]);
  });

  it('round-trips attributes of every kind', () => {
    const g = emptyGraph('attrs');
    const sub = emptyGraph('body');
    g.nodes.push({
      name: 'n',
      opType: 'Custom',
      domain: 'test.domain',
      inputs: ['a', ''],
      outputs: ['b'],
      attributes: {
        i: attr.int(-3),
        big: attr.int(2 ** 40),
        f: attr.float(0.5),
        s: attr.string('ünï'),
        is: attr.ints([1, -1, 9007199254740991]),
        fs: attr.floats([0.25, -8]),
        ss: attr.strings(['x', '']),
        t: attr.tensor(tensor('t', 'int32', [2, 1], [7, -7])),
        g: attr.graph(sub),
      },
    });
    const m = modelOf(g);
    expect(loadModel(encodeModel(m))).toEqual(m);
  });

  it('decodes the typed data fields (float_data, int32_data, int64_data, double_data, uint64_data)', () => {
    const Long = { low: -1, high: 0x7fffffff, unsigned: false, toNumber: () => 2 ** 63 };
    const bytes = ModelProto.encode({
      ir_version: 8,
      opset_import: [{ domain: '', version: 17 }],
      graph: {
        name: 'g',
        initializer: [
          { name: 'f', dims: [2], data_type: 1, float_data: [1.5, -2] },
          { name: 'i64', dims: [3], data_type: 7, int64_data: [-5, Long, 0] },
          { name: 'b', dims: [3], data_type: 9, int32_data: [1, 0, 1] },
          { name: 'h', dims: [1], data_type: 10, int32_data: [0x3c00] },
          { name: 'i8', dims: [2], data_type: 3, int32_data: [-128, 127] },
          { name: 'd', dims: [1], data_type: 11, double_data: [0.1] },
          { name: 'u32', dims: [1], data_type: 12, uint64_data: [4294967295] },
        ],
      },
    }).finish();
    const t = loadModel(bytes).graph.initializers;
    expect(t.get('f')?.data).toEqual(new Float32Array([1.5, -2]));
    expect(t.get('i64')?.data).toEqual(new BigInt64Array([-5n, 9223372036854775807n, 0n]));
    expect(t.get('b')?.data).toEqual(new Uint8Array([1, 0, 1]));
    expect(t.get('h')?.data).toEqual(new Uint16Array([0x3c00]));
    expect(t.get('i8')?.data).toEqual(new Int8Array([-128, 127]));
    expect(t.get('d')?.data).toEqual(new Float64Array([0.1]));
    expect(t.get('u32')?.data).toEqual(new Uint32Array([4294967295]));
  });

  it('rejects bad input with the file name and the tensor', () => {
    expect(() => loadModel(new Uint8Array([0xff, 0xff, 0xff]))).toThrow(/<bytes>: not a valid ONNX model/);
    const bytes = ModelProto.encode({
      graph: {
        name: 'g',
        initializer: [{ name: 'w', dims: [4], data_type: 1, raw_data: new Uint8Array(8) }],
      },
    }).finish();
    expect(() => loadModel(bytes)).toThrow(/tensor 'w': 8 bytes of raw data, expected 16/);
  });

  it('saves and loads external data, and onnxruntime runs the saved files', async () => {
    const dir = tmp();
    const g = emptyGraph('ext');
    const b = new GraphBuilder(g);
    b.addInput({ name: 'x', type: { dataType: 'float32', shape: ['n', 512] } });
    const big = b.initializer(
      tensor(
        'big',
        'float32',
        [512],
        Array.from({ length: 512 }, (_, i) => i / 7),
      ),
    );
    const small = b.initializer(tensor('small', 'float32', [1], [2]));
    b.op('Mul', [b.op1('Add', ['x', big]), small], {}, { outputs: ['y'] });
    b.addOutput({ name: 'y', type: { dataType: 'float32', shape: ['n', 512] } });
    const m = modelOf(g);
    const path = join(dir, 'model.onnx');
    saveModel(m, path, { externalData: true });
    expect(statSync(join(dir, 'model.onnx.data')).size).toBe(512 * 4);
    expect(statSync(path).size).toBeLessThan(1024);
    expect(loadModel(path)).toEqual(m);
    expect(loadModel(readFileSync(path), { baseDir: dir })).toEqual(m);
    expect(() => loadModel(readFileSync(path))).toThrow(/needs options.baseDir/);

    const x = new ort.Tensor('float32', new Float32Array(1024).fill(1), [2, 512]);
    const s = await ort.InferenceSession.create(path);
    const y = (await s.run({ x })).y!.data as Float32Array;
    expect(y[10]).toBeCloseTo(2 * (1 + 10 / 7), 5);

    const inline = join(dir, 'inline.onnx');
    saveModel(m, inline);
    expect(existsSync(`${inline}.data`)).toBe(false);
    expect(loadModel(inline)).toEqual(m);
  });

  describe.each([
    'tiny_block_op14.onnx',
    'tiny_block_op14_nofold.onnx',
    'tiny_block_op17.onnx',
    'tiny_block_op17_nofold.onnx',
  ])('torch.onnx.export fixture %s', (file) => {
    const ref = JSON.parse(readFileSync(join(fixtures, 'tiny_block.json'), 'utf8'));
    const inputs = () => ({
      x: new ort.Tensor('float32', Float32Array.from(ref.x), ref.xDims),
      mask: new ort.Tensor('float32', Float32Array.from(ref.mask), ref.maskDims),
    });

    it('round-trips losslessly and still matches the torch output in onnxruntime', async () => {
      const m = loadModel(join(fixtures, file));
      const bytes = encodeModel(m);
      expect(loadModel(bytes)).toEqual(m);
      const y = (await run(m, inputs())).y!;
      expectClose(y, ref.y, 1e-5, 1e-4);
    });
  });
});
