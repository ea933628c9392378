import { emptyGraph, GraphBuilder, type Model } from '@ortrain/graph';
import { describe, expect, it } from 'vitest';
import type { OptimizerInfo } from '../src/manifest.js';
import { addClipAndAdamW, momentInputs, optimizerOutputs } from '../src/optimizer/adamw.js';
import { f32, maxRelDiff, scalar, session } from './helpers.js';

interface State {
  p: number[];
  m: number[];
  v: number[];
}

/** torch 1.13 clip_grad_norm_ + AdamW, written out literally in float64. */
function reference(
  states: State[],
  grads: number[][],
  decay: boolean[],
  hp: OptimizerInfo,
  lr: number,
  step: number,
) {
  const norm = Math.sqrt(grads.flat().reduce((s, g) => s + g * g, 0));
  const coef = hp.maxGradNorm > 0 ? Math.min(hp.maxGradNorm / (norm + 1e-6), 1) : 1;
  const out = states.map((s, k) => {
    const p = s.p.map((x) => (decay[k] ? x * (1 - lr * hp.weightDecay) : x));
    const g = grads[k]!.map((x) => x * coef);
    const m = s.m.map((x, i) => hp.beta1 * x + (1 - hp.beta1) * g[i]!);
    const v = s.v.map((x, i) => hp.beta2 * x + (1 - hp.beta2) * g[i]! * g[i]!);
    const bc1 = 1 - hp.beta1 ** step;
    const bc2 = 1 - hp.beta2 ** step;
    const pNew = p.map((x, i) => x - (lr / bc1) * (m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(bc2) + hp.epsilon)));
    return { p: pNew, m, v };
  });
  return { norm, out };
}

function optimizerModel(shapes: number[][], decay: boolean[], hp: OptimizerInfo): Model {
  const g = emptyGraph('opt');
  const b = new GraphBuilder(g);
  const params = shapes.map((shape, k) => {
    const name = `w${k}`;
    for (const n of [name, `${name}.grad`, ...momentInputs(name)])
      b.addInput({ name: n, type: { dataType: 'float32', shape } });
    return { name, grad: `${name}.grad`, weightDecay: decay[k]! };
  });
  b.addInput({ name: 'learning_rate', type: { dataType: 'float32', shape: [] } });
  b.addInput({ name: 'step', type: { dataType: 'float32', shape: [] } });
  addClipAndAdamW(b, params, hp, 'learning_rate', 'step');
  g.outputs = ['grad_norm', ...params.flatMap((p) => optimizerOutputs(p.name))].map((name) => ({ name }));
  return {
    irVersion: 8,
    opsets: new Map([['', 17]]),
    producerName: 'test',
    producerVersion: '',
    graph: g,
    metadata: {},
  };
}

function randomArray(n: number, scale: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return ((s / 2 ** 31) * 2 - 1) * scale;
  });
}

describe('clipping + AdamW graph', () => {
  const shapes = [[3, 4], [4]];
  const decay = [true, false];
  const base: OptimizerInfo = {
    type: 'adamw',
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-8,
    weightDecay: 0.01,
    maxGradNorm: 1,
  };
  const cases: [string, OptimizerInfo, number][] = [
    ['clipping active (norm > max)', base, 3],
    ['clipping inactive (norm < max)', base, 0.05],
    ['no clipping, no decay', { ...base, maxGradNorm: 0, weightDecay: 0 }, 3],
  ];
  it.each(cases)('matches torch semantics over 4 steps: %s', async (_name, hp, gradScale) => {
    const s = await session(optimizerModel(shapes, decay, hp));
    let states: State[] = shapes.map((shape, k) => {
      const n = shape.reduce((a, d) => a * d, 1);
      return { p: randomArray(n, 0.5, 7 + k), m: new Array(n).fill(0), v: new Array(n).fill(0) };
    });
    for (let step = 1; step <= 4; step++) {
      const lr = 0.01 / step;
      const grads = states.map((st, k) => randomArray(st.p.length, gradScale, 100 * step + k));
      const feeds: Record<string, ReturnType<typeof f32>> = { learning_rate: scalar(lr), step: scalar(step) };
      states.forEach((st, k) => {
        feeds[`w${k}`] = f32(st.p, shapes[k]!);
        feeds[`w${k}.grad`] = f32(grads[k]!, shapes[k]!);
        feeds[`w${k}.exp_avg`] = f32(st.m, shapes[k]!);
        feeds[`w${k}.exp_avg_sq`] = f32(st.v, shapes[k]!);
      });
      const r = await s.run(feeds);
      const ref = reference(states, grads, decay, hp, lr, step);
      expect(Math.abs((r['grad_norm']!.data as Float32Array)[0]! - ref.norm) / ref.norm).toBeLessThan(1e-6);
      states = states.map((_, k) => {
        const got = (name: string) => Array.from(r[name]!.data as Float32Array);
        const p = got(`w${k}.new`);
        const m = got(`w${k}.exp_avg.new`);
        const v = got(`w${k}.exp_avg_sq.new`);
        expect(maxRelDiff(p, ref.out[k]!.p)).toBeLessThan(1e-5);
        expect(maxRelDiff(m, ref.out[k]!.m, 1e-9)).toBeLessThan(1e-5);
        expect(maxRelDiff(v, ref.out[k]!.v, 1e-12)).toBeLessThan(1e-5);
        return { p, m, v };
      });
    }
  });
});
