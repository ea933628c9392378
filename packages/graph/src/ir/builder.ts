import { tensor } from './tensor.js';
import type { Attribute, DataType, Graph, Node, Tensor, ValueInfo } from './types.js';

export function emptyGraph(name: string): Graph {
  return { name, nodes: [], inputs: [], outputs: [], initializers: new Map(), valueInfo: new Map() };
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
  private readonly taken = new Set<string>();
  private readonly counters = new Map<string, number>();

  constructor(
    readonly graph: Graph,
    private readonly prefix = '',
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

  addInput(info: ValueInfo): string {
    this.taken.add(info.name);
    this.graph.inputs.push(info);
    return info.name;
  }

  addOutput(info: ValueInfo): void {
    this.graph.outputs.push(info);
  }
}
