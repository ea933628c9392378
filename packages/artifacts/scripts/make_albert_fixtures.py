#!/usr/bin/python3
"""ALBERT fixtures for @ortrain/artifacts tests. Run with Debian's python3 (torch 1.13):

    /usr/bin/python3 packages/artifacts/scripts/make_albert_fixtures.py

The modules re-implement transformers' modeling_albert.py: AlbertEmbeddings (at embedding_size), the
factorized projection embedding_hidden_mapping_in, one AlbertLayerGroup of one AlbertLayer applied
num_hidden_layers times (its parameters' gradient is the sum over the layers), AlbertAttention (dropout on
the projected context before its residual LayerNorm), the feed-forward ffn -> gelu_new -> ffn_output with no
dropout before full_layer_layer_norm, the pooler (dense + tanh on [CLS]) and the classifier.

Writes into packages/artifacts/test/fixtures/albert/ the same files as make_distilbert_fixtures.py.
"""

import math
import os

import torch
from torch import nn

import family_fixtures as ff
import make_fixtures as base

OUT = os.path.join(base.OUT, 'albert')

CONFIG = {
    'architectures': ['AlbertForMaskedLM'],
    'model_type': 'albert',
    'attention_probs_dropout_prob': 0,
    'bos_token_id': 2,
    'classifier_dropout_prob': 0.1,
    'embedding_size': 16,
    'eos_token_id': 3,
    'hidden_act': 'gelu_new',
    'hidden_dropout_prob': 0,
    'hidden_size': 32,
    'initializer_range': 0.02,
    'inner_group_num': 1,
    'intermediate_size': 64,
    'layer_norm_eps': 1e-12,
    'max_position_embeddings': 64,
    'num_attention_heads': 4,
    'num_hidden_groups': 1,
    'num_hidden_layers': 3,
    'pad_token_id': 0,
    'position_embedding_type': 'absolute',
    'type_vocab_size': 2,
    'vocab_size': 128,
}


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class AlbertAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.num_attention_heads = c.num_attention_heads
        self.attention_head_size = c.hidden_size // c.num_attention_heads
        self.all_head_size = c.hidden_size
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)
        self.attention_dropout = nn.Dropout(c.attention_probs_dropout_prob)
        self.output_dropout = nn.Dropout(c.hidden_dropout_prob)
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def transpose_for_scores(self, x):
        return x.view(x.size()[:-1] + (self.num_attention_heads, self.attention_head_size)).permute(0, 2, 1, 3)

    def forward(self, hidden_states, attention_mask):
        q = self.transpose_for_scores(self.query(hidden_states))
        k = self.transpose_for_scores(self.key(hidden_states))
        v = self.transpose_for_scores(self.value(hidden_states))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.attention_head_size)
        probs = self.attention_dropout(nn.functional.softmax(scores + attention_mask, dim=-1))
        context = torch.matmul(probs, v).transpose(2, 1).flatten(2)
        projected = self.output_dropout(self.dense(context))
        return self.LayerNorm(hidden_states + projected)


class AlbertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.full_layer_layer_norm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.attention = AlbertAttention(c)
        self.ffn = nn.Linear(c.hidden_size, c.intermediate_size)
        self.ffn_output = nn.Linear(c.intermediate_size, c.hidden_size)

    def forward(self, hidden_states, attention_mask):
        a = self.attention(hidden_states, attention_mask)
        return self.full_layer_layer_norm(self.ffn_output(gelu_new(self.ffn(a))) + a)


class AlbertLayerGroup(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.albert_layers = nn.ModuleList([AlbertLayer(c) for _ in range(c.inner_group_num)])

    def forward(self, h, mask):
        for layer in self.albert_layers:
            h = layer(h, mask)
        return h


class AlbertTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embedding_hidden_mapping_in = nn.Linear(c.embedding_size, c.hidden_size)
        self.albert_layer_groups = nn.ModuleList([AlbertLayerGroup(c) for _ in range(c.num_hidden_groups)])

    def forward(self, h, mask):
        h = self.embedding_hidden_mapping_in(h)
        for i in range(self.c.num_hidden_layers):
            group_idx = int(i / (self.c.num_hidden_layers / self.c.num_hidden_groups))
            h = self.albert_layer_groups[group_idx](h, mask)
        return h


class AlbertModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = ff.FactorizedEmbeddings(c)
        self.encoder = AlbertTransformer(c)
        self.pooler = nn.Linear(c.hidden_size, c.hidden_size)
        self.pooler_activation = nn.Tanh()

    def forward(self, input_ids, attention_mask, token_type_ids):
        h = self.encoder(self.embeddings(input_ids, token_type_ids), ff.extended_mask(attention_mask))
        return h, self.pooler_activation(self.pooler(h[:, 0]))


class AlbertForSequenceClassification(nn.Module):
    def __init__(self, c, num_labels=2):
        super().__init__()
        self.num_labels = num_labels
        self.albert = AlbertModel(c)
        self.dropout = nn.Dropout(c.classifier_dropout_prob)
        self.classifier = nn.Linear(c.hidden_size, num_labels)

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.classifier(self.dropout(self.albert(input_ids, attention_mask, token_type_ids)[1]))

    def loss(self, logits, labels):
        return nn.functional.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))


class Cfg(base.Cfg):
    def __init__(self, d, dropout=True):
        super().__init__(d, dropout)
        if not dropout:
            self.classifier_dropout_prob = 0.0


def main():
    torch.manual_seed(888)
    c = Cfg(CONFIG)
    cls = AlbertForSequenceClassification(c)
    cls.apply(lambda m: base.init_weights(m, c))
    ff.perturb(cls)
    cls_config = {**CONFIG, 'architectures': ['AlbertForSequenceClassification']}
    inputs = ['input_ids', 'attention_mask', 'token_type_ids']
    ff.export(cls, os.path.join(OUT, 'cls_opset14'), inputs, ['logits'], 14, cls_config)
    ff.export(cls.albert, os.path.join(OUT, 'fe_opset17'), inputs, ['last_hidden_state', 'pooler_output'], 17, CONFIG)
    c0 = Cfg(CONFIG, dropout=False)
    ref = ff.reference(cls, lambda: AlbertForSequenceClassification(c0), CONFIG, ('classifier.', 'albert.pooler.'))
    batch = {k: torch.tensor(ref['eval_batch'][k]).reshape(ref['eval_batch']['shape']) for k in ('input_ids', 'attention_mask', 'token_type_ids')}
    ref['checkpoint_reload_diff'] = ff.write_checkpoint(cls, lambda: AlbertForSequenceClassification(c0), os.path.join(OUT, 'hf_checkpoint'), cls_config, batch)
    ff.write_reference(OUT, ref)


if __name__ == '__main__':
    main()
