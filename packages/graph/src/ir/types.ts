/**
 * The graph IR: plain data mirroring ONNX's protobuf (ModelProto, GraphProto, NodeProto, TensorProto),
 * with values named by strings as in ONNX. Nothing here knows about protobuf or about autodiff.
 */

export type DataType =
  | 'float32'
  | 'float16'
  | 'bfloat16'
  | 'float64'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'bool'
  | 'string';

/** A dimension: a number when fixed, a symbol such as 'batch_size' when dynamic, null when unknown. */
export type Dim = number | string | null;

export interface TensorType {
  dataType: DataType;
  /** undefined when even the rank is unknown. */
  shape?: Dim[];
}

/** A graph input, output or intermediate value with its (possibly partial) type. */
export interface ValueInfo {
  name: string;
  type?: TensorType;
}

/**
 * Element storage by data type. float16 and bfloat16 are kept as raw 16-bit patterns; bool as 0/1 bytes;
 * int64/uint64 as bigint arrays (ONNX Runtime takes them as such).
 */
export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | string[];

/** A constant tensor: an initializer, or the value of a Constant node or tensor attribute. */
export interface Tensor {
  name: string;
  dataType: DataType;
  dims: number[];
  data: TensorData;
}

export type Attribute =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'string'; value: string }
  | { type: 'ints'; value: number[] }
  | { type: 'floats'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'tensor'; value: Tensor }
  | { type: 'graph'; value: Graph };

export interface Node {
  name: string;
  opType: string;
  /** '' is the default ONNX domain. */
  domain: string;
  /** '' marks an omitted optional input or output, as in ONNX. */
  inputs: string[];
  outputs: string[];
  attributes: Record<string, Attribute>;
}

export interface Graph {
  name: string;
  /** Topologically sorted. */
  nodes: Node[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: Map<string, Tensor>;
  /** Known types of intermediate values. */
  valueInfo: Map<string, ValueInfo>;
}

export interface Model {
  irVersion: number;
  /** domain ('' for the default ONNX domain) -> opset version */
  opsets: Map<string, number>;
  producerName: string;
  producerVersion: string;
  graph: Graph;
  metadata: Record<string, string>;
}
