import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  loadGlueFromDir,
  loadTokenized,
  TextTokenizer,
  tokenizeDataset,
  tokenizeDatasetCached,
} from '../src/index.js';

const FIX = join(import.meta.dirname, 'fixtures');
const tmp = mkdtempSync(join(tmpdir(), 'ortrain-tokd-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

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

  it('caches a split on disk and loads the same arrays back', async () => {
    const ds = await loadGlueFromDir(join(FIX, 'glue'), 'mrpc', 'train');
    const tok = await TextTokenizer.fromPretrained(join(FIX, 'tiny-bert'));
    const cacheDir = join(tmp, 'cache');
    const first = await tokenizeDatasetCached(ds, tok, { cacheDir, maxSeqLength: 16 });
    expect(readdirSync(cacheDir)).toHaveLength(1);
    const fromFile = await loadTokenized(join(cacheDir, readdirSync(cacheDir)[0]!));
    const again = await tokenizeDatasetCached(ds, tok, { cacheDir, maxSeqLength: 16 });
    for (const loaded of [fromFile, again]) {
      for (const key of [
        'inputIds',
        'tokenTypeIds',
        'offsets',
        'labels',
        'idx',
        'maxLength',
        'padTokenId',
      ] as const) {
        expect(loaded[key]).toEqual(first[key]);
      }
      expect(loaded.length(3)).toBe(first.length(3));
    }
    expect(readdirSync(cacheDir)).toHaveLength(1);
    await tokenizeDatasetCached(ds, tok, { cacheDir, maxSeqLength: 20 });
    expect(readdirSync(cacheDir)).toHaveLength(2);
    const unlabeled = await tokenizeDatasetCached(
      await loadGlueFromDir(join(FIX, 'glue'), 'mrpc', 'test'),
      tok,
      { cacheDir },
    );
    expect(unlabeled.labels).toBeNull();
    writeFileSync(join(tmp, 'junk.ortok'), 'nope');
    await expect(loadTokenized(join(tmp, 'junk.ortok'))).rejects.toThrow(/not an ortrain tokenized file/);
  });
});
