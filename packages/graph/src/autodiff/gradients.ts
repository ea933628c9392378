import { attr, getString } from '../ir/attributes.js';
import { GraphBuilder } from '../ir/builder.js';
import { isFloat } from '../ir/tensor.js';
import type { Graph, Model, Node } from '../ir/types.js';
import { opSpec } from '../ops/registry.js';
import type { OpSpec } from '../ops/spec.js';
import { consumers, nodeInputs, producers, topoSort } from '../passes/graph.js';
import { inferShapes } from '../passes/shapes.js';
import { GradContext } from './context.js';
import { exposeOutputs } from './expose.js';
import { type ForwardView, type Unit, unitRules } from './units.js';

const FUSED = 'com.microsoft';
const quantized =
  /^(QuantizeLinear|DequantizeLinear|DynamicQuantizeLinear|MatMulInteger|ConvInteger|QLinear.*)$/;

/**
 * Refuses graphs this autodiff cannot train: fused contrib ops from ONNX Runtime's transformer optimizer and
 * quantized graphs. Throws naming the first offending node.
 */
export function checkSupported(graph: Graph): void {
  for (const n of graph.nodes) {
    const fix =
      'export the model without optimization or quantization (plain torch.onnx.export, or optimum export without --optimize)';
    if (n.domain === FUSED || (n.domain !== '' && n.domain !== 'ai.onnx')) {
      throw new Error(
        `node '${n.name}' is the fused/contrib op ${n.domain}.${n.opType}, which cannot be trained; ${fix}`,
      );
    }
    if (quantized.test(n.opType)) {
      throw new Error(
        `node '${n.name}' (${n.opType}) belongs to a quantized graph, which cannot be trained; ${fix}`,
      );
    }
  }
}

/** Ops whose meaning changed between opset 13 and 17, with the conversion that keeps their old meaning. */
const conversions: Record<string, (n: Node) => void> = {
  // RoiAlign-16 added coordinate_transformation_mode defaulting to half_pixel; before it was output_half_pixel.
  RoiAlign: (n) => {
    if (getString(n.attributes, 'coordinate_transformation_mode') === undefined) {
      n.attributes.coordinate_transformation_mode = attr.string('output_half_pixel');
    }
  },
};

function visit(g: Graph, f: (n: Node) => void): void {
  for (const n of g.nodes) {
    f(n);
    for (const a of Object.values(n.attributes)) if (a.type === 'graph') visit(a.value, f);
  }
}

/**
 * Raises the default-domain opset to `target` (17 or more is what training graphs need). From opsets 13..16
 * to 17 every standard op keeps its meaning except RoiAlign, which is converted; older opsets (where Softmax,
 * Split, Squeeze, Unsqueeze and ReduceSum changed form) and targets past 17 (where the Reduce* ops move axes to
 * an input) are refused: re-export the model at opset 14..17 instead.
 */
export function upgradeOpset(model: Model, target = 17): void {
  const current = model.opsets.get('') ?? model.opsets.get('ai.onnx');
  if (current === undefined) throw new Error('model imports no default-domain opset');
  if (current >= target) return;
  if (current < 13 || target > 17) {
    throw new Error(
      `cannot convert opset ${current} to ${target}; re-export the model with opset_version 14..17`,
    );
  }
  visit(model.graph, (n) => {
    if (n.domain === '' || n.domain === 'ai.onnx') conversions[n.opType]?.(n);
  });
  model.opsets.delete('ai.onnx');
  model.opsets.set('', target);
  model.irVersion = Math.max(model.irVersion, 8);
}

export interface GradientOptions {
  /** The value to differentiate (any shape; its gradient seed is all ones). */
  loss: string;
  /** Values (parameters, usually initializers or inputs) to get gradients for. */
  wrt: string[];
  /** Opset of the default domain (default: the builder's). Training graphs use 17 (see upgradeOpset); 11..12 work for
   * static shapes only, Gather needs >= 16. */
  opset?: number;
}

/**
 * Appends reverse-mode gradient nodes for `loss` with respect to `wrt` and returns param -> gradient value.
 * Only nodes on a path from some `wrt` value to the loss are differentiated; integer and boolean values
 * (shapes, masks, ids) carry no gradient. Throws when the loss does not depend on a `wrt` value or when a
 * node on the path has no rule.
 */
