/**
 * Writes the safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian header
 * length, a JSON header naming each tensor's dtype, shape and byte range, then the raw little-endian data.
 * No maintained npm writer exists (the `safetensors` package is an empty 0.0.1), and the F32-only subset we
 * need is a few lines.
 */

export interface F32Tensor {
  name: string;
  shape: readonly number[];
  data: Float32Array;
}

/** Header alignment: the spec pads the JSON with spaces so the data starts 8-byte aligned. */
const ALIGN = 8;

export function encodeSafetensors(
  tensors: readonly F32Tensor[],
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    if (t.name in header) throw new Error(`duplicate tensor name ${t.name}`);
    const elements = t.shape.reduce((a, b) => a * b, 1);
    if (elements !== t.data.length) {
      throw new Error(
        `tensor ${t.name}: shape [${t.shape.join(', ')}] needs ${elements} values, got ${t.data.length}`,
      );
    }
    header[t.name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + 4 * elements] };
    offset += 4 * elements;
  }
  let json = JSON.stringify(header);
  const jsonBytes = () => Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((ALIGN - ((8 + jsonBytes()) % ALIGN)) % ALIGN);
  const headerLength = jsonBytes();
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerLength), true);
  out.set(Buffer.from(json, 'utf8'), 8);
  let at = 8 + headerLength;
  for (const t of tensors) {
    for (const v of t.data) {
      view.setFloat32(at, v, true);
      at += 4;
    }
  }
  return out;
}
