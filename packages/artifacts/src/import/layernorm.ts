import {
  attr,
  constantValue,
  consumers,
  type Graph,
  type Node,
  producers,
  type Tensor,
  toNumbers,
} from '@ortrain/graph';

/**
 * Exporters below opset 17 spell LayerNorm as ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add. One
 * LayerNormalization node computes the same, with one fused kernel forward and one gradient rule backward
 * instead of nine ops each way, which matters at BERT-base size (25 LayerNorms on [batch, seq, 768]).
 * The matched pattern:
 *   mean = ReduceMean(x, axes=[-1]); d = Sub(x, mean); var = ReduceMean(Pow(d, 2), axes=[-1])
 *   y = Add(Mul(Div(d, Sqrt(Add(var, eps))), gamma), beta)
 * Returns the number of fused LayerNorms; the replaced nodes become dead and are left for `prune`.
 */
export function fuseLayerNorms(g: Graph): number {
  const prod = producers(g);
  const cons = consumers(g);
  const constant = (name: string): number | undefined => {
    const t: Tensor | undefined = g.initializers.get(name) ?? maybeConstant(prod.get(name));
    if (t === undefined || t.dataType === 'string' || toNumbers(t).length !== 1) return undefined;
    return toNumbers(t)[0];
  };
  const only = (value: string, opType: string): Node | undefined => {
    const c = cons.get(value) ?? [];
    return c.length === 1 && c[0]!.opType === opType ? c[0] : undefined;
  };
  const other = (n: Node, value: string) => (n.inputs[0] === value ? n.inputs[1] : n.inputs[0]);
  const lastAxis = (n: Node) => {
    const axes = n.attributes['axes'];
    return (
      axes?.type === 'ints' &&
      axes.value.length === 1 &&
      (axes.value[0] === -1 || axes.value[0] === undefined)
    );
  };
  let fused = 0;
  const replaced: { at: Node; ln: Node }[] = [];
  for (const mean of g.nodes) {
    if (mean.opType !== 'ReduceMean' || !lastAxis(mean)) continue;
    const x = mean.inputs[0]!;
    const sub = (cons.get(mean.outputs[0]!) ?? []).find((n) => n.opType === 'Sub' && n.inputs[0] === x);
    if (sub === undefined || (cons.get(mean.outputs[0]!) ?? []).length !== 1) continue;
    const d = sub.outputs[0]!;
    const dUsers = cons.get(d) ?? [];
    const pow = dUsers.find((n) => n.opType === 'Pow' && n.inputs[0] === d && constant(n.inputs[1]!) === 2);
    const div = dUsers.find((n) => n.opType === 'Div' && n.inputs[0] === d);
    if (pow === undefined || div === undefined || dUsers.length !== 2) continue;
    const varMean = only(pow.outputs[0]!, 'ReduceMean');
    if (varMean === undefined || !lastAxis(varMean)) continue;
    const addEps = only(varMean.outputs[0]!, 'Add');
    const eps = addEps && constant(other(addEps, varMean.outputs[0]!)!);
    const sqrt = addEps && only(addEps.outputs[0]!, 'Sqrt');
    if (eps === undefined || sqrt === undefined || div.inputs[1] !== sqrt.outputs[0]) continue;
    const mul = only(div.outputs[0]!, 'Mul');
    const gamma = mul && other(mul, div.outputs[0]!);
    const add = mul && only(mul.outputs[0]!, 'Add');
    const beta = add && other(add, mul!.outputs[0]!);
    if (gamma === undefined || beta === undefined || !g.initializers.has(gamma) || !g.initializers.has(beta))
      continue;
    const ln: Node = {
      name: `${add!.name}/LayerNormalization`,
      opType: 'LayerNormalization',
      domain: '',
      inputs: [x, gamma, beta],
      outputs: [add!.outputs[0]!],
      attributes: { axis: attr.int(-1), epsilon: attr.float(eps) },
    };
    replaced.push({ at: add!, ln });
    fused++;
  }
  // Swap each final Add for its LayerNormalization in place, so the node order stays topological.
  const swap = new Map(replaced.map((r) => [r.at, r.ln]));
  g.nodes = g.nodes.map((n) => swap.get(n) ?? n);
  return fused;
}

function maybeConstant(n: Node | undefined): Tensor | undefined {
  return n?.opType === 'Constant' ? constantValue(n) : undefined;
}
