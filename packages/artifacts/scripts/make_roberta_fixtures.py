#!/usr/bin/python3
"""RoBERTa and XLM-RoBERTa fixtures for @ortrain/artifacts tests. Run with Debian's python3 (torch 1.13):

    /usr/bin/python3 packages/artifacts/scripts/make_roberta_fixtures.py

The modules re-implement transformers' modeling_roberta.py (XLM-R's modeling_xlm_roberta.py is the same code
under other class names): RobertaEmbeddings (position ids from create_position_ids_from_input_ids: cumsum of
the non-pad mask times the mask, plus padding_idx; token types from the all-zero buffer, since Optimum exports
no token_type_ids input; LayerNorm eps 1e-5), BERT's layers, no pooler, and RobertaClassificationHead
(features[:, 0] -> dropout -> dense -> tanh -> dropout -> out_proj).

Writes into packages/artifacts/test/fixtures/<roberta|xlm-roberta>/:
- cls_opset14/{config.json, onnx/model.onnx}  <Family>ForSequenceClassification -> logits, opset 14
- fe_opset17/{config.json, onnx/model.onnx}   the base model (no pooler) -> last_hidden_state, opset 17
- hf_checkpoint/{config.json, model.safetensors}  the classification model's state_dict (HF names, layout)
- reference.json                               head weights, batches, the PyTorch training run
"""

import os

import torch
from torch import nn

import family_fixtures as ff
import make_fixtures as base

CONFIG = {
    'model_type': 'roberta',
    'attention_probs_dropout_prob': 0.1,
    'bos_token_id': 0,
    'eos_token_id': 2,
    'hidden_act': 'gelu',
    'hidden_dropout_prob': 0.1,
    'hidden_size': 32,
    'initializer_range': 0.02,
    'intermediate_size': 64,
    'layer_norm_eps': 1e-05,
    'max_position_embeddings': 66,
    'num_attention_heads': 4,
    'num_hidden_layers': 2,
    'pad_token_id': 1,
    'position_embedding_type': 'absolute',
    'type_vocab_size': 1,
    'vocab_size': 128,
}


class RobertaEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size, padding_idx=c.pad_token_id)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size, padding_idx=c.pad_token_id)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)
        self.register_buffer('token_type_ids', torch.zeros((1, c.max_position_embeddings), dtype=torch.long), persistent=False)
        self.padding_idx = c.pad_token_id

    def forward(self, input_ids):
        # create_position_ids_from_input_ids(input_ids, padding_idx, past_key_values_length=0)
        mask = input_ids.ne(self.padding_idx).int()
        position_ids = (torch.cumsum(mask, dim=1).type_as(mask) * mask).long() + self.padding_idx
        seq_length = input_ids.size(1)
        token_type_ids = self.token_type_ids[:, :seq_length].expand(input_ids.size(0), seq_length)
        e = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        e = e + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(e))


class RobertaModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = RobertaEmbeddings(c)
        self.encoder = base.BertEncoder(c)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        return self.encoder(self.embeddings(input_ids), ff.extended_mask(attention_mask))


class RobertaForSequenceClassification(nn.Module):
    def __init__(self, c, num_labels=2):
        super().__init__()
        self.num_labels = num_labels
        self.roberta = RobertaModel(c)
        self.classifier = ff.DenseClassificationHead(c, num_labels, torch.tanh)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        return self.classifier(self.roberta(input_ids, attention_mask))

    def loss(self, logits, labels):
        return nn.functional.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))


def make(model_type, class_name, seed):
    out = os.path.join(base.OUT, model_type)
    config = {**CONFIG, 'model_type': model_type, 'architectures': [class_name.replace('SequenceClassification', 'MaskedLM')]}
    torch.manual_seed(seed)
    c = base.Cfg(config)
    cls = RobertaForSequenceClassification(c)
    cls.apply(lambda m: base.init_weights(m, c))
    ff.perturb(cls)
    cls_config = {**config, 'architectures': [class_name]}
    inputs = ['input_ids', 'attention_mask']
    ff.export(cls, os.path.join(out, 'cls_opset14'), inputs, ['logits'], 14, cls_config)
    ff.export(cls.roberta, os.path.join(out, 'fe_opset17'), inputs, ['last_hidden_state'], 17, config)
    c0 = base.Cfg(config, dropout=False)
    ref = ff.reference(cls, lambda: RobertaForSequenceClassification(c0), config, ('classifier.',), pad_token_id=1)
    batch = {k: torch.tensor(ref['eval_batch'][k]).reshape(ref['eval_batch']['shape']) for k in ('input_ids', 'attention_mask', 'token_type_ids')}
    ref['checkpoint_reload_diff'] = ff.write_checkpoint(cls, lambda: RobertaForSequenceClassification(c0), os.path.join(out, 'hf_checkpoint'), cls_config, batch)
    ff.write_reference(out, ref)


if __name__ == '__main__':
    make('roberta', 'RobertaForSequenceClassification', 5150)
    make('xlm-roberta', 'XLMRobertaForSequenceClassification', 5151)
