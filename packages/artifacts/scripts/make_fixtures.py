#!/usr/bin/python3
"""Builds the small-BERT fixtures for @ortrain/artifacts tests and the PyTorch reference runs they are checked
against. Run with Debian's python3 (torch 1.13, onnx 1.12):

    /usr/bin/python3 packages/artifacts/scripts/make_fixtures.py

There is no `transformers` package here, so the model below re-implements Hugging Face's BertModel /
BertForSequenceClassification faithfully (same module tree, parameter names, extended attention mask, exact erf
GELU, LayerNorm eps 1e-12, HF init) and is exported with torch.onnx.export as real exporters do.

Writes into packages/artifacts/test/fixtures/:
- bert_fe_opset14_folded.onnx    BertModel -> last_hidden_state, pooler_output; opset 14, constant folding on
- bert_fe_opset17_unfolded.onnx  the same, opset 17, constant folding off
- bert_cls_opset14.onnx          BertForSequenceClassification -> logits; opset 14
- bert_encoder_opset14.onnx      BertModel without pooler -> last_hidden_state
- bert_mlm_opset14.onnx          a masked-LM head (logits over the vocabulary), to be cut at the encoder output
- hf_checkpoint/{config.json, model.safetensors}  HF checkpoint folder (BertForPreTraining-style names)
- reference.json                 config, head weights, batches and the PyTorch training runs
"""

import json
import math
import os
import struct

import numpy as np
import onnx
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'test', 'fixtures')

CONFIG = {
    'architectures': ['BertForMaskedLM'],
    'model_type': 'bert',
    'attention_probs_dropout_prob': 0.1,
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
    'type_vocab_size': 2,
    'vocab_size': 128,
}


class Cfg:
    def __init__(self, d, dropout=True):
        self.__dict__.update(d)
        if not dropout:
            self.hidden_dropout_prob = 0.0
            self.attention_probs_dropout_prob = 0.0


class BertEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size, padding_idx=c.pad_token_id)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)
        self.register_buffer('position_ids', torch.arange(c.max_position_embeddings).expand((1, -1)), persistent=False)

    def forward(self, input_ids, token_type_ids):
        seq_length = input_ids.size(1)
        position_ids = self.position_ids[:, 0:seq_length]
        e = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        e = e + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(e))


class BertSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.num_attention_heads = c.num_attention_heads
        self.attention_head_size = c.hidden_size // c.num_attention_heads
        self.all_head_size = self.num_attention_heads * self.attention_head_size
        self.query = nn.Linear(c.hidden_size, self.all_head_size)
        self.key = nn.Linear(c.hidden_size, self.all_head_size)
        self.value = nn.Linear(c.hidden_size, self.all_head_size)
        self.dropout = nn.Dropout(c.attention_probs_dropout_prob)

    def transpose_for_scores(self, x):
        new_x_shape = x.size()[:-1] + (self.num_attention_heads, self.attention_head_size)
        return x.view(new_x_shape).permute(0, 2, 1, 3)

    def forward(self, hidden_states, attention_mask):
        query_layer = self.transpose_for_scores(self.query(hidden_states))
        key_layer = self.transpose_for_scores(self.key(hidden_states))
        value_layer = self.transpose_for_scores(self.value(hidden_states))
        scores = torch.matmul(query_layer, key_layer.transpose(-1, -2)) / math.sqrt(self.attention_head_size)
        scores = scores + attention_mask
        probs = self.dropout(nn.functional.softmax(scores, dim=-1))
        context = torch.matmul(probs, value_layer).permute(0, 2, 1, 3).contiguous()
        return context.view(context.size()[:-2] + (self.all_head_size,))


class BertSelfOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, hidden_states, input_tensor):
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + input_tensor)


class BertAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = BertSelfAttention(c)
        self.output = BertSelfOutput(c)

    def forward(self, hidden_states, attention_mask):
        return self.output(self.self(hidden_states, attention_mask), hidden_states)


class BertIntermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)

    def forward(self, x):
        return nn.functional.gelu(self.dense(x))


class BertOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.intermediate_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, hidden_states, input_tensor):
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + input_tensor)


class BertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = BertAttention(c)
        self.intermediate = BertIntermediate(c)
        self.output = BertOutput(c)

    def forward(self, hidden_states, attention_mask):
        a = self.attention(hidden_states, attention_mask)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(c) for _ in range(c.num_hidden_layers)])

    def forward(self, h, mask):
        for layer in self.layer:
            h = layer(h, mask)
        return h


class BertPooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, h):
        return self.activation(self.dense(h[:, 0]))


def init_weights(module, c):
    """HF BertPreTrainedModel._init_weights."""
    if isinstance(module, nn.Linear):
        module.weight.data.normal_(mean=0.0, std=c.initializer_range)
        if module.bias is not None:
            module.bias.data.zero_()
    elif isinstance(module, nn.Embedding):
        module.weight.data.normal_(mean=0.0, std=c.initializer_range)
        if module.padding_idx is not None:
            module.weight.data[module.padding_idx].zero_()
    elif isinstance(module, nn.LayerNorm):
        module.bias.data.zero_()
        module.weight.data.fill_(1.0)


class BertModel(nn.Module):
    def __init__(self, c, add_pooling_layer=True):
        super().__init__()
        self.embeddings = BertEmbeddings(c)
        self.encoder = BertEncoder(c)
        self.pooler = BertPooler(c) if add_pooling_layer else None

    def forward(self, input_ids, attention_mask, token_type_ids):
        # HF get_extended_attention_mask: 0 where attended, the dtype's minimum where masked.
        ext = attention_mask[:, None, None, :].to(torch.float32)
        ext = (1.0 - ext) * torch.finfo(torch.float32).min
        h = self.encoder(self.embeddings(input_ids, token_type_ids), ext)
        if self.pooler is None:
            return (h,)
        return h, self.pooler(h)


class BertForSequenceClassification(nn.Module):
    def __init__(self, c, num_labels):
        super().__init__()
        self.num_labels = num_labels
        self.bert = BertModel(c)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)
        self.classifier = nn.Linear(c.hidden_size, num_labels)

    def forward(self, input_ids, attention_mask, token_type_ids):
        pooled = self.bert(input_ids, attention_mask, token_type_ids)[1]
        return self.classifier(self.dropout(pooled))

    def loss(self, logits, labels):
        if self.num_labels == 1:
            return nn.functional.mse_loss(logits.squeeze(-1), labels)
        return nn.functional.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))


class BertForMaskedLM(nn.Module):
    """BertModel (no pooler) + cls.predictions (transform dense/gelu/LayerNorm, decoder tied to embeddings)."""

    def __init__(self, c):
        super().__init__()
        self.bert = BertModel(c, add_pooling_layer=False)
        self.transform_dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.transform_ln = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.decoder_bias = nn.Parameter(torch.zeros(c.vocab_size))

    def forward(self, input_ids, attention_mask, token_type_ids):
        h = self.bert(input_ids, attention_mask, token_type_ids)[0]
        t = self.transform_ln(nn.functional.gelu(self.transform_dense(h)))
        return t @ self.bert.embeddings.word_embeddings.weight.t() + self.decoder_bias


def export(model, path, outputs, opset, fold):
    ids = torch.tensor([[2, 5, 6, 7, 3, 0], [2, 9, 3, 10, 11, 3]], dtype=torch.int64)
    mask = torch.tensor([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]], dtype=torch.int64)
    tt = torch.tensor([[0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 1, 1]], dtype=torch.int64)
    names = ['input_ids', 'attention_mask', 'token_type_ids']
    axes = {n: {0: 'batch_size', 1: 'sequence_length'} for n in names}
    for o in outputs:
        axes[o] = {0: 'batch_size'} if o in ('pooler_output', 'logits') else {0: 'batch_size', 1: 'sequence_length'}
    model.eval()
    torch.onnx.export(
        model,
        (ids, mask, tt),
        os.path.join(OUT, path),
        input_names=names,
        output_names=outputs,
        dynamic_axes=axes,
        opset_version=opset,
        do_constant_folding=fold,
    )


def write_safetensors(path, tensors):
    """safetensors: u64 LE header length, JSON header {name: {dtype, shape, data_offsets}}, raw LE data."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        b = t.detach().numpy().astype('<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    header['__metadata__'] = {'format': 'pt'}
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def floats(t):
    return [float(x) for x in t.detach().numpy().astype(np.float32).reshape(-1)]


def make_batches(gen, sizes, lengths):
    """Dynamically padded batches: [CLS] a [SEP] (b [SEP]), zeros after each row's own length."""
    out = []
    for bs, seq in zip(sizes, lengths):
        ids = torch.zeros(bs, seq, dtype=torch.int64)
        mask = torch.zeros(bs, seq, dtype=torch.int64)
        tt = torch.zeros(bs, seq, dtype=torch.int64)
        for r in range(bs):
            n = seq if r == 0 else int(torch.randint(4, seq + 1, (1,), generator=gen))
            ids[r, :n] = torch.randint(4, CONFIG['vocab_size'], (n,), generator=gen)
            ids[r, 0], ids[r, n - 1] = 2, 3
            a = n // 2
            ids[r, a] = 3
            tt[r, a + 1 : n] = 1
            mask[r, :n] = 1
        out.append({'input_ids': ids, 'attention_mask': mask, 'token_type_ids': tt})
    return out


