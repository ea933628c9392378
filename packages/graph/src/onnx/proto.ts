import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import type { DataType } from '../ir/types.js';

/**
 * The ONNX protobuf schema, parsed at runtime from the official onnx.proto shipped next to this file
 * (the build copies it into dist). Field names are kept in snake_case as in the schema.
 */
const root = protobuf.parse(readFileSync(new URL('./onnx.proto', import.meta.url), 'utf8'), {
  keepCase: true,
}).root;

export const ModelProto = root.lookupType('onnx.ModelProto');

/** protobufjs yields int64 as Long objects (or numbers when small); both are accepted here. */
export type Int64 = number | { low: number; high: number; unsigned: boolean; toNumber(): number };

export function int64ToNumber(v: Int64): number {
  if (typeof v === 'number') return v;
  const n = v.toNumber();
  if (!Number.isSafeInteger(n)) throw new Error(`int64 value ${n} is outside the safe integer range`);
  return n;
}

export function int64ToBigInt(v: Int64): bigint {
  if (typeof v === 'number') return BigInt(v);
  const bits = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return v.unsigned ? bits : BigInt.asIntN(64, bits);
}

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

export const AttributeType = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
} as const;

export const DATA_LOCATION_EXTERNAL = 1;
