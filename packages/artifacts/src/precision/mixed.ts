import { attr, type Graph, GraphBuilder, inferShapes, type Node, producers } from '@ortrain/graph';

/** The half-precision element type a mixed-precision graph computes in. */
export type HalfType = 'float16' | 'bfloat16';

/** ONNX element type codes for Cast's `to`. */
const TYPE_CODE = { float32: 1, float16: 10, bfloat16: 16 } as const;

/** Ops autocast runs in half precision (torch's lower-precision list, as far as a BERT forward holds them). */
const HALF_OPS = new Set(['MatMul', 'Gemm']);

/**
 * Ops autocast lists nowhere, which run in the widest type of their inputs: element-wise math and data
 * movement. They stay in half precision when their other float inputs are constants or weights (Python
 * scalars and a Linear's bias do not promote in torch either), and go back to float32 when one is a float32
 * activation (the residual Add, the attention mask Add). Dropout stays in the precision of what it drops: its
 * seeded mask, drawn after autodiff (dropout/mask.ts), is cast to that type.
 */
const FOLLOW_OPS = new Set([
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Pow',
  'Sqrt',
  'Neg',
  'Erf',
  'Tanh',
  'Sigmoid',
  'Relu',
  'Gelu',
  'Dropout',
  'Where',
  'Identity',
  'Reshape',
  'Transpose',
  'Squeeze',
  'Unsqueeze',
  'Flatten',
  'Expand',
  'Slice',
  'Split',
  'Concat',
]);

export interface MixedPrecisionReport {
  /** Nodes now computing in half precision. */
  halfNodes: number;
  /** Cast nodes inserted (each value is cast at most once per direction). */
  casts: number;
}

/**
 * The autocast pass: rewrites a float32 forward graph so MatMul/Gemm and the element-wise work around them
 * run in `half`, everything else (Softmax, LayerNormalization, reductions, whatever follows: the loss) in
 * float32, as torch.autocast does. Weights stay float32 graph inputs; their half copies are Casts in the
 * graph, so autodiff returns float32 gradients through Cast's rule. Graph outputs keep float32.
 */
export function castToHalf(g: Graph, half: HalfType, opset = 17): MixedPrecisionReport {
  const types = inferShapes(g).types;
  const isFloat32 = (v: string) => types.get(v)?.dataType === 'float32';
  const made = producers(g);
  const isLeaf = (v: string) => made.get(v) === undefined || made.get(v)!.opType === 'Constant';
  const b = new GraphBuilder(g, '', opset);
  const halves = new Set<string>();
  const casts = new Map<string, string>();
  const cast = (v: string, to: 'float32' | HalfType): string => {
    const key = `${v}|${to}`;
    let out = casts.get(key);
    if (out === undefined) {
      out = b.op1('Cast', [v], { to: attr.int(TYPE_CODE[to]) }, { name: b.fresh(`/autocast/${v}/${to}`) });
      casts.set(key, out);
      if (to !== 'float32') halves.add(out);
    }
    return out;
  };

  const original = g.nodes;
  g.nodes = [];
  let halfNodes = 0;
  for (const n of original) {
    const floats = n.inputs.map((v) => v !== '' && (halves.has(v) || isFloat32(v)));
    const inHalf = runsInHalf(n, floats, halves, isLeaf);
    n.inputs = n.inputs.map((v, i) => {
      if (!floats[i]) return v;
      if (inHalf) return halves.has(v) ? v : cast(v, half);
      return halves.has(v) ? cast(v, 'float32') : v;
    });
    g.nodes.push(n);
    if (!inHalf) continue;
    halfNodes++;
    for (const o of n.outputs) {
      if (!isFloat32(o)) continue;
      halves.add(o);
      g.valueInfo.delete(o);
    }
  }
  restoreOutputs(g, b, halves);
  return { halfNodes, casts: casts.size };
}

function runsInHalf(
  n: Node,
  floats: boolean[],
  halves: ReadonlySet<string>,
  isLeaf: (v: string) => boolean,
): boolean {
  if (n.domain !== '' && n.domain !== 'ai.onnx') return false;
  if (HALF_OPS.has(n.opType)) return floats.some(Boolean);
  if (!FOLLOW_OPS.has(n.opType)) return false;
  const inputs = n.inputs.filter((_, i) => floats[i]);
  return inputs.some((v) => halves.has(v)) && inputs.every((v) => halves.has(v) || isLeaf(v));
}

/** Graph outputs computed in half precision get a float32 Cast under their own name. */
function restoreOutputs(g: Graph, b: GraphBuilder, halves: ReadonlySet<string>): void {
  for (const out of g.outputs) {
    if (!halves.has(out.name)) continue;
    const renamed = b.fresh(`${out.name}/half`);
    for (const n of g.nodes) {
      n.outputs = n.outputs.map((o) => (o === out.name ? renamed : o));
      n.inputs = n.inputs.map((i) => (i === out.name ? renamed : i));
    }
    b.op('Cast', [renamed], { to: attr.int(TYPE_CODE.float32) }, { outputs: [out.name] });
  }
}
