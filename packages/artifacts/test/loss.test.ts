import { emptyGraph, GraphBuilder, type Model } from '@ortrain/graph';
import { describe, expect, it } from 'vitest';
import { addCrossEntropy, addMse } from '../src/loss/loss.js';
import { f32, i64, session } from './helpers.js';

function lossModel(regression: boolean, numLabels: number): Model {
  const g = emptyGraph('loss');
  const b = new GraphBuilder(g);
  b.addInput({ name: 'logits', type: { dataType: 'float32', shape: ['batch', numLabels] } });
  b.addInput({ name: 'labels', type: { dataType: regression ? 'float32' : 'int64', shape: ['batch'] } });
  if (regression) addMse(b, 'logits', 'labels');
  else addCrossEntropy(b, 'logits', 'labels', numLabels);
  g.outputs = [{ name: 'loss' }];
  return {
    irVersion: 8,
    opsets: new Map([['', 17]]),
    producerName: 'test',
    producerVersion: '',
    graph: g,
    metadata: {},
  };
}

describe('losses', () => {
  it('cross-entropy is the batch mean of -log softmax at the label', async () => {
    const logits = [2, -1, 0.5, 0.1, 0.2, 3, -4, 10, 1];
    const labels = [0, 2, 1];
    const s = await session(lossModel(false, 3));
    const r = await s.run({ logits: f32(logits, [3, 3]), labels: i64(labels, [3]) });
    let expected = 0;
    for (let i = 0; i < 3; i++) {
      const row = logits.slice(3 * i, 3 * i + 3);
      const lse = Math.log(row.reduce((a, x) => a + Math.exp(x), 0));
      expected += (lse - row[labels[i]!]!) / 3;
    }
    expect((r['loss']!.data as Float32Array)[0]).toBeCloseTo(expected, 5);
  });

  it('MSE squeezes [batch, 1] logits and averages squared errors', async () => {
    const s = await session(lossModel(true, 1));
    const r = await s.run({ logits: f32([1, 2.5, -1], [3, 1]), labels: f32([0.5, 2.5, 1], [3]) });
    expect((r['loss']!.data as Float32Array)[0]).toBeCloseTo((0.25 + 0 + 4) / 3, 6);
  });
});
