import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dataset, loadGlueFromDir, TextTokenizer, tokenizeDataset } from '@ortrain/data';
import { Trainer, TrainingArguments } from '@ortrain/trainer';
import { afterAll, describe, expect, it } from 'vitest';
import { generateTinyBert, writeTinyBertSafetensors } from '../src/embedded/index.js';

/**
 * Issue 14's "a longer run on real GLUE data whose dev accuracy matches float32's", at a size two loaded CPU
 * cores train in about a minute: a small BERT initialized from a seed, one epoch over a seeded subset of real
 * SST-2 (../shared/glue, never committed), once in float32 and once with fp16 autocast and loss scaling.
 */
const SHARED = join(import.meta.dirname, '../../../../shared');
const GLUE = join(SHARED, 'glue');
const TOKENIZER = join(SHARED, 'tokenizers', 'bert-base-uncased');
const present = existsSync(join(GLUE, 'SST-2', 'train.tsv')) && existsSync(TOKENIZER);
if (!present) console.warn(`SKIPPED the fp16 SST-2 run: ${GLUE}/SST-2 or ${TOKENIZER} is absent`);

const TRAIN_ROWS = 4000;
const tmp = mkdtempSync(join(tmpdir(), 'ortrain-fp16-glue-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function writeModel(dir: string, vocabSize: number): void {
  const model = generateTinyBert({
    seed: 7,
    vocabSize,
    hiddenSize: 64,
    numHiddenLayers: 2,
    numAttentionHeads: 4,
    maxPositionEmbeddings: 128,
  });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(model.config));
  writeTinyBertSafetensors(join(dir, 'model.safetensors'), model);
}

/** Dev accuracy after one epoch, from the logits' argmax. */
async function devAccuracy(fp16: boolean, data: { train: Dataset; dev: Dataset }, tok: TextTokenizer) {
  const options = { maxSeqLength: 64, textColumns: ['sentence'], numLabels: 2 };
  const trainer = new Trainer({
    model: join(tmp, 'model'),
    args: new TrainingArguments({
      output_dir: join(tmp, fp16 ? 'fp16' : 'fp32'),
      num_train_epochs: 1,
      per_device_train_batch_size: 64,
      learning_rate: 2e-3,
      warmup_ratio: 0.1,
      seed: 42,
      device: 'cpu',
      fp16,
      save_strategy: 'no',
      eval_strategy: 'no',
    }),
    trainDataset: tokenizeDataset(data.train, tok, options),
  });
  await trainer.train();
  const dev = tokenizeDataset(data.dev, tok, options);
  const { predictions } = await trainer.predict(dev);
  await trainer.close();
  let right = 0;
  for (let i = 0; i < dev.numRows; i++) {
    const guess = predictions[2 * i + 1]! > predictions[2 * i]! ? 1 : 0;
    if (guess === dev.labels![i]) right++;
  }
  return right / dev.numRows;
}

describe.skipIf(!present)('fp16 vs float32 on real SST-2', () => {
  it(`one epoch over ${TRAIN_ROWS} rows from scratch: dev accuracy well above the majority class, fp16 within 2 points of float32`, async () => {
    const tok = await TextTokenizer.fromPretrained(TOKENIZER);
    writeModel(join(tmp, 'model'), tok.vocabSize);
    const train = Dataset.fromTextDataset(await loadGlueFromDir(GLUE, 'sst2', 'train'))
      .shuffle({ seed: 1 })
      .select(Array.from({ length: TRAIN_ROWS }, (_, i) => i));
    const dev = Dataset.fromTextDataset(await loadGlueFromDir(GLUE, 'sst2', 'validation'));
    const labels = dev.column('label') as Int32Array;
    const positive = labels.reduce((n, l) => n + l, 0) / labels.length;
    const majority = Math.max(positive, 1 - positive);

    const fp32 = await devAccuracy(false, { train, dev }, tok);
    const fp16 = await devAccuracy(true, { train, dev }, tok);
    console.log(
      `SST-2 dev accuracy: float32 ${fp32.toFixed(4)}, fp16 ${fp16.toFixed(4)}, majority ${majority.toFixed(4)}`,
    );
    expect(fp32).toBeGreaterThan(majority + 0.1);
    expect(Math.abs(fp16 - fp32)).toBeLessThanOrEqual(0.02);
  }, 300_000);
});
