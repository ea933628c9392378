export { attr, getFloat, getInt, getInts, getString, getTensor } from './ir/attributes.js';
export { emptyGraph, GraphBuilder, type OpOptions } from './ir/builder.js';
export { bytesPerElement, isFloat, numel, storageOf, tensor, toNumbers, zeros } from './ir/tensor.js';
export type * from './ir/types.js';
export { type LoadOptions, loadModel } from './onnx/load.js';
export { type ExternalDataOptions, encodeModel, type SaveOptions, saveModel } from './onnx/save.js';
