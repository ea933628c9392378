import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { gradCheck, randomTensor, rng } from '../../test/gradcheck.js';
import { modelOf, session } from '../../test/helpers.js';
import { attr, buildGradients, emptyGraph, GraphBuilder, loadModel, tensor, upgradeOpset } from '../index.js';

const r = rng(23);
const H = 4;

/** One attention layer: softmax(QK^T/sqrt(d) + (1-mask)*-1e4) V, output projection, residual, LayerNorm. */
function attention(b: GraphBuilder): string {
  const mm = (x: string, w: string) => b.op1('MatMul', [x, w]);
  const q = b.op1('Add', [mm('x', 'wq'), 'bq']);
  const k = mm('x', 'wk');
  const v = mm('x', 'wv');
  const scores = b.op1('Div', [
    mm(q, b.op1('Transpose', [k], { perm: attr.ints([0, 2, 1]) })),
    b.scalar(2, 'float32'),
  ]);
  // mask [B,S] -> [B,1,S], broadcast over the query axis with dynamic batch and sequence sizes.
  const bias = b.op1('Mul', [
    b.op1('Sub', [b.scalar(1, 'float32'), b.unsqueeze('mask', [1])]),
    b.scalar(-1e4, 'float32'),
  ]);
  const probs = b.op1('Softmax', [b.op1('Add', [scores, bias])], { axis: attr.int(-1) });
  const out = b.op1('Add', [mm(mm(probs, v), 'wo'), 'x']);
  return b.op1('LayerNormalization', [out, 'ln_s', 'ln_b'], { axis: attr.int(-1) });
}

const params = () => [
  randomTensor('wq', 'float32', [H, H], r),
  randomTensor('bq', 'float32', [H], r),
  randomTensor('wk', 'float32', [H, H], r),
  randomTensor('wv', 'float32', [H, H], r),
  randomTensor('wo', 'float32', [H, H], r),
  randomTensor('ln_s', 'float32', [H], r, 0.5, 1.5),
  randomTensor('ln_b', 'float32', [H], r),
];

describe('buildGradients', () => {
  it('differentiates a 1-layer attention block with a dynamic-shape mask (vs finite differences)', () =>
    gradCheck({
      inputs: [
        randomTensor('x', 'float32', [2, 3, H], r),
        tensor('mask', 'float32', [2, 3], [1, 1, 1, 1, 1, 0]),
        ...params(),
      ],
      constant: ['x', 'mask'],
      build: attention,
      symbolic: true,
      eps: 1e-2,
      atol: 3e-3,
      rtol: 2e-2,
    }));

  it('runs the same gradient graph for different batch and sequence sizes', async () => {
    const g = emptyGraph('attn');
    const b = new GraphBuilder(g);
    b.addInput({ name: 'x', type: { dataType: 'float32', shape: ['batch', 'seq', H] } });
    b.addInput({ name: 'mask', type: { dataType: 'float32', shape: ['batch', 'seq'] } });
    const ps = params();
    for (const p of ps) b.initializer(p);
    const loss = b.reduce('ReduceMean', attention(b), undefined, false);
    const grads = buildGradients(b, { loss, wrt: ps.map((p) => p.name) });
    for (const name of grads.values()) b.addOutput({ name });
    // Runtime shapes come from the inputs' dims: a Shape of an activation would keep it alive for backward.
    const shapeReads = g.nodes.filter((n) => n.opType === 'Shape').map((n) => n.inputs[0]);
    expect(shapeReads.length).toBeGreaterThan(0);
    for (const v of shapeReads) expect(['x', 'mask']).toContain(v);
    const s = await session(modelOf(g));
    for (const [batch, seq] of [
      [1, 5],
      [3, 2],
    ]) {
      const out = await s.run({
        x: new ort.Tensor(
          'float32',
          randomTensor('x', 'float32', [batch!, seq!, H], r).data as Float32Array,
          [batch!, seq!, H],
        ),
        mask: new ort.Tensor('float32', new Float32Array(batch! * seq!).fill(1), [batch!, seq!]),
      });
      for (const p of ps) {
        const d = out[grads.get(p.name)!]!;
        expect(d.dims).toEqual(p.dims);
        expect(Array.from(d.data as Float32Array).every(Number.isFinite)).toBe(true);
      }
    }
  });

  it('names the node and op type when a rule is missing', () => {
    const g = emptyGraph('g');
    const b = new GraphBuilder(g);
    b.addInput({ name: 'w', type: { dataType: 'float32', shape: [3] } });
    b.op('Sin', ['w'], {}, { outputs: ['s'], name: 'my_sin' });
    b.op('ReduceSum', ['s'], {}, { outputs: ['loss'] });
    expect(() => buildGradients(b, { loss: 'loss', wrt: ['w'] })).toThrow(
      /node 'my_sin' \(op Sin\).*no gradient rule/,
    );
  });

  it('refuses fused contrib ops and quantized graphs, telling how to export', () => {
    const g = emptyGraph('g');
    g.nodes.push({
      name: 'attn0',
      opType: 'Attention',
      domain: 'com.microsoft',
      inputs: ['w'],
      outputs: ['loss'],
      attributes: {},
    });
    expect(() => buildGradients(g, { loss: 'loss', wrt: ['w'] })).toThrow(
      /attn0.*com\.microsoft\.Attention.*without optimization/,
    );
    g.nodes[0] = { ...g.nodes[0]!, opType: 'DequantizeLinear', domain: '' };
    expect(() => buildGradients(g, { loss: 'loss', wrt: ['w'] })).toThrow(/DequantizeLinear.*quantized/);
  });

  it('upgrades a torch opset-14 export to 17 and differentiates all its parameters', async () => {
    const m = loadModel(new URL('../../test/fixtures/tiny_block_op14.onnx', import.meta.url).pathname);
    upgradeOpset(m, 17);
    expect(m.opsets.get('')).toBe(17);
    const b = GraphBuilder.forModel(m);
    const loss = b.reduce('ReduceSum', 'y', undefined, false);
    const wrt = [...m.graph.initializers.values()]
      .filter((t) => t.dataType === 'float32' && t.dims.length > 0)
      .map((t) => t.name);
    const grads = buildGradients(b, { loss, wrt });
    for (const name of grads.values()) b.addOutput({ name });
    const s = await session(m);
    const out = await s.run({
      x: new ort.Tensor('float32', new Float32Array(2 * 3 * 8).fill(0.5), [2, 3, 8]),
      mask: new ort.Tensor('float32', new Float32Array(6).fill(1), [2, 3]),
    });
    for (const w of wrt) expect(out[grads.get(w)!]!.dims).toEqual(m.graph.initializers.get(w)!.dims);
    const old = loadModel(new URL('../../test/fixtures/tiny_block_op14.onnx', import.meta.url).pathname);
    old.opsets.set('', 11);
    expect(() => upgradeOpset(old, 17)).toThrow(/re-export/);
  });
});
