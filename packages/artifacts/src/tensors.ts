import type { Tensor } from '@ortrain/graph';

/** The transpose of a 2-D float32 tensor, as a new tensor under the same name. */
export function transpose2d(t: Tensor): Tensor {
  const [rows, cols] = t.dims as [number, number];
  const src = t.data as Float32Array;
  const out = new Float32Array(src.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c]!;
  return { ...t, dims: [cols, rows], data: out };
}
