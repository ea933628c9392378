import type { JsonObject, SchedulerType } from './argument-spec.js';

/** HF's `lr_scheduler_kwargs`: the extra arguments of the chosen schedule function. */
export type SchedulerKwargs = JsonObject;

type Check = (v: unknown) => boolean;
const isNum: Check = (v) => typeof v === 'number' && Number.isFinite(v);
const nonNeg: Check = (v) => isNum(v) && (v as number) >= 0;
const count: Check = (v) => Number.isInteger(v) && (v as number) >= 0;
const shape: Check = (v) => v === 'linear' || v === 'cosine' || v === '1-sqrt';

/**
 * The keyword arguments each schedule function of transformers accepts through get_scheduler. constant,
 * constant_with_warmup and inverse_sqrt get none there (get_scheduler drops them), so any given is an error here.
 */
const KWARGS: Record<SchedulerType, Record<string, [Check, string]>> = {
  linear: {},
  constant: {},
  constant_with_warmup: {},
  inverse_sqrt: {},
  cosine: { num_cycles: [nonNeg, 'a number >= 0'] },
  cosine_with_restarts: { num_cycles: [(v) => count(v) && (v as number) > 0, 'a positive integer'] },
  polynomial: { lr_end: [nonNeg, 'a number >= 0'], power: [nonNeg, 'a number >= 0'] },
  cosine_with_min_lr: {
    num_cycles: [nonNeg, 'a number >= 0'],
    min_lr: [nonNeg, 'a number >= 0'],
    min_lr_rate: [nonNeg, 'a number >= 0'],
  },
  warmup_stable_decay: {
    num_decay_steps: [count, 'an integer >= 0'],
    num_stable_steps: [count, 'an integer >= 0'],
    warmup_type: [shape, '"linear", "cosine" or "1-sqrt"'],
    decay_type: [shape, '"linear", "cosine" or "1-sqrt"'],
    min_lr_ratio: [(v) => nonNeg(v) && (v as number) <= 1, 'a number in [0, 1]'],
    num_cycles: [nonNeg, 'a number >= 0'],
  },
  reduce_lr_on_plateau: {
    mode: [(v) => v === 'min' || v === 'max', '"min" or "max"'],
    factor: [(v) => nonNeg(v) && (v as number) < 1, 'a number in [0, 1)'],
    patience: [count, 'an integer >= 0'],
    threshold: [nonNeg, 'a number >= 0'],
    threshold_mode: [(v) => v === 'rel' || v === 'abs', '"rel" or "abs"'],
    cooldown: [count, 'an integer >= 0'],
    min_lr: [nonNeg, 'a number >= 0'],
    eps: [nonNeg, 'a number >= 0'],
  },
};

/** Why `kwargs` do not fit schedule `type` with initial rate `lr` (as transformers would refuse them), or null. */
export function schedulerKwargsError(
  type: SchedulerType,
  kwargs: SchedulerKwargs,
  lr: number,
): string | null {
  const accepted = KWARGS[type];
  for (const [key, value] of Object.entries(kwargs)) {
    const spec = accepted[key];
    if (!spec) {
      const names = Object.keys(accepted);
      return `${type} takes ${names.length ? `only ${names.join(', ')}` : 'no keyword arguments'}, not "${key}"`;
    }
    if (!spec[0](value)) return `${key} must be ${spec[1]}, got ${JSON.stringify(value)}`;
  }
  if (type === 'polynomial' && !(lr > Number(kwargs['lr_end'] ?? 1e-7))) {
    return `lr_end (${kwargs['lr_end'] ?? 1e-7}) must be smaller than the learning rate (${lr})`;
  }
  if (type === 'cosine_with_min_lr' && 'min_lr' in kwargs === 'min_lr_rate' in kwargs) {
    return 'cosine_with_min_lr needs exactly one of min_lr and min_lr_rate';
  }
  if (type === 'warmup_stable_decay' && !('num_decay_steps' in kwargs)) {
    return 'warmup_stable_decay needs num_decay_steps';
  }
  return null;
}

/** torch.optim.lr_scheduler.ReduceLROnPlateau's mutable state (saved in checkpoints). */
export interface PlateauState {
  lr: number;
  best: number;
  num_bad_epochs: number;
  cooldown_counter: number;
}

/**
 * Learning-rate schedules exactly as transformers' `get_scheduler` builds them: a LambdaLR whose multiplier
 * at scheduler step `s` (the number of optimizer steps already taken) is `lambda(s)`. Optimizer step k
 * (1-based) therefore uses `lrAt(k - 1)`. reduce_lr_on_plateau is torch's ReduceLROnPlateau instead: the
 * rate changes only through `stepOnMetric` (HF's Trainer calls it after each evaluation) and ignores warmup.
 */
export class LRScheduler {
  private plateau: PlateauState;

  constructor(
    readonly type: SchedulerType,
    readonly baseLr: number,
    readonly warmupSteps: number,
    readonly totalSteps: number,
    readonly kwargs: SchedulerKwargs = {},
  ) {
    const error = schedulerKwargsError(type, kwargs, baseLr);
    if (error) throw new Error(`lr_scheduler_kwargs: ${error}`);
    this.plateau = {
      lr: baseLr,
      best: this.mode() === 'min' ? Infinity : -Infinity,
      num_bad_epochs: 0,
      cooldown_counter: 0,
    };
  }

  private num(key: string, fallback: number): number {
    return (this.kwargs[key] as number | undefined) ?? fallback;
  }

  private mode(): 'min' | 'max' {
    return this.kwargs['mode'] === 'max' ? 'max' : 'min';
  }

