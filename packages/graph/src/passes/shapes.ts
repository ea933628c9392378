import { getInt, getInts } from '../ir/attributes.js';
import { numel, toNumbers } from '../ir/tensor.js';
import type { DataType, Dim, Graph, Node, TensorType } from '../ir/types.js';
import { dataTypeOf } from '../onnx/proto.js';
import { constantValue } from './graph.js';

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

const sameShape = new Set([
  'Relu',
  'Sigmoid',
  'Tanh',
  'Erf',
  'Sqrt',
  'Exp',
  'Log',
  'Neg',
  'Abs',
  'Reciprocal',
  'Softmax',
  'LogSoftmax',
  'Identity',
  'Dropout',
  'Not',
  'LayerNormalization',
  'Gelu',
  'CumSum',
  'Floor',
  'Ceil',
  'Sign',
]);
const broadcasting = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Where', 'Sum', 'Mod']);
const comparisons = new Set([
  'Equal',
  'Less',
  'Greater',
  'LessOrEqual',
  'GreaterOrEqual',
  'And',
  'Or',
  'Xor',
]);

/** Broadcasts shapes numpy-style; a dim is kept only when it is certain. */
export function broadcastShapes(shapes: Dim[][]): Dim[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    // Only a missing leading axis counts as 1. An unknown (null) dim broadcasting with a known one other than 1
    // must be 1 or equal to it in a valid graph, so the known one wins; alone, or beside 1, it stays unknown.
    const dims = shapes.map((s): Dim => (s.length - rank + i < 0 ? 1 : s[s.length - rank + i]!));
    const known = [...new Set(dims.filter((d) => d !== 1 && d !== null))];
    out.push(
      known.length === 1
        ? known[0]!
        : known.length > 1
          ? (known.find((d) => typeof d === 'number') ?? null)
          : dims.includes(null)
            ? null
            : 1,
    );
  }
  return out;
}

const norm = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

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
      inferNode(n, types, values);
    } catch {
      // Inconsistent or exotic nodes just stay unknown; ONNX Runtime reports real errors at load time.
    }
  }
  return { types, values };
}

