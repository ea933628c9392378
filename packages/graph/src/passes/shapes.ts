import { getInts } from '../ir/attributes.js';
import { toNumbers } from '../ir/tensor.js';
import type { Dim, Graph, Node, TensorType } from '../ir/types.js';
import { opSpec } from '../ops/registry.js';
import type { ShapeScope } from '../ops/spec.js';

/**
 * What is statically known about the values of a graph: element types and (partial, possibly symbolic) shapes,
 * plus the contents of small int64 "shape" tensors (Shape -> Gather -> Concat -> Reshape chains), so that
 * reshapes driven by dynamic batch/sequence sizes keep symbolic dims. Unknown stays unknown: this is a best
 * effort used to skip needless work, never to change results.
 */
export interface ShapeInfo {
  types: Map<string, TensorType>;
  /** Elements of 1-D (or scalar, as one element) int64 values, symbolic where not constant. */
  values: Map<string, Dim[]>;
}

/** Runs each node's shape rule (its op's `shape` in the registry) in graph order. */
export function inferShapes(g: Graph): ShapeInfo {
  const types = new Map<string, TensorType>();
  const values = new Map<string, Dim[]>();
  for (const v of [...g.inputs, ...g.valueInfo.values(), ...g.outputs]) if (v.type) types.set(v.name, v.type);
  for (const t of g.initializers.values()) {
    types.set(t.name, { dataType: t.dataType, shape: t.dims });
    if ((t.dataType === 'int64' || t.dataType === 'int32') && t.dims.length <= 1)
      values.set(t.name, toNumbers(t));
  }
  for (const n of g.nodes) {
    try {
      opSpec(n)?.shape?.(n, scope(n, types, values));
    } catch {
      // Inconsistent or exotic nodes just stay unknown; ONNX Runtime reports real errors at load time.
    }
  }
  return { types, values };
}

/** What a node's shape rule reads of its inputs, and where it records its outputs. */
function scope(n: Node, types: Map<string, TensorType>, values: Map<string, Dim[]>): ShapeScope {
  const s: ShapeScope = {
    shape: (i) => types.get(n.inputs[i] ?? '')?.shape,
    type: (i) => types.get(n.inputs[i] ?? '')?.dataType,
    value: (i) => values.get(n.inputs[i] ?? ''),
    numbers: (i) => {
      const v = s.value(i);
      return v?.every((d) => typeof d === 'number') ? (v as number[]) : undefined;
    },
    axes: () => getInts(n.attributes, 'axes') ?? (n.inputs[1] ? s.numbers(1) : undefined),
    set: (dataType, shape, k = 0) => {
      if (dataType !== undefined && n.outputs[k])
        types.set(n.outputs[k]!, shape ? { dataType, shape } : { dataType });
    },
    setValue: (value, k = 0) => {
      if (n.outputs[k]) values.set(n.outputs[k]!, value);
    },
  };
  return s;
}
