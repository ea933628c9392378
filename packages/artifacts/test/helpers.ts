import { encodeModel, type Model } from '@ortrain/graph';
import ort from 'onnxruntime-node';

export type Feed = Record<string, ort.Tensor>;

export const f32 = (data: ArrayLike<number>, dims: number[]) =>
  new ort.Tensor('float32', Float32Array.from(data), dims);
export const i64 = (data: ArrayLike<number>, dims: number[]) =>
  new ort.Tensor('int64', BigInt64Array.from(Array.from(data, (v) => BigInt(v))), dims);
export const scalar = (v: number) => new ort.Tensor('float32', Float32Array.of(v), []);

/** An ONNX Runtime session on an in-memory model, with graph optimizations as the trainer will run it. */
export function session(source: Model | string): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', logSeverityLevel: 3 };
  return typeof source === 'string'
    ? ort.InferenceSession.create(source, options)
    : ort.InferenceSession.create(encodeModel(source), options);
}

/** Largest |a - b| / (|b| + floor) over two arrays. */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-6): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / (Math.abs(b[i]!) + floor));
  return m;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Softmax of one row of logits, as the text-classification pipeline scores them. */
export function softmax(logits: ArrayLike<number>): number[] {
  const exps = Array.from(logits, (x) => Math.exp(x));
  const sum = exps.reduce((a, x) => a + x, 0);
  return exps.map((e) => e / sum);
}
