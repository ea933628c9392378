import { readFileSync } from 'node:fs';

/**
 * The safetensors format (huggingface/safetensors): an 8-byte little-endian header length, a JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}}` padded with spaces to a
 * multiple of 8 bytes, then the tensor bytes. Only the dtypes ortrain stores are supported.
 */
export type SafeTensorData = Float32Array | BigInt64Array;

export interface NamedTensor {
  name: string;
  shape: number[];
  data: SafeTensorData;
}

const DTYPE_OF = (data: SafeTensorData): 'F32' | 'I64' => (data instanceof Float32Array ? 'F32' : 'I64');

/** The file as chunks: the header, then a view of each tensor's own bytes (no copy of the data). */
export function encodeSafetensors(
  tensors: NamedTensor[],
  metadata: Record<string, string> = {},
): Uint8Array[] {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header['__metadata__'] = metadata;
  let offset = 0;
  for (const t of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) {
      throw new Error(`safetensors: tensor '${t.name}' has ${t.data.length} values for shape [${t.shape}]`);
    }
    if (t.name in header) throw new Error(`safetensors: duplicate tensor name '${t.name}'`);
    header[t.name] = {
      dtype: DTYPE_OF(t.data),
      shape: t.shape,
      data_offsets: [offset, offset + t.data.byteLength],
    };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.alloc(8 + Buffer.byteLength(json));
  head.writeBigUInt64LE(BigInt(head.length - 8), 0);
  head.write(json, 8, 'utf8');
  return [head, ...tensors.map((t) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))];
}

export interface SafetensorsFile {
  tensors: Map<string, NamedTensor>;
  metadata: Record<string, string>;
}

/** Reads and validates a safetensors file; tensors are copied into their own aligned arrays. */
export function readSafetensors(path: string): SafetensorsFile {
  const buf = readFileSync(path);
  const bad = (why: string): never => {
    throw new Error(`${path}: not a valid safetensors file: ${why}`);
  };
  if (buf.length < 8) bad('shorter than its 8-byte header length');
  const headerLen = Number(buf.readBigUInt64LE(0));
  if (headerLen > buf.length - 8) bad(`header length ${headerLen} exceeds the file size ${buf.length}`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8'));
  } catch (e) {
    return bad(`header is not JSON (${(e as Error).message})`);
  }
  const dataStart = 8 + headerLen;
  const tensors = new Map<string, NamedTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = info as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets } = info as { dtype: string; shape: number[]; data_offsets: number[] };
    const [begin, end] = data_offsets ?? [];
    if (!Array.isArray(shape) || typeof begin !== 'number' || typeof end !== 'number') {
      bad(`tensor '${name}' lacks shape or data_offsets`);
    }
    if (dtype !== 'F32' && dtype !== 'I64')
      bad(`tensor '${name}' has dtype ${dtype}; ortrain reads F32 and I64`);
    const width = dtype === 'F32' ? 4 : 8;
    const count = shape.reduce((a, b) => a * b, 1);
    if (end! - begin! !== count * width || dataStart + end! > buf.length || begin! < 0) {
      bad(
        `tensor '${name}' [${shape}] ${dtype} has data_offsets [${begin}, ${end}] (data is ${buf.length - dataStart} bytes)`,
      );
    }
    const bytes = new Uint8Array(count * width);
    bytes.set(buf.subarray(dataStart + begin!, dataStart + end!));
    const data = dtype === 'F32' ? new Float32Array(bytes.buffer) : new BigInt64Array(bytes.buffer);
    tensors.set(name, { name, shape, data });
  }
  return { tensors, metadata };
}
