import { attr } from './attributes.js';
import { tensor } from './tensor.js';
import type { Attribute, DataType, Graph, Model, Node, Tensor, ValueInfo } from './types.js';

export function emptyGraph(name: string): Graph {
  return { name, nodes: [], inputs: [], outputs: [], initializers: new Map(), valueInfo: new Map() };
}

/** A model around `graph` importing the default domain at `opset` (tests, probes, benchmarks). */
export function modelOf(graph: Graph, opset = 17): Model {
  return {
    irVersion: 8,
    opsets: new Map([['', opset]]),
    producerName: 'ortrain',
    producerVersion: '0',
    graph,
    metadata: {},
  };
}

export interface OpOptions {
  /** Number of outputs (default 1) or their explicit names. */
  outputs?: number | string[];
  /** Node name; a unique one is made from the op type when omitted. */
  name?: string;
  domain?: string;
}

/**
 * Appends nodes to a graph under fresh, unique names. Every rewrite (autodiff, loss, optimizer) goes through
 * this, so generated names never collide with the exporter's.
 */
export class GraphBuilder {
  /** A builder for the model's main graph at the model's default-domain opset. */
  static forModel(model: Model, prefix = ''): GraphBuilder {
    return new GraphBuilder(model.graph, prefix, model.opsets.get('') ?? model.opsets.get('ai.onnx') ?? 17);
  }

  private readonly taken = new Set<string>();
  private readonly counters = new Map<string, number>();
  /** Constants made by `ints`/`scalar`, shared by value so each is stored once. */
  private readonly constants = new Map<string, string>();

  /**
   * @param opset the default-domain opset the emitted nodes must be valid for; the helpers below (reduce,
   *   squeeze, unsqueeze, split) pass axes and splits as attributes or inputs accordingly.
   */
  constructor(
    readonly graph: Graph,
    private readonly prefix = '',
    readonly opset = 17,
  ) {
    for (const v of graph.inputs) this.taken.add(v.name);
    for (const name of graph.initializers.keys()) this.taken.add(name);
    for (const n of graph.nodes) {
      this.taken.add(n.name);
      for (const o of n.outputs) this.taken.add(o);
    }
  }

  /** A name not yet used for any value or node, derived from `hint`. */
  fresh(hint: string): string {
    const base = `${this.prefix}${hint}`;
    let i = this.counters.get(base) ?? 0;
    let name = i === 0 ? base : `${base}_${i}`;
    while (this.taken.has(name)) name = `${base}_${++i}`;
    this.counters.set(base, i + 1);
    this.taken.add(name);
    return name;
  }

  /** Appends a node and returns its output names. */
  op(
    opType: string,
    inputs: string[],
    attributes: Record<string, Attribute> = {},
    options: OpOptions = {},
  ): string[] {
    const outs = options.outputs ?? 1;
    const outputs = typeof outs === 'number' ? Array.from({ length: outs }, () => this.fresh(opType)) : outs;
    for (const o of outputs) this.taken.add(o);
    const node: Node = {
      name: options.name ?? this.fresh(`${opType}_node`),
      opType,
      domain: options.domain ?? '',
      inputs,
      outputs,
      attributes,
    };
    this.graph.nodes.push(node);
    return outputs;
  }

  /** Appends a single-output node and returns its output name. */
  op1(
    opType: string,
    inputs: string[],
    attributes: Record<string, Attribute> = {},
    options: OpOptions = {},
  ): string {
    return this.op(opType, inputs, attributes, options)[0]!;
  }

  /** Adds an initializer (under a fresh name derived from its own) and returns the name. */
  initializer(t: Tensor): string {
    const name = this.taken.has(t.name) ? this.fresh(t.name) : t.name;
    this.taken.add(name);
    this.graph.initializers.set(name, { ...t, name });
    return name;
  }

  /** A small constant (shape, axes, scalar) stored as an initializer. */
  constant(hint: string, dataType: DataType, dims: number[], values: ArrayLike<number>): string {
    return this.initializer(tensor(this.fresh(hint), dataType, dims, values));
  }

  /** A shared 1-D int64 constant (axes, shapes, splits). */
  ints(values: readonly number[]): string {
    return this.shared(`ints:${values}`, () => this.constant('ints', 'int64', [values.length], values));
  }

  /** A shared scalar constant of the given type (for float types, the value rounded to that type). */
  scalar(value: number, dataType: DataType): string {
    return this.shared(`${dataType}:${value}`, () => this.constant('scalar', dataType, [], [value]));
  }

  private shared(key: string, make: () => string): string {
    let name = this.constants.get(key);
    if (name === undefined) this.constants.set(key, (name = make()));
    return name;
  }

  /**
   * A ReduceSum/ReduceMean/ReduceMax/... over `axes` (undefined: all axes). Axes are an input from opset 13
   * for ReduceSum and from opset 18 for the others, an attribute before.
   */
  reduce(opType: string, x: string, axes: readonly number[] | undefined, keepdims: boolean): string {
    const asInput = this.opset >= (opType === 'ReduceSum' ? 13 : 18);
    const attributes: Record<string, Attribute> = { keepdims: attr.int(keepdims ? 1 : 0) };
    if (axes === undefined || axes.length === 0) return this.op1(opType, [x], attributes);
    if (asInput) return this.op1(opType, [x, this.ints(axes)], attributes);
    return this.op1(opType, [x], { ...attributes, axes: attr.ints([...axes]) });
  }

  unsqueeze(x: string, axes: readonly number[]): string {
    if (this.opset >= 13) return this.op1('Unsqueeze', [x, this.ints(axes)]);
    return this.op1('Unsqueeze', [x], { axes: attr.ints([...axes]) });
  }

  squeeze(x: string, axes: readonly number[]): string {
    if (this.opset >= 13) return this.op1('Squeeze', [x, this.ints(axes)]);
    return this.op1('Squeeze', [x], { axes: attr.ints([...axes]) });
  }

  /** Split along `axis` into pieces of the given sizes. */
  split(x: string, sizes: readonly number[], axis: number): string[] {
    const a = { axis: attr.int(axis) };
    if (this.opset >= 13) return this.op('Split', [x, this.ints(sizes)], a, { outputs: sizes.length });
    return this.op('Split', [x], { ...a, split: attr.ints([...sizes]) }, { outputs: sizes.length });
  }

  addInput(info: ValueInfo): string {
    this.taken.add(info.name);
    this.graph.inputs.push(info);
    return info.name;
  }

  addOutput(info: ValueInfo): void {
    this.graph.outputs.push(info);
  }
}
