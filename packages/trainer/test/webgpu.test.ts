import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Replica } from '../src/runtime/replica.js';
import { TrainingArguments } from '../src/trainer/arguments.js';
import { type StepEvent, Trainer } from '../src/trainer/trainer.js';
import { datasetOf, FIXTURES, maxAbsDiff, reference as ref } from './helpers/reference.js';
import { webgpuSkipWhy } from './helpers/webgpu.js';

/** The PyTorch parity run on the WebGPU execution provider (on SwiftShader without a GPU: helpers/webgpu.ts). */
if (webgpuSkipWhy) console.warn(`SKIPPED the WebGPU parity test: ${webgpuSkipWhy}`);

const tmp = mkdtempSync(join(tmpdir(), 'ortrain-webgpu-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The reference's hyperparameters for its first `STEPS` steps, in order, no dropout. */
const STEPS = 3;
function argsFor(device: 'cpu' | 'webgpu'): TrainingArguments {
  const run = ref.runs.classification;
  return new TrainingArguments({
    output_dir: join(tmp, device),
    max_steps: STEPS,
    per_device_train_batch_size: 4,
    learning_rate: run.lr,
    warmup_steps: run.warmup,
    weight_decay: run.weight_decay,
    max_grad_norm: run.max_grad_norm,
    shuffle: false,
    dropout: 0,
    device,
    save_strategy: 'no',
  });
}

describe.skipIf(webgpuSkipWhy !== undefined)('Trainer on WebGPU vs PyTorch (dropout 0)', () => {
  it('the first steps of the classification run: losses, grad norms, state on the device, weights, predict', async () => {
    const run = ref.runs.classification;
    const trainer = new Trainer({
      model: { source: join(FIXTURES, 'bert_cls_opset14.onnx') },
      args: argsFor('webgpu'),
      trainDataset: datasetOf(ref.train_batches),
    });
    const replica = await trainer.getReplica();
    if (!(replica instanceof Replica)) throw new Error('one device gives one Replica');
    expect(replica.provider.device).toBe('webgpu');
    expect(replica.deviceResident).toBe(true);
    const events: StepEvent[] = [];
    trainer.on('step', (e) => events.push(e));
    // With 2 warmup steps, the first 3 learning rates of a linear schedule do not depend on its length.
    await trainer.train();
    const losses = events.map((e) => e.loss);
    expect(losses).toHaveLength(STEPS);
    expect(maxAbsDiff(losses, run.micro_losses.slice(0, STEPS))).toBeLessThanOrEqual(1e-3);
    expect(
      maxAbsDiff(
        events.map((e) => e.gradNorm),
        run.grad_norms.slice(0, STEPS),
      ),
    ).toBeLessThanOrEqual(1e-3);
    // Parameters and moments stay on the device: after the first step's upload, exactly the batch (three
    // int64 [b, s] inputs, int64 labels) and two float scalars go in, loss and grad norm come out.
    const stateBytes = replica.manifest.state.reduce((n, e) => n + 4 * e.shape.reduce((a, d) => a * d, 1), 0);
    const transfers = events.map((e) => e.hostDeviceBytes!);
    expect(transfers[0]).toBeGreaterThan(stateBytes / 3);
    const batchBytes = ([b, s]: [number, number]) => 3 * b * s * 8 + b * 8 + 2 * 4 + 2 * 4;
    expect(transfers.slice(1)).toEqual(ref.train_batches.slice(1, STEPS).map((b) => batchBytes(b.shape)));
    // train() read the state back: the same weights as three steps on the CPU.
    const cpu = new Trainer({
      model: { source: join(FIXTURES, 'bert_cls_opset14.onnx') },
      args: argsFor('cpu'),
      trainDataset: datasetOf(ref.train_batches),
    });
    await cpu.train();
    const cpuWeights = new Map(
      (await cpu.getReplica()).weights().map((t) => [t.name, t.data as Float32Array]),
    );
    let drift = 0;
    for (const t of replica.weights()) {
      drift = Math.max(drift, maxAbsDiff(t.data as Float32Array, cpuWeights.get(t.name)!));
    }
    expect(drift).toBeLessThan(1e-3);
    await cpu.close();
    const pred = await trainer.predict(datasetOf([ref.eval_batch]));
    // The eval graph fed the parameters' device copies: only the batch crossed.
    expect(replica.lastTransferBytes).toBeLessThan(stateBytes / 10);
    expect(pred.shape).toEqual([5, 2]);
    expect(maxAbsDiff(pred.predictions, ref.logits_before.classification)).toBeGreaterThan(1e-3);
    await trainer.close();
  }, 900_000);
});
