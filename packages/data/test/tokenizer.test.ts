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
    expect(tok.vocabSize).toBe(165); // the lines of vocab.txt
    expect(tok.typeVocabSize).toBe(2);
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

  it('savePretrained writes tokenizer.json and tokenizer_config.json that load back to the same ids', async () => {
    const tok = await TextTokenizer.fromPretrained(vocabDir);
    const dir = join(tmp, 'saved');
    expect(tok.savePretrained(dir)).toEqual([
      join(dir, 'tokenizer.json'),
      join(dir, 'tokenizer_config.json'),
    ]);
    const vocab = readFileSync(join(vocabDir, 'vocab.txt'), 'utf8');
    expect(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'))).toEqual(
      bertTokenizerJsonFromVocab(vocab, JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'))),
    );
    const back = await TextTokenizer.fromPretrained(dir);
    expect(back.fingerprint).toBe(tok.fingerprint);
    expectCases(back, readCases('tiny-bert-expected.json'));
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

describe('families beyond BERT: special tokens and pair templates from tokenizer.json', () => {
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const added = (content: string, id: number) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });

  it('RoBERTa: byte-level BPE, <s> A </s></s> B </s>, type ids 0, <pad> (an AddedToken in the config) is 1', () => {
    const vocab: Record<string, number> = { '<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3 };
    for (const t of ['h', 'e', 'l', 'o', 'Ġ', 'w', 'r', 'd', 'i', 'he', 'll', 'hell', 'hello', 'Ġw', 'or'])
      vocab[t] = Object.keys(vocab).length;
    for (const t of ['Ġwor', 'Ġworl', 'Ġworld']) vocab[t] = Object.keys(vocab).length;
    const merges = ['h e', 'l l', 'he ll', 'hell o', 'Ġ w', 'o r', 'Ġw or', 'Ġwor l', 'Ġworl d'];
    const tok = new TextTokenizer({
      tokenizer: {
        version: '1.0',
        added_tokens: ['<s>', '<pad>', '</s>', '<unk>'].map((t, i) => added(t, i)),
        normalizer: null,
        pre_tokenizer: byteLevel,
        post_processor: {
          type: 'RobertaProcessing',
          sep: ['</s>', 2],
          cls: ['<s>', 0],
          trim_offsets: true,
          add_prefix_space: false,
        },
        decoder: byteLevel,
        model: {
          type: 'BPE',
          dropout: null,
          unk_token: null,
          continuing_subword_prefix: '',
          end_of_word_suffix: '',
          fuse_unk: false,
          byte_fallback: false,
          vocab,
          merges,
        },
      },
      config: { pad_token: { content: '<pad>', __type: 'AddedToken' }, model_max_length: 512 },
    });
    const hello = vocab['hello']!;
    const world = vocab['Ġworld']!;
    expect(tok.encodeIds('hello world')).toEqual([hello, world]);
    const enc = tok.encode('hello world', 'hi');
    expect(enc.inputIds).toEqual([0, hello, world, 2, 2, vocab['h']!, vocab['i']!, 2]);
    expect(enc.tokenTypeIds).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(tok.numSpecialTokens(true)).toBe(4);
    expect(tok.padTokenId).toBe(1);
    // What a model must hold: every id of the vocabulary, one token type.
    expect(tok.vocabSize).toBe(Object.keys(vocab).length);
    expect(tok.typeVocabSize).toBe(1);
  });

  it('ALBERT / XLM-R / DeBERTa-v3: Unigram with Metaspace, [CLS] A [SEP] B [SEP] with type ids 0 then 1', () => {
    const pieces: [string, number][] = [
      ['<pad>', 0],
      ['<unk>', 0],
      ['[CLS]', 0],
      ['[SEP]', 0],
      ['▁hello', -1],
      ['▁world', -1],
      ['▁', -2],
      ['h', -3],
      ['e', -3],
      ['l', -3],
      ['o', -3],
      ['w', -3],
      ['r', -3],
      ['d', -3],
    ];
    const metaspace = {
      type: 'Metaspace',
      replacement: '▁',
      add_prefix_space: true,
      prepend_scheme: 'always',
      split: true,
    };
    const special = (t: string, id: number) => ({ id: t, ids: [id], tokens: [t] });
    const definition = {
      version: '1.0',
      added_tokens: ['<pad>', '<unk>', '[CLS]', '[SEP]'].map((t, i) => added(t, i)),
      normalizer: null,
      pre_tokenizer: metaspace,
      post_processor: {
        type: 'TemplateProcessing',
        single: [
          { SpecialToken: { id: '[CLS]', type_id: 0 } },
          { Sequence: { id: 'A', type_id: 0 } },
          { SpecialToken: { id: '[SEP]', type_id: 0 } },
        ],
        pair: [
          { SpecialToken: { id: '[CLS]', type_id: 0 } },
          { Sequence: { id: 'A', type_id: 0 } },
          { SpecialToken: { id: '[SEP]', type_id: 0 } },
          { Sequence: { id: 'B', type_id: 1 } },
          { SpecialToken: { id: '[SEP]', type_id: 1 } },
        ],
        special_tokens: { '[CLS]': special('[CLS]', 2), '[SEP]': special('[SEP]', 3) },
      },
      decoder: metaspace,
      model: { type: 'Unigram', unk_id: 1, vocab: pieces, byte_fallback: false },
    };
    const tok = new TextTokenizer({ tokenizer: definition, config: { pad_token: '<pad>' } });
    const enc = tok.encode('hello world', 'world');
    expect(enc.inputIds).toEqual([2, 4, 5, 3, 5, 3]);
    expect(enc.tokenTypeIds).toEqual([0, 0, 0, 0, 1, 1]);
    expect(tok.padTokenId).toBe(0);
    // longest_first truncation counts the template's three specials.
    expect(tok.encode('hello world', 'world', 5).inputIds).toEqual([2, 4, 3, 5, 3]);
    expect(tok.vocabSize).toBe(pieces.length);
    expect(tok.typeVocabSize).toBe(2);
    // A template's special token beyond the vocabulary is an id the tokenizer emits too.
    const beyond = new TextTokenizer({
      tokenizer: {
        ...definition,
        post_processor: {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
          pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 2 } }],
          special_tokens: { '[CLS]': special('[CLS]', 40) },
        },
      },
    });
    expect(beyond.vocabSize).toBe(41);
    expect(beyond.typeVocabSize).toBe(3);
  });
});
