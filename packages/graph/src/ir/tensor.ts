import { fromBfloat16Bits, fromFloat16Bits, toBfloat16Bits, toFloat16Bits } from './half.js';
import type { DataType, Tensor, TensorData } from './types.js';

type ArrayCtor =
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor;

const storage: Record<Exclude<DataType, 'string'>, ArrayCtor> = {
  float32: Float32Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
};

export function storageOf(dataType: DataType): ArrayCtor {
  if (dataType === 'string') throw new Error('string tensors have no typed-array storage');
  return storage[dataType];
}

export function numel(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

export function bytesPerElement(dataType: DataType): number {
  return storageOf(dataType).BYTES_PER_ELEMENT;
}

export function isFloat(dataType: DataType): boolean {
  return (
    dataType === 'float32' || dataType === 'float16' || dataType === 'bfloat16' || dataType === 'float64'
  );
}

/** A tensor of zeros. */
export function zeros(name: string, dataType: DataType, dims: number[]): Tensor {
  return { name, dataType, dims: [...dims], data: new (storageOf(dataType))(numel(dims)) };
}

/** A tensor from plain numbers (int64 values are converted to bigint, float16/bfloat16 to their bit patterns). */
export function tensor(name: string, dataType: DataType, dims: number[], values: ArrayLike<number>): Tensor {
  if (values.length !== numel(dims)) {
    throw new Error(`tensor '${name}': ${values.length} values for dims [${dims}] (${numel(dims)} expected)`);
  }
  const Ctor = storageOf(dataType);
  let data: TensorData;
  if (Ctor === BigInt64Array || Ctor === BigUint64Array) {
    data = new Ctor(values.length);
    for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i]!);
  } else if (dataType === 'float16' || dataType === 'bfloat16') {
    data = Uint16Array.from(values, dataType === 'float16' ? toFloat16Bits : toBfloat16Bits);
  } else {
    data = (Ctor as Float32ArrayConstructor).from(values);
  }
  return { name, dataType, dims: [...dims], data };
}

/** The elements of a numeric tensor as JS numbers (for shapes, axes and scalars; not for weights). */
export function toNumbers(t: Tensor): number[] {
  if (t.dataType === 'string') throw new Error(`tensor '${t.name}' holds strings, expected numbers`);
  if (t.dataType === 'float16') return Array.from(t.data as Uint16Array, fromFloat16Bits);
  if (t.dataType === 'bfloat16') return Array.from(t.data as Uint16Array, fromBfloat16Bits);
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}
