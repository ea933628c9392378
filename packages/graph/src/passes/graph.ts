import { getFloat, getFloats, getInt, getInts, getTensor } from '../ir/attributes.js';
import { tensor } from '../ir/tensor.js';
import type { Graph, Node, Tensor } from '../ir/types.js';

/** Names a subgraph reads from enclosing scopes (what it uses but neither defines nor receives). */
function outerNames(g: Graph, into: Set<string>): void {
  const defined = new Set<string>([...g.inputs.map((v) => v.name), ...g.initializers.keys()]);
  for (const n of g.nodes) {
    for (const i of nodeInputs(n)) if (!defined.has(i)) into.add(i);
    for (const o of n.outputs) defined.add(o);
  }
  for (const o of g.outputs) if (!defined.has(o.name)) into.add(o.name);
}

/** A node's non-empty inputs plus the outer values its subgraphs (If/Loop/Scan bodies) capture. */
export function nodeInputs(n: Node): string[] {
  const names = new Set(n.inputs.filter((i) => i !== ''));
  for (const a of Object.values(n.attributes)) if (a.type === 'graph') outerNames(a.value, names);
  return [...names];
}

/** value name -> the node producing it. */
export function producers(g: Graph): Map<string, Node> {
  const m = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) if (o !== '') m.set(o, n);
  return m;
}

/** value name -> the nodes reading it (including through subgraphs). */
export function consumers(g: Graph): Map<string, Node[]> {
  const m = new Map<string, Node[]>();
  for (const n of g.nodes) {
    for (const i of nodeInputs(n)) {
      const list = m.get(i);
      if (list) list.push(n);
      else m.set(i, [n]);
    }
  }
  return m;
}

/** Orders `g.nodes` so that every node follows the producers of its inputs (stable otherwise). */
export function topoSort(g: Graph): void {
  const prod = producers(g);
  const state = new Map<Node, 1 | 2>(); // 1: on the stack, 2: placed
  const order: Node[] = [];
  for (const root of g.nodes) {
    if (state.has(root)) continue;
    // Iterative DFS: big graphs would overflow the JS stack with recursion.
    const stack: [Node, number][] = [[root, 0]];
    state.set(root, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const [node, k] = top;
      const inputs = nodeInputs(node);
      if (k < inputs.length) {
        top[1]++;
        const p = prod.get(inputs[k]!);
        if (p === undefined || state.get(p) === 2) continue;
        if (state.get(p) === 1) throw new Error(`graph '${g.name}' has a cycle through node '${p.name}'`);
        state.set(p, 1);
        stack.push([p, 0]);
      } else {
        stack.pop();
        state.set(node, 2);
        order.push(node);
      }
    }
  }
  g.nodes = order;
}

/**
 * Dead-node elimination: keeps only the nodes needed for `outputs` (default: the current graph outputs),
 * which become the graph outputs; drops initializers and value infos nobody reads. Graph inputs are kept
 * unless `dropInputs` is set.
 */
export function prune(g: Graph, outputs: string[] = g.outputs.map((o) => o.name), dropInputs = false): void {
  const prod = producers(g);
  const known = new Set([...g.inputs.map((v) => v.name), ...g.initializers.keys(), ...prod.keys()]);
  for (const o of outputs) if (!known.has(o)) throw new Error(`prune: graph '${g.name}' has no value '${o}'`);
  const live = new Set<string>(outputs);
  const keep = new Set<Node>();
  const todo = [...outputs];
  while (todo.length > 0) {
    const n = prod.get(todo.pop()!);
    if (n === undefined || keep.has(n)) continue;
    keep.add(n);
    for (const i of nodeInputs(n)) {
      if (!live.has(i)) {
        live.add(i);
        todo.push(i);
      }
    }
  }
  const info = new Map([...g.outputs, ...g.inputs, ...g.valueInfo.values()].map((v) => [v.name, v]));
  g.nodes = g.nodes.filter((n) => keep.has(n));
  g.outputs = outputs.map((name) => info.get(name) ?? { name });
  for (const name of g.initializers.keys()) if (!live.has(name)) g.initializers.delete(name);
  for (const name of g.valueInfo.keys()) if (!live.has(name)) g.valueInfo.delete(name);
  if (dropInputs) g.inputs = g.inputs.filter((v) => live.has(v.name));
}

/** The tensor a Constant node produces, or undefined for forms not handled (sparse_value). */
export function constantValue(n: Node): Tensor | undefined {
  const name = n.outputs[0]!;
  const a = n.attributes;
  const t = getTensor(a, 'value');
  if (t) return { ...t, name };
  const f = getFloat(a, 'value_float');
  if (f !== undefined) return tensor(name, 'float32', [], [f]);
  const fs = getFloats(a, 'value_floats');
  if (fs) return tensor(name, 'float32', [fs.length], fs);
  const i = getInt(a, 'value_int');
  if (i !== undefined) return tensor(name, 'int64', [], [i]);
  const is = getInts(a, 'value_ints');
  if (is) return tensor(name, 'int64', [is.length], is);
  return undefined;
}

/** Turns the main graph's Constant nodes into initializers named after their outputs. */
export function constantsToInitializers(g: Graph): void {
  g.nodes = g.nodes.filter((n) => {
    if (n.opType !== 'Constant' || n.domain !== '') return true;
    const t = constantValue(n);
    if (t === undefined) return true;
    g.initializers.set(t.name, t);
    return false;
  });
}

/** Renames every read of `from` into `to`, in subgraphs too (an inner definition of `from` shadows it). */
function renameUses(g: Graph, from: string, to: string): void {
  for (const n of g.nodes) {
    n.inputs = n.inputs.map((i) => (i === from ? to : i));
    for (const a of Object.values(n.attributes)) {
      if (a.type !== 'graph') continue;
      const inner = a.value;
      const shadows =
        inner.initializers.has(from) ||
        inner.inputs.some((v) => v.name === from) ||
        inner.nodes.some((m) => m.outputs.includes(from));
      if (!shadows) {
        renameUses(inner, from, to);
        inner.outputs = inner.outputs.map((o) => (o.name === from ? { ...o, name: to } : o));
      }
    }
  }
}

/**
 * Removes Identity nodes whose output is not a graph output, reading their input directly instead
 * (exporters share tied weights through Identity of an initializer).
 */
export function eliminateIdentities(g: Graph): void {
  const outputs = new Set(g.outputs.map((o) => o.name));
  const removed = new Set<Node>();
  for (const n of g.nodes) {
    if (n.opType !== 'Identity' || n.domain !== '' || outputs.has(n.outputs[0]!)) continue;
    renameUses(g, n.outputs[0]!, n.inputs[0]!);
    g.valueInfo.delete(n.outputs[0]!);
    removed.add(n);
  }
  g.nodes = g.nodes.filter((n) => !removed.has(n));
}
