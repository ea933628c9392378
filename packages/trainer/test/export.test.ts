import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { env, pipeline } from '@huggingface/transformers';
import { bertTokenizerJsonFromVocab, TextTokenizer, type TokenizedDataset } from '@ortrain/data';
import { loadModel, numel } from '@ortrain/graph';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { TrainingArguments, type TrainingArgumentsInit } from '../src/trainer/arguments.js';
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

/** Six steps on the fixture with named labels, exported to `outputDir` at the end. */
function sixStepTrainer(
  outputDir: string,
  extra: Partial<TrainingArgumentsInit>,
  tokenizer?: string | TextTokenizer,
): Trainer {
  return new Trainer({
    model: { source: join(FIXTURES, 'bert_cls_opset14.onnx'), labelNames: ['negative', 'positive'] },
    args: new TrainingArguments({
      output_dir: outputDir,
      max_steps: 6,
      per_device_train_batch_size: 4,
      learning_rate: 2e-3,
      device: 'cpu',
      save_strategy: 'no',
      ...extra,
    }),
    trainDataset: datasetOf(ref.train_batches),
    ...(tokenizer !== undefined && { tokenizer }),
  });
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
      const trainer = sixStepTrainer(outputDir, {}, await tokenizerOf());
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

  it("export_fp16: onnx/model_fp16.onnx with float16 weights, logits within half precision; transformers.js loads it with dtype 'fp16'", async () => {
    const outputDir = join(tmp, 'model-fp16');
    const trainer = sixStepTrainer(outputDir, { export_fp16: true });
    await trainer.train();
    await trainer.close();
    const [fp32, fp16] = ['model.onnx', 'model_fp16.onnx'].map((f) => join(outputDir, 'onnx', f));
    // LayerNorm's weights and biases stay float32, as under autocast; the rest is stored in half.
    const stored = new Map<string, number>();
    for (const t of loadModel(fp16!).graph.initializers.values())
      stored.set(t.dataType, (stored.get(t.dataType) ?? 0) + numel(t.dims));
    expect(stored.get('float16')! / (stored.get('float16')! + stored.get('float32')!)).toBeGreaterThan(0.95);
    expect(statSync(fp16!).size).toBeLessThan(0.7 * statSync(fp32!).size);

    const { input_ids, attention_mask, token_type_ids, shape } = ref.eval_batch;
    const int64 = (v: number[]) => new ort.Tensor('int64', BigInt64Array.from(v.map(BigInt)), shape);
    const feeds = {
      input_ids: int64(input_ids),
      attention_mask: int64(attention_mask),
      token_type_ids: int64(token_type_ids),
    };
    const logits = async (file: string) => {
      const s = await ort.InferenceSession.create(file);
      const out = (await s.run(feeds))['logits']!;
      await s.release();
      expect(out.type).toBe('float32');
      return out.data as Float32Array;
    };
    const [full, half] = [await logits(fp32!), await logits(fp16!)];
    const diff = Math.max(...full.map((v, i) => Math.abs(v - half[i]!)));
    // float16 carries 11 significant bits (2^-11 = 4.9e-4 relative); these logits stay within 1e-3 (measured: 1.1e-5).
    expect(diff).toBeLessThan(1e-3);
    expect(diff).toBeGreaterThan(0); // it did compute in half precision

    const texts = ['w1 w2 w3', 'w40 w41 w7 w9 w100'];
    cpSync(tokenizerDir(), outputDir, { recursive: true });
    env.allowRemoteModels = false;
    env.localModelPath = dirname(outputDir);
    const scores = async (dtype: 'fp32' | 'fp16') => {
      const classify = await pipeline('text-classification', basename(outputDir), { dtype });
      const out = await Promise.all(texts.map((t) => classify(t, { top_k: null })));
      await classify.dispose();
      return (out as { label: string; score: number }[][]).flat().map((o) => o.score);
    };
    const [s32, s16] = [await scores('fp32'), await scores('fp16')];
    expect(s16).toHaveLength(4);
    expect(Math.max(...s32.map((v, i) => Math.abs(v - s16[i]!)))).toBeLessThan(1e-3);
  });

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
