import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EMBEDDED_DEFAULT,
  generateParaphraseCorpus,
  generateTinyBert,
  generateVocab,
  writeEmbeddedDefault,
} from '../src/embedded/index.js';

const SMALL = { train: 300, dev: 60, test: 60 };

/** Reads every file of a written folder, by relative path. */
async function readTree(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const sub of ['model', 'data']) {
    for (const name of (await readdir(join(dir, sub))).sort()) {
      out.set(`${sub}/${name}`, await readFile(join(dir, sub, name)));
    }
  }
  return out;
}

/** An independent safetensors reader (the spec, not our writer) for checking the file. */
function parseSafetensors(bytes: Buffer) {
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const dataStart = 8 + n;
  const tensor = (name: string) => {
    const info = header[name];
    if (!info) throw new Error(`no tensor ${name}`);
    const [a, b] = info.data_offsets;
    const slice = bytes.subarray(dataStart + a, dataStart + b);
    return Float32Array.from({ length: slice.length / 4 }, (_, k) => slice.readFloatLE(4 * k));
  };
  return { headerLength: n, header, dataLength: bytes.length - dataStart, tensor };
}

/** BERT-uncased pre-tokenization written independently of src: whitespace, then every punctuation char. */
function splitWords(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9]+|[^\sa-z0-9]/g) ?? [];
}

