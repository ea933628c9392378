import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  asTokenized,
  loadDatasetFile,
  loadGlueFromDir,
  TextTokenizer,
  tokenizeBatch,
  tokenizeDataset,
} from '../src/index.js';

const FIX = join(import.meta.dirname, 'fixtures');

describe('tokenizeDataset', () => {
  it('packs rows back to back with offsets; each row equals encode(a, b)', async () => {
    const ds = await loadGlueFromDir(join(FIX, 'glue'), 'stsb', 'train');
    const tok = await TextTokenizer.fromPretrained(join(FIX, 'tiny-bert'));
    const t = tokenizeDataset(ds, tok, { maxSeqLength: 12 });
    expect(t.inputIds).toBeInstanceOf(Uint16Array);
    expect(t.tokenTypeIds).toBeInstanceOf(Uint8Array);
    expect(t.offsets[0]).toBe(0);
    expect(t.offsets[t.numRows]).toBe(t.inputIds.length);
    for (let i = 0; i < t.numRows; i++) {
      const enc = tok.encode(ds.texts[0]![i]!, ds.texts[1]![i]!, 12);
      const s = t.offsets[i]!;
      expect(t.length(i)).toBe(enc.inputIds.length);
      expect(Array.from(t.inputIds.subarray(s, s + t.length(i)))).toEqual(enc.inputIds);
      expect(Array.from(t.tokenTypeIds.subarray(s, s + t.length(i)))).toEqual(enc.tokenTypeIds);
    }
    expect(t.labels).toEqual(Float32Array.of(5, 3.8));
    expect(() => tokenizeDataset(ds, tok, { maxSeqLength: 3 })).toThrow(/leaves no room for text/);
  });

  it('is a batched map: a user CSV with string labels tokenizes like encode(text)', async () => {
    const tok = await TextTokenizer.fromPretrained(join(FIX, 'tiny-bert'));
    const raw = (await loadDatasetFile(join(FIX, 'user', 'train.csv'))).classEncodeColumn('label');
    const mapped = raw.map(tokenizeBatch(tok, { textColumns: ['text'], maxSeqLength: 8 }), {
      batched: true,
      batchSize: 3,
    });
    expect(mapped.columnNames).toEqual(['text', 'label', 'input_ids', 'token_type_ids']);
    const t = asTokenized(mapped, { maxLength: 8, padTokenId: tok.padTokenId });
    const direct = tokenizeDataset(raw, tok, { textColumns: ['text'], maxSeqLength: 8 });
    expect(direct.inputIds).toEqual(t.inputIds);
    expect(t.numRows).toBe(4);
    for (let i = 0; i < t.numRows; i++) {
      const enc = tok.encode((raw.column('text') as string[])[i]!, undefined, 8);
      expect(Array.from(t.inputIds.subarray(t.offsets[i]!, t.offsets[i + 1]!))).toEqual(enc.inputIds);
    }
    expect(t.labels).toEqual(Int32Array.of(2, 0, 1, 2));
    expect(t.numLabels).toBe(3);
    expect(t.idx).toEqual(Int32Array.of(0, 1, 2, 3));
    expect(() => asTokenized(raw, { maxLength: 8, padTokenId: 0 })).toThrow(
      'no column "input_ids" (columns: text, label)',
    );
    const unencoded = (await loadDatasetFile(join(FIX, 'user', 'train.csv'))).map(
      tokenizeBatch(tok, { textColumns: ['text'] }),
      { batched: true },
    );
    expect(() => asTokenized(unencoded, { maxLength: 8, padTokenId: 0 })).toThrow(
      'classEncodeColumn or castColumn it first',
    );
  });

  it('keeps an unlabeled GLUE split unlabeled, with its class count', async () => {
    const tok = await TextTokenizer.fromPretrained(join(FIX, 'tiny-bert'));
    const t = tokenizeDataset(await loadGlueFromDir(join(FIX, 'glue'), 'mrpc', 'test'), tok);
    expect(t.labels).toBeNull();
    expect(t.numLabels).toBe(2);
  });
});
