import { buildGradients, emptyGraph, GraphBuilder, type Model, modelOf } from '@ortrain/graph';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { insertDropout } from '../src/dropout/dropout.js';
import { DROPOUT_SEED, seedDropout } from '../src/dropout/mask.js';
import { session } from './helpers.js';

const ROWS = 512;
const COLS = 768;
const RATE = 0.1;

/** y_s = dropout(x, RATE) at three sites over the same x ([ROWS, COLS] of ones), and d(sum of w_s * y_s)/dx. */
function model(): Model {
  const g = emptyGraph('masks');
  const b = new GraphBuilder(g);
  b.addInput({ name: 'x', type: { dataType: 'float32', shape: ['rows', COLS] } });
  const sites = ['y0', 'y1', 'y2'].map((y) => {
    const id = b.op1('Identity', ['x'], {}, { outputs: [`${y}_in`] });
    return { value: id, kind: 'hidden' as const, readers: [b.graph.nodes.at(-1)!].slice(0, 0), y };
  });
  for (const s of sites) b.op('Identity', [s.value], {}, { outputs: [s.y] });
  for (const s of sites) s.readers = g.nodes.filter((n) => n.outputs[0] === s.y);
  insertDropout(g, sites, { hidden: RATE, attention: 0, classifier: 0 });
  const b2 = new GraphBuilder(g); // knows the names the passes added
  const weighted = sites.map((s, i) => b2.op1('Mul', [s.y, b2.scalar(i + 1, 'float32')]));
  const loss = b2.reduce(
    'ReduceSum',
    b2.op1('Add', [b2.op1('Add', [weighted[0]!, weighted[1]!]), weighted[2]!]),
    undefined,
    false,
  );
  const grads = buildGradients(b2, { loss, wrt: ['x'] });
  // As compileArtifacts does: after autodiff, whose Dropout rule reads the masks the seeding computes.
  expect(seedDropout(g)).toBe(3);
  for (const name of [...sites.map((s) => s.y), grads.get('x')!]) b2.addOutput({ name });
  return modelOf(g);
}

describe('seeded dropout masks', async () => {
  const m = model();
  const gradName = m.graph.outputs[3]!.name;
  const s = await session(m);
  const x = new ort.Tensor('float32', new Float32Array(ROWS * COLS).fill(1), [ROWS, COLS]);
  const run = async (seed: bigint) => {
    const out = await s.run({ x, [DROPOUT_SEED]: new ort.Tensor('int64', BigInt64Array.of(seed), []) });
    const keep = (name: string) =>
      Array.from(out[name]!.data as Float32Array, (v): number => (v === 0 ? 0 : 1));
    return { out, masks: ['y0', 'y1', 'y2'].map(keep) };
  };
  const a = await run(42n << 32n);
  const next = await run((42n << 32n) + 1n);
  const n = ROWS * COLS;

  it('draws with ops the WebGPU EP has kernels for (no BitShift; Range in int32) and applies without Where', () => {
    // The registrations in onnxruntime/core/providers/webgpu/webgpu_execution_provider.cc that this graph needs
    // (the binary ops for uint32 among WebGpuSupportedNumberTypes; Range for float and int32 only).
    const webgpu = new Set(['Add', 'Mul', 'Div', 'Less', 'Cast', 'Reshape', 'Shape', 'Squeeze', 'Unsqueeze']);
    for (const op of ['Range', 'ReduceProd', 'ReduceSum', 'Split', 'Concat', 'Identity', 'Expand'])
      webgpu.add(op);
    const ops = new Set(m.graph.nodes.map((n) => n.opType));
    expect([...ops].filter((op) => !webgpu.has(op))).toEqual([]);
    expect(ops.has('Where')).toBe(false);
    for (const n of m.graph.nodes.filter((n) => n.opType === 'Range'))
      expect(m.graph.initializers.get(n.inputs[0]!)?.dataType).toBe('int32');
  });

  it('keeps 1 - rate of the elements, scaled by 1 / (1 - rate)', () => {
    for (const mask of a.masks) {
      const kept = mask.reduce((t, v) => t + v, 0) / n;
      // binomial standard error sqrt(0.09 / 393216) = 4.8e-4: 5 sigma
      expect(Math.abs(kept - (1 - RATE))).toBeLessThan(2.4e-3);
    }
    const y = a.out['y0']!.data as Float32Array;
    expect(new Set(y)).toEqual(new Set([0, Math.fround(1 / (1 - RATE))]));
  });

  it('masks are independent across neighbours, rows, sites and consecutive seeds', () => {
    const corr = (u: number[], v: number[], lag = 0) => {
      let [su, sv, suv] = [0, 0, 0];
      const m = u.length - lag;
      for (let i = 0; i < m; i++) {
        su += u[i]!;
        sv += v[i + lag]!;
        suv += u[i]! * v[i + lag]!;
      }
      const [mu, mv] = [su / m, sv / m];
      return (suv / m - mu * mv) / Math.sqrt(mu * (1 - mu) * mv * (1 - mv));
    };
    const [m0, m1, m2] = a.masks as [number[], number[], number[]];
    // Standard error of a correlation over ~4e5 pairs: 1.6e-3; 5 sigma.
    const limit = 8e-3;
    for (const lag of [1, 2, 3, 64, COLS - 1, COLS, COLS + 1, 2 * COLS])
      expect(Math.abs(corr(m0, m0, lag))).toBeLessThan(limit);
    expect(Math.abs(corr(m0, m1))).toBeLessThan(limit);
    expect(Math.abs(corr(m1, m2))).toBeLessThan(limit);
    for (let i = 0; i < 3; i++) expect(Math.abs(corr(a.masks[i]!, next.masks[i]!))).toBeLessThan(limit);
    // Patterns of neighbours in a row, and of rectangles (two neighbours in two adjacent rows), at their expected
    // frequencies: chi-square, p < 1e-4 at 7 and 15 degrees of freedom.
    const q = 1 - RATE;
    const chi2 = (offsets: number[], starts: number[]) => {
      const counts = new Array<number>(2 ** offsets.length).fill(0);
      for (const i of starts) counts[offsets.reduce((k, o) => 2 * k + m0[i + o]!, 0)]!++;
      return counts.reduce((t, c, k) => {
        const e = starts.length * offsets.reduce((p, _, j) => p * ((k >> j) & 1 ? q : 1 - q), 1);
        return t + (c - e) ** 2 / e;
      }, 0);
    };
    const all = (span: number) =>
      Array.from({ length: n - span }, (_, i) => i).filter((i) => i % COLS < COLS - 1);
    expect(chi2([0, 1, 2], all(2))).toBeLessThan(33.1);
    expect(chi2([0, 1, COLS, COLS + 1], all(COLS + 1))).toBeLessThan(42.3);
  });

  it('the same seed gives the same masks again, another seed others; the gradient is the mask times the scale', async () => {
    const again = await run(42n << 32n);
    expect(again.masks).toEqual(a.masks);
    const g = a.out[gradName]!.data as Float32Array;
    const scale = Math.fround(1 / (1 - RATE));
    const y = a.out;
    for (let i = 0; i < n; i += 997) {
      const expected = [0, 1, 2].reduce(
        (t, k) => t + (k + 1) * ((y[`y${k}`]!.data as Float32Array)[i]! === 0 ? 0 : scale),
        0,
      );
      expect(g[i]).toBeCloseTo(expected, 5);
    }
    const other = await run(43n << 32n);
    expect(other.masks[0]).not.toEqual(a.masks[0]);
  });
});
