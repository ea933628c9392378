import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  bertTokenizerJsonFromVocab,
  loadGlueFromDir,
  longestFirstLengths,
  TextTokenizer,
} from '../src/index.js';

const FIX = join(import.meta.dirname, 'fixtures');
const BERT = join(import.meta.dirname, '../../../../shared/tokenizers/bert-base-uncased');
const SHARED_GLUE = join(import.meta.dirname, '../../../../shared/glue');

interface Case {
  a: string;
  b: string | null;
  max_length: number;
  input_ids: number[];
  token_type_ids: number[];
}
const readCases = (file: string): Case[] => JSON.parse(readFileSync(join(FIX, file), 'utf8')) as Case[];

const tmp = mkdtempSync(join(tmpdir(), 'ortrain-tok-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function expectCases(tok: TextTokenizer, cases: Case[]): void {
  for (const c of cases) {
    const enc = tok.encode(c.a, c.b ?? undefined, c.max_length);
    expect({ text: c.a, ids: enc.inputIds, types: enc.tokenTypeIds }).toEqual({
      text: c.a,
      ids: c.input_ids,
      types: c.token_type_ids,
    });
    expect(enc.attentionMask).toEqual(c.input_ids.map(() => 1));
  }
}

describe('longestFirstLengths (Rust tokenizers truncation.rs)', () => {
  it('matches the crate unit test table (max_length 7; lengths 0/2/4/8)', () => {
    // Expected pairs copied from tokenizers' own `truncate_encodings_longest_first` test.
    const sizes = [0, 2, 4, 8];
    const expected = [
      [
        [0, 0],
        [0, 2],
        [0, 4],
        [0, 7],
      ],
      [
        [2, 0],
        [2, 2],
        [2, 4],
        [2, 5],
      ],
      [
        [4, 0],
        [4, 2],
        [3, 4],
        [3, 4],
      ],
      [
        [7, 0],
        [5, 2],
        [4, 3],
        [3, 4],
      ],
    ];
    sizes.forEach((a, i) => {
      sizes.forEach((b, j) => {
        expect(longestFirstLengths(a, b, 7)).toEqual(expected[i]![j]);
      });
    });
    expect(longestFirstLengths(4, 4, 0)).toEqual([0, 0]);
  });

  it('keeps as much as fits, never more than given, and never drops the shorter below half', () => {
    fc.assert(
      fc.property(fc.nat(600), fc.nat(600), fc.nat(600), (a, b, m) => {
        const [ka, kb] = longestFirstLengths(a, b, m);
        expect(ka).toBeLessThanOrEqual(a);
        expect(kb).toBeLessThanOrEqual(b);
        expect(ka + kb).toBe(Math.min(a + b, m));
        if (a + b > m) expect(Math.min(ka, kb)).toBe(Math.min(a, b, Math.floor(m / 2)));
      }),
    );
  });
});

describe('tiny BERT fixture (vocab.txt only, package-owned)', () => {
  const vocabDir = join(FIX, 'tiny-bert');

  it('matches the Python reference ids (scripts/reference_bert_tokenize.py)', async () => {
    const tok = await TextTokenizer.fromPretrained(vocabDir);
    expect(tok.modelMaxLength).toBe(512);
    expect(tok.padTokenId).toBe(0);
    expectCases(tok, readCases('tiny-bert-expected.json'));
  });

  it('gives the same ids when the built tokenizer.json is loaded back from a folder', async () => {
    const dir = join(tmp, 'tiny-json');
    const json = bertTokenizerJsonFromVocab(readFileSync(join(vocabDir, 'vocab.txt'), 'utf8'));
    rmSync(dir, { recursive: true, force: true });
    await import('node:fs/promises').then((f) => f.mkdir(dir));
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ max_position_embeddings: 64 }));
    const tok = await TextTokenizer.fromPretrained(dir);
    expect(tok.modelMaxLength).toBe(64);
    expectCases(tok, readCases('tiny-bert-expected.json'));
  });

  it('errors clearly on a folder with neither tokenizer.json nor vocab.txt', async () => {
    await expect(TextTokenizer.fromPretrained(tmp)).rejects.toThrow(/no tokenizer\.json or vocab\.txt/);
  });
});

describe.skipIf(!existsSync(BERT))('real bert-base-uncased in ../shared/tokenizers', () => {
  it("hand-checked ids: [CLS] hello , world ! isn ' t it una ##ffa ##ble ? [SEP] second one . [SEP]", async () => {
    // Ids are vocab.txt line numbers - 1 (checked with grep -nx): hello 7592, "," 1010, world 2088, ...
    const tok = await TextTokenizer.fromPretrained(BERT);
    const enc = tok.encode("Hello, World! isn't it unaffable?", 'Second one.');
    expect(enc.inputIds).toEqual([
      101, 7592, 1010, 2088, 999, 3475, 1005, 1056, 2009, 14477, 20961, 3468, 1029, 102, 2117, 2028, 1012,
      102,
    ]);
    expect(enc.tokenTypeIds).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
    // tokenizer_config says model_max_length 1e30; config.json's max_position_embeddings caps it.
    expect(tok.modelMaxLength).toBe(512);
  });

  it('matches the Python reference on pinned cases (accents, CJK, controls, truncation ties)', async () => {
    expectCases(await TextTokenizer.fromPretrained(BERT), readCases('bert-base-uncased-expected.json'));
  });

  it('a vocab.txt-only copy gives the same ids as tokenizer.json', async () => {
    const dir = join(tmp, 'bert-vocab-only');
    await import('node:fs/promises').then((f) => f.mkdir(dir, { recursive: true }));
    copyFileSync(join(BERT, 'vocab.txt'), join(dir, 'vocab.txt'));
    const fromVocab = await TextTokenizer.fromPretrained(dir);
    const fromJson = await TextTokenizer.fromPretrained(BERT);
    const cases = readCases('bert-base-uncased-expected.json');
    expectCases(fromVocab, cases);
    if (existsSync(SHARED_GLUE)) {
      const mrpc = await loadGlueFromDir(SHARED_GLUE, 'mrpc', 'validation');
      for (let i = 0; i < mrpc.numRows; i++) {
        const [a, b] = [mrpc.texts[0]![i]!, mrpc.texts[1]![i]!];
        expect(fromVocab.encode(a, b)).toEqual(fromJson.encode(a, b));
      }
    }
  });
});
