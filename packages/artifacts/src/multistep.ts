import { attr, dataTypeCode, type Graph, type Model, type Node, type ValueInfo } from '@ortrain/graph';

/**
 * The multi-step pass: one ONNX Loop whose body is the train graph, with the state it rewrites (`carried`:
 * input name to the output holding its new value) as loop-carried values and the per-step inputs (batch
 * tensors stacked to [K, ...], `learning_rate`, `step` and `dropout_seed` as [K]) sliced by the iteration number, so K
 * optimizer steps run on the device without copying state in and out. Inputs and outputs keep the train
 * graph's names, so the same state buffers feed both; the other outputs (`loss`, `grad_norm`) come back as [K].
 *
 * With fp16 loss scaling (`skips`), a step whose gradients overflow is skipped, and as in the HF Trainer the
 * scheduler and AdamW's step count do not advance: the body carries the count of steps applied in this run and
 * slices the `skips.indexed` inputs (`learning_rate`, `step`: entry j is the value of the run's (j+1)-th applied
 * step) by that count instead of the iteration number. Without a skip the two are equal.
 *
 * The body's own values are renamed under a prefix so no name shadows one of the outer graph (ONNX requires
 * unique names across nested scopes); references to the outer scope (frozen parameters) are left as they are.
 */
export function buildMultiStepModel(
  train: Model,
  perStep: readonly string[],
  carriedState: ReadonlyMap<string, string>,
  skips?: { flag: string; indexed: readonly string[] },
): Model {
  const g = train.graph;
  const carried = g.inputs.map((i) => i.name).filter((n) => carriedState.has(n));
  const updated = (n: string) => carriedState.get(n)!;
  const perStepSet = new Set(perStep);
  for (const n of perStep) {
    if (!g.inputs.some((i) => i.name === n))
      throw new Error(`train graph has no input '${n}' to run per step`);
  }
  const updates = new Set(carriedState.values());
  const scanned = g.outputs.map((o) => o.name).filter((n) => !updates.has(n));

  const P = 'loop/';
  const defined = new Set<string>([
    ...g.inputs.filter((i) => carried.includes(i.name) || perStepSet.has(i.name)).map((i) => i.name),
    ...g.initializers.keys(),
    ...g.nodes.flatMap((n) => n.outputs.filter((o) => o !== '')),
  ]);
  const rn = (name: string) => (defined.has(name) ? P + name : name);

  const iter = `${P}iteration`;
  const condIn = `${P}cond_in`;
  const condOut = `${P}cond_out`;
  const applied = skips && { in: `${P}applied`, out: `${P}applied.new` };
  const byName = new Map(g.inputs.map((i) => [i.name, i]));
  const bodyNodes: Node[] = perStep.map((n) => ({
    name: `${P}slice/${n}`,
    opType: 'Gather',
    domain: '',
    inputs: [n, applied && skips.indexed.includes(n) ? applied.in : iter],
    outputs: [rn(n)],
    attributes: { axis: attr.int(0) },
  }));
  bodyNodes.push(...g.nodes.map((n) => renameNode(n, rn)));
  if (applied) bodyNodes.push(...countApplied(rn(skips.flag), applied, P));
  bodyNodes.push({
    name: `${P}cond`,
    opType: 'Identity',
    domain: '',
    inputs: [condIn],
    outputs: [condOut],
    attributes: {},
  });
  const body: Graph = {
    name: `${g.name}_step`,
    nodes: bodyNodes,
    inputs: [
      { name: iter, type: { dataType: 'int64', shape: [] } },
      { name: condIn, type: { dataType: 'bool', shape: [] } },
      ...carried.map((n) => ({ ...byName.get(n)!, name: rn(n) })),
      ...(applied ? [{ name: applied.in, type: { dataType: 'int64' as const, shape: [] } }] : []),
    ],
    outputs: [
      { name: condOut, type: { dataType: 'bool', shape: [] } },
      ...carried.map((n) => ({ ...outputInfo(g, updated(n)), name: rn(updated(n)) })),
      ...(applied ? [{ name: applied.out, type: { dataType: 'int64' as const, shape: [] } }] : []),
      ...scanned.map((n) => ({ ...outputInfo(g, n), name: rn(n) })),
    ],
    initializers: new Map([...g.initializers].map(([k, t]) => [rn(k), { ...t, name: rn(k) }])),
    valueInfo: new Map([...g.valueInfo].map(([k, v]) => [rn(k), { ...v, name: rn(k) }])),
  };

  const stacked = (info: ValueInfo): ValueInfo => ({
    name: info.name,
    type: info.type && {
      dataType: info.type.dataType,
      shape: info.type.shape && ['steps', ...info.type.shape],
    },
  });
  const outer: Graph = {
    name: `${g.name}_multistep`,
    inputs: g.inputs.map((i) => (perStepSet.has(i.name) ? stacked(i) : i)),
    outputs: [
      ...carried.map((n) => outputInfo(g, updated(n))),
      ...scanned.map((n) => stacked(outputInfo(g, n))),
    ],
    initializers: new Map([
      ['loop_cond_true', { name: 'loop_cond_true', dataType: 'bool', dims: [], data: new Uint8Array([1]) }],
    ]),
    valueInfo: new Map(),
    nodes: [
      {
        name: 'loop_shape',
        opType: 'Shape',
        domain: '',
        inputs: [perStep[0]!],
        outputs: ['loop_shape'],
        attributes: {},
      },
      {
        name: 'loop_trip_count',
        opType: 'Gather',
        domain: '',
        inputs: ['loop_shape', 'loop_zero'],
        outputs: ['loop_trip_count'],
        attributes: { axis: attr.int(0) },
      },
      {
        name: 'loop',
        opType: 'Loop',
        domain: '',
        inputs: ['loop_trip_count', 'loop_cond_true', ...carried, ...(applied ? ['loop_zero'] : [])],
        outputs: [...carried.map(updated), ...(applied ? ['loop_applied'] : []), ...scanned],
        attributes: { body: attr.graph(body) },
      },
    ],
  };
  outer.initializers.set('loop_zero', {
    name: 'loop_zero',
    dataType: 'int64',
    dims: [],
    data: new BigInt64Array([0n]),
  });
  return { ...train, graph: outer };
}

