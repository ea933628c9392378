import { elementwiseOps, nonDifferentiableElementwiseOps } from './elementwise.js';
import { matmulOps } from './matmul.js';
import { nnOps } from './nn.js';
import { reduceOps } from './reduce.js';
import { nonDifferentiableShapeOps, shapeOps } from './shape.js';
import type { OpSpec } from './spec.js';

/** The op tables, one per family file (each op in exactly one of them). */
export const families: readonly Readonly<Record<string, OpSpec>>[] = [
  elementwiseOps,
  nonDifferentiableElementwiseOps,
  matmulOps,
  reduceOps,
  shapeOps,
  nonDifferentiableShapeOps,
  nnOps,
];

/**
 * Everything the compiler knows about each default-domain op, one entry per op, by family (shape inference,
 * gradient, element-wise, differentiable, recomputation). Adding an op is one entry plus its test beside it.
 */
export const ops: Readonly<Record<string, OpSpec>> = Object.assign({}, ...families);

/** The entry of a node's op: default domain only (ONNX's own ops; contrib ops are not known). */
export function opSpec(node: { domain: string; opType: string }): OpSpec | undefined {
  return node.domain === '' || node.domain === 'ai.onnx' ? ops[node.opType] : undefined;
}