describe('writeEmbeddedDefault', () => {
  let dirA: string;
  let dirB: string;
  let dirC: string;
  let a: Map<string, Buffer>;
  beforeAll(async () => {
    const root = await mkdtemp(join(tmpdir(), 'ortrain-embedded-'));
    [dirA, dirB, dirC] = [join(root, 'a'), join(root, 'b'), join(root, 'c')];
    await writeEmbeddedDefault(dirA, { ...SMALL, seed: 7 });
    await writeEmbeddedDefault(dirB, { ...SMALL, seed: 7 });
    await writeEmbeddedDefault(dirC, { ...SMALL, seed: 8 });
    a = await readTree(dirA);
  });
  afterAll(async () => {
    await rm(join(dirA, '..'), { recursive: true, force: true });
  });

  it('writes the HF model folder and the GLUE MRPC layout', () => {
    expect([...a.keys()]).toEqual([
      'model/config.json',
      'model/model.safetensors',
      'model/special_tokens_map.json',
      'model/tokenizer_config.json',
      'model/vocab.txt',
      'data/dev.tsv',
      'data/test.tsv',
      'data/train.tsv',
    ]);
  });

  it('gives byte-identical files for the same seed and different ones for another seed', async () => {
    const b = await readTree(dirB);
    const c = await readTree(dirC);
    for (const [path, bytes] of a) {
      expect(b.get(path)?.equals(bytes), path).toBe(true);
    }
    for (const path of ['model/model.safetensors', 'data/train.tsv', 'data/dev.tsv', 'data/test.tsv']) {
      expect(c.get(path)?.equals(a.get(path)!), path).toBe(false);
    }
  });

  it('writes MRPC TSVs: header, five tab-separated fields, 0/1 labels, about 2/3 positives, no repeats', () => {
    const seen = new Set<string>();
    for (const [split, size] of [
      ['train', SMALL.train],
      ['dev', SMALL.dev],
      ['test', SMALL.test],
    ] as const) {
      const lines = a.get(`data/${split}.tsv`)!.toString('utf8').split('\n');
      expect(lines.at(-1)).toBe('');
      expect(lines[0]).toBe('Quality\t#1 ID\t#2 ID\t#1 String\t#2 String');
      const rows = lines.slice(1, -1).map((l) => l.split('\t'));
      expect(rows).toHaveLength(size);
      let positives = 0;
      for (const [q, id1, id2, s1, s2, ...rest] of rows) {
        expect(rest).toEqual([]);
        expect(['0', '1']).toContain(q);
        positives += q === '1' ? 1 : 0;
        expect(id1).toMatch(/^\d+$/);
        expect(id2).toMatch(/^\d+$/);
        expect(s1).toMatch(/^[A-Z].*\.$/);
        expect(s2).toMatch(/^[A-Z].*\.$/);
        expect(s1).not.toBe(s2);
        expect(seen.has(s1!) || seen.has(s2!)).toBe(false);
        seen.add(s1!);
        seen.add(s2!);
      }
      expect(positives / size).toBeGreaterThan(0.55);
      expect(positives / size).toBeLessThan(0.8);
    }
  });

  it('writes a vocab.txt that covers every word of the corpus, with the special tokens', () => {
    const vocab = a.get('model/vocab.txt')!.toString('utf8').split('\n').slice(0, -1);
    expect(vocab[0]).toBe('[PAD]');
    for (const t of ['[UNK]', '[CLS]', '[SEP]', '[MASK]']) expect(vocab).toContain(t);
    expect(new Set(vocab).size).toBe(vocab.length);
    const words = new Set(vocab);
    for (const split of ['train', 'dev', 'test']) {
      for (const line of a.get(`data/${split}.tsv`)!.toString('utf8').split('\n').slice(1, -1)) {
        const [, , , s1, s2] = line.split('\t');
        for (const w of [...splitWords(s1!), ...splitWords(s2!)]) expect(words.has(w), w).toBe(true);
      }
    }
    const config = JSON.parse(a.get('model/config.json')!.toString('utf8'));
    expect(config.vocab_size).toBe(vocab.length);
    const tokenizer = JSON.parse(a.get('model/tokenizer_config.json')!.toString('utf8'));
    expect(tokenizer).toMatchObject({
      do_lower_case: true,
      tokenizer_class: 'BertTokenizer',
      pad_token: '[PAD]',
      model_max_length: config.max_position_embeddings,
    });
    expect(tokenizer.added_tokens_decoder['0'].content).toBe('[PAD]');
    expect(tokenizer.added_tokens_decoder[String(vocab.indexOf('[SEP]'))].content).toBe('[SEP]');
    expect(JSON.parse(a.get('model/special_tokens_map.json')!.toString('utf8'))).toEqual({
      cls_token: '[CLS]',
      mask_token: '[MASK]',
      pad_token: '[PAD]',
      sep_token: '[SEP]',
      unk_token: '[UNK]',
    });
  });

  it('writes a BertConfig and a safetensors file whose tensors match it', () => {
    const config = JSON.parse(a.get('model/config.json')!.toString('utf8'));
    const m = EMBEDDED_DEFAULT.model;
    expect(config).toMatchObject({
      model_type: 'bert',
      hidden_act: 'gelu',
      hidden_size: m.hiddenSize,
      num_hidden_layers: m.numHiddenLayers,
      num_attention_heads: m.numAttentionHeads,
      intermediate_size: m.intermediateSize,
      max_position_embeddings: m.maxPositionEmbeddings,
      type_vocab_size: 2,
      initializer_range: 0.02,
      layer_norm_eps: 1e-12,
      pad_token_id: 0,
    });
    const st = parseSafetensors(a.get('model/model.safetensors')!);
    expect((8 + st.headerLength) % 8).toBe(0);
    expect((st.header as Record<string, unknown>).__metadata__).toEqual({ format: 'pt' });
    const h = config.hidden_size;
    const expected: Record<string, number[]> = {
      'bert.embeddings.word_embeddings.weight': [config.vocab_size, h],
      'bert.embeddings.position_embeddings.weight': [config.max_position_embeddings, h],
      'bert.embeddings.token_type_embeddings.weight': [2, h],
      'bert.embeddings.LayerNorm.weight': [h],
      'bert.embeddings.LayerNorm.bias': [h],
      'bert.pooler.dense.weight': [h, h],
      'bert.pooler.dense.bias': [h],
    };
    for (let l = 0; l < config.num_hidden_layers; l++) {
      const p = `bert.encoder.layer.${l}`;
      for (const n of [
        'attention.self.query',
        'attention.self.key',
        'attention.self.value',
        'attention.output.dense',
      ]) {
        expected[`${p}.${n}.weight`] = [h, h];
        expected[`${p}.${n}.bias`] = [h];
      }
      for (const n of ['attention.output.LayerNorm', 'output.LayerNorm']) {
        expected[`${p}.${n}.weight`] = [h];
        expected[`${p}.${n}.bias`] = [h];
      }
      expected[`${p}.intermediate.dense.weight`] = [config.intermediate_size, h];
      expected[`${p}.intermediate.dense.bias`] = [config.intermediate_size];
      expected[`${p}.output.dense.weight`] = [h, config.intermediate_size];
      expected[`${p}.output.dense.bias`] = [h];
    }
    const names = Object.keys(st.header).filter((n) => n !== '__metadata__');
    expect(names.sort()).toEqual(Object.keys(expected).sort());
    // Byte ranges tile the data section exactly, in order, with 4 bytes per F32 element.
    const ranges = names.map((n) => st.header[n]!).sort((x, y) => x.data_offsets[0] - y.data_offsets[0]);
    let end = 0;
    for (const info of ranges) {
      expect(info.dtype).toBe('F32');
      expect(info.data_offsets[0]).toBe(end);
      end = info.data_offsets[1];
    }
    expect(end).toBe(st.dataLength);
    for (const [name, shape] of Object.entries(expected)) {
      const info = st.header[name]!;
      expect(info.shape, name).toEqual(shape);
      expect(info.data_offsets[1] - info.data_offsets[0], name).toBe(4 * shape.reduce((x, y) => x * y, 1));
    }
  });

  it('initializes like transformers: N(0, 0.02) weights, zero biases and pad row, LayerNorm 1/0', () => {
    const st = parseSafetensors(a.get('model/model.safetensors')!);
    const stats = (v: Float32Array) => {
      const mean = v.reduce((s, x) => s + x, 0) / v.length;
      const std = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
      return { mean, std };
    };
    const q = stats(st.tensor('bert.encoder.layer.0.attention.self.query.weight'));
    expect(Math.abs(q.mean)).toBeLessThan(0.002);
    expect(q.std).toBeGreaterThan(0.019);
    expect(q.std).toBeLessThan(0.021);
    const words = st.tensor('bert.embeddings.word_embeddings.weight');
    const h = EMBEDDED_DEFAULT.model.hiddenSize!;
    expect(words.subarray(0, h).every((x) => x === 0)).toBe(true);
    expect(stats(words.subarray(h)).std).toBeGreaterThan(0.019);
    expect(st.tensor('bert.encoder.layer.1.output.dense.bias').every((x) => x === 0)).toBe(true);
    expect(st.tensor('bert.embeddings.LayerNorm.weight').every((x) => x === 1)).toBe(true);
    expect(st.tensor('bert.encoder.layer.0.output.LayerNorm.bias').every((x) => x === 0)).toBe(true);
  });
});

