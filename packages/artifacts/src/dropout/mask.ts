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
 * Each element's 32-bit draw hashes its flat index i within the site: y = i * k1 + k2 (k1 odd, both derived
 * from the seed and the site number), then y = y * y; y += y >> 16; y = y * y, and the element is kept when
 * y < round((1 - ratio) * 2^32). The squarings are what makes neighbours independent (a multiply-add-shift
 * chain without XOR, which opset 17 lacks for integers, stays nearly linear in i); the test checks the keep
 * rate, neighbours, strides, sites and seeds. The output is `Where(keep, x * 1/(1 - ratio), 0)`, the form the
 * autodiff recomputes from x and the boolean mask, as it did for Dropout, so the backward holds the same
 * tensors. Returns the number of nodes replaced.
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
  const low = toU32(DROPOUT_SEED);
  const high = toU32(b.op1('Div', [DROPOUT_SEED, b.scalar(2 ** 32, 'int64')]));
  const run = mix(b, b.op1('Add', [mix(b, high), low]));
  dropouts.forEach((n, site) => {
    const a = mix(b, b.op1('Add', [run, u32(Math.imul(site + 1, GOLDEN))]));
    const k1 = b.op1('Add', [b.op1('Mul', [a, u32(2)]), u32(1)]);
    const k2 = mix(b, b.op1('Add', [a, u32(0x632be5ab)]));
    const ratio = scalarOf(g, n.inputs[1]!)!;
    const x = n.inputs[0]!;
    const keep = keepMask(b, x, k1, k2, u32(Math.round((1 - ratio) * 2 ** 32)));
    const scaled = b.op1('Mul', [x, b.scalar(1 / (1 - ratio), 'float32')]);
    b.op('Where', [keep, scaled, b.scalar(0, 'float32')], {}, { outputs: [n.outputs[0]!] });
  });
  const lowered = new Set<Node>(dropouts);
  g.nodes = g.nodes.filter((n) => !lowered.has(n));
  topoSort(g);
  return dropouts.length;
}

/** Whether each element of x is kept: the hash of its flat index (as [rows, last dim], reshaped to x's shape). */
function keepMask(b: GraphBuilder, x: string, k1: string, k2: string, threshold: string): string {
  const cols = b.op1('Shape', [x], { start: attr.int(-1) });
  const rows = b.reduce('ReduceProd', b.op1('Shape', [x], { end: attr.int(-1) }), [0], true);
  const index = (n: string) =>
    b.op1('Cast', [b.op1('Range', [b.scalar(0, 'int64'), b.squeeze(n, [0]), b.scalar(1, 'int64')])], {
      to: attr.int(UINT32),
    });
  // i * k1 + k2 = row * (cols * k1) + (col * k1 + k2): one full-size Add of a column and a row vector.
  const rowStep = b.op1('Mul', [b.op1('Cast', [cols], { to: attr.int(UINT32) }), k1]);
  const byRow = b.unsqueeze(b.op1('Mul', [index(rows), rowStep]), [1]);
  const byCol = b.op1('Add', [b.op1('Mul', [index(cols), k1]), k2]);
  const y = b.op1('Add', [byRow, byCol]);
  const square = b.op1('Mul', [y, y]);
  const folded = b.op1('Add', [square, b.op1('BitShift', [square, b.scalar(16, 'uint32')], SHIFT_RIGHT)]);
  const draw = b.op1('Mul', [folded, folded]);
  return b.op1('Reshape', [b.op1('Less', [draw, threshold]), b.op1('Shape', [x])]);
}

const SHIFT_RIGHT = { direction: attr.string('RIGHT') };

/** A scalar uint32 mixer for the keys (the element hash's rounds, twice, after a multiply-add). */
function mix(b: GraphBuilder, v: string): string {
  let y = b.op1('Add', [b.op1('Mul', [v, b.scalar(0x85ebca6b, 'uint32')]), b.scalar(0x7f4a7c15, 'uint32')]);
  for (let round = 0; round < 2; round++) {
    const square = b.op1('Mul', [y, y]);
    y = b.op1('Add', [square, b.op1('BitShift', [square, b.scalar(16, 'uint32')], SHIFT_RIGHT)]);
  }
  return y;
}

function scalarOf(g: Graph, name: string): number | undefined {
  const t = g.initializers.get(name);
  return t !== undefined && t.dims.length === 0 ? toNumbers(t)[0] : undefined;
}
