export type * from './ir/types.js';
export { attr, getFloat, getInt, getInts, getString, getTensor } from './ir/attributes.js';
export { bytesPerElement, isFloat, numel, storageOf, tensor, toNumbers, zeros } from './ir/tensor.js';
export { emptyGraph, GraphBuilder, type OpOptions } from './ir/builder.js';
