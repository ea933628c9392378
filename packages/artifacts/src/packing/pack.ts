import {
  attr,
  constantValue,
  consumers,
  type Dim,
  type Graph,
  GraphBuilder,
  getInt,
  inferShapes,
  type Node,
  opSpec,
  producers,
  type ShapeInfo,
  toNumbers,
  topoSort,
} from '@ortrain/graph';

/** Which rows of the [batch, seq] grid a packed value holds; the smaller value holds more of them. */
enum Rows {
  /** Every real token (attention_mask 1) and each row's first token: [tokens, ...]. */
  Tokens = 1,
  /** Each row's first token ([CLS]) only: [batch, ...]. */
  First = 2,
}

export interface PackReport {
  /** Nodes now computed on packed rows. */
  packed: number;
  /** Of those, the ones computed on the first token of each row only. */
  firstTokenOnly: number;
}

/**
 * Token packing: the row-wise part of a BERT forward graph (projections, feed-forward, GELU, LayerNorms,
 * residual adds, dropout: every op that treats each (batch, position) row on its own) runs on the real tokens
 * gathered into [tokens, ...] instead of the padded [batch, seq, ...] grid, and the layers after the last
 * attention, whose output only the pooler's first-token pick reads, run on that token alone. Attention itself
 * (everything that mixes positions) stays on the padded grid: values enter it scattered back into zeros.
 *
 * Nothing changes numerically: padded positions only ever meet the rest of the sequence as attention keys,
 * whose probabilities the mask makes exactly zero, so their values (zeros here, junk in the padded model) do
 * not matter, and no gradient reaches them. A row's first position always counts as a token, so the pooler
 * reads what the padded model computes even for left-padded rows.
 *
 * Row-wise regions without a MatMul (e.g. the embeddings' sum) stay padded: packing them would cost more
 * copies than it saves. Graphs without an `attention_mask` input have no padding and are left as they are.
 */
