export { GradContext, type GradRule } from './autodiff/context.js';
export { buildGradients, checkSupported, type GradientOptions, upgradeOpset } from './autodiff/gradients.js';
export { attr, getFloat, getFloats, getInt, getInts, getString, getTensor } from './ir/attributes.js';
export { broadcastShapes } from './ir/broadcast.js';
export { emptyGraph, GraphBuilder, modelOf, type OpOptions } from './ir/builder.js';
export { dataTypeCode, dataTypeOf } from './ir/dtypes.js';
export { bytesPerElement, isFloat, numel, storageOf, tensor, toNumbers, zeros } from './ir/tensor.js';
export type * from './ir/types.js';
export { type LoadOptions, loadModel } from './onnx/load.js';
export { type ExternalDataOptions, encodeModel, type SaveOptions, saveModel } from './onnx/save.js';
export { opSpec, ops } from './ops/registry.js';
export type { OpSpec, Recompute, ShapeRule, ShapeScope } from './ops/spec.js';
export {
  constantsToInitializers,
  constantValue,
  consumers,
  eliminateIdentities,
  nodeInputs,
  producers,
  prune,
  topoSort,
} from './passes/graph.js';
export { inferShapes, type ShapeInfo } from './passes/shapes.js';
