import type { GradContext, GradRule } from '../autodiff/context.js';
import { attr, getInt, getInts, getTensor } from '../ir/attributes.js';
import { broadcastShapes, normAxis } from '../ir/broadcast.js';
import { dataTypeCode } from '../ir/dtypes.js';
import { numel, toNumbers } from '../ir/tensor.js';
import type { Dim, Node } from '../ir/types.js';
import { constantValue } from '../passes/graph.js';
import type { OpSpec } from './spec.js';

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

export const shapeOps: Record<string, OpSpec> = {
  Reshape: {
    shape: (n, s) => {
      const x = s.shape(0);
      const target = s.value(1);
      const len = s.shape(1)?.[0];
      if (!target) return s.set(s.type(0), typeof len === 'number' ? Array(len).fill(null) : undefined);
      const allowzero = getInt(n.attributes, 'allowzero', 0);
      const dims: Dim[] = target.map((d, i) =>
        d === 0 && !allowzero ? (x?.[i] ?? null) : d === -1 ? null : d,
      );
      const minus = target.indexOf(-1);
      if (minus >= 0 && x?.every((d) => typeof d === 'number')) {
        const known = dims.filter((_, i) => i !== minus);
        if (known.every((d) => typeof d === 'number'))
          dims[minus] = numel(x as number[]) / numel(known as number[]);
      }
      s.set(s.type(0), dims);
    },
    grad: reshapeBack,
  },
  Flatten: {
    shape: (n, s) => {
      const x = s.shape(0);
      if (!x) return;
      const a = normAxis(getInt(n.attributes, 'axis', 1), x.length);
      const prod = (d: Dim[]) => (d.every((v) => typeof v === 'number') ? numel(d as number[]) : null);
      s.set(s.type(0), [prod(x.slice(0, a)), prod(x.slice(a))]);
    },
    grad: reshapeBack,
  },
  Squeeze: {
    shape: (_n, s) => {
      const x = s.shape(0);
      const axes = s.axes();
      if (!x) return s.set(s.type(0), undefined);
      const ax = new Set(
        (axes ?? x.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => normAxis(a, x.length)),
      );
      const known = axes || x.every((d) => typeof d === 'number');
      s.set(s.type(0), known ? x.filter((_, i) => !ax.has(i)) : undefined);
      if (s.value(0) && x.length === 1) s.setValue(s.value(0)!);
    },
    grad: reshapeBack,
  },
  Unsqueeze: {
    shape: (_n, s) => {
      const x = s.shape(0);
      const axes = s.axes();
      if (!axes) return s.set(s.type(0), undefined);
      if (s.value(0) && (x?.length ?? 1) === 0) s.setValue(s.value(0)!);
      if (!x) return s.set(s.type(0), undefined);
      const rank = x.length + axes.length;
      const ax = new Set(axes.map((a) => normAxis(a, rank)));
      const out: Dim[] = [];
      let j = 0;
      for (let i = 0; i < rank; i++) out.push(ax.has(i) ? 1 : x[j++]!);
      s.set(s.type(0), out);
    },
    grad: reshapeBack,
  },
  Transpose: {
    shape: (n, s) => {
      const x = s.shape(0);
      const perm = getInts(n.attributes, 'perm') ?? (x ? x.map((_, i) => x.length - 1 - i) : undefined);
      s.set(s.type(0), perm && (x ? perm.map((p) => x[p]!) : perm.map(() => null)));
    },
    grad: (node, [g], c) => {
      const r = c.rank(node.inputs[0]!);
      const perm =
        getInts(node.attributes, 'perm') ?? (r === undefined ? undefined : [...Array(r).keys()].reverse());
      if (!perm) throw new Error(`Transpose node '${node.name}': needs a perm or a known input rank`);
      const inverse = perm.map((_, i) => perm.indexOf(i));
      return [c.op('Transpose', [g!], { perm: attr.ints(inverse) })];
    },
  },
  // g has the output's shape; buildGradients sums it back over the expanded axes.
  Expand: {
    shape: (_n, s) => {
      // A computed target shape of known length still fixes the output's rank (torch's expand(batch, seq)).
      const [x, length] = [s.shape(0), s.shape(1)?.[0]];
      const target = s.value(1) ?? (typeof length === 'number' ? Array<Dim>(length).fill(null) : undefined);
      s.set(
        s.type(0),
        x && target ? broadcastShapes([x, target.map((d) => (d === -1 ? null : d))]) : undefined,
      );
    },
    grad: (_n, [g]) => [g],
    broadcasts: [0],
  },
  Concat: {
    shape: (n, s) => {
      const ins = n.inputs.map((_, i) => s.shape(i));
      if (ins.every((x) => x !== undefined)) {
        const first = ins[0] as Dim[];
        const a = normAxis(getInt(n.attributes, 'axis', 0), first.length);
        const along = ins.map((x) => x![a]);
        const total = along.every((d) => typeof d === 'number')
          ? (along as number[]).reduce((p, q) => p + q, 0)
          : null;
        s.set(
          s.type(0),
          first.map((d, i) => (i === a ? total : d)),
        );
      } else s.set(s.type(0), undefined);
      const vs = n.inputs.map((_, i) => s.value(i));
      if (vs.every((v) => v !== undefined)) s.setValue(vs.flat() as Dim[]);
    },
    grad: (node, [g], c) => {
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
  },
  Split: {
    shape: (n, s) => {
      const x = s.shape(0);
      const axis = getInt(n.attributes, 'axis', 0);
      const sizes = getInts(n.attributes, 'split') ?? (n.inputs[1] ? s.numbers(1) : undefined);
      n.outputs.forEach((_, k) => {
        if (!x) {
          s.set(s.type(0), undefined, k);
          return;
        }
        const a = normAxis(axis, x.length);
        const d = x[a];
        const size = sizes ? sizes[k]! : typeof d === 'number' ? d / n.outputs.length : null;
        s.set(
          s.type(0),
          x.map((dim, i) => (i === a ? size : dim)),
          k,
        );
      });
    },
    grad: (node, dys, c) => {
      const parts = node.outputs.map((o, i) => dys[i] ?? c.zerosLike(o));
      return [c.op('Concat', parts, { axis: attr.int(getInt(node.attributes, 'axis', 0)) })];
    },
  },
  /** Pads g back with zeros; starts/ends/axes must be constants and steps 1. */
  Slice: {
    shape: (n, s) => {
      const x = s.shape(0);
      if (!x) return s.set(s.type(0), undefined);
      const axes = n.inputs[3] ? s.numbers(3) : x.map((_, i) => i);
      const starts = s.numbers(1);
      const ends = s.numbers(2);
      const steps = n.inputs[4] ? s.numbers(4) : axes?.map(() => 1);
      const out: Dim[] = [...x];
      axes?.forEach((axis, k) => {
        const a = normAxis(axis, x.length);
        const d = x[a];
        const [st, e, step] = [starts?.[k], ends?.[k], steps?.[k]];
        out[a] =
          typeof d === 'number' && st !== undefined && e !== undefined && step === 1
            ? sliceLen(d, st, e)
            : null;
      });
      s.set(s.type(0), axes ? out : x.map(() => null));
      const v = s.value(0);
      if (v && starts && ends && x.length === 1 && (steps?.[0] ?? 1) === 1) {
        const st = clampIndex(starts[0]!, v.length);
        s.setValue(v.slice(st, Math.max(st, clampIndex(ends[0]!, v.length))));
      }
    },
    grad: (node, [g], c) => {
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
  },
  /**
   * The gathered slices scatter-added back into zeros with ScatterElements(reduction='add'), opset >= 16:
   * embedding lookups (axis 0, any index rank) as rows, other axes with a scalar or 1-D index (e.g. taking
   * token 0). Not ScatterND: ONNX Runtime's CPU kernel adds its update rows from several threads at once, so
   * rows sharing an index (a batch's repeated tokens) lose updates at random; ScatterElements splits its work
   * along the other axes and adds each column's rows in order. Small tables (token types, positions) take a
   * one-hot product instead: ScatterElements costs about 14 ns a row element on ONNX Runtime's CPU kernel, the
   * product 2 x rows flops, so below ONE_HOT_ROWS rows it is the faster (BERT's [2, 768] table: 11 ms -> 0).
   */
  Gather: {
    shape: (n, s) => {
      const [x, ix] = [s.shape(0), s.shape(1)];
      const axis = getInt(n.attributes, 'axis', 0);
      s.set(
        s.type(0),
        x && ix
          ? [...x.slice(0, normAxis(axis, x.length)), ...ix, ...x.slice(normAxis(axis, x.length) + 1)]
          : undefined,
      );
      const v = s.value(0);
      const idx = s.numbers(1);
      if (v && idx && axis === 0) s.setValue(idx.map((i) => v[normAxis(i, v.length)] ?? null));
    },
    grad: (node, [g], c) => {
      if (c.opset < 16)
        throw new Error(`Gather node '${node.name}': gradients need opset >= 16 (ScatterElements add)`);
      const [data, idx] = node.inputs as [string, string];
      const axis = getInt(node.attributes, 'axis', 0);
      const zeros = c.zerosLike(data);
      const add = { reduction: attr.string('add') };
      const q = c.rank(idx);
      const r = c.rank(data);
      if (r === undefined || (axis !== 0 && (q === undefined || q > 1))) {
        throw new Error(
          `Gather node '${node.name}': axis ${axis} gradients need a scalar or 1-D index and known ranks`,
        );
      }
      const a = axis < 0 ? axis + r : axis;
      if (a === 0) {
        const byOneHot = oneHotRowsGradient(c, data, idx, g!);
        if (byOneHot) return [byOneHot];
      }
      // Updates shaped like data but along the axis; on axis 0 (embeddings, any index rank) one row per index.
      const updates =
        axis === 0 ? c.op('Reshape', [g!, rowsShape(c, data)]) : q === 0 ? c.b.unsqueeze(g!, [a]) : g!;
      const shape = Array<number>(r).fill(1);
      shape[a] = -1;
      const indices = c.op('Expand', [c.op('Reshape', [idx, c.b.ints(shape)]), c.shapeOf(updates)]);
      return [c.op('ScatterElements', [zeros, indices, updates], { ...add, axis: attr.int(a) })];
    },
  },
  /**
   * The gathered slices scatter-added back into zeros (ScatterND add, opset >= 16); batch_dims 0. Exact only
   * for indices that do not repeat (token packing's): ONNX Runtime's CPU ScatterND adds repeated ones from
   * several threads at once (see Gather).
   */
  GatherND: {
    shape: (n, s) => {
      if (getInt(n.attributes, 'batch_dims', 0) !== 0) return;
      const [x, ix] = [s.shape(0), s.shape(1)];
      const k = ix?.at(-1);
      s.set(s.type(0), x && ix && typeof k === 'number' ? [...ix.slice(0, -1), ...x.slice(k)] : undefined);
    },
    grad: (node, [g], c) => {
      const [data, idx] = node.inputs as [string, string];
      if (c.opset < 16 || getInt(node.attributes, 'batch_dims', 0) !== 0)
        throw new Error(`GatherND node '${node.name}': gradients need opset >= 16 and batch_dims 0`);
      return [c.op('ScatterND', [c.zerosLike(data), idx, g!], { reduction: attr.string('add') })];
    },
  },
  /** Without reduction: the updates read their slices of g; data keeps g where nothing overwrote it. */
  ScatterND: {
    shape: (_n, s) => s.set(s.type(0), s.shape(0)),
    grad: (node, [g], c) => {
      const [, idx, updates] = node.inputs as [string, string, string];
      if ((node.attributes['reduction']?.value ?? 'none') !== 'none')
        throw new Error(`ScatterND node '${node.name}': gradients are only defined without reduction`);
      return [
        c.needs(0) ? c.op('ScatterND', [g!, idx, c.zerosLike(updates)]) : undefined,
        undefined,
        c.needs(2) ? c.op('GatherND', [g!, idx]) : undefined,
      ];
    },
  },
};

/** Ops whose outputs carry no gradient: shapes, indices, constants and random values. */
export const nonDifferentiableShapeOps: Record<string, OpSpec> = {
  Shape: {
    differentiable: false,
    shape: (n, s) => {
      const x = s.shape(0);
      if (!x) return s.set('int64', [null]);
      const r = x.length;
      const start = normAxis(getInt(n.attributes, 'start', 0), r);
      const end = Math.min(normAxis(getInt(n.attributes, 'end', r), r), r);
      const dims = x.slice(start, end);
      s.set('int64', [dims.length]);
      s.setValue(dims);
    },
  },
  Size: { differentiable: false, shape: (_n, s) => s.set('int64', []) },
  // The count is data-dependent; a symbol named after the value lets its users agree on it.
  NonZero: {
    differentiable: false,
    shape: (n, s) => {
      const x = s.shape(0);
      s.set('int64', x ? [x.length, `nonzero(${n.outputs[0]})`] : undefined);
    },
  },
  // Scalars start, limit, delta: ceil((limit - start) / delta) elements; arange(n) keeps n's symbol.
  Range: {
    differentiable: false,
    shape: (_n, s) => {
      const [start, limit, delta] = [s.value(0)?.[0], s.value(1)?.[0], s.value(2)?.[0]];
      let length: Dim = null;
      if (typeof start === 'number' && typeof limit === 'number' && typeof delta === 'number' && delta !== 0)
        length = Math.max(0, Math.ceil((limit - start) / delta));
      else if (start === 0 && delta === 1 && typeof limit === 'string') length = limit;
      s.set(s.type(0), [length]);
    },
  },
  ConstantOfShape: {
    differentiable: false,
    shape: (n, s) => s.set(getTensor(n.attributes, 'value')?.dataType ?? 'float32', s.value(0)),
  },
  Constant: {
    differentiable: false,
    shape: (n, s) => {
      const t = constantValue(n);
      if (!t) return;
      s.set(t.dataType, t.dims);
      if ((t.dataType === 'int64' || t.dataType === 'int32') && t.dims.length <= 1) s.setValue(toNumbers(t));
    },
  },
  ...Object.fromEntries(
    ['ArgMax', 'ArgMin', 'RandomNormalLike', 'RandomUniformLike', 'Bernoulli', 'EyeLike', 'OneHot'].map(
      (op) => [op, { differentiable: false }],
    ),
  ),
};

function clampIndex(i: number, len: number): number {
  return Math.max(0, Math.min(len, i < 0 ? i + len : i));
}

function sliceLen(d: number, s: number, e: number): number {
  return Math.max(0, clampIndex(e, d) - clampIndex(s, d));
}

/** Tables of at most this many rows get their Gather gradient as a one-hot product (see Gather). */
export const ONE_HOT_ROWS = 512;

/**
 * The rows gathered from a small static table, summed back per row as onehot(idx)^T x g: Equal against 0..R-1
 * (indices taken modulo R, as Gather reads negative ones), cast to g's type, then one Gemm. Undefined for a
 * table too large or not static.
 */
function oneHotRowsGradient(c: GradContext, data: string, idx: string, g: string): string | undefined {
  const shape = c.shape(data);
  if (!shape?.every((d) => typeof d === 'number')) return undefined;
  const [rows, ...rest] = shape as number[];
  if (rows === undefined || rows > ONE_HOT_ROWS) return undefined;
  const ids = c.dtype(idx) === 'int64' ? idx : c.op('Cast', [idx], { to: attr.int(dataTypeCode('int64')) });
  const wrapped = c.op('Mod', [c.op('Reshape', [ids, c.b.ints([-1, 1])]), c.b.scalar(rows, 'int64')]);
  const hits = c.op('Equal', [wrapped, c.b.ints(Array.from({ length: rows }, (_, i) => i))]);
  const oneHot = c.op('Cast', [hits], { to: attr.int(dataTypeCode(c.dtype(g))) });
  const summed = c.op('Gemm', [oneHot, c.op('Reshape', [g, c.b.ints([-1, numel(rest)])])], {
    transA: attr.int(1),
  });
  return rest.length === 1 ? summed : c.op('Reshape', [summed, c.b.ints(shape as number[])]);
}

/** [-1, ...data's dims after the first]: static when those dims are, else read from data's shape. */
function rowsShape(c: GradContext, data: string): string {
  const rest = c.shape(data)?.slice(1);
  if (rest?.every((d) => typeof d === 'number')) return c.b.ints([-1, ...(rest as number[])]);
  const dims = c.op('Shape', [data], { start: attr.int(1) });
  return c.op('Concat', [c.b.ints([-1]), dims], { axis: attr.int(0) });
}
