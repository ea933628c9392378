import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors } from '@ortrain/artifacts';
import { afterAll, describe, expect, it } from 'vitest';
import { TrainingArguments } from '../src/trainer/arguments.js';
import { type StepEvent, Trainer } from '../src/trainer/trainer.js';
import {
  datasetOf,
  FIXTURES,
  maxAbsDiff,
  maxRelDiff,
  type RefBatch,
  type RefRun,
} from './helpers/reference.js';

const tmp = mkdtempSync(join(tmpdir(), 'ortrain-families-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The artifacts package's per-family references (scripts/make_<family>_fixtures.py), head included. */
interface FamilyReference {
  train_batches: RefBatch[];
  eval_batch: RefBatch;
  run: RefRun;
}

describe.each(['distilbert', 'roberta', 'xlm-roberta', 'electra', 'albert'])('Trainer on %s', (family) => {
  const fixtures = join(FIXTURES, family);
  const ref: FamilyReference = JSON.parse(readFileSync(join(fixtures, 'reference.json'), 'utf8'));
  const run = ref.run;

  it.each(['hf_checkpoint', 'cls_opset14'])(
    "from %s: PyTorch's per-step losses and final logits; checkpoints in HF's layout",
    async (source) => {
      const output = join(tmp, `${family}-${source}`);
      const trainer = new Trainer({
        model: { source: join(fixtures, source) },
        args: new TrainingArguments({
          output_dir: output,
          max_steps: run.steps,
          per_device_train_batch_size: 4,
          learning_rate: run.lr,
          warmup_steps: run.warmup,
          weight_decay: run.weight_decay,
          max_grad_norm: run.max_grad_norm,
          shuffle: false,
          dropout: 0,
          device: 'cpu',
          save_strategy: 'steps',
          save_steps: run.steps,
        }),
        trainDataset: datasetOf(ref.train_batches),
      });
      const steps: StepEvent[] = [];
      trainer.on('step', (e) => steps.push(e));
      await trainer.train();
      expect(
        maxRelDiff(
          steps.map((s) => s.loss),
          run.micro_losses,
        ),
      ).toBeLessThan(1e-5);
      expect(
        maxRelDiff(
          steps.map((s) => s.gradNorm),
          run.grad_norms,
        ),
      ).toBeLessThan(1e-4);
      const pred = await trainer.predict(datasetOf([ref.eval_batch]));
      expect(maxAbsDiff(pred.predictions, run.logits_after)).toBeLessThan(2e-5);
      // checkpoint-N/model.safetensors: the names and shapes of PyTorch's own state_dict.
      const torch = readSafetensors(join(fixtures, 'hf_checkpoint', 'model.safetensors'));
      const saved = readSafetensors(join(output, `checkpoint-${run.steps}`, 'model.safetensors'));
      expect([...saved.keys()].sort()).toEqual([...torch.keys()].sort());
      for (const [name, t] of torch) expect(saved.get(name)!.dims, name).toEqual(t.dims);
      // ... and bit for bit the final model's model.safetensors (HF's layout, proven against PyTorch's
      // state_dict in @ortrain/artifacts), the checkpoint being of the last step.
      trainer.saveModel(join(output, 'final'));
      const final = readSafetensors(join(output, 'final', 'model.safetensors'));
      for (const [name, t] of final)
        expect(maxAbsDiff(saved.get(name)!.data as Float32Array, t.data as Float32Array), name).toBe(0);
      await trainer.close();
    },
  );
});
