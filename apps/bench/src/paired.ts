import { type Summary, summarize } from './stats.js';
import type { StepReply } from './step-server.js';

/**
 * ortrain against PyTorch with the host's drift taken out: both step servers stay up and take the same batch
 * one after the other, so each pair of steps ran within seconds of each other. This host's speed moves by 15
 * to 30% over minutes, which two separate runs minutes apart turn into noise in their ratio.
 */
export interface PairedFigures {
  /** Per pair: the batch index, then ortrain's and PyTorch's step time on it. */
  pairs: { batch: number; ortrainMs: number; torchMs: number }[];
  ortrainMs: Summary;
  torchMs: Summary;
  /** PyTorch's time over ortrain's, pair by pair: how much faster ortrain took the same batch. */
  speedup: Summary;
  /** PyTorch's summed step time over ortrain's: the ratio of mean steps, for batches of different lengths. */
  meanSpeedup: number;
  /** Rows per second over the timed steps. */
  ortrainSamplesPerSec: number;
  torchSamplesPerSec: number;
}

export interface Stepper {
  step(index: number): Promise<StepReply>;
}

/**
 * Times `indices` on both servers, alternating which goes first from pair to pair so that a drift in the
 * host's speed favours neither.
 */
export async function interleave(
  ortrain: Stepper,
  torch: Stepper,
  indices: readonly number[],
): Promise<PairedFigures> {
  const replies: { batch: number; ours: StepReply; theirs: StepReply }[] = [];
  for (const [k, batch] of indices.entries()) {
    const oursFirst = k % 2 === 0;
    const first = await (oursFirst ? ortrain : torch).step(batch);
    const second = await (oursFirst ? torch : ortrain).step(batch);
    replies.push(oursFirst ? { batch, ours: first, theirs: second } : { batch, ours: second, theirs: first });
  }
  return pairedFigures(replies);
}

export function pairedFigures(
  replies: readonly { batch: number; ours: StepReply; theirs: StepReply }[],
): PairedFigures {
  const pairs = replies.map((r) => ({ batch: r.batch, ortrainMs: r.ours.ms, torchMs: r.theirs.ms }));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const ours = pairs.map((p) => p.ortrainMs);
  const theirs = pairs.map((p) => p.torchMs);
  const rows = sum(replies.map((r) => r.ours.rows));
  return {
    pairs,
    ortrainMs: summarize(ours),
    torchMs: summarize(theirs),
    speedup: summarize(pairs.map((p) => p.torchMs / p.ortrainMs)),
    meanSpeedup: sum(theirs) / sum(ours),
    ortrainSamplesPerSec: (rows * 1000) / sum(ours),
    torchSamplesPerSec: (rows * 1000) / sum(theirs),
  };
}
