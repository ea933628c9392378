import {
  attr,
  dataTypeCode,
  type Graph,
  GraphBuilder,
  inferShapes,
  type Node,
  producers,
  toNumbers,
  topoSort,
} from '@ortrain/graph';

/** The per-run int64 scalar the training graphs draw their dropout masks from (see {@link seedDropout}). */
export const DROPOUT_SEED = 'dropout_seed';

const UINT32 = 12;
const INT32 = 6;
/** 2^32 / golden ratio: consecutive sites' keys start far apart. */
const GOLDEN = 0x9e3779b9;

/**
 * Replaces the training-mode Dropout nodes of `g` (as insertDropout writes them, after token packing has moved
 * them and autodiff has differentiated them) by a counter-based mask in standard ops, so that the masks are a
 * function of the `dropout_seed` input and nothing else: the same seed gives the same masks, in any session, on
 * any run.
 *
 * A site's value is seen as [rows, cols] (cols its last axis). Each row r and each column c gets a 32-bit hash,
 * a_r and b_c, of its index under keys derived from the seed and the site number (cheap: vectors); element
 * (r, c) takes y = (a_r + b_c)^2 mod 2^32 and is kept when y < round((1 - ratio) * 2^32). The squaring is what
 * makes elements sharing a row or a column independent (a sum alone would tie every rectangle of elements).
 * Only ops that the WebGPU execution provider has kernels for (uint32 Add, Mul, Div, Less; Cast; Reshape): no
 * BitShift. The test checks the keep rate, neighbours, rows, rectangles, sites and seeds.
 *
 * The output is (x * Cast(keep)) * 1/(1 - ratio): no Where, which ONNX Runtime's CPU EP runs at about three
 * times the cost of a Mul; the scale last, which ONNX Runtime folds into a product reading the output
 * (attention's probabilities times V). Run after autodiff, the Dropout's mask output (which the backward
 * reads, see the Dropout gradient rule) becomes the keep mask reshaped like x; the forward casts the unreshaped
 * one, so that ONNX Runtime's CSE does not merge it with the backward's cast and keep a float mask alive
 * between the passes. Returns the number replaced.
 */
export function seedDropout(g: Graph): number {
  const prod = producers(g);
  const dropouts = g.nodes.filter(
    (n) => n.opType === 'Dropout' && n.inputs[2] !== undefined && constantOf(g, prod, n.inputs[2]) === 1,
  );
  if (dropouts.length === 0) return 0;
  const types = inferShapes(g).types;
  const b = new GraphBuilder(g);
  addDropoutSeed(g);
  const u32 = (v: number) => b.scalar(v >>> 0, 'uint32');
  const toU32 = (v: string) => b.op1('Cast', [v], { to: attr.int(UINT32) });
  // The run's key from both halves of the seed (the trainer puts args.seed high, the micro-batch low).
  const high = toU32(b.op1('Div', [DROPOUT_SEED, b.scalar(2 ** 32, 'int64')]));
  const run = mix(b, b.op1('Add', [mix(b, high), toU32(DROPOUT_SEED)]));
  const keys = siteKeys(b, run, dropouts.length);
  dropouts.forEach((n, site) => {
    const ratio = constantOf(g, prod, n.inputs[1]!)!;
    const x = n.inputs[0]!;
    const [y, mask] = n.outputs as [string, string | undefined];
    const dtype = types.get(x)?.dataType ?? 'float32';
    const threshold = u32(Math.min(Math.round((1 - ratio) * 2 ** 32), 2 ** 32 - 1));
    const keep = keepMask(b, x, keys.slice(4 * site, 4 * site + 4), threshold);
    const shape = b.op1('Shape', [x]);
    const cast = b.op1('Cast', [keep], { to: attr.int(dataTypeCode(dtype)) });
    const kept = b.op1('Mul', [x, b.op1('Reshape', [cast, shape])]);
    b.op('Mul', [kept, b.scalar(1 / (1 - ratio), dtype)], {}, { outputs: [y] });
    if (mask) b.op('Reshape', [keep, shape], {}, { outputs: [mask] });
  });
  const lowered = new Set<Node>(dropouts);
  g.nodes = g.nodes.filter((n) => !lowered.has(n));
  topoSort(g);
  return dropouts.length;
}

