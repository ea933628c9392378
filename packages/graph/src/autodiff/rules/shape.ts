import { attr, getInt, getInts } from '../../ir/attributes.js';
import { toNumbers } from '../../ir/tensor.js';
import type { Node } from '../../ir/types.js';
import type { GradContext, GradRule } from '../context.js';

/** Ops that only rearrange elements: the gradient is g reshaped back to the input's shape. */
const reshapeBack: GradRule = ({ inputs: [x] }, [g], c) => [c.op('Reshape', [g!, c.shapeOf(x!)])];

function constInts(node: Node, i: number, c: GradContext): number[] | undefined {
  const name = node.inputs[i];
  if (!name) return undefined;
  const t = c.b.graph.initializers.get(name);
  if (!t)
    throw new Error(
      `${node.opType} node '${node.name}': input '${name}' must be a constant to differentiate`,
    );
  return toNumbers(t);
}

/** Size of x along `axis` as a 1-element int64 tensor (constant when static). */
function dimOf(x: string, axis: number, c: GradContext): string {
  const d = c.shape(x)?.at(axis);
  if (typeof d === 'number') return c.b.ints([d]);
  return c.op('Gather', [c.shapeOf(x), c.b.ints([axis])]);
}

export const shapeRules: Record<string, GradRule> = {
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: (node, [g], c) => {
    const r = c.rank(node.inputs[0]!);
    const perm =
      getInts(node.attributes, 'perm') ?? (r === undefined ? undefined : [...Array(r).keys()].reverse());
    if (!perm) throw new Error(`Transpose node '${node.name}': needs a perm or a known input rank`);
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [c.op('Transpose', [g!], { perm: attr.ints(inverse) })];
  },
  Expand: ({ inputs: [x] }, [g], c) => [c.sumToShape(g!, x!)],
  Concat: (node, [g], c) => {
    const axis = getInt(node.attributes, 'axis', 0);
    const sizes = node.inputs.map((x) => c.shape(x)?.at(axis));
    const split = sizes.every((d) => typeof d === 'number')
      ? c.b.ints(sizes as number[])
      : c.op(
          'Concat',
          node.inputs.map((x) => dimOf(x, axis, c)),
          { axis: attr.int(0) },
        );
    if (node.inputs.length === 1) return [g];
    return c.b.op('Split', [g!, split], { axis: attr.int(axis) }, { outputs: node.inputs.length });
  },
  Split: (node, dys, c) => {
    const parts = node.outputs.map((o, i) => dys[i] ?? c.zerosLike(o));
    return [c.op('Concat', parts, { axis: attr.int(getInt(node.attributes, 'axis', 0)) })];
  },
  /** Pads g back with zeros; starts/ends/axes must be constants and steps 1. */
  Slice: (node, [g], c) => {
    const x = node.inputs[0]!;
    const r = c.rank(x);
    const starts = constInts(node, 1, c)!;
    const ends = constInts(node, 2, c)!;
    const axes = constInts(node, 3, c) ?? starts.map((_, i) => i);
    const steps = constInts(node, 4, c);
    if (r === undefined || steps?.some((s) => s !== 1)) {
      throw new Error(`Slice node '${node.name}': gradients need a known input rank and steps of 1`);
    }
    const before: (number | string)[] = Array(r).fill(0);
    const after: (number | string)[] = Array(r).fill(0);
    axes.forEach((axis, k) => {
      const a = axis < 0 ? axis + r : axis;
      const d = c.shape(x)?.[a];
      const [s, e] = [starts[k]!, ends[k]!];
      if (typeof d === 'number') {
        const clamp = (i: number) => Math.max(0, Math.min(d, i < 0 ? i + d : i));
        before[a] = clamp(s);
        after[a] = d - Math.max(clamp(s), clamp(e));
        return;
      }
      // Unknown size: clamp the indices at run time (int64 Min/Max).
      const dim = dimOf(x, a, c);
      const clamp = (i: number) => {
        const at = i < 0 ? c.op('Add', [dim, c.b.ints([i])]) : c.b.ints([i]);
        return c.op('Max', [c.op('Min', [at, dim]), c.b.ints([0])]);
      };
      const cs = clamp(s);
      before[a] = s >= 0 && s < 2 ** 31 ? s : cs;
      after[a] = c.op('Sub', [dim, c.op('Max', [clamp(e), cs])]);
    });
    const all = [...before, ...after];
    const pads = all.every((p) => typeof p === 'number')
      ? c.b.ints(all as number[])
      : c.op(
          'Concat',
          all.map((p) => (typeof p === 'number' ? c.b.ints([p]) : p)),
          { axis: attr.int(0) },
        );
    return [c.op('Pad', [g!, pads])];
  },
  /**
   * Embedding lookups (axis 0): the rows are scatter-added into zeros with ScatterND(reduction='add'),
   * opset >= 16. Other axes with a scalar or 1-D index (e.g. taking token 0) use ScatterElements.
   */
  Gather: (node, [g], c) => {
    if (c.opset < 16)
      throw new Error(`Gather node '${node.name}': gradients need opset >= 16 (ScatterND add)`);
    const [data, idx] = node.inputs as [string, string];
    const axis = getInt(node.attributes, 'axis', 0);
    const zeros = c.zerosLike(data);
    const add = { reduction: attr.string('add') };
    if (axis === 0) return [c.op('ScatterND', [zeros, c.b.unsqueeze(idx, [-1]), g!], add)];
    const q = c.rank(idx);
    const r = c.rank(data);
    if (q === undefined || q > 1 || r === undefined) {
      throw new Error(
        `Gather node '${node.name}': axis ${axis} gradients need a scalar or 1-D index and known ranks`,
      );
    }
    const a = axis < 0 ? axis + r : axis;
    const updates = q === 0 ? c.b.unsqueeze(g!, [a]) : g!;
    const shape = Array(r).fill(1);
    shape[a] = -1;
    const indices = c.op('Expand', [c.op('Reshape', [idx, c.b.ints(shape)]), c.op('Shape', [updates])]);
    return [c.op('ScatterElements', [zeros, indices, updates], { ...add, axis: attr.int(a) })];
  },
  /** The gathered slices scatter-added back into zeros (ScatterND add, opset >= 16); batch_dims 0. */
  GatherND: (node, [g], c) => {
    const [data, idx] = node.inputs as [string, string];
    if (c.opset < 16 || getInt(node.attributes, 'batch_dims', 0) !== 0)
      throw new Error(`GatherND node '${node.name}': gradients need opset >= 16 and batch_dims 0`);
    return [c.op('ScatterND', [c.zerosLike(data), idx, g!], { reduction: attr.string('add') })];
  },
  /** Without reduction: the updates read their slices of g; data keeps g where nothing overwrote it. */
  ScatterND: (node, [g], c) => {
    const [, idx, updates] = node.inputs as [string, string, string];
    if ((node.attributes['reduction']?.value ?? 'none') !== 'none')
      throw new Error(`ScatterND node '${node.name}': gradients are only defined without reduction`);
    return [
      c.needs(0) ? c.op('ScatterND', [g!, idx, c.zerosLike(updates)]) : undefined,
      undefined,
      c.needs(2) ? c.op('GatherND', [g!, idx]) : undefined,
    ];
  },
};
