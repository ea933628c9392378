import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileArtifacts } from '../src/compile.js';
import { maxAbsDiff, maxRelDiff } from './helpers.js';
import { ArtifactRunner, type Batch } from './runner.js';

/** PyTorch reference (scripts/make_fixtures.py): HF-style BERT trained with dropout 0 on fixed batches. */
interface Run {
  lr: number;
  steps: number;
  accumulation: number;
  max_grad_norm: number;
  weight_decay: number;
  learning_rates: number[];
  micro_losses: number[];
  grad_norms: number[];
  logits_after: number[];
}
interface Reference {
  mlm_encoder_output: string;
  head: Record<string, { shape: number[]; data: number[] }>;
  regression_head: Record<string, { shape: number[]; data: number[] }>;
  train_batches: (Batch & { labels: number[] })[];
  regression_labels: number[][];
  eval_batch: Batch;
  logits_before: { classification: number[]; regression: number[] };
  runs: { classification: Run; accumulation: Run; regression: Run };
}

const fixtures = join(import.meta.dirname, 'fixtures');
const ref: Reference = JSON.parse(readFileSync(join(fixtures, 'reference.json'), 'utf8'));
const noDropout = { hidden: 0, attention: 0, classifier: 0 };

function compile(source: string, run: Run, numLabels = 2) {
  const outDir = mkdtempSync(join(tmpdir(), 'ortrain-artifacts-'));
  // The masked-LM export shares the encoder weights; it is cut where its vocabulary head begins.
  const cut = source === 'bert_mlm_opset14.onnx' ? { encoderOutput: ref.mlm_encoder_output } : {};
  return compileArtifacts(join(fixtures, source), {
    ...cut,
    name: 'parity',
    outDir,
    numLabels,
    dropout: noDropout,
    optimizer: { weightDecay: run.weight_decay, maxGradNorm: run.max_grad_norm },
  });
}

/** Starts from exactly torch's weights: the head the compiler created is replaced by torch's. */
function runnerWithTorchHead(
  dir: string,
  newlyInitialized: string[],
  head: Reference['head'],
): ArtifactRunner {
  const r = new ArtifactRunner(dir);
  for (const name of newlyInitialized) r.set(name, head[name]!.data);
  return r;
}

const sources = [
  'bert_cls_opset14.onnx',
  'bert_fe_opset14_folded.onnx',
  'bert_fe_opset17_unfolded.onnx',
  'bert_encoder_opset14.onnx',
  'bert_mlm_opset14.onnx',
  'hf_checkpoint',
];

describe('training parity with PyTorch (HF-style BERT, dropout 0, same batches)', () => {
  it.each(sources)('classification, 8 AdamW steps with warmup and clipping: %s', async (source) => {
    const run = ref.runs.classification;
    const { dir, manifest } = compile(source, run);
    const r = runnerWithTorchHead(dir, manifest.newlyInitialized, ref.head);
    const evalBatch = ref.eval_batch;
    const before = (await r.evaluate(evalBatch, [0, 0, 0, 0, 0])).logits;
    expect(maxAbsDiff(before, ref.logits_before.classification)).toBeLessThan(1e-5);
    const losses: number[] = [];
    const norms: number[] = [];
    for (let step = 0; step < run.steps; step++) {
      const b = ref.train_batches[step]!;
      const [loss, norm] = await r.trainStep(b, b.labels, run.learning_rates[step]!, step + 1);
      losses.push(loss);
      norms.push(norm);
    }
    const after = (await r.evaluate(evalBatch, [0, 0, 0, 0, 0])).logits;
    expect(maxAbsDiff(after, before)).toBeGreaterThan(1e-2); // training moved the logits
    expect(maxRelDiff(losses, run.micro_losses)).toBeLessThan(1e-5);
    expect(maxRelDiff(norms, run.grad_norms)).toBeLessThan(2e-5);
    expect(maxAbsDiff(after, run.logits_after)).toBeLessThan(1e-5);
  });

  it('gradient accumulation (2 micro-batches per step) through the gradient and optimizer graphs', async () => {
    const run = ref.runs.accumulation;
    const { dir, manifest } = compile('bert_fe_opset14_folded.onnx', run);
    const r = runnerWithTorchHead(dir, manifest.newlyInitialized, ref.head);
    const losses: number[] = [];
    const norms: number[] = [];
    let k = 0;
    for (let step = 0; step < run.steps; step++) {
      for (let m = 0; m < run.accumulation; m++, k++) {
        const b = ref.train_batches[k]!;
        losses.push(await r.accumulate(b, b.labels, 1 / run.accumulation));
      }
      norms.push(await r.optimizerStep(run.learning_rates[step]!, step + 1));
    }
    const after = (await r.evaluate(ref.eval_batch, [0, 0, 0, 0, 0])).logits;
    expect(maxRelDiff(losses, run.micro_losses)).toBeLessThan(1e-5);
    expect(maxRelDiff(norms, run.grad_norms)).toBeLessThan(2e-5);
    expect(maxAbsDiff(after, run.logits_after)).toBeLessThan(1e-5);
    // max_grad_norm 0.5 clips some of these steps and not others.
    expect(run.grad_norms.some((n) => n > 0.5) && run.grad_norms.some((n) => n < 0.5)).toBe(true);
  });

  it('regression (num_labels 1, MSE loss, float labels)', async () => {
    const run = ref.runs.regression;
    const { dir, manifest } = compile('bert_fe_opset14_folded.onnx', run, 1);
    expect(manifest.labels.dataType).toBe('float32');
    expect(manifest.model.problemType).toBe('regression');
    const r = runnerWithTorchHead(dir, manifest.newlyInitialized, ref.regression_head);
    const before = (await r.evaluate(ref.eval_batch, [0, 0, 0, 0, 0])).logits;
    expect(maxAbsDiff(before, ref.logits_before.regression)).toBeLessThan(1e-5);
    const losses: number[] = [];
    const norms: number[] = [];
    for (let step = 0; step < run.steps; step++) {
      const [loss, norm] = await r.trainStep(
        ref.train_batches[step]!,
        ref.regression_labels[step]!,
        run.learning_rates[step]!,
        step + 1,
      );
      losses.push(loss);
      norms.push(norm);
    }
    const after = (await r.evaluate(ref.eval_batch, [0, 0, 0, 0, 0])).logits;
    expect(maxRelDiff(losses, run.micro_losses)).toBeLessThan(1e-5);
    expect(maxRelDiff(norms, run.grad_norms)).toBeLessThan(2e-5);
    expect(maxAbsDiff(after, run.logits_after)).toBeLessThan(2e-5);
  });
});
