import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchesFile, evenlySpaced, readBatchesFile, syntheticBatch } from '../src/batches.js';
import { BERT_BASE, forwardFlops, parameterCount, trainingFlops, VOCAB_SIZE } from '../src/geometry.js';

describe('syntheticBatch', () => {
  const b = syntheticBatch(3, 10, 7);

  it('is a [CLS] a [SEP] b [SEP] pair batch without padding', () => {
    expect(b.dims).toEqual([3, 10]);
    for (let r = 0; r < 3; r++) {
      const ids = Array.from(b.inputIds.subarray(r * 10, r * 10 + 10), Number);
      expect(ids[0]).toBe(101);
      expect(ids[5]).toBe(102);
      expect(ids[9]).toBe(102);
      for (const id of ids) expect(id).toBeLessThan(VOCAB_SIZE);
      expect(Array.from(b.tokenTypeIds.subarray(r * 10, r * 10 + 10), Number)).toEqual([
        0, 0, 0, 0, 0, 0, 1, 1, 1, 1,
      ]);
    }
    expect(b.attentionMask.every((m) => m === 1n)).toBe(true);
    for (const l of b.labels as BigInt64Array) expect([0n, 1n]).toContain(l);
  });

  it('is deterministic in its seed', () => {
    expect(syntheticBatch(3, 10, 7).inputIds).toEqual(b.inputIds);
    expect(syntheticBatch(3, 10, 8).inputIds).not.toEqual(b.inputIds);
  });

  it('rejects shapes that cannot hold a pair', () => {
    expect(() => syntheticBatch(0, 10)).toThrow(/batch size/);
    expect(() => syntheticBatch(1, 2)).toThrow(/sequence length/);
  });

  it('serializes for the PyTorch script as plain numbers', () => {
    const f = batchesFile([b]);
    expect(f.batches[0]!.dims).toEqual([3, 10]);
    expect(f.batches[0]!.input_ids).toEqual(Array.from(b.inputIds, Number));
    expect(f.batches[0]!.labels).toEqual(Array.from(b.labels as BigInt64Array, Number));
  });
});

describe('readBatchesFile', () => {
  it('reads back the batches a batches file was written from', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ortrain-bench-batches-'));
    try {
      const file = join(dir, 'b.json');
      const batches = [syntheticBatch(2, 8, 1), syntheticBatch(3, 5, 2)];
      writeFileSync(file, JSON.stringify(batchesFile(batches)));
      expect(readBatchesFile(file)).toEqual(batches);
      const broken = batchesFile(batches);
      broken.batches[1]!.token_type_ids.pop();
      writeFileSync(file, JSON.stringify(broken));
      expect(() => readBatchesFile(file)).toThrow(`${file}: batch 1: token_type_ids has 14 ids, dims say 15`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('evenlySpaced', () => {
  it('spreads a sample over the whole epoch', () => {
    expect(evenlySpaced(459, 4)).toEqual([57, 172, 286, 401]);
    expect(evenlySpaced(3, 5)).toEqual([0, 1, 2]);
  });
});

describe('parameterCount', () => {
  it("matches transformers' BertForSequenceClassification (bert-base-uncased, 2 labels)", () => {
    expect(parameterCount(BERT_BASE)).toBe(109_483_778);
  });
});

describe('forwardFlops', () => {
  it('counts 2 FLOPs per weight per token plus the attention products, the last layer after attention on [CLS]', () => {
    // BERT-base at 8 x 128: Q, K, V for all 1024 tokens in every layer; attention output and feed-forward for
    // 1024 tokens in 11 layers and 8 in the last; 4 x 8 x 128^2 x 768 attention per layer; pooler, classifier.
    const qkv = 3 * 768 * 768;
    const rest = 768 * 768 + 2 * 768 * 3072;
    const expected =
      12 * (2 * 1024 * qkv + 4 * 8 * 128 * 128 * 768) +
      2 * (11 * 1024 + 8) * rest +
      2 * 8 * (768 * 768 + 768 * 2);
    expect(forwardFlops(BERT_BASE, 8, 128)).toBe(expected);
    expect(forwardFlops(BERT_BASE, 8, 128) / 1e9).toBeCloseTo(168, 0);
    expect(trainingFlops(BERT_BASE, 8, 128)).toBe(3 * expected);
    // Padding costs only attention: 600 real tokens of an 8 x 128 grid.
    expect(forwardFlops(BERT_BASE, 8, 128, 600)).toBe(expected - 2 * 424 * 12 * qkv - 2 * 424 * 11 * rest);
  });
});