/** Declares the `dropout_seed` input, unless there (compileArtifacts declares it where the contract has it). */
export function addDropoutSeed(g: Graph): void {
  if (g.inputs.some((v) => v.name === DROPOUT_SEED)) return;
  new GraphBuilder(g).addInput({ name: DROPOUT_SEED, type: { dataType: 'int64', shape: [] } });
}

/** Whether each element of x, seen as [rows, cols], is kept: (a_r + b_c)^2 < threshold. */
function keepMask(b: GraphBuilder, x: string, keys: string[], threshold: string): string {
  const cols = b.op1('Shape', [x], { start: attr.int(-1) });
  const rows = b.reduce('ReduceProd', b.op1('Shape', [x], { end: attr.int(-1) }), [0], true);
  /** hash(i) for i in [0, n): scramble(i * k1 + k2), k1 odd. Range in int32, which the WebGPU EP has. */
  const hashes = (n: string, k1: string, k2: string) => {
    const count = b.op1('Cast', [b.squeeze(n, [0])], { to: attr.int(INT32) });
    const range = b.op1('Range', [b.scalar(0, 'int32'), count, b.scalar(1, 'int32')]);
    const index = b.op1('Cast', [range], { to: attr.int(UINT32) });
    return scramble(b, b.op1('Add', [b.op1('Mul', [index, k1]), k2]));
  };
  const [k1, k2, k3, k4] = keys as [string, string, string, string];
  const y = b.op1('Add', [b.unsqueeze(hashes(rows, k1, k2), [1]), hashes(cols, k3, k4)]);
  const draw = b.op1('Mul', [y, y]);
  return b.op1('Less', [draw, threshold]);
}

/**
 * Two rounds of y = y * y; y += y / 2^16 (uint32): squarings for the non-linearity, folds for the low bits
 * (the integer division is BitShift's right shift by 16, which the WebGPU EP lacks).
 */
function scramble(b: GraphBuilder, v: string): string {
  let y = v;
  for (let round = 0; round < 2; round++) {
    const square = b.op1('Mul', [y, y]);
    y = b.op1('Add', [square, b.op1('Div', [square, b.scalar(2 ** 16, 'uint32')])]);
  }
  return y;
}

/**
 * The four keys (k1, k2, k3, k4) of each of `sites` sites, mix(run + salt), k1 and k3 made odd, as one-element
 * tensors: computed as one vector and split, since hundreds of scalar ops cost more than the vector's work.
 */
function siteKeys(b: GraphBuilder, run: string, sites: number): string[] {
  const n = 4 * sites;
  const vector = (hint: string, f: (i: number) => number) =>
    b.constant(
      hint,
      'uint32',
      [n],
      Array.from({ length: n }, (_, i) => f(i) >>> 0),
    );
  const salts = vector('salts', (i) => Math.imul(4 * Math.floor(i / 4) + (i % 4) + 1, GOLDEN));
  const keys = mix(b, b.op1('Add', [run, salts]));
  // k -> 2k + 1 in the odd places (k1, k3), k elsewhere.
  const odd = b.op1('Add', [
    b.op1('Mul', [keys, vector('doubles', (i) => (i % 2 === 0 ? 2 : 1))]),
    vector('ones', (i) => (i % 2 === 0 ? 1 : 0)),
  ]);
  return b.split(odd, new Array<number>(n).fill(1), 0);
}

/** A uint32 mixer for the keys. */
function mix(b: GraphBuilder, v: string): string {
  const m = b.op1('Mul', [v, b.scalar(0x85ebca6b, 'uint32')]);
  return scramble(b, b.op1('Add', [m, b.scalar(0x7f4a7c15, 'uint32')]));
}

/** The value of a scalar initializer, or of a Cast of one (the autocast pass casts Dropout's ratio to half). */
function constantOf(g: Graph, prod: Map<string, Node>, name: string): number | undefined {
  const p = prod.get(name);
  const t = g.initializers.get(p?.opType === 'Cast' ? p.inputs[0]! : name);
  return t !== undefined && t.dims.length === 0 ? toNumbers(t)[0] : undefined;
}
