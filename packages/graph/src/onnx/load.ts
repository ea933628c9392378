import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import { dataTypeOf } from '../ir/dtypes.js';
import { numel, storageOf } from '../ir/tensor.js';
import type {
  Attribute,
  DataType,
  Dim,
  Graph,
  Model,
  Node,
  Tensor,
  TensorData,
  ValueInfo,
} from '../ir/types.js';
import type { AttributeMsg, GraphMsg, ModelMsg, TensorMsg, ValueInfoMsg } from './messages.js';
import {
  AttributeType,
  DATA_LOCATION_EXTERNAL,
  type Int64,
  int64ToBigInt,
  int64ToNumber,
  ModelProto,
} from './proto.js';

export interface LoadOptions {
  /** Folder that external-data locations are relative to (default: the model file's folder). */
  baseDir?: string;
}

const utf8 = new TextDecoder();

/**
 * Reads an ONNX model. Tensor data ends up in typed arrays: views into the file buffer where the bytes are
 * aligned for the element type, copies otherwise; no other reference to the file buffer is kept.
 */
export function loadModel(source: string | Uint8Array, options: LoadOptions = {}): Model {
  const where = typeof source === 'string' ? source : '<bytes>';
  const baseDir = options.baseDir ?? (typeof source === 'string' ? dirname(source) : undefined);
  const bytes = typeof source === 'string' ? readFileSync(source) : source;
  let msg: ModelMsg;
  try {
    msg = ModelProto.decode(bytes) as ModelMsg;
  } catch (e) {
    throw new Error(`${where}: not a valid ONNX model (${(e as Error).message})`);
  }
  if (!msg.graph) throw new Error(`${where}: model has no graph`);
  if (msg.functions && msg.functions.length > 0) {
    throw new Error(`${where}: model-local functions are not supported`);
  }
  const external = new ExternalReader(baseDir, where);
  try {
    const opsets = new Map<string, number>();
    for (const o of msg.opset_import ?? []) opsets.set(o.domain ?? '', int64ToNumber(o.version ?? 0));
    const metadata: Record<string, string> = {};
    for (const e of msg.metadata_props ?? []) metadata[e.key ?? ''] = e.value ?? '';
    return {
      irVersion: int64ToNumber(msg.ir_version ?? 0),
      opsets,
      producerName: msg.producer_name ?? '',
      producerVersion: msg.producer_version ?? '',
      graph: readGraph(msg.graph, external, where),
      metadata,
    };
  } finally {
    external.close();
  }
}

function readGraph(g: GraphMsg, external: ExternalReader, where: string): Graph {
  if (g.sparse_initializer && g.sparse_initializer.length > 0) {
    throw new Error(`${where}: graph '${g.name}' has sparse initializers, which are not supported`);
  }
  const initializers = new Map<string, Tensor>();
  for (const t of g.initializer ?? []) {
    const tensor = readTensor(t, external, where);
    initializers.set(tensor.name, tensor);
  }
  const valueInfo = new Map<string, ValueInfo>();
  for (const v of g.value_info ?? []) valueInfo.set(v.name ?? '', readValueInfo(v, where));
  return {
    name: g.name ?? '',
    nodes: (g.node ?? []).map(
      (n, i): Node => ({
        name: n.name ?? '',
        opType: n.op_type ?? '',
        domain: n.domain ?? '',
        inputs: [...(n.input ?? [])],
        outputs: [...(n.output ?? [])],
        attributes: Object.fromEntries(
          (n.attribute ?? []).map((a) => [
            a.name ?? '',
            readAttribute(a, external, `${where}: node ${n.name || i} (${n.op_type})`),
          ]),
        ),
      }),
    ),
    inputs: (g.input ?? []).map((v) => readValueInfo(v, where)),
    outputs: (g.output ?? []).map((v) => readValueInfo(v, where)),
    initializers,
    valueInfo,
  };
}

function readValueInfo(v: ValueInfoMsg, where: string): ValueInfo {
  const name = v.name ?? '';
  const tt = v.type?.tensor_type;
  // Non-tensor types (sequences, maps) and untyped values keep only their name.
  if (!tt || tt.elem_type === undefined || tt.elem_type === 0) return { name };
  const dataType = dataTypeOf(tt.elem_type, `${where}: value '${name}'`);
  if (!tt.shape) return { name, type: { dataType } };
  const shape: Dim[] = (tt.shape.dim ?? []).map((d) =>
    d.value === 'dim_value' ? int64ToNumber(d.dim_value!) : d.value === 'dim_param' ? d.dim_param! : null,
  );
  return { name, type: { dataType, shape } };
}

