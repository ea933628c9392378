/**
 * A streamed training set (HF's IterableDataset): the same batches in the same order train exactly as the
 * tokenized split does, passes restart when the stream ends, max_steps is required, and resuming skips the
 * batches already trained on.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileArtifacts } from '@ortrain/artifacts';
import { DataCollatorWithPadding, SequentialSampler } from '@ortrain/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrainingArguments, type TrainingArgumentsInit } from '../src/trainer/arguments.js';
import type { StreamedDataset } from '../src/trainer/streamed.js';
import { Trainer, type TrainerOptions } from '../src/trainer/trainer.js';
import { datasetOf, FIXTURES, reference as ref } from './helpers/reference.js';

const tmp = mkdtempSync(join(tmpdir(), 'ortrain-streamed-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
/** 32 rows: 8 batches of 4 per epoch. */
const trainSet = datasetOf(ref.train_batches);
let artifacts: string;
beforeAll(() => {
  artifacts = compileArtifacts(join(FIXTURES, 'bert_cls_opset14.onnx'), {
    name: 'tiny',
    outDir: tmp,
    dropout: { hidden: 0, attention: 0, classifier: 0 },
  }).dir;
});

/** The split's rows in order, as a stream of collated batches; records which passes were read. */
function streamOf(passes: number[]): StreamedDataset {
  const collator = new DataCollatorWithPadding();
  return {
    streamed: true,
    async *batches(epoch, batchSize) {
      passes.push(epoch);
      const sampler = new SequentialSampler(trainSet.numRows, { batchSize });
      for (const rows of sampler.batches(0)) yield collator.collate(trainSet, rows);
    },
  };
}

let runs = 0;
function trainerFor(extra: Partial<TrainingArgumentsInit>, options: Partial<TrainerOptions>): Trainer {
  const args = new TrainingArguments({
    output_dir: join(tmp, `run-${runs++}`),
    per_device_train_batch_size: 4,
    learning_rate: 1e-3,
    device: 'cpu',
    dropout: 0,
    shuffle: false,
    logging_steps: 1,
    save_strategy: 'no',
    ...extra,
  });
  return new Trainer({ model: artifacts, args, trainDataset: trainSet, ...options });
}

const losses = (t: Trainer) =>
  t.state.log_history.filter((e) => e['loss'] !== undefined).map((e) => [e.step, e['loss'], e['grad_norm']]);

describe('a streamed training set', () => {
  it('trains exactly as the same batches from the tokenized split, over two passes', async () => {
    const split = trainerFor({ max_steps: 11 }, {});
    await split.train();
    const passes: number[] = [];
    const streamed = trainerFor({ max_steps: 11 }, { trainDataset: streamOf(passes) });
    const begin: number[] = [];
    streamed.on('train_begin', (info) => begin.push(info.numExamples));
    await streamed.train();
    expect(losses(streamed)).toHaveLength(11);
    expect(losses(streamed)).toEqual(losses(split));
    expect(passes).toEqual([0, 1]);
    // HF's accounting without a length: max_steps * batch examples, epochs as fractions of max_steps batches.
    expect(begin).toEqual([44]);
    expect(streamed.state.epoch).toBeCloseTo(1 + 3 / 11, 12);
    expect(streamed.state.global_step).toBe(11);
    await split.close();
    await streamed.close();
  });

  it('needs max_steps, and resuming skips the batches already trained on', async () => {
    const noSteps = trainerFor({}, { trainDataset: streamOf([]) });
    await expect(noSteps.train()).rejects.toThrow(/a streamed training set has no length: set max_steps/);
    await noSteps.close();

    const empty = trainerFor(
      { max_steps: 2 },
      { trainDataset: { streamed: true, batches: async function* () {} } },
    );
    await expect(empty.train()).rejects.toThrow('the streamed training set gives no batch');
    await empty.close();

    const saves = { save_strategy: 'steps', save_steps: 2 } as const;
    const full = trainerFor({ max_steps: 10, ...saves }, { trainDataset: streamOf([]) });
    await full.train();
    // Mid-pass (step 6), and at the last batch of the first pass (step 8: the next pass starts on resuming).
    for (const step of [6, 8]) {
      const resumed = trainerFor({ max_steps: 10 }, { trainDataset: streamOf([]) });
      await resumed.train({ resumeFromCheckpoint: join(full.args.output_dir, `checkpoint-${step}`) });
      expect(losses(resumed).slice(step)).toEqual(losses(full).slice(step));
      expect(losses(resumed)).toHaveLength(10);
      await resumed.close();
    }
    await full.close();
  });
});
