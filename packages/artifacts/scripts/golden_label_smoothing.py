"""Golden label-smoothed losses and logit gradients for test/fixtures/label_smoothing.json.

The loss is transformers' LabelSmoother.__call__ (trainer_pt_utils.py), copied since transformers is not installed
here, under torch 1.13 autograd; the script also checks it against torch's own CrossEntropyLoss(label_smoothing).
Run: /usr/bin/python3 scripts/golden_label_smoothing.py > test/fixtures/label_smoothing.json
"""
import json

import torch
from torch import nn


def label_smoother(logits, labels, epsilon, ignore_index=-100):
    log_probs = -nn.functional.log_softmax(logits, dim=-1)
    if labels.dim() == log_probs.dim() - 1:
        labels = labels.unsqueeze(-1)
    padding_mask = labels.eq(ignore_index)
    labels = torch.clamp(labels, min=0)
    nll_loss = log_probs.gather(dim=-1, index=labels)
    smoothed_loss = log_probs.sum(dim=-1, keepdim=True, dtype=torch.float32)
    nll_loss.masked_fill_(padding_mask, 0.0)
    smoothed_loss.masked_fill_(padding_mask, 0.0)
    num_active_elements = padding_mask.numel() - padding_mask.long().sum()
    nll_loss = nll_loss.sum() / num_active_elements
    smoothed_loss = smoothed_loss.sum() / (num_active_elements * log_probs.shape[-1])
    return (1 - epsilon) * nll_loss + epsilon * smoothed_loss


torch.manual_seed(0)
cases = []
for batch, classes, epsilon in [(5, 2, 0.1), (4, 3, 0.2), (6, 5, 0.05), (3, 3, 0.0)]:
    logits = (torch.randn(batch, classes) * 3).requires_grad_()
    labels = torch.randint(0, classes, (batch,))
    loss = label_smoother(logits, labels, epsilon)
    loss.backward()
    reference = nn.CrossEntropyLoss(label_smoothing=epsilon)(logits.detach(), labels)
    assert torch.allclose(loss.detach(), reference, atol=1e-6), (loss, reference)
    cases.append({
        "epsilon": epsilon,
        "logits": logits.detach().flatten().tolist(),
        "shape": [batch, classes],
        "labels": labels.tolist(),
        "loss": loss.item(),
        "grad": logits.grad.flatten().tolist(),
    })
print(json.dumps(cases))