export function buildGradients(target: GraphBuilder | Graph, options: GradientOptions): Map<string, string> {
  const b = target instanceof GraphBuilder ? target : new GraphBuilder(target, '', options.opset ?? 17);
  const builder =
    options.opset !== undefined && options.opset !== b.opset
      ? new GraphBuilder(b.graph, '', options.opset)
      : b;
  const g = builder.graph;
  if (builder.opset < 11) {
    throw new Error(`gradients need opset >= 11 (graph is at ${builder.opset}); see upgradeOpset`);
  }
  checkSupported(g);
  topoSort(g);
  const info = inferShapes(g);
  const lossType = info.types.get(options.loss)?.dataType ?? 'float32';
  const ctx = new GradContext(builder, info, lossType);
  const differentiable = (v: string) => {
    const t = info.types.get(v)?.dataType;
    return t === undefined || isFloat(t);
  };

  // Values depending on some wrt through differentiable edges.
  const reached = new Set(options.wrt);
  for (const n of g.nodes) {
    if (opSpec(n)?.differentiable === false || !nodeInputs(n).some((i) => reached.has(i))) continue;
    for (const o of n.outputs) if (o && differentiable(o)) reached.add(o);
  }
  if (!reached.has(options.loss))
    throw new Error(`loss '${options.loss}' does not depend on any of the wrt values`);
  // Nodes on a path to the loss.
  const wanted = new Set([options.loss]);
  const path: Node[] = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (!n.outputs.some((o) => wanted.has(o) && reached.has(o))) continue;
    path.push(n);
    for (const v of n.inputs) if (reached.has(v)) wanted.add(v);
  }
  const units = findUnits(g, path, ctx);
  exposeOutputs(builder, path);

  const contributions = new Map<string, string[]>();
  const add = (v: string, grad: string) => {
    const list = contributions.get(v);
    if (list) list.push(grad);
    else contributions.set(v, [grad]);
  };
  /** The total gradient of v, summing its contributions once. */
  const total = (v: string): string | undefined => {
    const list = contributions.get(v);
    if (!list || list.length === 0) return undefined;
    // A chain of Adds, not a variadic Sum: the same left-to-right order, and WebGPU has no Sum kernel.
    if (list.length > 1) contributions.set(v, [list.reduce((acc, g) => builder.op1('Add', [acc, g]))]);
    return contributions.get(v)![0];
  };
  const lossShape = info.types.get(options.loss)?.shape;
  add(
    options.loss,
    lossShape?.length === 0
      ? builder.scalar(1, lossType)
      : builder.op1('Expand', [builder.scalar(1, lossType), ctx.shapeOf(options.loss)]),
  );

  for (const n of path) {
    const dys = n.outputs.map((o) => (o && reached.has(o) ? total(o) : undefined));
    if (dys.every((d) => d === undefined)) continue;
    const spec = opSpec(n);
    const rule = spec?.grad;
    if (!spec || !rule) {
      throw new Error(
        `node '${n.name}' (op ${n.opType}) lies on the path from the parameters to the loss but has no gradient rule`,
      );
    }
    // A gradient has its value's shape; recording it lets rules decide broadcast reductions statically.
    n.outputs.forEach((o, k) => {
      const d = dys[k];
      const t = o ? info.types.get(o) : undefined;
      if (d !== undefined && t !== undefined && !info.types.has(d)) info.types.set(d, t);
    });
    const unit = units.get(n);
    if (unit !== undefined) {
      add(unit.input, unit.grad(dys[0]!, ctx));
      continue;
    }
    ctx.needed = n.inputs.map((i) => i !== '' && wanted.has(i) && reached.has(i));
    const grads = rule(n, dys, ctx);
    n.inputs.forEach((v, i) => {
      const d = grads[i];
      if (ctx.needed[i] && d !== undefined) add(v, toInputShape(spec, n, i, d, ctx));
    });
  }

  const result = new Map<string, string>();
  for (const w of options.wrt) {
    const d = total(w);
    if (d === undefined) throw new Error(`loss '${options.loss}' does not depend on '${w}'`);
    result.set(w, d);
  }
  return result;
}

/**
 * The units (see units.ts) ending at nodes of the path, by their last node; their outputs are kept for the
 * backward pass. Read before any node is added, so that the forward graph's readers are what is counted.
 */
function findUnits(g: Graph, path: Node[], ctx: GradContext): Map<Node, Unit> {
  const prod = producers(g);
  const cons = consumers(g);
  const outputs = new Set(g.outputs.map((o) => o.name));
  const view: ForwardView = {
    producer: (v) => prod.get(v),
    readers: (v) => (cons.get(v)?.length ?? 0) + (outputs.has(v) ? 1 : 0),
    constant: (v) => ctx.constantScalar(v),
  };
  const units = new Map<Node, Unit>();
  for (const n of path) {
    const unit = unitRules.reduce<Unit | undefined>((found, rule) => found ?? rule(n, view), undefined);
    if (unit === undefined) continue;
    units.set(n, unit);
    ctx.keep(unit.output);
  }
  return units;
}

/** A rule's gradient for input i, summed over the axes the input broadcast along (tinygrad's reduce-to-shape). */
function toInputShape(spec: OpSpec, n: Node, i: number, grad: string, ctx: GradContext): string {
  const { broadcasts } = spec;
  if (broadcasts === undefined || (broadcasts !== 'all' && !broadcasts.includes(i))) return grad;
  const shape = spec.gradShape ? spec.gradShape(n, i, ctx) : ctx.shape(n.outputs[0]!);
  return shape === false ? grad : ctx.sumToShape(grad, n.inputs[i]!, shape);
}