describe('generateParaphraseCorpus', () => {
  it('makes both kinds of negatives: denials and near-misses that keep most words', () => {
    const corpus = generateParaphraseCorpus({ seed: 3, train: 600, dev: 0, test: 0 });
    const negatives = corpus.train.filter((p) => p.label === 0);
    const denial = /\b(denied|not true|no truth|were false)\b/;
    const denials = negatives.filter((p) => denial.test(p.sentence1) || denial.test(p.sentence2));
    expect(denials.length / negatives.length).toBeGreaterThan(0.45);
    expect(denials.length / negatives.length).toBeLessThan(0.75);
    // Denials never appear in positives: they are the negatives' defining change.
    expect(corpus.train.some((p) => p.label === 1 && denial.test(p.sentence1 + p.sentence2))).toBe(false);
    const overlap = (p: { sentence1: string; sentence2: string }) => {
      const x = new Set(splitWords(p.sentence1));
      const y = splitWords(p.sentence2);
      return y.filter((w) => x.has(w)).length / y.length;
    };
    const nearMisses = negatives.filter((p) => !denials.includes(p) && overlap(p) > 0.7);
    expect(nearMisses.length).toBeGreaterThan(20);
  });

  it('rejects bad sizes and rates with a message naming them', () => {
    expect(() => generateParaphraseCorpus({ seed: 1, train: -1, dev: 0, test: 0 })).toThrow(/train size/);
    expect(() => generateParaphraseCorpus({ seed: 1, train: 1, dev: 0, test: 0, positiveRate: 1 })).toThrow(
      /positiveRate/,
    );
    expect(() => generateParaphraseCorpus({ seed: 1.5, train: 1, dev: 0, test: 0 })).toThrow(/seed/);
  });

  it('builds a vocab independent of corpus order beyond its words', () => {
    const corpus = generateParaphraseCorpus({ seed: 5, train: 50, dev: 10, test: 10 });
    const swapped = { train: corpus.test, dev: corpus.dev, test: corpus.train };
    expect(generateVocab(swapped)).toEqual(generateVocab(corpus));
  });
});

describe('generateTinyBert', () => {
  it('validates geometry', () => {
    expect(() => generateTinyBert({ seed: 1, vocabSize: 10, hiddenSize: 30, numAttentionHeads: 4 })).toThrow(
      /multiple of num_attention_heads/,
    );
    expect(() => generateTinyBert({ seed: 1, vocabSize: 0 })).toThrow(/vocab_size/);
  });
});