export function packTokens(g: Graph): PackReport {
  const mask = g.inputs.find((v) => v.name === 'attention_mask');
  const grid = mask?.type?.shape;
  if (grid?.length !== 2) return { packed: 0, firstTokenOnly: 0 };
  topoSort(g);
  const info = inferShapes(g);
  const prod = producers(g);
  const cons = consumers(g);
  const outputs = new Set(g.outputs.map((o) => o.name));

  const shape = (v: string) => info.types.get(v)?.shape;
  const isToken = (v: string): boolean => {
    const s = shape(v);
    return s !== undefined && s.length >= 3 && sameDim(s[0]!, grid[0]!) && sameDim(s[1]!, grid[1]!);
  };
  const rowWise = (n: Node): boolean => rowWiseNode(n, info, isToken);

  // Regions: row-wise nodes connected through the token values they pass each other.
  const region = new Map<Node, Node>();
  const find = (n: Node): Node => {
    let r = n;
    while (region.get(r) !== r) r = region.get(r)!;
    region.set(n, r);
    return r;
  };
  for (const n of g.nodes) if (rowWise(n)) region.set(n, n);
  for (const n of region.keys()) {
    for (const i of n.inputs) {
      const p = prod.get(i);
      if (p !== undefined && region.has(p) && isToken(i)) region.set(find(p), find(n));
    }
  }
  const withMatMul = new Set([...region.keys()].filter((n) => n.opType === 'MatMul').map(find));
  const packed = new Set([...region.keys()].filter((n) => withMatMul.has(find(n))));
  if (packed.size === 0) return { packed: 0, firstTokenOnly: 0 };

  // Which rows each packed node must compute: the first token only when everything downstream reads no more.
  const rows = new Map<Node, Rows>();
  const demand = (v: string): Rows | undefined => {
    if (outputs.has(v)) return Rows.Tokens;
    let need: Rows | undefined;
    for (const c of cons.get(v) ?? []) {
      const r = packed.has(c) ? rows.get(c) : firstTokenPick(g, c, v, prod) ? Rows.First : Rows.Tokens;
      if (r !== undefined && (need === undefined || r < need)) need = r;
    }
    return need;
  };
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (!packed.has(n)) continue;
    const needs = n.outputs.filter((o) => o !== '').map(demand);
    rows.set(
      n,
      needs.includes(Rows.Tokens) || needs.every((r) => r === undefined) ? Rows.Tokens : Rows.First,
    );
  }

  const b = new GraphBuilder(g);
  const at = (hint: string) => ({ name: b.fresh(`/packing/${hint}`) });
  // Row indices from the mask: keep = mask | (position == 0), as (batch, position) pairs in row-major order.
  const seqLen = b.op1('Shape', ['attention_mask'], { start: attr.int(1), end: attr.int(2) }, at('seq_len'));
  const positions = b.op1(
    'Range',
    [b.scalar(0, 'int64'), b.squeeze(seqLen, [0]), b.scalar(1, 'int64')],
    {},
    at('positions'),
  );
  const first = b.op1('Equal', [positions, b.scalar(0, 'int64')], {}, at('first'));
  const real = b.op1('Cast', ['attention_mask'], { to: attr.int(9) }, at('real'));
  const keep = b.op1('Or', [real, first], {}, at('keep'));
  const tokenIndex = b.op1(
    'Transpose',
    [b.op1('NonZero', [keep], {}, at('nonzero'))],
    { perm: attr.ints([1, 0]) },
    at('token_index'),
  );
  // Where each row's first token sits among the packed tokens: the exclusive running count of kept tokens.
  const counts = b.op1(
    'ReduceSum',
    [b.op1('Cast', [keep], { to: attr.int(7) }, at('keep_count')), b.ints([1])],
    { keepdims: attr.int(0) },
    at('row_tokens'),
  );
  const firstIndex = b.op1(
    'CumSum',
    [counts, b.scalar(0, 'int64')],
    { exclusive: attr.int(1) },
    at('first_index'),
  );
  const gridShape = b.op1('Shape', ['attention_mask'], {}, at('grid'));

  const cache = new Map<string, string>();
  const memo = (key: string, make: () => string) => {
    let v = cache.get(key);
    if (v === undefined) cache.set(key, (v = make()));
    return v;
  };
  const packedName = new Map<string, { name: string; rows: Rows }>();
  /** The value a packed node reads for input v, in `want` rows. */
  const convert = (v: string, want: Rows): string => {
    const have = packedName.get(v);
    if (have !== undefined) {
      if (have.rows === want) return have.name;
      return memo(`first:${have.name}`, () =>
        b.op1('Gather', [have.name, firstIndex], { axis: attr.int(0) }, at('to_first')),
      );
    }
    if (want === Rows.First)
      return memo(`pick:${v}`, () =>
        b.op1('Gather', [v, b.scalar(0, 'int64')], { axis: attr.int(1) }, at('pick_first')),
      );
    return memo(`pack:${v}`, () => b.op1('GatherND', [v, tokenIndex], {}, at('pack')));
  };

  let firstTokenOnly = 0;
  for (const n of g.nodes.filter((m) => packed.has(m))) {
    const want = rows.get(n)!;
    if (want === Rows.First) firstTokenOnly++;
    const rank = shape(n.outputs[0]!)!.length;
    n.inputs = n.inputs.map((i) => {
      if (i === '') return i;
      if (isToken(i)) return convert(i, want);
      // A feature operand of the token's full rank ([1, 1, H]) loses its batch axis with the tokens.
      return shape(i)?.length === rank ? memo(`squeeze:${i}`, () => b.squeeze(i, [0])) : i;
    });
    // LayerNormalization's axis counted from the front moves with the axes the tokens fold.
    const axis = getInt(n.attributes, 'axis', -1);
    if (n.opType === 'LayerNormalization' && axis > 0) n.attributes['axis'] = attr.int(axis - 1);
    n.outputs = n.outputs.map((o) => {
      if (o === '') return o;
      const name = b.fresh(`${o}/${want === Rows.First ? 'first' : 'packed'}`);
      packedName.set(o, { name, rows: want });
      g.valueInfo.delete(o);
      return name;
    });
  }

  // Readers outside the packed region get the padded grid back under the original name; first-token picks of
  // a value computed for the first token only read it directly.
  for (const [v, { name, rows: r }] of packedName) {
    const readers = (cons.get(v) ?? []).filter((c) => !packed.has(c));
    if (readers.length === 0 && !outputs.has(v)) continue;
    if (r === Rows.First) {
      for (const pick of readers) {
        pick.opType = 'Identity';
        pick.inputs = [name];
        pick.attributes = {};
      }
      continue;
    }
    const rest = shape(v)!.slice(2);
    const zerosShape = memo(`grid:${rest.join()}`, () =>
      b.op1('Concat', [gridShape, b.ints(rest as number[])], { axis: attr.int(0) }, at('grid_shape')),
    );
    // Expand, not ConstantOfShape: the WebGPU EP has no kernel for the latter.
    const zeros = b.op1('Expand', [b.scalar(0, 'float32'), zerosShape], {}, at('zeros'));
    b.op('ScatterND', [zeros, tokenIndex, name], {}, { ...at('unpack'), outputs: [v] });
  }
  topoSort(g);
  return { packed: packed.size, firstTokenOnly };
}

