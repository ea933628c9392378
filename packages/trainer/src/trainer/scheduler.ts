import type { SchedulerType } from './argument-spec.js';

/**
 * Learning-rate schedules exactly as transformers' `get_scheduler` builds them: a LambdaLR whose multiplier
 * at scheduler step `s` (the number of optimizer steps already taken) is `lambda(s)`. Optimizer step k
 * (1-based) therefore uses `lrAt(k - 1)`.
 */
export class LRScheduler {
  constructor(
    readonly type: SchedulerType,
    readonly baseLr: number,
    readonly warmupSteps: number,
    readonly totalSteps: number,
  ) {}

  /** Multiplier of the base rate after `s` scheduler steps. */
  lambda(s: number): number {
    const w = this.warmupSteps;
    if (this.type === 'constant') return 1;
    if (s < w) return s / Math.max(1, w);
    if (this.type === 'constant_with_warmup') return 1;
    const progressDen = Math.max(1, this.totalSteps - w);
    if (this.type === 'linear') return Math.max(0, (this.totalSteps - s) / progressDen);
    // cosine with num_cycles = 0.5: half a cosine from 1 down to 0.
    const progress = (s - w) / progressDen;
    return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * 0.5 * 2 * progress)));
  }

  lrAt(s: number): number {
    return this.baseLr * this.lambda(s);
  }
}

/** HF's `get_warmup_steps`: warmup_steps when > 0, else ceil(total * warmup_ratio). */
export function warmupStepsFor(totalSteps: number, warmupSteps: number, warmupRatio: number): number {
  return warmupSteps > 0 ? warmupSteps : Math.ceil(totalSteps * warmupRatio);
}