/** applied' = applied + (1 - skipped), from the step's float32 skip flag (GradScaler's found_inf). */
function countApplied(flag: string, applied: { in: string; out: string }, P: string): Node[] {
  const node = (opType: string, inputs: string[], output: string, attributes: Node['attributes'] = {}) => ({
    name: `${P}applied/${opType}`,
    opType,
    domain: '',
    inputs,
    outputs: [output],
    attributes,
  });
  const one = { name: '', dataType: 'int64' as const, dims: [], data: new BigInt64Array([1n]) };
  return [
    node('Constant', [], `${P}applied/one`, { value: attr.tensor(one) }),
    node('Cast', [flag], `${P}applied/skipped`, { to: attr.int(dataTypeCode('int64')) }),
    node('Sub', [`${P}applied/one`, `${P}applied/skipped`], `${P}applied/count`),
    node('Add', [applied.in, `${P}applied/count`], applied.out),
  ];
}

function outputInfo(g: Graph, name: string): ValueInfo {
  const o = g.outputs.find((x) => x.name === name);
  if (!o) throw new Error(`train graph has no output '${name}'`);
  return o;
}

/** Renames a node's inputs and outputs, and the outer-scope references inside its subgraphs. */
function renameNode(n: Node, rn: (s: string) => string): Node {
  const attributes: Node['attributes'] = {};
  for (const [k, a] of Object.entries(n.attributes)) {
    attributes[k] = a.type === 'graph' ? { type: 'graph', value: renameSubgraph(a.value, rn) } : a;
  }
  return {
    ...n,
    inputs: n.inputs.map((i) => (i === '' ? i : rn(i))),
    outputs: n.outputs.map((o) => (o === '' ? o : rn(o))),
    attributes,
  };
}

/** Inside a nested graph only names it does not define itself refer to the enclosing scope. */
function renameSubgraph(g: Graph, rn: (s: string) => string): Graph {
  const own = new Set<string>([
    ...g.inputs.map((i) => i.name),
    ...g.initializers.keys(),
    ...g.nodes.flatMap((n) => n.outputs),
  ]);
  const inner = (s: string) => (own.has(s) ? s : rn(s));
  return {
    ...g,
    nodes: g.nodes.map((n) => renameNode(n, inner)),
    outputs: g.outputs.map((o) => (own.has(o.name) ? o : { ...o, name: rn(o.name) })),
  };
}
