import { describe, expect, it } from 'vitest';
import { attr, buildGradients, emptyGraph, GraphBuilder } from '../index.js';
import { exposeOutputs } from './expose.js';

/** x -> Dropout(training) -> Dropout(no training input) -> LayerNormalization -> loss, no optional outputs. */
function forward() {
  const graph = emptyGraph('g');
  const b = new GraphBuilder(graph, '', 17);
  b.addInput({ name: 'x', type: { dataType: 'float32', shape: [2, 4] } });
  for (const name of ['s', 'bias']) b.addInput({ name, type: { dataType: 'float32', shape: [4] } });
  const ratio = b.scalar(0.1, 'float32');
  const training = b.constant('training', 'bool', [], [1]);
  const d1 = b.op1('Dropout', ['x', ratio, training]);
  const d2 = b.op1('Dropout', [d1]);
  const y = b.op1('LayerNormalization', [d2, 's', 'bias'], { axis: attr.int(-1) });
  const loss = b.reduce('ReduceSum', y, undefined, false);
  const [drop, inference, norm] = graph.nodes;
  return { b, graph, loss, drop: drop!, inference: inference!, norm: norm! };
}

describe('exposeOutputs', () => {
  it("adds the training Dropout's mask and LayerNorm's statistics, nothing else", () => {
    const { b, drop, inference, norm } = forward();
    exposeOutputs(b, [drop, inference, norm]);
    expect(drop.outputs).toHaveLength(2);
    expect(drop.outputs[1]).toMatch(/_mask/);
    expect(inference.outputs).toHaveLength(1);
    expect(norm.outputs).toHaveLength(3);
    expect(norm.outputs.slice(1).every((o) => o !== '')).toBe(true);
  });

  it('keeps outputs the exporter already named', () => {
    const { b, drop } = forward();
    drop.outputs[1] = 'my_mask';
    exposeOutputs(b, [drop]);
    expect(drop.outputs).toEqual([drop.outputs[0], 'my_mask']);
  });

  it('is the only change buildGradients makes to the forward nodes', () => {
    const { b, graph, loss } = forward();
    const before = graph.nodes.map((n) => structuredClone(n));
    buildGradients(b, { loss, wrt: ['x', 's', 'bias'] });
    for (const n of before) {
      const after = graph.nodes.find((m) => m.name === n.name)!;
      const added = after.outputs.slice(n.outputs.length);
      expect({ ...after, outputs: after.outputs.slice(0, n.outputs.length) }).toEqual(n);
      const expected = n.opType === 'LayerNormalization' ? 2 : n.opType === 'Dropout' && n.inputs[2] ? 1 : 0;
      expect(added).toHaveLength(expected);
    }
  });
});
