import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';

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
