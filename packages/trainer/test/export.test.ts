import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { env, pipeline } from '@huggingface/transformers';
import { bertTokenizerJsonFromVocab, TextTokenizer, type TokenizedDataset } from '@ortrain/data';
import { afterAll, describe, expect, it } from 'vitest';
import { TrainingArguments } from '../src/trainer/arguments.js';
import { Trainer } from '../src/trainer/trainer.js';
import { datasetOf, FIXTURES, reference as ref } from './helpers/reference.js';

const tmp = mkdtempSync(join(tmpdir(), 'ortrain-export-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A BERT tokenizer over the fixture model's 128-token vocabulary ([CLS] = 2, [SEP] = 3 as in its batches). */
function tokenizerDir(): string {
  const dir = join(tmp, 'tokenizer');
  if (existsSync(dir)) return dir;
  mkdirSync(dir);
  const words = Array.from({ length: 123 }, (_, i) => `w${i}`);
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...words].join('\n');
  const config = { do_lower_case: true, model_max_length: 64, tokenizer_class: 'BertTokenizer' };
  writeFileSync(join(dir, 'vocab.txt'), `${vocab}\n`);
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(bertTokenizerJsonFromVocab(vocab, config)));
  return dir;
}

function encodeAll(tok: TextTokenizer, texts: string[]): TokenizedDataset {
  const ids: number[] = [];
  const types: number[] = [];
  const offsets = [0];
  for (const t of texts) {
    const e = tok.encode(t);
    ids.push(...e.inputIds);
    types.push(...e.tokenTypeIds);
    offsets.push(ids.length);
  }
  const off = Uint32Array.from(offsets);
  return {
    numRows: texts.length,
    inputIds: Int32Array.from(ids),
    tokenTypeIds: Uint8Array.from(types),
    offsets: off,
    labels: null,
    idx: Int32Array.from(texts.keys()),
    numLabels: 2,
    maxLength: 64,
    padTokenId: 0,
    length: (i: number) => off[i + 1]! - off[i]!,
  };
}

describe('export for transformers.js', () => {
  /** A BERT folder with vocab.txt and tokenizer_config.json only: the tokenizer object builds its tokenizer.json. */
  async function vocabOnlyTokenizer(): Promise<TextTokenizer> {
    const dir = join(tmp, 'vocab-only');
    mkdirSync(dir, { recursive: true });
    for (const f of ['vocab.txt', 'tokenizer_config.json']) cpSync(join(tokenizerDir(), f), join(dir, f));
    return TextTokenizer.fromPretrained(dir);
  }

  it.each([
    ['a tokenizer folder', 'model', async () => tokenizerDir()],
    ['a tokenizer object (saved with savePretrained)', 'model-object', vocabOnlyTokenizer],
  ])(
    "pipeline('text-classification') on the exported folder classifies like predict(), given %s",
    async (_, name, tokenizerOf) => {
      const tokDir = tokenizerDir();
      const outputDir = join(tmp, name);
      const trainer = new Trainer({
        model: { source: join(FIXTURES, 'bert_cls_opset14.onnx'), labelNames: ['negative', 'positive'] },
        args: new TrainingArguments({
          output_dir: outputDir,
          max_steps: 6,
          per_device_train_batch_size: 4,
          learning_rate: 2e-3,
          device: 'cpu',
          save_strategy: 'no',
        }),
        trainDataset: datasetOf(ref.train_batches),
        tokenizer: await tokenizerOf(),
      });
      await trainer.train();
      const config = JSON.parse(readFileSync(join(outputDir, 'config.json'), 'utf8'));
      expect(config.id2label).toEqual({ 0: 'negative', 1: 'positive' });
      expect(config.label2id).toEqual({ negative: 0, positive: 1 });

      const texts = ['w1 w2 w3', 'w40 w41 w7 w9 w100', 'w5', 'w77 w3 w3 w3 w12 w60 w61 w62'];
      const tok = await TextTokenizer.fromPretrained(tokDir);
      const pred = await trainer.predict(encodeAll(tok, texts));
      await trainer.close();

      env.allowRemoteModels = false;
      env.localModelPath = dirname(outputDir);
      const classify = await pipeline('text-classification', basename(outputDir), { dtype: 'fp32' });
      for (let i = 0; i < texts.length; i++) {
        const out = (await classify(texts[i]!, { top_k: null })) as { label: string; score: number }[];
        const [l0, l1] = [pred.predictions[2 * i]!, pred.predictions[2 * i + 1]!];
        const p1 = 1 / (1 + Math.exp(l0 - l1));
        const score = Object.fromEntries(out.map((o) => [o.label, o.score]));
        expect(score['positive']).toBeCloseTo(p1, 5);
        expect(score['negative']).toBeCloseTo(1 - p1, 5);
      }
      await classify.dispose();
    },
  );

  it('exports the tokenizer files found next to an HF checkpoint source', async () => {
    const source = join(tmp, 'hf-with-tokenizer');
    cpSync(join(FIXTURES, 'hf_checkpoint'), source, { recursive: true });
    cpSync(tokenizerDir(), source, { recursive: true });
    const outputDir = join(tmp, 'model-2');
    const trainer = new Trainer({
      model: source,
      args: new TrainingArguments({
        output_dir: outputDir,
        max_steps: 1,
        per_device_train_batch_size: 4,
        device: 'cpu',
      }),
      trainDataset: datasetOf(ref.train_batches),
    });
    await trainer.train();
    await trainer.close();
    for (const f of [
      'tokenizer.json',
      'tokenizer_config.json',
      'vocab.txt',
      'config.json',
      'onnx/model.onnx',
    ]) {
      expect(existsSync(join(outputDir, f))).toBe(true);
    }
  });
});
