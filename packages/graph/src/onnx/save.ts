import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { dataTypeCode } from '../ir/dtypes.js';
import type { Attribute, Dim, Graph, Model, Tensor, ValueInfo } from '../ir/types.js';
import type { AttributeMsg, GraphMsg, ModelMsg, TensorMsg, ValueInfoMsg } from './messages.js';
import { AttributeType, DATA_LOCATION_EXTERNAL, ModelProto } from './proto.js';

export interface ExternalDataOptions {
  /** Tensors of at least this many bytes go to the data file; smaller ones stay inline (default 1024). */
  threshold?: number;
  /** Data file name, relative to the model's folder (default: `<model file name>.data`). */
  location?: string;
}

export interface SaveOptions {
  /**
   * Store initializers in a separate file. Default: only when the tensors total more than 1.8 GB, since a
   * protobuf message cannot exceed 2 GB.
   */
  externalData?: boolean | ExternalDataOptions;
}

const AUTO_EXTERNAL_BYTES = 1.8e9;
const PROTOBUF_LIMIT = 2 ** 31 - 1;
const utf8 = new TextEncoder();

if (endianness() !== 'LE')
  throw new Error('@ortrain/graph writes ONNX raw data and needs a little-endian host');

/** Encodes a model with all tensors inline (the protobuf must stay under 2 GB). */
export function encodeModel(model: Model): Uint8Array {
  return encode(modelMsg(model, undefined));
}

/**
 * Writes a model to `path`. With external data, tensor bytes are streamed into the data file one tensor at a
 * time; otherwise the model is encoded once into a single buffer. It writes in place: callers that publish a
 * model write it into a temporary folder that one rename publishes (@ortrain/artifacts' writeDirAtomic), which
 * carries the data file beside it.
 */
export function saveModel(model: Model, path: string, options: SaveOptions = {}): void {
  const opt = options.externalData ?? totalBytes(model.graph) > AUTO_EXTERNAL_BYTES;
  if (opt === false) {
    writeFileSync(path, encodeModel(model));
    return;
  }
  const { threshold = 1024, location = `${basename(path)}.data` } = opt === true ? {} : opt;
  const fd = openSync(join(dirname(path), location), 'w');
  try {
    let offset = 0;
    const writer: ExternalWriter = (t, bytes) => {
      if (bytes.byteLength < threshold) return undefined;
      writeSync(fd, bytes, 0, bytes.byteLength, offset);
      const entry = { location, offset: String(offset), length: String(bytes.byteLength) };
      offset += bytes.byteLength;
      return {
        name: t.name,
        dims: t.dims,
        data_type: dataTypeCode(t.dataType),
        data_location: DATA_LOCATION_EXTERNAL,
        external_data: Object.entries(entry).map(([key, value]) => ({ key, value })),
      };
    };
    writeFileSync(path, encode(modelMsg(model, writer)));
  } finally {
    closeSync(fd);
  }
}

function encode(msg: ModelMsg): Uint8Array {
  const bytes = ModelProto.encode(msg).finish();
  if (bytes.byteLength > PROTOBUF_LIMIT) {
    throw new Error('model exceeds the 2 GB protobuf limit; save it with { externalData: true }');
  }
  return bytes;
}

function totalBytes(g: Graph): number {
  let n = 0;
  for (const t of g.initializers.values())
    if (t.dataType !== 'string') n += (t.data as Uint8Array).byteLength;
  return n;
}

/** Writes an initializer's bytes elsewhere and returns its proto, or undefined to keep it inline. */
type ExternalWriter = (t: Tensor, bytes: Uint8Array) => TensorMsg | undefined;

function modelMsg(model: Model, external: ExternalWriter | undefined): ModelMsg {
  return {
    ir_version: model.irVersion,
    opset_import: [...model.opsets].map(([domain, version]) => ({ domain, version })),
    producer_name: model.producerName,
    producer_version: model.producerVersion,
    graph: graphMsg(model.graph, external),
    metadata_props: Object.entries(model.metadata).map(([key, value]) => ({ key, value })),
  };
}

function graphMsg(g: Graph, external: ExternalWriter | undefined): GraphMsg {
  return {
    name: g.name,
    node: g.nodes.map((n) => ({
      name: n.name,
      op_type: n.opType,
      domain: n.domain,
      input: n.inputs,
      output: n.outputs,
      attribute: Object.entries(n.attributes).map(([name, a]) => attributeMsg(name, a, external)),
    })),
    initializer: [...g.initializers.values()].map((t) => tensorMsg(t, external)),
    input: g.inputs.map(valueInfoMsg),
    output: g.outputs.map(valueInfoMsg),
    value_info: [...g.valueInfo.values()].map(valueInfoMsg),
  };
}

function valueInfoMsg(v: ValueInfo): ValueInfoMsg {
  if (!v.type) return { name: v.name };
  const shape = v.type.shape && {
    dim: v.type.shape.map((d: Dim) =>
      typeof d === 'number' ? { dim_value: d } : typeof d === 'string' ? { dim_param: d } : {},
    ),
  };
  return { name: v.name, type: { tensor_type: { elem_type: dataTypeCode(v.type.dataType), shape } } };
}

function attributeMsg(name: string, a: Attribute, external: ExternalWriter | undefined): AttributeMsg {
  switch (a.type) {
    case 'float':
      return { name, type: AttributeType.FLOAT, f: a.value };
    case 'int':
      return { name, type: AttributeType.INT, i: a.value };
    case 'string':
      return { name, type: AttributeType.STRING, s: utf8.encode(a.value) };
    case 'tensor':
      return { name, type: AttributeType.TENSOR, t: tensorMsg(a.value, undefined) };
    case 'graph':
      return { name, type: AttributeType.GRAPH, g: graphMsg(a.value, external) };
    case 'floats':
      return { name, type: AttributeType.FLOATS, floats: a.value };
    case 'ints':
      return { name, type: AttributeType.INTS, ints: a.value };
    case 'strings':
      return { name, type: AttributeType.STRINGS, strings: a.value.map((s) => utf8.encode(s)) };
  }
}

function tensorMsg(t: Tensor, external: ExternalWriter | undefined): TensorMsg {
  const base = { name: t.name, dims: t.dims, data_type: dataTypeCode(t.dataType) };
  if (t.dataType === 'string')
    return { ...base, string_data: (t.data as string[]).map((s) => utf8.encode(s)) };
  const d = t.data as Exclude<Tensor['data'], string[]>;
  // A view, not a copy: the encoder copies it once into the output buffer.
  const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  return external?.(t, bytes) ?? { ...base, raw_data: bytes };
}