def batch_json(b, labels):
    return {
        'shape': list(b['input_ids'].shape),
        'input_ids': b['input_ids'].reshape(-1).tolist(),
        'attention_mask': b['attention_mask'].reshape(-1).tolist(),
        'token_type_ids': b['token_type_ids'].reshape(-1).tolist(),
        'labels': labels.tolist(),
    }


def bert_no_decay(n, p):
    return n.endswith('.bias') or 'LayerNorm.weight' in n


def train_run(model, init_state, batches, labels, lr, warmup, steps, accumulation, max_grad_norm, weight_decay, no_decay=bert_no_decay):
    """HF Trainer's inner loop: AdamW(param groups: no decay for bias/LayerNorm.weight), linear schedule with
    warmup computed per step, loss / accumulation steps, clip_grad_norm_ before each optimizer step."""
    model.load_state_dict(init_state)
    model.train()  # dropout 0, so train mode computes exactly the eval forward
    decay = [p for n, p in model.named_parameters() if not no_decay(n, p)]
    skipped = [p for n, p in model.named_parameters() if no_decay(n, p)]
    opt = torch.optim.AdamW(
        [{'params': decay, 'weight_decay': weight_decay}, {'params': skipped, 'weight_decay': 0.0}],
        lr=lr,
        betas=(0.9, 0.999),
        eps=1e-8,
    )

    def lr_at(step):  # transformers.get_linear_schedule_with_warmup, `step` = optimizer steps taken so far
        if step < warmup:
            return lr * step / max(1, warmup)
        return lr * max(0.0, (steps - step) / max(1, steps - warmup))

    record = {'learning_rates': [], 'micro_losses': [], 'grad_norms': []}
    k = 0
    for step in range(steps):
        for g in opt.param_groups:
            g['lr'] = lr_at(step)
        record['learning_rates'].append(lr_at(step))
        opt.zero_grad()
        for _ in range(accumulation):
            b = batches[k]
            logits = model(b['input_ids'], b['attention_mask'], b['token_type_ids'])
            loss = model.loss(logits, labels[k])
            record['micro_losses'].append(float(loss))
            (loss / accumulation).backward()
            k += 1
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        record['grad_norms'].append(float(norm))
        opt.step()
    return record


