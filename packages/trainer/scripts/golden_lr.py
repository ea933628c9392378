"""Golden learning rates for test/fixtures/lr_golden.json.

The lambdas are transformers' (optimization.py: get_linear_schedule_with_warmup,
get_constant_schedule(_with_warmup), get_cosine_schedule_with_warmup), copied verbatim since transformers is
not installed here; torch's LambdaLR drives them exactly as Trainer does (one scheduler.step() per optimizer
step). Run: /usr/bin/python3 scripts/golden_lr.py > test/fixtures/lr_golden.json
"""
import json
import math

import torch


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


KINDS = {"linear": linear, "constant": constant, "constant_with_warmup": constant_with_warmup, "cosine": cosine}
cases = []
for kind, make in KINDS.items():
    for warmup, total in [(0, 10), (3, 10), (10, 10), (5, 37), (0, 1)]:
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.AdamW([p], lr=5e-5)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, make(warmup, total))
        lrs = []
        for _ in range(total + 2):  # two past the end: schedules must stay at their floor
            lrs.append(opt.param_groups[0]["lr"])  # the rate this optimizer step uses
            opt.step()
            sched.step()
        cases.append({"type": kind, "base_lr": 5e-5, "warmup": warmup, "total": total, "lrs": lrs})
print(json.dumps(cases))
