"""Golden learning rates for test/fixtures/lr_golden.json.

The lambdas are transformers' (optimization.py: get_linear_schedule_with_warmup, get_constant_schedule(_with_warmup),
get_cosine_schedule_with_warmup, get_cosine_with_hard_restarts_schedule_with_warmup,
get_polynomial_decay_schedule_with_warmup, get_inverse_sqrt_schedule, get_cosine_with_min_lr_schedule_with_warmup,
get_wsd_schedule), copied verbatim since transformers is not installed here; torch's LambdaLR drives them exactly as
Trainer does (one scheduler.step() per optimizer step). reduce_lr_on_plateau is torch's own ReduceLROnPlateau,
stepped with one metric per evaluation as Trainer does. Run: /usr/bin/python3 scripts/golden_lr.py >
test/fixtures/lr_golden.json
"""
import json
import math

import torch

BASE_LR = 5e-5


def linear(w, t):
    def f(s):
        if s < w:
            return float(s) / float(max(1, w))
        return max(0.0, float(t - s) / float(max(1, t - w)))
    return f


def constant(w, t):
    return lambda _: 1.0


def constant_with_warmup(w, t):
    def f(s):
        if s < w:
            return float(s) / float(max(1.0, w))
        return 1.0
    return f


def cosine(w, t, num_cycles=0.5):
    def f(s):
        if s < w:
            return float(s) / float(max(1, w))
        progress = float(s - w) / float(max(1, t - w))
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress)))
    return f


def cosine_with_restarts(w, t, num_cycles=1):
    def f(s):
        if s < w:
            return float(s) / float(max(1, w))
        progress = float(s - w) / float(max(1, t - w))
        if progress >= 1.0:
            return 0.0
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * ((float(num_cycles) * progress) % 1.0))))
    return f


def polynomial(w, t, lr_end=1e-7, power=1.0):
    lr_init = BASE_LR

    def f(s):
        if s < w:
            return float(s) / float(max(1, w))
        elif s > t:
            return lr_end / lr_init
        else:
            lr_range = lr_init - lr_end
            decay_steps = t - w
            pct_remaining = 1 - (s - w) / decay_steps
            decay = lr_range * pct_remaining**power + lr_end
            return decay / lr_init
    return f


def inverse_sqrt(w, t):
    timescale = w or 10_000

    def f(s):
        if s < w:
            return float(s) / float(max(1, w))
        shift = timescale - w
        return 1.0 / math.sqrt((s + shift) / timescale)
    return f


def cosine_with_min_lr(w, t, num_cycles=0.5, min_lr=None, min_lr_rate=None):
    if min_lr is not None:
        min_lr_rate = min_lr / BASE_LR

    def f(s):
        if s < w:
            return float(s) / float(max(1, w))
        progress = float(s - w) / float(max(1, t - w))
        factor = 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress))
        factor = factor * (1 - min_lr_rate) + min_lr_rate
        return max(0, factor)
    return f


def warmup_stable_decay(w, t, num_decay_steps, num_stable_steps=None, warmup_type="linear", decay_type="cosine",
                        min_lr_ratio=0, num_cycles=0.5):
    if num_stable_steps is None:
        num_stable_steps = t - w - num_decay_steps

    def f(s):
        if s < w:
            progress = float(s) / float(max(1, w))
            if warmup_type == "linear":
                factor = progress
            elif warmup_type == "cosine":
                factor = 0.5 * (1.0 - math.cos(math.pi * progress))
            elif warmup_type == "1-sqrt":
                factor = 1.0 - math.sqrt(1.0 - progress)
            factor = factor * (1.0 - min_lr_ratio) + min_lr_ratio
            return max(0.0, factor)
        if s < w + num_stable_steps:
            return 1.0
        if s < w + num_stable_steps + num_decay_steps:
            progress = float(s - w - num_stable_steps) / float(max(1, num_decay_steps))
            if decay_type == "linear":
                factor = 1.0 - progress
            elif decay_type == "cosine":
                factor = 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress))
            elif decay_type == "1-sqrt":
                factor = 1.0 - math.sqrt(progress)
            factor = factor * (1.0 - min_lr_ratio) + min_lr_ratio
            return max(0.0, factor)
        return min_lr_ratio
    return f


RUNS = [(0, 10), (3, 10), (10, 10), (5, 37), (0, 1)]
KINDS = [
    ("linear", linear, [{}]),
    ("constant", constant, [{}]),
    ("constant_with_warmup", constant_with_warmup, [{}]),
    ("cosine", cosine, [{}, {"num_cycles": 1.5}]),
    ("cosine_with_restarts", cosine_with_restarts, [{}, {"num_cycles": 3}]),
    ("polynomial", polynomial, [{}, {"power": 2.0, "lr_end": 1e-6}]),
    ("inverse_sqrt", inverse_sqrt, [{}]),
    ("cosine_with_min_lr", cosine_with_min_lr, [{"min_lr": 1e-6}, {"min_lr_rate": 0.1, "num_cycles": 1.0}]),
    ("warmup_stable_decay", warmup_stable_decay, [
        {"num_decay_steps": 4},
        {"num_decay_steps": 3, "num_stable_steps": 2, "warmup_type": "cosine", "decay_type": "1-sqrt",
         "min_lr_ratio": 0.1},
        {"num_decay_steps": 5, "warmup_type": "1-sqrt", "decay_type": "linear", "min_lr_ratio": 0.2},
    ]),
]


def lambda_cases():
    for kind, make, kwargs_list in KINDS:
        for kwargs in kwargs_list:
            for warmup, total in RUNS:
                if kind == "polynomial" and warmup == total:
                    continue  # transformers divides by zero there
                if kind == "warmup_stable_decay" and warmup + kwargs["num_decay_steps"] > total:
                    continue
                p = torch.nn.Parameter(torch.zeros(1))
                opt = torch.optim.AdamW([p], lr=BASE_LR)
                sched = torch.optim.lr_scheduler.LambdaLR(opt, make(warmup, total, **kwargs))
                lrs = []
                for _ in range(total + 2):  # two past the end: schedules must stay at their floor
                    lrs.append(opt.param_groups[0]["lr"])  # the rate this optimizer step uses
                    opt.step()
                    sched.step()
                yield {"type": kind, "base_lr": BASE_LR, "warmup": warmup, "total": total, "kwargs": kwargs,
                       "lrs": lrs}


# Evaluation metrics that improve, stall, wobble within the threshold and improve again.
METRICS = [1.0, 0.9, 0.9, 0.95, 0.91, 0.90995, 0.92, 0.8, 0.85, 0.85, 0.85, 0.85, 0.7, 0.75, 0.75, 0.75, 0.75]


def plateau_cases():
    for kwargs in [
        {"patience": 1},
        {"patience": 0, "factor": 0.5, "cooldown": 2},
        {"mode": "max", "patience": 1, "threshold": 0.05, "threshold_mode": "abs", "min_lr": 2e-5},
        {"patience": 2, "factor": 0.5, "eps": 1e-4},
    ]:
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.AdamW([p], lr=BASE_LR)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
        lrs = []
        for m in METRICS:
            sched.step(m)
            lrs.append(opt.param_groups[0]["lr"])  # the rate the steps after this evaluation use
        yield {"type": "reduce_lr_on_plateau", "base_lr": BASE_LR, "warmup": 0, "total": 0, "kwargs": kwargs,
               "metrics": METRICS, "lrs": lrs}


print(json.dumps(list(lambda_cases()) + list(plateau_cases())))
