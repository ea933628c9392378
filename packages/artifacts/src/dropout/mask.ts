import { attr, type Graph, GraphBuilder, type Node, toNumbers, topoSort } from '@ortrain/graph';

/** The per-run int64 scalar the training graphs draw their dropout masks from (see {@link seedDropout}). */
export const DROPOUT_SEED = 'dropout_seed';

const UINT32 = 12;
/** 2^32 / golden ratio: consecutive sites' keys start far apart. */
const GOLDEN = 0x9e3779b9;

/**
 * Replaces the training-mode Dropout nodes of `g` (as insertDropout writes them, after token packing has moved
 * them) by a counter-based mask in standard ops, so that the masks are a function of the `dropout_seed` input
 * and nothing else: the same seed gives the same masks, in any session, on any run.
 *
 * A site's value is seen as [rows, cols] (cols its last axis). Each row r and each column c gets a 32-bit hash,
 * a_r and b_c, of its index under keys derived from the seed and the site number (cheap: vectors); element
 * (r, c) takes y = (a_r + b_c)^2 mod 2^32 and is kept when y < round((1 - ratio) * 2^32). The squaring is what
 * makes elements sharing a row or a column independent (a sum alone would tie every rectangle of elements);
 * integer XOR needs opset 18, so the hashes square and fold instead. The test checks the keep rate,
 * neighbours, rows, rectangles, sites and seeds. Three full-size integer passes per site (add, square,
 * compare). The output is `Where(keep, x * 1/(1 - ratio), 0)`, the form the autodiff recomputes from x and the
 * boolean mask, as it did for Dropout, so the backward holds the same tensors. Returns the number replaced.
 */
export function seedDropout(g: Graph): number {
  const dropouts = g.nodes.filter(
    (n) => n.opType === 'Dropout' && n.inputs[2] !== undefined && scalarOf(g, n.inputs[2]) === 1,
  );
  if (dropouts.length === 0) return 0;
  const b = new GraphBuilder(g);
  b.addInput({ name: DROPOUT_SEED, type: { dataType: 'int64', shape: [] } });
  const u32 = (v: number) => b.scalar(v >>> 0, 'uint32');
  const toU32 = (v: string) => b.op1('Cast', [v], { to: attr.int(UINT32) });
  // The run's key from both halves of the seed (the trainer puts args.seed high, the micro-batch low).
  const high = toU32(b.op1('Div', [DROPOUT_SEED, b.scalar(2 ** 32, 'int64')]));
  const run = mix(b, b.op1('Add', [mix(b, high), toU32(DROPOUT_SEED)]));
  dropouts.forEach((n, site) => {
    const key = (salt: number) => mix(b, b.op1('Add', [run, u32(Math.imul(4 * site + salt, GOLDEN))]));
    const ratio = scalarOf(g, n.inputs[1]!)!;
    const x = n.inputs[0]!;
    const keep = keepMask(
      b,
      x,
      [key(1), key(2), key(3), key(4)],
      u32(Math.min(Math.round((1 - ratio) * 2 ** 32), 2 ** 32 - 1)),
    );
    const scaled = b.op1('Mul', [x, b.scalar(1 / (1 - ratio), 'float32')]);
    b.op('Where', [keep, scaled, b.scalar(0, 'float32')], {}, { outputs: [n.outputs[0]!] });
  });
  const lowered = new Set<Node>(dropouts);
  g.nodes = g.nodes.filter((n) => !lowered.has(n));
  topoSort(g);
  return dropouts.length;
}

/** Whether each element of x is kept: (a_r + b_c)^2 < threshold, reshaped to x's shape. */
function keepMask(b: GraphBuilder, x: string, keys: string[], threshold: string): string {
  const cols = b.op1('Shape', [x], { start: attr.int(-1) });
  const rows = b.reduce('ReduceProd', b.op1('Shape', [x], { end: attr.int(-1) }), [0], true);
  /** hash(i) for i in [0, n): scramble(i * k1 + k2), k1 odd. */
  const hashes = (n: string, k1: string, k2: string) => {
    const range = b.op1('Range', [b.scalar(0, 'int64'), b.squeeze(n, [0]), b.scalar(1, 'int64')]);
    const odd = b.op1('Add', [b.op1('Mul', [k1, b.scalar(2, 'uint32')]), b.scalar(1, 'uint32')]);
    const index = b.op1('Cast', [range], { to: attr.int(UINT32) });
    return scramble(b, b.op1('Add', [b.op1('Mul', [index, odd]), k2]));
  };
  const [k1, k2, k3, k4] = keys as [string, string, string, string];
  const y = b.op1('Add', [b.unsqueeze(hashes(rows, k1, k2), [1]), hashes(cols, k3, k4)]);
  const draw = b.op1('Mul', [y, y]);
  return b.op1('Reshape', [b.op1('Less', [draw, threshold]), b.op1('Shape', [x])]);
}

/** Two rounds of y = y * y; y += y >> 16 (uint32): squarings for the non-linearity, folds for the low bits. */
function scramble(b: GraphBuilder, v: string): string {
  let y = v;
  for (let round = 0; round < 2; round++) {
    const square = b.op1('Mul', [y, y]);
    y = b.op1('Add', [square, b.op1('BitShift', [square, b.scalar(16, 'uint32')], SHIFT_RIGHT)]);
  }
  return y;
}

const SHIFT_RIGHT = { direction: attr.string('RIGHT') };

/** A scalar uint32 mixer for the keys. */
function mix(b: GraphBuilder, v: string): string {
  const m = b.op1('Mul', [v, b.scalar(0x85ebca6b, 'uint32')]);
  return scramble(b, b.op1('Add', [m, b.scalar(0x7f4a7c15, 'uint32')]));
}

function scalarOf(g: Graph, name: string): number | undefined {
  const t = g.initializers.get(name);
  return t !== undefined && t.dims.length === 0 ? toNumbers(t)[0] : undefined;
}
