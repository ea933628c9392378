import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '@ortrain/artifacts';
import { DataCollatorWithPadding, loadGlue, TextTokenizer, tokenizeDataset } from '@ortrain/data';
import { glueComputeMetrics } from '@ortrain/metrics';
import { afterAll, describe, expect, it } from 'vitest';
import { TrainingArguments } from '../src/trainer/arguments.js';
import { Trainer } from '../src/trainer/trainer.js';
import { FIXTURES } from './helpers/reference.js';

// The course's MRPC data and bert-base-uncased tokenizer, read in place from the shared folder.
const shared = join(import.meta.dirname, '..', '..', '..', '..', 'shared');
const glue = join(shared, 'glue');
const tokenizerDir = join(shared, 'tokenizers', 'bert-base-uncased');
const available =
  existsSync(join(glue, 'MRPC', 'train.tsv')) && existsSync(join(tokenizerDir, 'tokenizer.json'));
const tmp = mkdtempSync(join(tmpdir(), 'ortrain-course-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * No pretrained weights can be downloaded here, so the small fixture BERT gets a word-embedding table of
 * bert-base-uncased's vocabulary size (the rows past the fixture's 128 repeat it) to take the real token ids.
 */
function smallBertWithBertVocab(): string {
  const dir = join(tmp, 'small-bert');
  cpSync(join(FIXTURES, 'hf_checkpoint'), dir, { recursive: true });
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const tensors = readSafetensors(join(dir, 'model.safetensors'));
  const key = 'bert.embeddings.word_embeddings.weight';
  const small = tensors.get(key)!;
  const vocab = 30522;
  const data = new Float32Array(vocab * config.hidden_size);
  for (let off = 0; off < data.length; off += small.data.length) {
    data.set((small.data as Float32Array).subarray(0, Math.min(small.data.length, data.length - off)), off);
  }
  tensors.set(key, { ...small, dims: [vocab, config.hidden_size], data });
  writeSafetensors(join(dir, 'model.safetensors'), tensors.values());
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, vocab_size: vocab }));
  return dir;
}

describe.skipIf(!available)('the course chapter on MRPC (shared GLUE data)', () => {
  it('trains with per-epoch evaluation and predicts (408, 2) logits with accuracy and F1', async () => {
    const tokenizer = await TextTokenizer.fromPretrained(tokenizerDir);
    // The small model has 64 positions (bert-base-uncased: 512), so rows are truncated to 64 tokens.
    const truncation = { maxSeqLength: 64 };
    const trainSplit = await loadGlue('mrpc', 'train', { dataDir: glue });
    const train = tokenizeDataset(trainSplit, tokenizer, truncation);
    const validation = tokenizeDataset(
      await loadGlue('mrpc', 'validation', { dataDir: glue }),
      tokenizer,
      truncation,
    );
    expect(train.numRows).toBe(3668);
    const dataCollator = new DataCollatorWithPadding(tokenizer);
    const args = new TrainingArguments({
      output_dir: join(tmp, 'test-trainer'),
      evaluation_strategy: 'epoch',
      max_steps: 4, // the course trains 3 epochs; a few steps show the same flow
      save_strategy: 'no',
      device: 'cpu',
    });
    const model = { source: smallBertWithBertVocab(), numLabels: 2 };
    const trainer = new Trainer({
      model,
      args,
      trainDataset: train,
      evalDataset: validation,
      dataCollator,
      tokenizer,
      computeMetrics: glueComputeMetrics('mrpc'),
    });
    const messages: string[] = [];
    trainer.on('message', (m) => messages.push(m));
    await trainer.train();
    // The head is new, as HF warns; the device choice is explained.
    expect(
      messages.some(
        (m) => m.includes('newly initialized: [bert.pooler') || m.includes('newly initialized: [classifier'),
      ),
    ).toBe(true);
    expect(messages.some((m) => m.startsWith('Running on CPU: device "cpu" was requested'))).toBe(true);
    // max_steps stops mid-epoch; the epoch-end evaluation still runs, as in HF.
    const evals = trainer.state.log_history.filter((e) => 'eval_loss' in e);
    expect(evals).toHaveLength(1);
    expect(evals[0]!['epoch']).toBeCloseTo(4 / 459, 10); // 3668 rows / 8 = 459 batches per epoch
    expect(evals[0]).toHaveProperty('eval_accuracy');
    expect(evals[0]).toHaveProperty('eval_f1');

    await expect(trainer.predict(tokenizeDataset(trainSplit, tokenizer))).rejects.toThrow(
      /a batch of \d+ tokens per row exceeds the model's max_position_embeddings \(64\); tokenize with truncation/,
    );
    const predictions = await trainer.predict(validation);
    expect(predictions.shape).toEqual([408, 2]);
    expect(predictions.labelIds).toHaveLength(408);
    expect(predictions.metrics['test_accuracy']).toBeCloseTo(evals[0]!['eval_accuracy']!, 12);
    expect(Object.keys(predictions.metrics)).toEqual([
      'test_loss',
      'test_accuracy',
      'test_f1',
      'test_runtime',
      'test_samples_per_second',
      'test_steps_per_second',
    ]);
    await trainer.close();
    expect(existsSync(join(args.output_dir, 'tokenizer.json'))).toBe(true);
    // The tokenizer object is saved with the model (HF's save_pretrained) and loads back the same.
    const saved = await TextTokenizer.fromPretrained(args.output_dir);
    expect(saved.fingerprint).toBe(tokenizer.fingerprint);
  }, 60_000);
});
