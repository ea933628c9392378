/**
 * Step runners: how one optimizer step (or a group of them) is run on a replica. The Trainer picks one from the
 * arguments and then only asks it for the next steps; every step's accounting (state, logs, callbacks) is its own.
 */
import type { Batch } from '@ortrain/data';
import type { TrainingArguments } from './arguments.js';

/**
 * What the step runners need of a model replica (the runtime's Replica). Each micro-batch's dropout masks
 * derive from its `dropoutSeed` alone; multiStep's step i takes firstDropoutSeed + i.
 */
export interface StepReplica {
  step(
    batch: Batch,
    learningRate: number,
    step: number,
    dropoutSeed?: bigint,
  ): Promise<{ loss: number; gradNorm: number; skipped?: boolean }>;
  accumulate(batch: Batch, gradScale: number, dropoutSeed?: bigint): Promise<number>;
  applyOptimizer(learningRate: number, step: number): Promise<{ gradNorm: number; skipped?: boolean }>;
  /** K steps in one run; absent where a replica cannot (a replica group). */
  multiStep?(
    batches: Batch[],
    learningRates: number[],
    firstStep: number,
    firstDropoutSeed?: bigint,
  ): Promise<{ loss: number; gradNorm: number }[]>;
}

export interface StepOutcome {
  /** HF's tr_loss contribution: the step's micro-batch losses / gradient_accumulation_steps, summed. */
  loss: number;
  gradNorm: number;
  /** fp16: the gradients overflowed and the update was skipped (absent without loss scaling). */
  skipped?: boolean;
  /** Batches this step consumed. */
  batches: number;
}

/**
 * One epoch's collated batches, with the next one always fetched ahead (a group ends on a smaller batch), and
 * each one's dropout seed: `seedAt(i)` for the queue's i-th batch.
 */
export class BatchQueue {
  private head: Batch | undefined;
  private taken = 0;

  constructor(
    private readonly source: () => Batch | undefined,
    private readonly seedAt: (i: number) => bigint,
  ) {
    this.head = source();
  }

  /** The dropout seed of the next batch (consecutive batches have consecutive seeds). */
  nextSeed(): bigint {
    return this.seedAt(this.taken);
  }

  get done(): boolean {
    return this.head === undefined;
  }

  peek(): Batch | undefined {
    return this.head;
  }

  take(): Batch | undefined {
    const b = this.head;
    if (b !== undefined) {
      this.head = this.source();
      this.taken++;
    }
    return b;
  }
}

export interface StepRunner {
  /** The most batches one `run` takes (what a streamed epoch must have read ahead). */
  readonly batchesPerRun: number;
  /**
   * Runs the next optimizer steps from `batches` (at least one batch is left): one, or up to `limit` where the
   * runner groups steps. `step` is the number of optimizer steps applied before them (the global step less
   * fp16's skipped steps: the scheduler's position and AdamW's step count); `lrAt(s)` the learning rate of
   * step s + 1.
   */
  run(
    batches: BatchQueue,
    step: number,
    limit: number,
    lrAt: (step: number) => number,
  ): Promise<StepOutcome[]>;
}

/** One batch, one session run: forward, loss, gradients, clipping, AdamW. */
export function singleSteps(replica: StepReplica): StepRunner {
  return {
    batchesPerRun: 1,
    async run(batches, step, _limit, lrAt) {
      const seed = batches.nextSeed();
      const r = await replica.step(batches.take()!, lrAt(step), step + 1, seed);
      return [{ ...r, batches: 1 }];
    },
  };
}

/** Up to `ga` micro-batches, each loss / ga as HF reports it; an epoch's last partial group steps too. */
export function accumulatedSteps(replica: StepReplica, ga: number): StepRunner {
  return {
    batchesPerRun: ga,
    async run(batches, step, _limit, lrAt) {
      let loss = 0;
      let count = 0;
      while (!batches.done && count < ga) {
        const seed = batches.nextSeed();
        const l = await replica.accumulate(batches.take()!, 1 / ga, seed);
        checkFinite(l, step + 1);
        loss += l / ga;
        count++;
      }
      const r = await replica.applyOptimizer(lrAt(step), step + 1);
      return [{ loss, ...r, batches: count }];
    },
  };
}

/** Up to `limit` steps in one session run (an ONNX Loop); the Loop needs one batch size, so a smaller one ends a group. */
export function groupedSteps(replica: Required<StepReplica>, stepsPerRun: number): StepRunner {
  return {
    batchesPerRun: stepsPerRun,
    async run(batches, step, limit, lrAt) {
      const seed = batches.nextSeed();
      const group = [batches.take()!];
      const size = group[0]!.dims[0];
      while (group.length < Math.min(stepsPerRun, limit) && batches.peek()?.dims[0] === size) {
        group.push(batches.take()!);
      }
      if (group.length === 1)
        return [{ ...(await replica.step(group[0]!, lrAt(step), step + 1, seed)), batches: 1 }];
      const lrs = group.map((_, i) => lrAt(step + i));
      return (await replica.multiStep(group, lrs, step + 1, seed)).map((r) => ({ ...r, batches: 1 }));
    },
  };
}

/** The runner the arguments ask for; `steps_per_run` defaults to 8 on CUDA without accumulation, else 1. */
export function stepRunnerFor(replica: StepReplica, args: TrainingArguments, device: string): StepRunner {
  const ga = args.gradient_accumulation_steps;
  const canGroup = replica.multiStep !== undefined;
  const stepsPerRun = args.steps_per_run ?? (device === 'cuda' && ga === 1 && canGroup ? 8 : 1);
  if (stepsPerRun > 1 && ga > 1) {
    throw new Error('TrainingArguments.steps_per_run > 1 needs gradient_accumulation_steps 1');
  }
  if (stepsPerRun > 1 && !canGroup) {
    throw new Error(
      'TrainingArguments.steps_per_run > 1 runs on one replica; it does not combine with devices',
    );
  }
  if (ga > 1) return accumulatedSteps(replica, ga);
  return stepsPerRun > 1 ? groupedSteps(replica as Required<StepReplica>, stepsPerRun) : singleSteps(replica);
}

export function checkFinite(loss: number, step: number): void {
  if (!Number.isFinite(loss)) {
    throw new Error(
      `Training loss is ${loss} at step ${step}: stopping (lower the learning rate, check the inputs and labels, or resume from an earlier checkpoint)`,
    );
  }
}
