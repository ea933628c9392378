#!/usr/bin/python3
"""ELECTRA fixtures for @ortrain/artifacts tests. Run with Debian's python3 (torch 1.13):

    /usr/bin/python3 packages/artifacts/scripts/make_electra_fixtures.py

The modules re-implement transformers' modeling_electra.py: ElectraEmbeddings (word + position + token type at
embedding_size, LayerNorm, dropout), embeddings_project (Linear embedding_size -> hidden_size, present because
they differ here, as in electra-small), BERT's layers, and ElectraClassificationHead (features[:, 0] -> dropout
-> dense -> gelu -> dropout -> out_proj). Optimum exports ELECTRA with BERT's inputs (token_type_ids included).

Writes into packages/artifacts/test/fixtures/electra/ the same files as make_distilbert_fixtures.py.
"""

import os

import torch
from torch import nn

import family_fixtures as ff
import make_fixtures as base

OUT = os.path.join(base.OUT, 'electra')

CONFIG = {
    'architectures': ['ElectraForPreTraining'],
    'model_type': 'electra',
    'attention_probs_dropout_prob': 0.1,
    'embedding_size': 16,
    'hidden_act': 'gelu',
    'hidden_dropout_prob': 0.1,
    'hidden_size': 32,
    'initializer_range': 0.02,
    'intermediate_size': 64,
    'layer_norm_eps': 1e-12,
    'max_position_embeddings': 64,
    'num_attention_heads': 4,
    'num_hidden_layers': 2,
    'pad_token_id': 0,
    'position_embedding_type': 'absolute',
    'summary_activation': 'gelu',
    'summary_type': 'first',
    'summary_use_proj': True,
    'type_vocab_size': 2,
    'vocab_size': 128,
}


class ElectraModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = ff.FactorizedEmbeddings(c)
        if c.embedding_size != c.hidden_size:
            self.embeddings_project = nn.Linear(c.embedding_size, c.hidden_size)
        self.encoder = base.BertEncoder(c)

    def forward(self, input_ids, attention_mask, token_type_ids):
        ext = ff.extended_mask(attention_mask)
        h = self.embeddings(input_ids, token_type_ids)
        if hasattr(self, 'embeddings_project'):
            h = self.embeddings_project(h)
        return self.encoder(h, ext)


class ElectraForSequenceClassification(nn.Module):
    def __init__(self, c, num_labels=2):
        super().__init__()
        self.num_labels = num_labels
        self.electra = ElectraModel(c)
        self.classifier = ff.DenseClassificationHead(c, num_labels, nn.functional.gelu)  # get_activation('gelu')

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.classifier(self.electra(input_ids, attention_mask, token_type_ids))

    def loss(self, logits, labels):
        return nn.functional.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))


def main():
    torch.manual_seed(777)
    c = base.Cfg(CONFIG)
    cls = ElectraForSequenceClassification(c)
    cls.apply(lambda m: base.init_weights(m, c))
    ff.perturb(cls)
    cls_config = {**CONFIG, 'architectures': ['ElectraForSequenceClassification']}
    inputs = ['input_ids', 'attention_mask', 'token_type_ids']
    ff.export(cls, os.path.join(OUT, 'cls_opset14'), inputs, ['logits'], 14, cls_config)
    ff.export(cls.electra, os.path.join(OUT, 'fe_opset17'), inputs, ['last_hidden_state'], 17, CONFIG)
    c0 = base.Cfg(CONFIG, dropout=False)
    ref = ff.reference(cls, lambda: ElectraForSequenceClassification(c0), CONFIG, ('classifier.',))
    batch = {k: torch.tensor(ref['eval_batch'][k]).reshape(ref['eval_batch']['shape']) for k in ('input_ids', 'attention_mask', 'token_type_ids')}
    ref['checkpoint_reload_diff'] = ff.write_checkpoint(cls, lambda: ElectraForSequenceClassification(c0), os.path.join(OUT, 'hf_checkpoint'), cls_config, batch)
    ff.write_reference(OUT, ref)


if __name__ == '__main__':
    main()
