import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bertTokenizerJsonFromVocab,
  DataCollatorWithPadding,
  loadGlueFromDir,
  RandomSampler,
  TextTokenizer,
  type TokenizedDataset,
  tokenizeDataset,
} from '../src/index.js';

const FIX = join(import.meta.dirname, 'fixtures');

/** A TokenizedDataset from explicit rows, to test the collator on its own. */
function fromRows(
  rows: number[][],
  labels: Int32Array | Float32Array | null,
  padTokenId = 0,
): TokenizedDataset {
  const offsets = new Uint32Array(rows.length + 1);
  rows.forEach((r, i) => {
    offsets[i + 1] = offsets[i]! + r.length;
  });
  return {
    numRows: rows.length,
    inputIds: Int32Array.from(rows.flat()),
    tokenTypeIds: Uint8Array.from(rows.flatMap((r) => r.map((_, t) => (t >= r.length / 2 ? 1 : 0)))),
    offsets,
    labels,
    idx: Int32Array.from(rows, (_, i) => i),
    numLabels: 2,
    maxLength: 512,
    padTokenId,
    length: (i) => offsets[i + 1]! - offsets[i]!,
  };
}

describe('DataCollatorWithPadding', () => {
  it('pads to the longest row with the pad id, mask 0 and type 0, as int64', () => {
    const ds = fromRows(
      [
        [101, 7, 102],
        [101, 8, 9, 10, 102],
        [101, 102],
      ],
      Int32Array.of(1, 0, 1),
      3,
    );
    const b = new DataCollatorWithPadding().collate(ds, [2, 0, 1]);
    expect(b.dims).toEqual([3, 5]);
    expect(Array.from(b.inputIds, Number)).toEqual([
      101, 102, 3, 3, 3, 101, 7, 102, 3, 3, 101, 8, 9, 10, 102,
    ]);
    expect(Array.from(b.attentionMask, Number)).toEqual([1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1]);
    expect(Array.from(b.tokenTypeIds, Number)).toEqual([0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1]);
    expect(b.labels).toEqual(BigInt64Array.of(1n, 1n, 0n));
    expect(b.rows).toEqual(Int32Array.of(2, 0, 1));
  });

  it('new DataCollatorWithPadding(tokenizer) pads with the tokenizer pad id, options as second argument', () => {
    const ds = fromRows(
      [
        [101, 7, 102],
        [101, 102],
      ],
      null,
      3,
    );
    const tokenizer = new TextTokenizer({
      tokenizer: bertTokenizerJsonFromVocab(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'w'].join('\n')),
      config: { pad_token: '[MASK]' },
    });
    expect(tokenizer.padTokenId).toBe(4);
    const b = new DataCollatorWithPadding(tokenizer, { padToMultipleOf: 4 }).collate(ds, [1, 0]);
    expect(b.dims).toEqual([2, 4]);
    expect(Array.from(b.inputIds, Number)).toEqual([101, 102, 4, 4, 101, 7, 102, 4]);
    expect(Array.from(b.attentionMask, Number)).toEqual([1, 1, 0, 0, 1, 1, 1, 0]);
    expect(() => new DataCollatorWithPadding(tokenizer, { padToMultipleOf: 0 })).toThrow(/padToMultipleOf/);
  });

  it('rounds up to padToMultipleOf, keeps float32 regression labels and null for unlabeled', () => {
    const reg = fromRows([[1, 2, 3]], Float32Array.of(3.8));
    const b = new DataCollatorWithPadding({ padToMultipleOf: 8 }).collate(reg, [0]);
    expect(b.dims).toEqual([1, 8]);
    expect(b.labels).toEqual(Float32Array.of(3.8));
    expect(new DataCollatorWithPadding().collate(fromRows([[1]], null), [0]).labels).toBeNull();
    expect(() => new DataCollatorWithPadding().collate(reg, [1])).toThrow(/row 1 out of range \[0, 1\)/);
    expect(() => new DataCollatorWithPadding({ padToMultipleOf: 0 })).toThrow(/padToMultipleOf/);
  });

  it('agrees with a plain BigInt-per-element padding on random batches', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 0, max: 70000 }), { minLength: 1, maxLength: 40 }), {
          minLength: 1,
          maxLength: 9,
        }),
        fc.integer({ min: 1, max: 16 }),
        (rows, multiple) => {
          const ds = fromRows(
            rows,
            Int32Array.from(rows, (_, i) => i % 2),
            5,
          );
          const b = new DataCollatorWithPadding({ padToMultipleOf: multiple }).collate(
            ds,
            rows.map((_, i) => i),
          );
          const seq = Math.ceil(Math.max(...rows.map((r) => r.length)) / multiple) * multiple;
          const pad = (r: number[], v: number) =>
            [...r, ...new Array<number>(seq - r.length).fill(v)].map(BigInt);
          expect(b.dims).toEqual([rows.length, seq]);
          expect(Array.from(b.inputIds)).toEqual(rows.flatMap((r) => pad(r, 5)));
          expect(Array.from(b.attentionMask)).toEqual(
            rows.flatMap((r) =>
              pad(
                r.map(() => 1),
                0,
              ),
            ),
          );
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('whole path on package fixtures: TSV -> tokenizer -> sampler -> collator', () => {
  it('MRPC fixture batches carry the reference ids of each pair', async () => {
    const ds = await loadGlueFromDir(join(FIX, 'glue'), 'mrpc', 'train');
    const tok = await TextTokenizer.fromPretrained(join(FIX, 'tiny-bert'));
    const tokenized = tokenizeDataset(ds, tok, { maxSeqLength: 20 });
    expect(tokenized.inputIds).toBeInstanceOf(Uint16Array);
    // Row 3 of the fixture is case 4 of the Python reference (same texts, max_length 20).
    const ref = (
      JSON.parse(readFileSync(join(FIX, 'tiny-bert-expected.json'), 'utf8')) as { input_ids: number[] }[]
    )[4]!;
    const sampler = new RandomSampler(ds.numRows, { batchSize: 3, seed: 42 });
    const collator = new DataCollatorWithPadding({ padToMultipleOf: 4 });
    const seen: number[] = [];
    for (const rows of sampler.batches(0)) {
      const b = collator.collate(tokenized, rows);
      expect(b.dims[1] % 4).toBe(0);
      expect(b.dims[1]).toBeLessThanOrEqual(20);
      for (let r = 0; r < rows.length; r++) {
        const row = rows[r]!;
        seen.push(row);
        const len = tokenized.length(row);
        const ids = Array.from(b.inputIds.subarray(r * b.dims[1], r * b.dims[1] + len), Number);
        expect(ids).toEqual(tok.encode(ds.texts[0]![row]!, ds.texts[1]![row]!, 20).inputIds);
        if (row === 3) expect(ids).toEqual(ref.input_ids);
        expect(b.labels![r]).toBe(BigInt(ds.labels![row]!));
      }
    }
    expect(seen.sort()).toEqual([0, 1, 2, 3]);
  });
});
