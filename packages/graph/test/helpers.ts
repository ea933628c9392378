import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { expect } from 'vitest';
import { encodeModel, loadModel, type Model, type Tensor } from '../src/index.js';

export { modelOf } from '../src/index.js';

export async function session(model: Model): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(encodeModel(model), {
    graphOptimizationLevel: 'disabled',
    logSeverityLevel: 3,
  });
}

/** The model as ONNX Runtime's CPU EP rewrites it with every optimization on (fusions, folded transposes). */
export async function optimizedByOrt(model: Model): Promise<Model> {
  const dir = mkdtempSync(join(tmpdir(), 'ortrain-optimized-'));
  try {
    const file = join(dir, 'optimized.onnx');
    const s = await ort.InferenceSession.create(encodeModel(model), {
      graphOptimizationLevel: 'extended',
      optimizedModelFilePath: file,
      logSeverityLevel: 3,
    });
    await s.release();
    return loadModel(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function feed(...tensors: Tensor[]): Record<string, ort.Tensor> {
  return Object.fromEntries(
    tensors.map((t) => [
      t.name,
      new ort.Tensor(t.dataType as ort.Tensor.Type, t.data as ort.Tensor.DataType, t.dims),
    ]),
  );
}

/** Runs `model` and returns every graph output as a float64 array. */
export async function run(
  model: Model,
  inputs: Record<string, ort.Tensor>,
): Promise<Record<string, number[]>> {
  const s = await session(model);
  const out = await s.run(inputs);
  await s.release();
  return Object.fromEntries(
    Object.entries(out).map(([k, v]) => [k, Array.from(v.data as ArrayLike<number>, Number)]),
  );
}

/** Element-wise |a - b| <= atol + rtol * |b|, reporting the worst element on failure. */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol: number,
  rtol = 0,
): void {
  expect(actual.length).toBe(expected.length);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!) - rtol * Math.abs(expected[i]!);
    if (!(err <= worstErr)) {
      worst = i;
      worstErr = err;
    }
  }
  if (worstErr > atol || Number.isNaN(worstErr)) {
    expect.fail(`element ${worst}: ${actual[worst]} vs ${expected[worst]} (tolerance ${atol} + ${rtol} rel)`);
  }
}
