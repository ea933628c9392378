#!/usr/bin/python3
"""DistilBERT fixtures for @ortrain/artifacts tests. Run with Debian's python3 (torch 1.13, onnx 1.12):

    /usr/bin/python3 packages/artifacts/scripts/make_distilbert_fixtures.py

The modules re-implement transformers' modeling_distilbert.py (eager attention): Embeddings (word + position,
no token types, LayerNorm eps 1e-12), MultiHeadSelfAttention (q / sqrt(head_size) before the matmul, mask by
masked_fill with finfo.min, which exports as Equal/Reshape/Expand/Where), FFN (lin1, activation, lin2,
dropout), TransformerBlock (sa_layer_norm, output_layer_norm), and DistilBertForSequenceClassification
(hidden_state[:, 0] -> pre_classifier -> ReLU -> dropout(seq_classif_dropout) -> classifier).

Writes into packages/artifacts/test/fixtures/distilbert/:
- cls_opset14/{config.json, onnx/model.onnx}  DistilBertForSequenceClassification -> logits, opset 14
- fe_opset17/{config.json, onnx/model.onnx}   DistilBertModel -> last_hidden_state, opset 17
- hf_checkpoint/{config.json, model.safetensors}  the classification model's state_dict (HF names, layout)
- reference.json                               head weights, batches, the PyTorch training run
"""

import math
import os

import torch
from torch import nn

import family_fixtures as ff
import make_fixtures as base

OUT = os.path.join(base.OUT, 'distilbert')

CONFIG = {
    'architectures': ['DistilBertForMaskedLM'],
    'model_type': 'distilbert',
    'activation': 'gelu',
    'attention_dropout': 0.1,
    'dim': 32,
    'dropout': 0.1,
    'hidden_dim': 64,
    'initializer_range': 0.02,
    'max_position_embeddings': 64,
    'n_heads': 4,
    'n_layers': 2,
    'pad_token_id': 0,
    'qa_dropout': 0.1,
    'seq_classif_dropout': 0.2,
    'sinusoidal_pos_embds': False,
    'vocab_size': 128,
}


class Cfg:
    def __init__(self, d, dropout=True):
        self.__dict__.update(d)
        if not dropout:
            self.dropout = self.attention_dropout = self.seq_classif_dropout = 0.0


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.dim, padding_idx=c.pad_token_id)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.dim)
        self.LayerNorm = nn.LayerNorm(c.dim, eps=1e-12)
        self.dropout = nn.Dropout(c.dropout)
        self.register_buffer('position_ids', torch.arange(c.max_position_embeddings).expand((1, -1)), persistent=False)

    def forward(self, input_ids):
        seq_length = input_ids.size(1)
        position_ids = self.position_ids[:, :seq_length]
        e = self.word_embeddings(input_ids) + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(e))


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n_heads = c.n_heads
        self.dim = c.dim
        self.dropout = nn.Dropout(p=c.attention_dropout)
        self.q_lin = nn.Linear(c.dim, c.dim)
        self.k_lin = nn.Linear(c.dim, c.dim)
        self.v_lin = nn.Linear(c.dim, c.dim)
        self.out_lin = nn.Linear(c.dim, c.dim)

    def forward(self, query, key, value, mask):
        bs, q_length, dim = query.size()
        k_length = key.size(1)
        dim_per_head = self.dim // self.n_heads
        mask_reshp = (bs, 1, 1, k_length)

        def shape(x):
            return x.view(bs, -1, self.n_heads, dim_per_head).transpose(1, 2)

        def unshape(x):
            return x.transpose(1, 2).contiguous().view(bs, -1, self.n_heads * dim_per_head)

        q = shape(self.q_lin(query))
        k = shape(self.k_lin(key))
        v = shape(self.v_lin(value))
        q = q / math.sqrt(dim_per_head)
        scores = torch.matmul(q, k.transpose(2, 3))
        mask = (mask == 0).view(mask_reshp).expand_as(scores)
        scores = scores.masked_fill(mask, torch.tensor(torch.finfo(scores.dtype).min))
        weights = self.dropout(nn.functional.softmax(scores, dim=-1))
        context = unshape(torch.matmul(weights, v))
        return self.out_lin(context)


ACT = {'gelu': nn.functional.gelu, 'relu': nn.functional.relu, 'gelu_new': lambda x: nn.functional.gelu(x, approximate='tanh')}


class FFN(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dropout = nn.Dropout(p=c.dropout)
        self.lin1 = nn.Linear(c.dim, c.hidden_dim)
        self.lin2 = nn.Linear(c.hidden_dim, c.dim)
        self.activation = ACT[c.activation]

    def forward(self, x):
        return self.dropout(self.lin2(self.activation(self.lin1(x))))


class TransformerBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = MultiHeadSelfAttention(c)
        self.sa_layer_norm = nn.LayerNorm(normalized_shape=c.dim, eps=1e-12)
        self.ffn = FFN(c)
        self.output_layer_norm = nn.LayerNorm(normalized_shape=c.dim, eps=1e-12)

    def forward(self, x, attn_mask):
        sa_output = self.sa_layer_norm(self.attention(x, x, x, attn_mask) + x)
        return self.output_layer_norm(self.ffn(sa_output) + sa_output)


class Transformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([TransformerBlock(c) for _ in range(c.n_layers)])

    def forward(self, x, attn_mask):
        for layer in self.layer:
            x = layer(x, attn_mask)
        return x


class DistilBertModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = Embeddings(c)
        self.transformer = Transformer(c)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        return self.transformer(self.embeddings(input_ids), attention_mask)


class DistilBertForSequenceClassification(nn.Module):
    def __init__(self, c, num_labels=2):
        super().__init__()
        self.num_labels = num_labels
        self.distilbert = DistilBertModel(c)
        self.pre_classifier = nn.Linear(c.dim, c.dim)
        self.classifier = nn.Linear(c.dim, num_labels)
        self.dropout = nn.Dropout(c.seq_classif_dropout)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        pooled = self.distilbert(input_ids, attention_mask)[:, 0]
        pooled = nn.ReLU()(self.pre_classifier(pooled))
        return self.classifier(self.dropout(pooled))

    def loss(self, logits, labels):
        return nn.functional.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))


def main():
    torch.manual_seed(4321)
    c = Cfg(CONFIG)
    cls = DistilBertForSequenceClassification(c)
    cls.apply(lambda m: base.init_weights(m, c))  # DistilBertPreTrainedModel._init_weights is BERT's
    ff.perturb(cls)
    cls_config = {**CONFIG, 'architectures': ['DistilBertForSequenceClassification']}
    ff.export(cls, os.path.join(OUT, 'cls_opset14'), ['input_ids', 'attention_mask'], ['logits'], 14, cls_config)
    ff.export(cls.distilbert, os.path.join(OUT, 'fe_opset17'), ['input_ids', 'attention_mask'], ['last_hidden_state'], 17, CONFIG)
    c0 = Cfg(CONFIG, dropout=False)
    ref = ff.reference(cls, lambda: DistilBertForSequenceClassification(c0), CONFIG, ('pre_classifier.', 'classifier.'))
    batch = {k: torch.tensor(ref['eval_batch'][k]).reshape(ref['eval_batch']['shape']) for k in ('input_ids', 'attention_mask', 'token_type_ids')}
    ref['checkpoint_reload_diff'] = ff.write_checkpoint(cls, lambda: DistilBertForSequenceClassification(c0), os.path.join(OUT, 'hf_checkpoint'), cls_config, batch)
    ff.write_reference(OUT, ref)


if __name__ == '__main__':
    main()
