import type { Int64 } from './proto.js';

/** The subset of the decoded/encoded protobuf messages this package reads and writes. */

export interface StringStringEntryMsg {
  key?: string;
  value?: string;
}

export interface TensorMsg {
  name?: string;
  dims?: Int64[];
  data_type?: number;
  float_data?: number[];
  int32_data?: number[];
  string_data?: Uint8Array[];
  int64_data?: Int64[];
  double_data?: number[];
  uint64_data?: Int64[];
  raw_data?: Uint8Array;
  external_data?: StringStringEntryMsg[];
  data_location?: number;
}

export interface DimMsg {
  dim_value?: Int64;
  dim_param?: string;
  /** Set by protobufjs to the name of the field of the `value` oneof that is present. */
  value?: 'dim_value' | 'dim_param';
}

export interface TypeMsg {
  tensor_type?: { elem_type?: number; shape?: { dim?: DimMsg[] } | null } | null;
}

export interface ValueInfoMsg {
  name?: string;
  type?: TypeMsg | null;
}

export interface AttributeMsg {
  name?: string;
  type?: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: TensorMsg | null;
  g?: GraphMsg | null;
  floats?: number[];
  ints?: Int64[];
  strings?: Uint8Array[];
  tensors?: TensorMsg[];
  graphs?: GraphMsg[];
}

export interface NodeMsg {
  name?: string;
  op_type?: string;
  domain?: string;
  input?: string[];
  output?: string[];
  attribute?: AttributeMsg[];
}

export interface GraphMsg {
  name?: string;
  node?: NodeMsg[];
  initializer?: TensorMsg[];
  sparse_initializer?: unknown[];
  input?: ValueInfoMsg[];
  output?: ValueInfoMsg[];
  value_info?: ValueInfoMsg[];
}

export interface ModelMsg {
  ir_version?: Int64;
  opset_import?: { domain?: string; version?: Int64 }[];
  producer_name?: string;
  producer_version?: string;
  graph?: GraphMsg | null;
  metadata_props?: StringStringEntryMsg[];
  functions?: unknown[];
}