def main():
    os.makedirs(os.path.join(OUT, 'hf_checkpoint'), exist_ok=True)
    torch.manual_seed(1234)
    c = Cfg(CONFIG)
    cls = BertForSequenceClassification(c, 2)
    cls.apply(lambda m: init_weights(m, c))
    # Non-trivial LayerNorm and bias values so that a parameter mix-up cannot go unnoticed, except two equal
    # (zero) biases: torch's exporter deduplicates equal initializers into one plus an Identity, a quirk the
    # importer must undo (they are distinct parameters that diverge in training).
    tied_by_value = ('bert.encoder.layer.1.attention.output.LayerNorm.bias', 'bert.encoder.layer.1.output.LayerNorm.bias')
    with torch.no_grad():
        for n, p in cls.named_parameters():
            if (n.endswith('.bias') or 'LayerNorm' in n) and n not in tied_by_value:
                p.add_(torch.randn(p.shape) * 0.05)

    export(cls.bert, 'bert_fe_opset14_folded.onnx', ['last_hidden_state', 'pooler_output'], 14, True)
    export(cls.bert, 'bert_fe_opset17_unfolded.onnx', ['last_hidden_state', 'pooler_output'], 17, False)
    export(cls, 'bert_cls_opset14.onnx', ['logits'], 14, True)
    enc = BertModel(c, add_pooling_layer=False)
    enc.load_state_dict({k: v for k, v in cls.bert.state_dict().items() if not k.startswith('pooler.')})
    export(enc, 'bert_encoder_opset14.onnx', ['last_hidden_state'], 14, True)
    mlm = BertForMaskedLM(c)
    mlm.apply(lambda m: init_weights(m, c))
    mlm.bert.load_state_dict(enc.state_dict())
    export(mlm, 'bert_mlm_opset14.onnx', ['logits'], 14, True)
    # The tensor a user names to cut the masked-LM export: the input of the prediction head's first MatMul.
    g = onnx.load(os.path.join(OUT, 'bert_mlm_opset14.onnx')).graph
    mlm_cut = next(n.input[0] for n in g.node if n.op_type == 'MatMul' and n.name.startswith('/transform_dense/'))

    # HF checkpoint folder, as BertForPreTraining saves it (bert.* plus pretraining heads to be ignored).
    sd = {f'bert.{k}': v for k, v in cls.bert.state_dict().items()}
    sd['cls.predictions.bias'] = mlm.decoder_bias
    sd['cls.predictions.transform.dense.weight'] = mlm.transform_dense.weight
    sd['cls.predictions.transform.dense.bias'] = mlm.transform_dense.bias
    write_safetensors(os.path.join(OUT, 'hf_checkpoint', 'model.safetensors'), sd)
    with open(os.path.join(OUT, 'hf_checkpoint', 'config.json'), 'w') as f:
        json.dump(CONFIG, f, indent=2)

    # Reference training runs, dropout 0, on the same weights the exports hold.
    c0 = Cfg(CONFIG, dropout=False)
    gen = torch.Generator().manual_seed(99)
    train_batches = make_batches(gen, [4] * 8, [9, 12, 7, 10, 12, 8, 11, 9])
    eval_batch = make_batches(gen, [5], [12])[0]
    cls_labels = [torch.randint(0, 2, (4,), generator=gen) for _ in train_batches]
    reg_labels = [torch.rand(4, generator=gen) * 5 for _ in train_batches]

    m2 = BertForSequenceClassification(c0, 2)
    init2 = cls.state_dict()
    m1 = BertForSequenceClassification(c0, 1)
    torch.manual_seed(7)
    reg_head = nn.Linear(c.hidden_size, 1)
    init_weights(reg_head, c)
    init1 = {k: v for k, v in init2.items() if not k.startswith('classifier.')}
    init1['classifier.weight'] = reg_head.weight.detach().clone()
    init1['classifier.bias'] = reg_head.bias.detach().clone()

    def logits_after(model):
        model.eval()
        with torch.no_grad():
            return floats(model(eval_batch['input_ids'], eval_batch['attention_mask'], eval_batch['token_type_ids']))

    runs = {}
    common = {'weight_decay': 0.01}
    specs = {
        'classification': (m2, init2, cls_labels, dict(lr=2e-3, warmup=2, steps=8, accumulation=1, max_grad_norm=1.0)),
        'accumulation': (m2, init2, cls_labels, dict(lr=1e-3, warmup=0, steps=4, accumulation=2, max_grad_norm=0.5)),
        'regression': (m1, init1, reg_labels, dict(lr=2e-3, warmup=1, steps=8, accumulation=1, max_grad_norm=1.0)),
    }
    for name, (model, init, labels, hp) in specs.items():
        rec = train_run(model, init, train_batches, labels, **hp, **common)
        rec['logits_after'] = logits_after(model)
        runs[name] = {**hp, **common, 'num_labels': model.num_labels, **rec}

    def logits_before(model, init):
        model.load_state_dict(init)
        return logits_after(model)

    ref = {
        'config': CONFIG,
        'mlm_encoder_output': mlm_cut,
        'head': {k: {'shape': list(v.shape), 'data': floats(v)} for k, v in init2.items() if k.startswith(('classifier.', 'bert.pooler.'))},
        'regression_head': {k: {'shape': list(init1[k].shape), 'data': floats(init1[k])} for k in ('classifier.weight', 'classifier.bias')},
        'train_batches': [batch_json(b, l) for b, l in zip(train_batches, cls_labels)],
        'regression_labels': [floats(l) for l in reg_labels],
        'eval_batch': batch_json(eval_batch, torch.zeros(5, dtype=torch.int64)),
        'logits_before': {'classification': logits_before(m2, init2), 'regression': logits_before(m1, init1)},
        'runs': runs,
    }
    with open(os.path.join(OUT, 'reference.json'), 'w') as f:
        json.dump(ref, f)
    for name, r in runs.items():
        print(name, 'loss', [round(x, 5) for x in r['micro_losses']], 'norm', [round(x, 4) for x in r['grad_norms']])


if __name__ == '__main__':
    main()
