"""Shared fixture writer for the non-BERT families (make_<family>_fixtures.py): exports a family's
sequence-classification model and its base model the way Optimum does (torch.onnx.export, the family's own
input names, dynamic batch/sequence axes, constant folding, transformers.js layout `<dir>/onnx/model.onnx` with
config.json beside it), writes the HF checkpoint folder (the classification model's own state_dict, untransposed,
HF names) after proving it loads with load_state_dict(strict=True) into a fresh module with equal logits, and
records a PyTorch training run on the BERT fixtures' batches.
"""

import json
import os
import struct

import numpy as np
import torch
from torch import nn

import make_fixtures as base


def extended_mask(attention_mask):
    """HF get_extended_attention_mask: 0 where attended, the dtype's minimum where masked."""
    ext = attention_mask[:, None, None, :].to(torch.float32)
    return (1.0 - ext) * torch.finfo(torch.float32).min


class FactorizedEmbeddings(nn.Module):
    """ElectraEmbeddings / AlbertEmbeddings: BERT's embeddings at embedding_size (word + token type +
    position from the position_ids buffer, LayerNorm, dropout)."""

    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.embedding_size, padding_idx=c.pad_token_id)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.embedding_size)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.embedding_size)
        self.LayerNorm = nn.LayerNorm(c.embedding_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)
        self.register_buffer('position_ids', torch.arange(c.max_position_embeddings).expand((1, -1)), persistent=False)

    def forward(self, input_ids, token_type_ids):
        position_ids = self.position_ids[:, : input_ids.size(1)]
        e = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        e = e + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(e))


class DenseClassificationHead(nn.Module):
    """RobertaClassificationHead / ElectraClassificationHead: features[:, 0] -> dropout -> dense -> activation
    -> dropout -> out_proj."""

    def __init__(self, c, num_labels, activation):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)
        self.out_proj = nn.Linear(c.hidden_size, num_labels)
        self.activation = activation

    def forward(self, features):
        x = self.activation(self.dense(self.dropout(features[:, 0, :])))
        return self.out_proj(self.dropout(x))


def read_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    header.pop('__metadata__', None)
    return {
        k: torch.from_numpy(np.frombuffer(data[v['data_offsets'][0] : v['data_offsets'][1]], dtype='<f4').copy()).reshape(v['shape'])
        for k, v in header.items()
    }


def export(model, folder, inputs, outputs, opset, config):
    os.makedirs(os.path.join(folder, 'onnx'), exist_ok=True)
    ids = torch.tensor([[2, 5, 6, 7, 3, 0], [2, 9, 3, 10, 11, 3]], dtype=torch.int64)
    mask = torch.tensor([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]], dtype=torch.int64)
    tt = torch.tensor([[0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 1, 1]], dtype=torch.int64)
    example = {'input_ids': ids, 'attention_mask': mask, 'token_type_ids': tt}
    axes = {n: {0: 'batch_size', 1: 'sequence_length'} for n in inputs}
    for o in outputs:
        axes[o] = {0: 'batch_size'} if o == 'logits' else {0: 'batch_size', 1: 'sequence_length'}
    model.eval()
    torch.onnx.export(
        model,
        tuple(example[n] for n in inputs),
        os.path.join(folder, 'onnx', 'model.onnx'),
        input_names=inputs,
        output_names=outputs,
        dynamic_axes=axes,
        opset_version=opset,
        do_constant_folding=True,
    )
    with open(os.path.join(folder, 'config.json'), 'w') as f:
        json.dump(config, f, indent=2)


def write_checkpoint(cls, make_cls, folder, config, batch):
    """The classification model's state_dict as HF saves it, proven loadable (strict) with equal logits."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, 'model.safetensors')
    base.write_safetensors(path, cls.state_dict())
    with open(os.path.join(folder, 'config.json'), 'w') as f:
        json.dump(config, f, indent=2)
    fresh = make_cls()
    fresh.load_state_dict(read_safetensors(path), strict=True)
    fresh.eval()
    cls.eval()
    with torch.no_grad():
        a = fresh(batch['input_ids'], batch['attention_mask'], batch['token_type_ids'])
        b = cls(batch['input_ids'], batch['attention_mask'], batch['token_type_ids'])
    diff = float((a - b).abs().max())
    assert diff <= 1e-5, diff
    return diff


def reference(cls, make_cls_no_dropout, config, head_prefixes, pad_token_id=0):
    """The classification run of make_fixtures.py (8 AdamW steps, warmup 2, clipping 1, decay 0.01; lr 1e-2 so that the tiny heads move) on the
    same batches, decay skipped for 1-D parameters (HF's param groups: biases and LayerNorm weights)."""
    gen = torch.Generator().manual_seed(99)
    train_batches = base.make_batches(gen, [4] * 8, [9, 12, 7, 10, 12, 8, 11, 9])
    eval_batch = base.make_batches(gen, [5], [12])[0]
    labels = [torch.randint(0, 2, (4,), generator=gen) for _ in train_batches]
    for b in train_batches + [eval_batch]:  # padding with the family's own pad id (RoBERTa: 1)
        b['input_ids'][b['attention_mask'] == 0] = pad_token_id
    init = {k: v.clone() for k, v in cls.state_dict().items()}
    model = make_cls_no_dropout()

    def logits(m):
        m.eval()
        with torch.no_grad():
            return base.floats(m(eval_batch['input_ids'], eval_batch['attention_mask'], eval_batch['token_type_ids']))

    model.load_state_dict(init)
    before = logits(model)
    hp = dict(lr=1e-2, warmup=2, steps=8, accumulation=1, max_grad_norm=1.0, weight_decay=0.01)
    rec = base.train_run(model, init, train_batches, labels, **hp, no_decay=lambda n, p: p.dim() < 2)
    rec['logits_after'] = logits(model)
    return {
        'config': config,
        'head': {k: {'shape': list(v.shape), 'data': base.floats(v)} for k, v in init.items() if k.startswith(head_prefixes)},
        'train_batches': [base.batch_json(b, l) for b, l in zip(train_batches, labels)],
        'eval_batch': base.batch_json(eval_batch, torch.zeros(5, dtype=torch.int64)),
        'logits_before': before,
        'run': {**hp, 'num_labels': 2, **rec},
    }


def perturb(model):
    """Non-trivial LayerNorm and bias values, so that a parameter mix-up cannot go unnoticed."""
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith('.bias') or p.dim() == 1:
                p.add_(torch.randn(p.shape) * 0.05)


def write_reference(out, ref):
    with open(os.path.join(out, 'reference.json'), 'w') as f:
        json.dump(ref, f)
    r = ref['run']
    print('loss', [round(x, 5) for x in r['micro_losses']], 'norm', [round(x, 4) for x in r['grad_norms']])
