import { describe, expect, it } from 'vitest';
import { feed, modelOf, run } from '../../test/helpers.js';
import {
  attr,
  broadcastShapes,
  constantsToInitializers,
  eliminateIdentities,
  emptyGraph,
  GraphBuilder,
  inferShapes,
  prune,
  tensor,
  topoSort,
} from '../index.js';

function sample() {
  const g = emptyGraph('p');
  const b = new GraphBuilder(g);
  b.addInput({ name: 'x', type: { dataType: 'float32', shape: ['n', 2] } });
  const w = b.initializer(tensor('w', 'float32', [2], [2, 3]));
  const c = b.op1('Constant', [], { value: attr.tensor(tensor('c', 'float32', [1], [1])) });
  const shared = b.op1('Identity', [w]);
  const y = b.op1('Add', [b.op1('Mul', ['x', shared]), c]);
  b.op1('Neg', ['x']); // dead
  b.addOutput({ name: y });
  return { g, y };
}

describe('passes', () => {
  it('constants -> initializers, identity elimination and pruning keep the results', async () => {
    const { g, y } = sample();
    const x = tensor('x', 'float32', [1, 2], [1, 1]);
    const before = await run(modelOf(g), feed(x));
    constantsToInitializers(g);
    eliminateIdentities(g);
    prune(g);
    expect(g.nodes.map((n) => n.opType)).toEqual(['Mul', 'Add']);
    expect(g.nodes[0]!.inputs).toEqual(['x', 'w']);
    expect(await run(modelOf(g), feed(x))).toEqual(before);
    expect(before[y]).toEqual([3, 4]);
  });

  it('topoSort orders shuffled nodes and reports cycles', async () => {
    const { g } = sample();
    g.nodes.reverse();
    topoSort(g);
    const seen = new Set(['x', 'w']);
    for (const n of g.nodes) {
      for (const i of n.inputs) expect(seen.has(i)).toBe(true);
      for (const o of n.outputs) seen.add(o);
    }
    const mul = g.nodes.find((n) => n.opType === 'Mul')!;
    mul.inputs = ['x', g.nodes.find((n) => n.opType === 'Add')!.outputs[0]!];
    expect(() => topoSort(g)).toThrow(/cycle/);
  });

  it('infers symbolic shapes through Shape -> Gather -> Concat -> Reshape chains', () => {
    const g = emptyGraph('s');
    const b = new GraphBuilder(g);
    b.addInput({ name: 'x', type: { dataType: 'float32', shape: ['batch', 'seq', 8] } });
    const s = b.op1('Shape', ['x']);
    const batch = b.unsqueeze(b.op1('Gather', [s, b.initializer(tensor('i0', 'int64', [], [0]))]), [0]);
    const r = b.op1('Reshape', ['x', b.op1('Concat', [batch, b.ints([-1, 2, 4])], { axis: attr.int(0) })]);
    const t = b.op1('Transpose', [r], { perm: attr.ints([0, 2, 1, 3]) });
    expect(inferShapes(g).types.get(t)?.shape).toEqual(['batch', 2, null, 4]);
  });

  it('gives Range(0, n, 1) the symbol of n, and a number for constant bounds', () => {
    const g = emptyGraph('r');
    const b = new GraphBuilder(g);
    b.addInput({ name: 'ids', type: { dataType: 'int64', shape: ['batch', 'seq'] } });
    const i = (name: string, v: number) => b.initializer(tensor(name, 'int64', [], [v]));
    const seq = b.op1('Gather', [b.op1('Shape', ['ids']), i('one', 1)], { axis: attr.int(0) });
    const positions = b.op1('Range', [i('zero', 0), seq, i('step', 1)]);
    const evens = b.op1('Range', [i('two', 2), i('eleven', 11), i('by2', 2)]);
    const odd = b.op1('Range', [i('start', 1), seq, i('step1', 1)]);
    const info = inferShapes(g);
    expect(info.types.get(positions)?.shape).toEqual(['seq']);
    expect(info.types.get(evens)?.shape).toEqual([5]);
    // 1..seq has seq - 1 elements: no symbol for that.
    expect(info.types.get(odd)?.shape).toEqual([null]);
  });

  it("gives Expand to a computed shape that shape's length as rank (RoBERTa's token-type buffer)", () => {
    const g = emptyGraph('e');
    const b = new GraphBuilder(g);
    b.addInput({ name: 'row', type: { dataType: 'int64', shape: [1, null] } });
    b.addInput({ name: 'target', type: { dataType: 'int64', shape: [2] } }); // values unknown
    const y = b.op1('Expand', ['row', 'target']);
    expect(inferShapes(g).types.get(y)?.shape).toEqual([null, null]);
  });
});

describe('broadcastShapes', () => {
  it('keeps an unknown dim unknown instead of treating it as 1', () => {
    expect(broadcastShapes([[null, 4], [4]])).toEqual([null, 4]);
    expect(broadcastShapes([[null], [1]])).toEqual([null]);
    expect(broadcastShapes([['S'], ['T']])).toEqual([null]);
    expect(
      broadcastShapes([
        [null, 1],
        [1, 4],
      ]),
    ).toEqual([null, 4]);
  });

  it('pads missing leading axes with 1 and prefers a known size', () => {
    expect(
      broadcastShapes([
        ['B', 1, 1, 'S'],
        ['B', 12, 'S', 'S'],
      ]),
    ).toEqual(['B', 12, 'S', 'S']);
    expect(broadcastShapes([[768], ['B', 'S', 768]])).toEqual(['B', 'S', 768]);
    // A valid graph broadcasts an unknown dim against S only when it is 1 or S: either way the result is S.
    expect(
      broadcastShapes([
        [1, null, 32],
        ['B', 'S', 32],
      ]),
    ).toEqual(['B', 'S', 32]);
    expect(
      broadcastShapes([
        [1, 'S'],
        [3, 1],
      ]),
    ).toEqual([3, 'S']);
  });
});
