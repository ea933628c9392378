"""Exports a tiny attention block with torch.onnx.export to the committed test fixtures.

Run from the repo root with /usr/bin/python3 (torch 1.13, onnx 1.12):
    /usr/bin/python3 packages/graph/scripts/make_fixtures.py
Writes packages/graph/test/fixtures/tiny_block_op{14,17}{,_nofold}.onnx and tiny_block.json (input and the
torch output, which the round-trip test compares against onnxruntime).
"""
import json
import math
import os

import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures")
HIDDEN, HEADS = 8, 2


class TinyBlock(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = torch.nn.Linear(HIDDEN, 3 * HIDDEN)
        self.out = torch.nn.Linear(HIDDEN, HIDDEN)
        self.ln = torch.nn.LayerNorm(HIDDEN)
        self.up = torch.nn.Linear(HIDDEN, 16)
        self.down = torch.nn.Linear(16, HIDDEN)

    def forward(self, x, mask):
        b, s, _ = x.shape
        q, k, v = self.qkv(x).split(HIDDEN, dim=-1)

        def heads(t):
            return t.view(b, s, HEADS, HIDDEN // HEADS).transpose(1, 2)

        scores = heads(q) @ heads(k).transpose(-1, -2) / math.sqrt(HIDDEN // HEADS)
        scores = scores + (1.0 - mask[:, None, None, :]) * -10000.0
        ctx = (scores.softmax(-1) @ heads(v)).transpose(1, 2).reshape(b, s, HIDDEN)
        h = self.ln(x + self.out(ctx))
        return self.down(torch.nn.functional.gelu(self.up(h)))


def main():
    torch.manual_seed(0)
    model = TinyBlock().eval()
    x = torch.randn(2, 3, HIDDEN)
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    for opset in (14, 17):
        for fold in (True, False):
            name = f"tiny_block_op{opset}{'' if fold else '_nofold'}.onnx"
            torch.onnx.export(
                model,
                (x, mask),
                os.path.join(OUT, name),
                input_names=["x", "mask"],
                output_names=["y"],
                dynamic_axes={"x": {0: "batch", 1: "seq"}, "mask": {0: "batch", 1: "seq"}, "y": {0: "batch", 1: "seq"}},
                opset_version=opset,
                do_constant_folding=fold,
            )
    with torch.no_grad():
        y = model(x, mask)
    with open(os.path.join(OUT, "tiny_block.json"), "w") as f:
        json.dump({"x": x.flatten().tolist(), "xDims": list(x.shape), "mask": mask.flatten().tolist(),
                   "maskDims": list(mask.shape), "y": y.flatten().tolist(), "yDims": list(y.shape)}, f)


if __name__ == "__main__":
    main()