function sameDim(a: Dim, b: Dim): boolean {
  return a !== null && a === b;
}

/**
 * Whether node n computes each (batch, position) row from that row alone: an elementwise op, a MatMul by a 2-D
 * weight or a LayerNormalization over feature axes, whose token inputs all have the output's [batch, seq, ...]
 * shape and whose other inputs broadcast over features only (size 1, or absent, on the batch and seq axes).
 */
function rowWiseNode(n: Node, info: ShapeInfo, isToken: (v: string) => boolean): boolean {
  if (n.domain !== '' && n.domain !== 'ai.onnx') return false;
  const out = n.outputs[0];
  const outShape = out ? info.types.get(out)?.shape : undefined;
  // Feature dims must be static: values read outside the region are scattered back into zeros of that shape.
  if (!out || !isToken(out) || outShape === undefined || outShape.slice(2).some((d) => typeof d !== 'number'))
    return false;
  if (n.outputs.some((o) => o !== '' && !isToken(o))) return false;
  const rank = outShape.length;
  const sameAsOut = (v: string) => {
    const s = info.types.get(v)?.shape;
    return s !== undefined && s.length === rank && s.every((d, i) => d === outShape[i]);
  };
  const featureOnly = (v: string) => {
    const s = info.types.get(v)?.shape;
    if (s === undefined || s.length > rank) return false;
    const lead = rank - s.length;
    return s.every((d, j) => j + lead >= 2 || d === 1);
  };
  const inputs = n.inputs.filter((i) => i !== '');
  if (n.opType === 'MatMul') {
    const x = info.types.get(n.inputs[0]!)?.shape;
    const w = info.types.get(n.inputs[1]!)?.shape;
    return isToken(n.inputs[0]!) && x?.length === rank && !isToken(n.inputs[1]!) && w?.length === 2;
  }
  const tokens = inputs.filter(isToken);
  if (tokens.length === 0 || !tokens.every(sameAsOut)) return false;
  if (!inputs.every((i) => isToken(i) || featureOnly(i))) return false;
  if (opSpec(n)?.elementwise) return true;
  if (n.opType === 'LayerNormalization') {
    const axis = getInt(n.attributes, 'axis', -1);
    return isToken(n.inputs[0]!) && (axis < 0 ? axis + rank : axis) >= 2;
  }
  return false;
}

/** Whether reader c takes the first position of value v: Gather(v, 0, axis=1), as BERT's pooler does. */
function firstTokenPick(g: Graph, c: Node, v: string, prod: Map<string, Node>): boolean {
  if (c.opType !== 'Gather' || c.inputs[0] !== v || getInt(c.attributes, 'axis', 0) !== 1) return false;
  const idx = c.inputs[1]!;
  const p = prod.get(idx);
  const t = g.initializers.get(idx) ?? (p?.opType === 'Constant' ? constantValue(p) : undefined);
  return t !== undefined && t.dims.length === 0 && toNumbers(t)[0] === 0;
}