function readAttribute(a: AttributeMsg, external: ExternalReader, where: string): Attribute {
  switch (a.type) {
    case AttributeType.FLOAT:
      return { type: 'float', value: a.f ?? 0 };
    case AttributeType.INT:
      return { type: 'int', value: int64ToNumber(a.i ?? 0) };
    case AttributeType.STRING:
      return { type: 'string', value: utf8.decode(a.s) };
    case AttributeType.TENSOR:
      return { type: 'tensor', value: readTensor(a.t!, external, `${where} attribute '${a.name}'`) };
    case AttributeType.GRAPH:
      return { type: 'graph', value: readGraph(a.g!, external, where) };
    case AttributeType.FLOATS:
      return { type: 'floats', value: [...(a.floats ?? [])] };
    case AttributeType.INTS:
      return { type: 'ints', value: (a.ints ?? []).map(int64ToNumber) };
    case AttributeType.STRINGS:
      return { type: 'strings', value: (a.strings ?? []).map((s) => utf8.decode(s)) };
    default:
      throw new Error(`${where}: attribute '${a.name}' has unsupported type ${a.type}`);
  }
}

function readTensor(t: TensorMsg, external: ExternalReader, where: string): Tensor {
  const name = t.name ?? '';
  const label = `${where}: tensor '${name}'`;
  const dataType = dataTypeOf(t.data_type ?? 0, label);
  const dims = (t.dims ?? []).map(int64ToNumber);
  const n = numel(dims);
  let data: TensorData;
  if (dataType === 'string') {
    data = (t.string_data ?? []).map((s) => utf8.decode(s));
  } else if (t.data_location === DATA_LOCATION_EXTERNAL) {
    data = external.read(t, dataType, n, label);
  } else if (t.raw_data && t.raw_data.length > 0) {
    data = fromBytes(t.raw_data, dataType, n, label);
  } else {
    data = fromTypedField(t, dataType);
  }
  if (data.length !== n) {
    throw new Error(`${label}: ${data.length} elements for dims [${dims}] (${n} expected)`);
  }
  return { name, dataType, dims, data };
}

/** A typed array over `bytes`: a view when aligned, a copy when not (typed arrays need aligned offsets). */
function fromBytes(bytes: Uint8Array, dataType: DataType, n: number, label: string): TensorData {
  const Ctor = storageOf(dataType);
  const size = Ctor.BYTES_PER_ELEMENT;
  if (bytes.byteLength !== n * size) {
    throw new Error(`${label}: ${bytes.byteLength} bytes of raw data, expected ${n * size}`);
  }
  if (bytes.byteOffset % size === 0) return new Ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, n);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Ctor(copy.buffer, 0, n);
}

function fromTypedField(t: TensorMsg, dataType: DataType): TensorData {
  const Ctor = storageOf(dataType);
  const toBig = (v: Int64[] | undefined) => (v ?? []).map(int64ToBigInt);
  switch (dataType) {
    case 'float32':
      return Float32Array.from(t.float_data ?? []);
    case 'float64':
      return Float64Array.from(t.double_data ?? []);
    case 'int64':
      return BigInt64Array.from(toBig(t.int64_data));
    case 'uint64':
      return BigUint64Array.from(toBig(t.uint64_data));
    case 'uint32':
      return Uint32Array.from((t.uint64_data ?? []).map(int64ToNumber));
    default:
      // int32, int16, int8, uint16, uint8, bool, float16 and bfloat16 (as bit patterns) live in int32_data.
      return (Ctor as Int32ArrayConstructor).from(t.int32_data ?? []);
  }
}

/** Reads external tensor data, keeping each data file open once. */
class ExternalReader {
  private readonly files = new Map<string, number>();

  constructor(
    private readonly baseDir: string | undefined,
    private readonly where: string,
  ) {}

  read(t: TensorMsg, dataType: DataType, n: number, label: string): TensorData {
    const info = new Map((t.external_data ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    const location = info.get('location');
    if (!location) throw new Error(`${label}: external data without a location`);
    if (this.baseDir === undefined) {
      throw new Error(`${label}: external data '${location}' needs options.baseDir when loading from bytes`);
    }
    if (isAbsolute(location) || normalize(location).startsWith('..')) {
      throw new Error(`${label}: external data location '${location}' must stay inside the model's folder`);
    }
    const path = join(this.baseDir, location);
    const Ctor = storageOf(dataType);
    const length = n * Ctor.BYTES_PER_ELEMENT;
    const offset = Number(info.get('offset') ?? '0');
    if (info.has('length') && Number(info.get('length')) !== length) {
      throw new Error(`${label}: external length ${info.get('length')} bytes, expected ${length}`);
    }
    let fd = this.files.get(path);
    if (fd === undefined) {
      try {
        fd = openSync(path, 'r');
      } catch (e) {
        throw new Error(`${this.where}: cannot open external data file ${path} (${(e as Error).message})`);
      }
      this.files.set(path, fd);
    }
    const data = new Ctor(n);
    const view = new Uint8Array(data.buffer, 0, length);
    let done = 0;
    while (done < length) {
      const got = readSync(fd, view, done, length - done, offset + done);
      if (got === 0)
        throw new Error(`${label}: external data file ${path} ends before offset ${offset + length}`);
      done += got;
    }
    return data;
  }

  close(): void {
    for (const fd of this.files.values()) closeSync(fd);
  }
}
