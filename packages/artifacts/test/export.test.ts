import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { AutoTokenizer, env, pipeline } from '@huggingface/transformers';
import { describe, expect, it } from 'vitest';
import { compileArtifacts } from '../src/compile.js';
import { exportInference } from '../src/export/inference.js';
import { hfStateDict } from '../src/export/state-dict.js';
import { readSafetensors, writeSafetensors } from '../src/safetensors.js';
import { i64, maxAbsDiff, session, softmax } from './helpers.js';
import { ArtifactRunner, type Batch } from './runner.js';
import { writeTinyTokenizer } from './tokenizer.js';

const fixtures = join(import.meta.dirname, 'fixtures');
const ref = JSON.parse(readFileSync(join(fixtures, 'reference.json'), 'utf8')) as {
  train_batches: (Batch & { labels: number[] })[];
  eval_batch: Batch;
};

describe('inference export', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ortrain-export-'));
  const { dir } = compileArtifacts(join(fixtures, 'bert_fe_opset14_folded.onnx'), {
    name: 'export',
    outDir: tmp,
    labelNames: ['negative', 'positive'],
  });
  // Train a little so that the exported weights are not the compiled ones.
  const r = new ArtifactRunner(dir);
  for (const b of ref.train_batches.slice(0, 3)) await r.trainStep(b, b.labels, 5e-3, 1);
  const tokenizerDir = join(tmp, 'tokenizer');
  writeTinyTokenizer(tokenizerDir);
  const outDir = join(tmp, 'exported');
  const file = exportInference(dir, outDir, { weights: r.params, tokenizerDir });

  it("gives the eval graph's logits, from a self-contained ONNX file with a logits output", async () => {
    const s = await session(file);
    expect(s.inputNames).toEqual(['input_ids', 'attention_mask', 'token_type_ids']);
    expect(s.outputNames).toEqual(['logits']);
    const b = ref.eval_batch;
    const out = await s.run({
      input_ids: i64(b.input_ids, b.shape),
      attention_mask: i64(b.attention_mask, b.shape),
      token_type_ids: i64(b.token_type_ids, b.shape),
    });
    const exported = out['logits']!.data as Float32Array;
    const evaluated = (await r.evaluate(b, [0, 0, 0, 0, 0])).logits;
    expect(maxAbsDiff(exported, evaluated)).toBeLessThan(1e-6);
    expect(maxAbsDiff(await r.predict(b), evaluated)).toBeLessThan(1e-6);
    const config = JSON.parse(readFileSync(join(outDir, 'config.json'), 'utf8'));
    expect(config.id2label).toEqual({ 0: 'negative', 1: 'positive' });
    expect(config.label2id).toEqual({ negative: 0, positive: 1 });
    expect(config.architectures).toEqual(['BertForSequenceClassification']);
  });

  it('is complete or has no onnx/model.onnx: a failure half-way leaves neither the old model nor a part', () => {
    const again = join(tmp, 'failed');
    exportInference(dir, again, { weights: r.params, tokenizerDir });
    expect(existsSync(join(again, 'onnx', 'model.onnx'))).toBe(true);
    const failing = () => {
      throw new Error('disk full');
    };
    expect(() => exportInference(dir, again, { weights: r.params, writeTokenizer: failing })).toThrow(
      'disk full',
    );
    expect(existsSync(join(again, 'onnx'))).toBe(false);
    // Every file that is there is whole (each replaced by one rename), and no temporary file is left.
    expect(readdirSync(again).filter((f) => f.startsWith('.'))).toEqual([]);
    expect(readSafetensors(join(again, 'model.safetensors')).size).toBe(r.params.size);
    exportInference(dir, again, { weights: r.params, tokenizerDir });
    expect(readFileSync(join(again, 'onnx', 'model.onnx'))).toEqual(readFileSync(file));
  });

  it("loads in @huggingface/transformers' text-classification pipeline with the same scores", async () => {
    env.allowRemoteModels = false;
    env.localModelPath = dirname(outDir);
    const classify = await pipeline('text-classification', basename(outDir));
    const text = 'tok5 tok17 tok99 tok42';
    const [result] = (await classify(text)) as { label: string; score: number }[];
    const tokenizer = await AutoTokenizer.from_pretrained(basename(outDir));
    const enc = tokenizer(text);
    const ids = Array.from(enc.input_ids.data as BigInt64Array, Number);
    expect(ids).toEqual([2, 5, 17, 99, 42, 3]);
    const logits = await r.predict({
      shape: [1, ids.length],
      input_ids: ids,
      attention_mask: ids.map(() => 1),
      token_type_ids: ids.map(() => 0),
    });
    const probs = softmax(logits);
    const best = probs[0]! > probs[1]! ? 0 : 1;
    expect(result!.label).toBe(['negative', 'positive'][best]);
    expect(Math.abs(result!.score - probs[best]!)).toBeLessThan(1e-5);
  });
});

describe('HF state dict', () => {
  it('round-trips trained weights through an HF checkpoint folder', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'ortrain-state-'));
    const { dir, manifest } = compileArtifacts(join(fixtures, 'bert_fe_opset14_folded.onnx'), {
      name: 'a',
      outDir: tmp,
    });
    const r = new ArtifactRunner(dir);
    // Before training: names and layout are exactly those of the checkpoint PyTorch wrote for the same model.
    const hf = readSafetensors(join(fixtures, 'hf_checkpoint', 'model.safetensors'));
    const initial = hfStateDict(manifest, r.params);
    expect(
      initial
        .filter((t) => t.name.startsWith('bert.'))
        .map((t) => t.name)
        .sort(),
    ).toEqual([...hf.keys()].filter((n) => n.startsWith('bert.')).sort());
    for (const t of initial.filter((x) => x.name.startsWith('bert.'))) {
      expect(t.dims).toEqual(hf.get(t.name)!.dims);
      expect(maxAbsDiff(t.data as Float32Array, hf.get(t.name)!.data as Float32Array)).toBe(0);
    }
    await r.trainStep(ref.train_batches[0]!, ref.train_batches[0]!.labels, 1e-2, 1);
    const tensors = hfStateDict(manifest, r.params);
    const query = 'bert.encoder.layer.0.attention.self.query.weight';
    const folder = join(tmp, 'checkpoint');
    mkdirSync(folder);
    writeSafetensors(join(folder, 'model.safetensors'), tensors);
    copyFileSync(join(dir, 'config.json'), join(folder, 'config.json'));
    const { dir: again } = compileArtifacts(folder, { name: 'b', outDir: tmp });
    const r2 = new ArtifactRunner(again);
    expect(maxAbsDiff(r2.params.get(query)!, r.params.get(query)!)).toBe(0);
    const logits = await r.predict(ref.eval_batch);
    expect(maxAbsDiff(await r2.predict(ref.eval_batch), logits)).toBeLessThan(1e-6);
  });
});
