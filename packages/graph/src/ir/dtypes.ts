import type { DataType } from './types.js';

/** TensorProto.DataType codes. */
const codes: Record<DataType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  string: 8,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
  bfloat16: 16,
};
const byCode = new Map(Object.entries(codes).map(([k, v]) => [v, k as DataType]));

export function dataTypeCode(t: DataType): number {
  return codes[t];
}

export function dataTypeOf(code: number, where: string): DataType {
  const t = byCode.get(code);
  if (t === undefined) throw new Error(`${where}: unsupported ONNX data type ${code}`);
  return t;
}
