import { mulberry32 } from '@ortrain/data';
import * as ort from 'onnxruntime-node';
import { expect } from 'vitest';
import {
  buildGradients,
  type DataType,
  type Dim,
  emptyGraph,
  type Graph,
  GraphBuilder,
  type Tensor,
  tensor,
} from '../src/index.js';
import { expectClose, modelOf, session } from './helpers.js';

/** A deterministic pseudo-random generator in [0, 1) (data's mulberry32) so failures reproduce. */
export function rng(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4294967296;
}

export function randomTensor(
  name: string,
  dataType: DataType,
  dims: number[],
  rand: () => number,
  lo = -1,
  hi = 1,
) {
  const n = dims.reduce((p, q) => p * q, 1);
  return tensor(
    name,
    dataType,
    dims,
    Array.from({ length: n }, () => lo + (hi - lo) * rand()),
  );
}

export interface GradCheck {
  /** Inputs, differentiated unless listed in `constant`. */
  inputs: Tensor[];
  constant?: string[];
  /** Builds y from the inputs and returns its name. */
  build: (b: GraphBuilder) => string;
  opset?: number;
  /** Declare input dims as symbols (rank only), exercising the dynamic-shape paths. */
  symbolic?: boolean;
  eps?: number;
  atol?: number;
  rtol?: number;
  seed?: number;
}

const ortType = (t: Tensor) => t.dataType as ort.Tensor.Type;
const toOrt = (t: Tensor) => new ort.Tensor(ortType(t), t.data as ort.Tensor.DataType, t.dims);

function graphWith(check: GradCheck, extra: (b: GraphBuilder, y: string) => void): Graph {
  const g = emptyGraph('check');
  const b = new GraphBuilder(g, '', check.opset ?? 17);
  for (const t of check.inputs) {
    const shape: Dim[] = check.symbolic ? t.dims.map((_, i) => `${t.name}_d${i}`) : t.dims;
    b.addInput({ name: t.name, type: { dataType: t.dataType, shape } });
  }
  extra(b, check.build(b));
  return g;
}

/**
 * Checks the gradients of loss = sum(op(inputs) * R), R random, against central finite differences of the
 * same forward graph, both run in onnxruntime. Returns the gradient graph for further assertions.
 */
export async function gradCheck(check: GradCheck): Promise<Graph> {
  const rand = rng(check.seed ?? 1);
  const opset = check.opset ?? 17;
  // Forward once to learn y's shape and type.
  const fwd = graphWith(check, (b, y) => b.addOutput({ name: y }));
  const inputs = Object.fromEntries(check.inputs.map((t) => [t.name, toOrt(t)]));
  const s0 = await session(modelOf(fwd, opset));
  const y0 = Object.values(await s0.run(inputs))[0]!;
  const r = randomTensor('R', y0.type as DataType, [...y0.dims], rand);
  const withLoss = (b: GraphBuilder, y: string) => {
    b.addInput({
      name: 'R',
      type: { dataType: r.dataType, shape: check.symbolic ? r.dims.map((_, i) => `R_d${i}`) : r.dims },
    });
    b.op(
      'ReduceSum',
      [b.op1('Mul', [y, 'R'])],
      { keepdims: { type: 'int', value: 0 } },
      { outputs: ['loss'] },
    );
    b.addOutput({ name: 'loss' });
  };
  const lossGraph = graphWith(check, withLoss);
  const wrt = check.inputs.map((t) => t.name).filter((n) => !check.constant?.includes(n));
  let names: string[] = [];
  const gradGraph = graphWith(check, (b, y) => {
    withLoss(b, y);
    const grads = buildGradients(b, { loss: 'loss', wrt });
    for (const w of wrt) b.addOutput({ name: grads.get(w)! });
    names = wrt.map((w) => grads.get(w)!);
  });
  const gs = await session(modelOf(gradGraph, opset));
  const analytic = await gs.run({ ...inputs, R: toOrt(r) });
  const ls = await session(modelOf(lossGraph, opset));
  const lossAt = async (name: string, data: Tensor['data']) => {
    const t = check.inputs.find((i) => i.name === name)!;
    const out = await ls.run({ ...inputs, R: toOrt(r), [name]: toOrt({ ...t, data }) });
    return Number(out.loss!.data[0]);
  };
  const eps = check.eps ?? 1e-6;
  for (const [k, w] of wrt.entries()) {
    const t = check.inputs.find((i) => i.name === w)!;
    const base = t.data as Float32Array | Float64Array;
    const numeric: number[] = [];
    for (let i = 0; i < base.length; i++) {
      const plus = base.slice();
      const minus = base.slice();
      plus[i]! += eps;
      minus[i]! -= eps;
      numeric.push(((await lossAt(w, plus)) - (await lossAt(w, minus))) / (2 * eps));
    }
    const got = analytic[names[k]!]!;
    expect(got.dims, `gradient shape of ${w}`).toEqual(t.dims);
    expectClose(
      Array.from(got.data as Float64Array, Number),
      numeric,
      check.atol ?? 1e-6,
      check.rtol ?? 1e-5,
    );
  }
  return gradGraph;
}
