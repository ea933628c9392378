import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { type DataType, numel, storageOf, type Tensor } from '@ortrain/graph';

/**
 * safetensors (https://huggingface.co/docs/safetensors): u64 little-endian header length, a JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}`, then the raw little-endian bytes. No npm
 * package for it is well kept, and the format is this small, so it is read and written here: one tensor at a
 * time, never the whole file in one buffer.
 */

if (endianness() !== 'LE')
  throw new Error('@ortrain/artifacts reads safetensors raw data and needs a little-endian host');

const DTYPES: Record<string, DataType> = {
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  F64: 'float64',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  U16: 'uint16',
  U32: 'uint32',
  U64: 'uint64',
  BOOL: 'bool',
};
const CODES = Object.fromEntries(Object.entries(DTYPES).map(([k, v]) => [v, k])) as Record<DataType, string>;

interface Entry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Reads every tensor of a safetensors file (float16/bfloat16 are widened to float32). */
export function readSafetensors(path: string): Map<string, Tensor> {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(8);
    if (readSync(fd, head, 0, 8, 0) !== 8) throw new Error(`${path}: too short for a safetensors file`);
    const headerLength = Number(head.readBigUInt64LE(0));
    if (headerLength > 100_000_000)
      throw new Error(`${path}: header length ${headerLength} is not plausible`);
    const headerBytes = Buffer.alloc(headerLength);
    if (readSync(fd, headerBytes, 0, headerLength, 8) !== headerLength) {
      throw new Error(`${path}: truncated header (${headerLength} bytes expected)`);
    }
    let header: Record<string, Entry | Record<string, string>>;
    try {
      header = JSON.parse(headerBytes.toString('utf8'));
    } catch (e) {
      throw new Error(`${path}: header is not JSON (${(e as Error).message})`);
    }
    const out = new Map<string, Tensor>();
    for (const [name, value] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const entry = value as Entry;
      const dataType = DTYPES[entry.dtype];
      if (dataType === undefined)
        throw new Error(`${path}: tensor '${name}' has unsupported dtype ${entry.dtype}`);
      const [begin, end] = entry.data_offsets;
      const n = numel(entry.shape);
      const Ctor = storageOf(dataType);
      if (end - begin !== n * Ctor.BYTES_PER_ELEMENT) {
        throw new Error(
          `${path}: tensor '${name}' spans ${end - begin} bytes, shape [${entry.shape}] needs ${n * Ctor.BYTES_PER_ELEMENT}`,
        );
      }
      const data = new Ctor(n);
      const bytes = new Uint8Array(data.buffer);
      if (readSync(fd, bytes, 0, bytes.byteLength, 8 + headerLength + begin) !== bytes.byteLength) {
        throw new Error(`${path}: tensor '${name}' is truncated`);
      }
      const t: Tensor = { name, dataType, dims: [...entry.shape], data };
      out.set(name, dataType === 'float16' || dataType === 'bfloat16' ? widen(t) : t);
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** Writes tensors in the given order, streaming each tensor's bytes to the file. */
export function writeSafetensors(
  path: string,
  tensors: Iterable<Tensor>,
  metadata: Record<string, string> = {},
): void {
  const list = [...tensors];
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of list) {
    if (CODES[t.dataType] === undefined)
      throw new Error(`tensor '${t.name}': ${t.dataType} cannot be stored in safetensors`);
    const length = (t.data as Exclude<Tensor['data'], string[]>).byteLength;
    header[t.name] = { dtype: CODES[t.dataType], shape: t.dims, data_offsets: [offset, offset + length] };
    offset += length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // keeps tensor data 8-byte aligned
  const headerBytes = Buffer.from(json, 'utf8');
  const fd = openSync(path, 'w');
  try {
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(headerBytes.byteLength));
    writeSync(fd, length);
    writeSync(fd, headerBytes);
    for (const t of list) {
      const d = t.data as Exclude<Tensor['data'], string[]>;
      writeSync(fd, new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    }
  } finally {
    closeSync(fd);
  }
}

function widen(t: Tensor): Tensor {
  const src = t.data as Uint16Array;
  const out = new Float32Array(src.length);
  const u32 = new Uint32Array(out.buffer);
  if (t.dataType === 'bfloat16') {
    for (let i = 0; i < src.length; i++) u32[i] = src[i]! << 16;
  } else {
    for (let i = 0; i < src.length; i++) out[i] = halfToFloat(src[i]!);
  }
  return { ...t, dataType: 'float32', data: out };
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}