  /** Multiplier of the base rate after `s` scheduler steps. */
  lambda(s: number): number {
    const type = this.type;
    const w = this.warmupSteps;
    const t = this.totalSteps;
    if (type === 'constant') return 1;
    if (type === 'reduce_lr_on_plateau') return this.plateau.lr / this.baseLr;
    if (type === 'warmup_stable_decay') return this.wsd(s);
    if (s < w) return s / Math.max(1, w);
    if (type === 'constant_with_warmup') return 1;
    if (type === 'inverse_sqrt') {
      const timescale = w || 10_000;
      return 1 / Math.sqrt((s + timescale - w) / timescale);
    }
    const progress = (s - w) / Math.max(1, t - w);
    if (type === 'linear') return Math.max(0, (t - s) / Math.max(1, t - w));
    if (type === 'cosine') {
      return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * this.num('num_cycles', 0.5) * 2 * progress)));
    }
    if (type === 'cosine_with_restarts') {
      if (progress >= 1) return 0;
      return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * ((this.num('num_cycles', 1) * progress) % 1))));
    }
    if (type === 'cosine_with_min_lr') {
      const rate =
        this.kwargs['min_lr'] != null ? this.num('min_lr', 0) / this.baseLr : this.num('min_lr_rate', 0);
      const factor = 0.5 * (1 + Math.cos(Math.PI * this.num('num_cycles', 0.5) * 2 * progress));
      return Math.max(0, factor * (1 - rate) + rate);
    }
    // polynomial: from the base rate down to lr_end, then held there.
    const lrEnd = this.num('lr_end', 1e-7);
    if (s > t) return lrEnd / this.baseLr;
    // transformers divides by zero when warmup fills the run; the floor is the continuous limit.
    const remaining = t > w ? 1 - (s - w) / (t - w) : 0;
    return ((this.baseLr - lrEnd) * remaining ** this.num('power', 1) + lrEnd) / this.baseLr;
  }

  /** warmup_stable_decay (get_wsd_schedule): warmup, a flat stretch, then a decay to min_lr_ratio. */
  private wsd(s: number): number {
    const w = this.warmupSteps;
    const decaySteps = this.num('num_decay_steps', 0);
    const stable = this.num('num_stable_steps', this.totalSteps - w - decaySteps);
    const minRatio = this.num('min_lr_ratio', 0);
    const shaped = (kind: unknown, progress: number, rising: boolean): number => {
      if (kind === 'linear') return rising ? progress : 1 - progress;
      if (kind === '1-sqrt') return rising ? 1 - Math.sqrt(1 - progress) : 1 - Math.sqrt(progress);
      return rising
        ? 0.5 * (1 - Math.cos(Math.PI * progress))
        : 0.5 * (1 + Math.cos(Math.PI * this.num('num_cycles', 0.5) * 2 * progress));
    };
    if (s < w) {
      const f = shaped(this.kwargs['warmup_type'] ?? 'linear', s / Math.max(1, w), true);
      return Math.max(0, f * (1 - minRatio) + minRatio);
    }
    if (s < w + stable) return 1;
    if (s < w + stable + decaySteps) {
      const f = shaped(
        this.kwargs['decay_type'] ?? 'cosine',
        (s - w - stable) / Math.max(1, decaySteps),
        false,
      );
      return Math.max(0, f * (1 - minRatio) + minRatio);
    }
    return minRatio;
  }

  lrAt(s: number): number {
    return this.type === 'reduce_lr_on_plateau' ? this.plateau.lr : this.baseLr * this.lambda(s);
  }

  /** ReduceLROnPlateau.step(metric) (torch 1.13); a no-op for the step-driven schedules. */
  stepOnMetric(metric: number): void {
    if (this.type !== 'reduce_lr_on_plateau') return;
    const p = this.plateau;
    const threshold = this.num('threshold', 1e-4);
    const rel = this.kwargs['threshold_mode'] !== 'abs';
    const better =
      this.mode() === 'min'
        ? metric < (rel ? p.best * (1 - threshold) : p.best - threshold)
        : metric > (rel ? p.best * (1 + threshold) : p.best + threshold);
    if (better) {
      p.best = metric;
      p.num_bad_epochs = 0;
    } else p.num_bad_epochs++;
    if (p.cooldown_counter > 0) {
      p.cooldown_counter--;
      p.num_bad_epochs = 0;
    }
    if (p.num_bad_epochs > this.num('patience', 10)) {
      const reduced = Math.max(p.lr * this.num('factor', 0.1), this.num('min_lr', 0));
      if (p.lr - reduced > this.num('eps', 1e-8)) p.lr = reduced;
      p.cooldown_counter = this.num('cooldown', 0);
      p.num_bad_epochs = 0;
    }
  }

  /** What a checkpoint stores to resume this schedule (scheduler.json). */
  stateDict(): Record<string, unknown> {
    return {
      type: this.type,
      base_lr: this.baseLr,
      warmup_steps: this.warmupSteps,
      total_steps: this.totalSteps,
      kwargs: this.kwargs,
      ...(this.type === 'reduce_lr_on_plateau' && { plateau: { ...this.plateau } }),
    };
  }

  /** Restores the plateau state from `stateDict()`; the step-driven schedules need only the step. */
  loadStateDict(saved: Record<string, unknown>): void {
    const p = saved['plateau'] as PlateauState | undefined;
    if (this.type === 'reduce_lr_on_plateau' && p) {
      // JSON has no Infinity: a best never set comes back as null.
      this.plateau = { ...p, best: p.best ?? this.plateau.best };
    }
  }
}

/** HF's `get_warmup_steps`: warmup_steps when > 0, else ceil(total * warmup_ratio). */
export function warmupStepsFor(totalSteps: number, warmupSteps: number, warmupRatio: number): number {
  return warmupSteps > 0 ? warmupSteps : Math.ceil(totalSteps * warmupRatio);
}