function inferNode(n: Node, types: Map<string, TensorType>, values: Map<string, Dim[]>): void {
  const shapeOf = (i: number) => types.get(n.inputs[i] ?? '')?.shape;
  const typeOf = (i: number) => types.get(n.inputs[i] ?? '')?.dataType;
  const valueAt = (i: number) => values.get(n.inputs[i] ?? '');
  const numbersOf = (i: number) => {
    const v = valueAt(i);
    return v?.every((d) => typeof d === 'number') ? (v as number[]) : undefined;
  };
  /** Axes from the attribute (older opsets) or the constant second input. */
  const axesOf = () => getInts(n.attributes, 'axes') ?? (n.inputs[1] ? numbersOf(1) : undefined);
  const set = (dataType: DataType | undefined, shape: Dim[] | undefined, k = 0) => {
    if (dataType !== undefined && n.outputs[k])
      types.set(n.outputs[k]!, shape ? { dataType, shape } : { dataType });
  };
  const x = shapeOf(0);
  const op = n.domain === '' ? n.opType : `${n.domain}.${n.opType}`;
  if (op === 'Constant') {
    const t = constantValue(n);
    if (!t) return;
    set(t.dataType, t.dims);
    if ((t.dataType === 'int64' || t.dataType === 'int32') && t.dims.length <= 1)
      values.set(n.outputs[0]!, toNumbers(t));
  } else if (sameShape.has(op)) {
    set(typeOf(0), x);
    if (op === 'Identity' && valueAt(0)) values.set(n.outputs[0]!, valueAt(0)!);
    if (op === 'Dropout') set('bool', x, 1);
    if (op === 'LayerNormalization' && x) {
      // Mean and InvStdDev keep the leading axes, size 1 on the normalized ones, in stash_type.
      const axis = norm(getInt(n.attributes, 'axis', -1), x.length);
      const stats = x.map((d, i) => (i < axis ? d : 1));
      const stash = dataTypeOf(getInt(n.attributes, 'stash_type', 1), n.name);
      set(stash, stats, 1);
      set(stash, stats, 2);
    }
  } else if (op === 'Cast') {
    set(dataTypeOf(getInt(n.attributes, 'to', 0), n.name), x);
    if (valueAt(0)) values.set(n.outputs[0]!, valueAt(0)!);
  } else if (broadcasting.has(op) || comparisons.has(op)) {
    const ins = n.inputs.map((_, i) => shapeOf(i));
    const dt = comparisons.has(op) ? 'bool' : op === 'Where' ? typeOf(1) : typeOf(0);
    set(dt, ins.every((s) => s !== undefined) ? broadcastShapes(ins as Dim[][]) : undefined);
    const a = numbersOf(0);
    const b = numbersOf(1);
    if (a && b && a.length === b.length && ['Add', 'Sub', 'Mul', 'Div'].includes(op)) {
      const f = {
        Add: (p: number, q: number) => p + q,
        Sub: (p: number, q: number) => p - q,
        Mul: (p: number, q: number) => p * q,
        Div: (p: number, q: number) => Math.trunc(p / q),
      }[op as 'Add'];
      values.set(
        n.outputs[0]!,
        a.map((v, i) => f(v, b[i]!)),
      );
    }
  } else if (op === 'MatMul') {
    const a = x;
    const b = shapeOf(1);
    if (!a || !b || a.length < 2 || b.length < 2) {
      set(typeOf(0), undefined);
      return;
    }
    const batch = broadcastShapes([a.slice(0, -2), b.slice(0, -2)]);
    set(typeOf(0), [...batch, a[a.length - 2]!, b[b.length - 1]!]);
  } else if (op === 'Gemm') {
    const a = x;
    const b = shapeOf(1);
    const ta = getInt(n.attributes, 'transA', 0);
    const tb = getInt(n.attributes, 'transB', 0);
    set(typeOf(0), a && b ? [a[ta ? 1 : 0] ?? null, b[tb ? 0 : 1] ?? null] : undefined);
  } else if (op === 'Transpose') {
    const perm = getInts(n.attributes, 'perm') ?? (x ? x.map((_, i) => x.length - 1 - i) : undefined);
    set(typeOf(0), perm && (x ? perm.map((p) => x[p]!) : perm.map(() => null)));
  } else if (op === 'Reshape') {
    const target = valueAt(1);
    const len = shapeOf(1)?.[0];
    if (!target) {
      set(typeOf(0), typeof len === 'number' ? Array(len).fill(null) : undefined);
      return;
    }
    const allowzero = getInt(n.attributes, 'allowzero', 0);
    const dims: Dim[] = target.map((d, i) =>
      d === 0 && !allowzero ? (x?.[i] ?? null) : d === -1 ? null : d,
    );
    const minus = target.indexOf(-1);
    if (minus >= 0 && x?.every((d) => typeof d === 'number')) {
      const known = dims.filter((_, i) => i !== minus);
      if (known.every((d) => typeof d === 'number')) {
        dims[minus] = numel(x as number[]) / numel(known as number[]);
      }
    }
    set(typeOf(0), dims);
  } else if (op === 'Unsqueeze') {
    const axes = axesOf();
    if (!axes) {
      set(typeOf(0), undefined);
      return;
    }
    if (valueAt(0) && (x?.length ?? 1) === 0) values.set(n.outputs[0]!, valueAt(0)!);
    if (!x) {
      set(typeOf(0), undefined);
      return;
    }
    const rank = x.length + axes.length;
    const ax = new Set(axes.map((a) => norm(a, rank)));
    const out: Dim[] = [];
    let j = 0;
    for (let i = 0; i < rank; i++) out.push(ax.has(i) ? 1 : x[j++]!);
    set(typeOf(0), out);
  } else if (op === 'Squeeze') {
    const axes = axesOf();
    if (!x) {
      set(typeOf(0), undefined);
      return;
    }
    const ax = new Set((axes ?? x.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => norm(a, x.length)));
    set(
      typeOf(0),
      axes || x.every((d) => typeof d === 'number') ? x.filter((_, i) => !ax.has(i)) : undefined,
    );
    if (valueAt(0) && x.length === 1) values.set(n.outputs[0]!, valueAt(0)!);
  } else if (op === 'Shape') {
    if (!x) {
      set('int64', [null]);
      return;
    }
    const r = x.length;
    const start = norm(getInt(n.attributes, 'start', 0), r);
    const end = Math.min(norm(getInt(n.attributes, 'end', r), r), r);
    const dims = x.slice(start, end);
    set('int64', [dims.length]);
    values.set(n.outputs[0]!, dims);
  } else if (op === 'Size') {
    set('int64', []);
  } else if (op === 'NonZero') {
    // The count is data-dependent; a symbol named after the value lets its users agree on it.
    set('int64', x ? [x.length, `nonzero(${n.outputs[0]})`] : undefined);
  } else if (op === 'GatherND' && getInt(n.attributes, 'batch_dims', 0) === 0) {
    const ix = shapeOf(1);
    const k = ix?.at(-1);
    set(typeOf(0), x && ix && typeof k === 'number' ? [...ix.slice(0, -1), ...x.slice(k)] : undefined);
  } else if (op === 'ScatterND') {
    set(typeOf(0), x);
  } else if (op === 'Gather') {
    const ix = shapeOf(1);
    const axis = getInt(n.attributes, 'axis', 0);
    set(
      typeOf(0),
      x && ix
        ? [...x.slice(0, norm(axis, x.length)), ...ix, ...x.slice(norm(axis, x.length) + 1)]
        : undefined,
    );
    const v = valueAt(0);
    const idx = numbersOf(1);
    if (v && idx && axis === 0)
      values.set(
        n.outputs[0]!,
        idx.map((i) => v[norm(i, v.length)] ?? null),
      );
  } else if (op === 'Concat') {
    const ins = n.inputs.map((_, i) => shapeOf(i));
    const axis = getInt(n.attributes, 'axis', 0);
    if (ins.every((s) => s !== undefined)) {
      const first = ins[0] as Dim[];
      const a = norm(axis, first.length);
      const along = ins.map((s) => s![a]);
      const total = along.every((d) => typeof d === 'number')
        ? (along as number[]).reduce((p, q) => p + q, 0)
        : null;
      set(
        typeOf(0),
        first.map((d, i) => (i === a ? total : d)),
      );
    } else set(typeOf(0), undefined);
    const vs = n.inputs.map((_, i) => valueAt(i));
    if (vs.every((v) => v !== undefined)) values.set(n.outputs[0]!, vs.flat() as Dim[]);
  } else if (op === 'ReduceSum' || op === 'ReduceMean' || op === 'ReduceMax' || op === 'ReduceMin') {
    const keep = getInt(n.attributes, 'keepdims', 1);
    const axes = axesOf();
    const noop = getInt(n.attributes, 'noop_with_empty_axes', 0);
    if (!x || (n.inputs[1] && !axes)) {
      set(typeOf(0), undefined);
      return;
    }
    if ((!axes || axes.length === 0) && noop) {
      set(typeOf(0), x);
      return;
    }
    const ax = new Set((axes && axes.length > 0 ? axes : x.map((_, i) => i)).map((a) => norm(a, x.length)));
    set(typeOf(0), keep ? x.map((d, i) => (ax.has(i) ? 1 : d)) : x.filter((_, i) => !ax.has(i)));
  } else if (op === 'Split') {
    const axis = getInt(n.attributes, 'axis', 0);
    const sizes = getInts(n.attributes, 'split') ?? (n.inputs[1] ? numbersOf(1) : undefined);
    n.outputs.forEach((_, k) => {
      if (!x) {
        set(typeOf(0), undefined, k);
        return;
      }
      const a = norm(axis, x.length);
      const d = x[a];
      const size = sizes ? sizes[k]! : typeof d === 'number' ? d / n.outputs.length : null;
      set(
        typeOf(0),
        x.map((dim, i) => (i === a ? size : dim)),
        k,
      );
    });
  } else if (op === 'Slice') {
    if (!x) {
      set(typeOf(0), undefined);
      return;
    }
    const axes = n.inputs[3] ? numbersOf(3) : x.map((_, i) => i);
    const starts = numbersOf(1);
    const ends = numbersOf(2);
    const steps = n.inputs[4] ? numbersOf(4) : axes?.map(() => 1);
    const out: Dim[] = [...x];
    axes?.forEach((axis, k) => {
      const a = norm(axis, x.length);
      const d = x[a];
      const [s, e, st] = [starts?.[k], ends?.[k], steps?.[k]];
      out[a] =
        typeof d === 'number' && s !== undefined && e !== undefined && st === 1 ? sliceLen(d, s, e) : null;
    });
    set(typeOf(0), axes ? out : x.map(() => null));
    const v = valueAt(0);
    if (v && starts && ends && x.length === 1 && (steps?.[0] ?? 1) === 1) {
      const s = clampIndex(starts[0]!, v.length);
      values.set(n.outputs[0]!, v.slice(s, Math.max(s, clampIndex(ends[0]!, v.length))));
    }
  } else if (op === 'Range') {
    // Scalars start, limit, delta: ceil((limit - start) / delta) elements; arange(n) keeps n's symbol.
    const [start, limit, delta] = [valueAt(0)?.[0], valueAt(1)?.[0], valueAt(2)?.[0]];
    let length: Dim = null;
    if (typeof start === 'number' && typeof limit === 'number' && typeof delta === 'number' && delta !== 0)
      length = Math.max(0, Math.ceil((limit - start) / delta));
    else if (start === 0 && delta === 1 && typeof limit === 'string') length = limit;
    set(typeOf(0), [length]);
  } else if (op === 'Expand') {
    // A computed target shape of known length still fixes the output's rank (torch's expand(batch, seq)).
    const length = shapeOf(1)?.[0];
    const target = valueAt(1) ?? (typeof length === 'number' ? Array<Dim>(length).fill(null) : undefined);
    set(typeOf(0), x && target ? broadcastShapes([x, target.map((d) => (d === -1 ? null : d))]) : undefined);
  } else if (op === 'ConstantOfShape') {
    set('float32', valueAt(0));
  } else if (op === 'Flatten' && x) {
    const a = norm(getInt(n.attributes, 'axis', 1), x.length);
    const prod = (d: Dim[]) => (d.every((v) => typeof v === 'number') ? numel(d as number[]) : null);
    set(typeOf(0), [prod(x.slice(0, a)), prod(x.slice(a))]);
  }
}

function clampIndex(i: number, len: number): number {
  return Math.max(0, Math.min(len, i < 0 ? i + len : i));
}

function sliceLen(d: number, s: number, e: number): number {
  return Math.max(0, clampIndex(e, d) - clampIndex(s, d));
}
