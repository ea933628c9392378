"""Evidence that the embedded default learns: trains its randomly initialized BERT on its generated MRPC-format
data with the recommended hyperparameters, the way the HF Trainer would, and prints dev accuracy/F1 per epoch.

Same inputs as ortrain: model/config.json + model/model.safetensors (loaded by hand), model/vocab.txt with BERT
uncased basic tokenization + WordPiece, data/{train,dev}.tsv. BertForSequenceClassification in plain torch
(no transformers package here): pooler -> dropout -> Linear(hidden, 2) initialized N(0, 0.02), cross-entropy,
AdamW (no decay on biases/LayerNorm), linear warmup/decay, grad-norm clipping, dynamic padding, per-epoch eval.

Defaults are EMBEDDED_TRAINING (src/embedded/index.ts). Measured (seed 20240917, 2 threads):
  train 3000 dev 400 | tokens/pair median 30 max 55 | dev majority acc 0.713 (all-positive F1 0.832)
  epoch 1: train loss 0.6004 | dev accuracy 0.8225 f1 0.8799
  epoch 2: train loss 0.4074 | dev accuracy 0.8850 f1 0.9253
  epoch 3: train loss 0.3694 | dev accuracy 0.8800 f1 0.9218
  total wall time 54.7s, CPU time 100.7s over 2 threads
The plateau is the denial negatives (see corpus.ts): the near-misses that need cross-sentence matching stay
unlearned at this budget.

Usage (dev-only, never run by tests; /usr/bin/python3 has torch 1.13 CPU):
  pnpm --filter @ortrain/glue build
  node apps/glue/scripts/write-embedded-default.mjs /tmp/embedded
  /usr/bin/python3 apps/glue/scripts/check_embedded_learnable.py /tmp/embedded [--lr 5e-4 --batch 32 ...]
"""
import argparse
import json
import math
import os
import struct
import time
import unicodedata

import torch
import torch.nn.functional as F
from torch import nn


# ---- tokenizer: BertTokenizer (uncased) over vocab.txt ----

def is_punctuation(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def basic_tokenize(text):
    text = unicodedata.normalize("NFD", text.lower())
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    out = []
    for word in text.split():
        cur = ""
        for ch in word:
            if is_punctuation(ch):
                if cur:
                    out.append(cur)
                out.append(ch)
                cur = ""
            else:
                cur += ch
        if cur:
            out.append(cur)
    return out


class WordPiece:
    def __init__(self, vocab_path):
        with open(vocab_path, encoding="utf-8") as f:
            self.vocab = {line.rstrip("\n"): i for i, line in enumerate(f)}
        self.unk = self.vocab["[UNK]"]
        self.cls = self.vocab["[CLS]"]
        self.sep = self.vocab["[SEP]"]
        self.pad = self.vocab["[PAD]"]
        self.unknown_words = 0

    def word_ids(self, word):
        ids, start = [], 0
        while start < len(word):
            end, found = len(word), None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    found = self.vocab[piece]
                    break
                end -= 1
            if found is None:
                self.unknown_words += 1
                return [self.unk]
            ids.append(found)
            start = end
        return ids

    def encode(self, text):
        return [i for w in basic_tokenize(text) for i in self.word_ids(w)]

    def encode_pair(self, a, b, max_len):
        x, y = self.encode(a), self.encode(b)
        while len(x) + len(y) + 3 > max_len:  # truncation="longest_first"
            (x if len(x) > len(y) else y).pop()
        ids = [self.cls] + x + [self.sep] + y + [self.sep]
        types = [0] * (len(x) + 2) + [1] * (len(y) + 1)
        return ids, types


def read_mrpc(path, tok, max_len):
    rows = []
    with open(path, encoding="utf-8-sig") as f:
        header = f.readline().rstrip("\n").split("\t")
        assert header == ["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"], header
        for line in f:
            q, _, _, a, b = line.rstrip("\n").split("\t")
            ids, types = tok.encode_pair(a, b, max_len)
            rows.append((ids, types, int(q)))
    return rows


# ---- safetensors (F32 only) ----

def load_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (name, info["dtype"])
        a, b = info["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(info["shape"])
    return out


# ---- BertForSequenceClassification, HF parameter names ----

class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.heads = c["num_attention_heads"]
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.attn_out = nn.Linear(h, h)
        self.attn_norm = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.inter = nn.Linear(h, c["intermediate_size"])
        self.out = nn.Linear(c["intermediate_size"], h)
        self.out_norm = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.drop = nn.Dropout(c["hidden_dropout_prob"])
        self.attn_drop = nn.Dropout(c["attention_probs_dropout_prob"])

    def forward(self, x, mask_bias):
        bsz, seq, h = x.shape
        d = h // self.heads
        split = lambda t: t.view(bsz, seq, self.heads, d).transpose(1, 2)
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d) + mask_bias
        ctx = (self.attn_drop(scores.softmax(-1)) @ v).transpose(1, 2).reshape(bsz, seq, h)
        x = self.attn_norm(x + self.drop(self.attn_out(ctx)))
        return self.out_norm(x + self.drop(self.out(F.gelu(self.inter(x)))))


class Bert(nn.Module):
    def __init__(self, c, num_labels=2):
        super().__init__()
        h = c["hidden_size"]
        self.word = nn.Embedding(c["vocab_size"], h)
        self.pos = nn.Embedding(c["max_position_embeddings"], h)
        self.types = nn.Embedding(c["type_vocab_size"], h)
        self.emb_norm = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.drop = nn.Dropout(c["hidden_dropout_prob"])
        self.layers = nn.ModuleList(Layer(c) for _ in range(c["num_hidden_layers"]))
        self.pooler = nn.Linear(h, h)
        self.classifier = nn.Linear(h, num_labels)

    def forward(self, ids, types, mask):
        pos = torch.arange(ids.shape[1]).unsqueeze(0)
        x = self.drop(self.emb_norm(self.word(ids) + self.pos(pos) + self.types(types)))
        mask_bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, mask_bias)
        pooled = torch.tanh(self.pooler(x[:, 0]))
        return self.classifier(self.drop(pooled))

    def hf_names(self):
        """Maps this module's parameter names to the checkpoint's HF names."""
        m = {"word.weight": "bert.embeddings.word_embeddings.weight",
             "pos.weight": "bert.embeddings.position_embeddings.weight",
             "types.weight": "bert.embeddings.token_type_embeddings.weight",
             "pooler.weight": "bert.pooler.dense.weight", "pooler.bias": "bert.pooler.dense.bias"}
        for wb in ("weight", "bias"):
            m[f"emb_norm.{wb}"] = f"bert.embeddings.LayerNorm.{wb}"
            for i in range(len(self.layers)):
                p = f"bert.encoder.layer.{i}"
                for ours, theirs in [("query", "attention.self.query"), ("key", "attention.self.key"),
                                     ("value", "attention.self.value"), ("attn_out", "attention.output.dense"),
                                     ("attn_norm", "attention.output.LayerNorm"), ("inter", "intermediate.dense"),
                                     ("out", "output.dense"), ("out_norm", "output.LayerNorm")]:
                    m[f"layers.{i}.{ours}.{wb}"] = f"{p}.{theirs}.{wb}"
        return m


def batches(rows, size, pad, order):
    for s in range(0, len(order), size):
        chunk = [rows[i] for i in order[s:s + size]]
        n = max(len(r[0]) for r in chunk)  # dynamic padding
        ids = torch.tensor([r[0] + [pad] * (n - len(r[0])) for r in chunk])
        types = torch.tensor([r[1] + [0] * (n - len(r[1])) for r in chunk])
        mask = torch.tensor([[1] * len(r[0]) + [0] * (n - len(r[0])) for r in chunk])
        labels = torch.tensor([r[2] for r in chunk])
        yield ids, types, mask, labels


def evaluate(model, rows, batch, pad):
    model.eval()
    preds = []
    with torch.no_grad():
        for ids, types, mask, _ in batches(rows, batch, pad, list(range(len(rows)))):
            preds += model(ids, types, mask).argmax(-1).tolist()
    model.train()
    gold = [r[2] for r in rows]
    tp = sum(p == 1 and g == 1 for p, g in zip(preds, gold))
    fp = sum(p == 1 and g == 0 for p, g in zip(preds, gold))
    fn = sum(p == 0 and g == 1 for p, g in zip(preds, gold))
    acc = sum(p == g for p, g in zip(preds, gold)) / len(gold)
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return acc, f1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--eval-batch", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--warmup-ratio", type=float, default=0.1)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--max-grad-norm", type=float, default=1.0)
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    t0, c0 = time.time(), time.process_time()
    model_dir, data_dir = os.path.join(args.dir, "model"), os.path.join(args.dir, "data")
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    tok = WordPiece(os.path.join(model_dir, "vocab.txt"))
    assert len(tok.vocab) == config["vocab_size"], (len(tok.vocab), config["vocab_size"])
    train = read_mrpc(os.path.join(data_dir, "train.tsv"), tok, args.max_len)
    dev = read_mrpc(os.path.join(data_dir, "dev.tsv"), tok, args.max_len)
    assert tok.unknown_words == 0, f"{tok.unknown_words} words fell back to [UNK]"

    model = Bert(config)
    weights = load_safetensors(os.path.join(model_dir, "model.safetensors"))
    names = model.hf_names()
    state = model.state_dict()
    for ours, theirs in names.items():
        assert weights[theirs].shape == state[ours].shape, (theirs, weights[theirs].shape, state[ours].shape)
        state[ours] = weights[theirs]
    assert set(weights) == set(names.values()), set(weights) ^ set(names.values())
    nn.init.normal_(state["classifier.weight"], std=config["initializer_range"])
    nn.init.zeros_(state["classifier.bias"])
    model.load_state_dict(state)

    decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "norm" in n)]
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "norm" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, eps=1e-8)
    steps_per_epoch = math.ceil(len(train) / args.batch)
    total = steps_per_epoch * args.epochs
    warmup = math.ceil(args.warmup_ratio * total)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: s / max(1, warmup) if s < warmup else max(0.0, (total - s) / max(1, total - warmup)))

    lengths = sorted(len(r[0]) for r in train)
    pos_rate = sum(r[2] for r in dev) / len(dev)
    print(f"train {len(train)} dev {len(dev)} | tokens/pair median {lengths[len(lengths) // 2]} max {lengths[-1]} | "
          f"dev majority acc {max(pos_rate, 1 - pos_rate):.3f} (all-positive F1 {2 * pos_rate / (1 + pos_rate):.3f})")
    print(f"params {sum(p.numel() for p in model.parameters())} | {total} steps (warmup {warmup}) | "
          f"lr {args.lr} batch {args.batch} epochs {args.epochs} | threads {args.threads}")
    g = torch.Generator().manual_seed(args.seed)
    t_train = time.time()
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(len(train), generator=g).tolist()
        total_loss = 0.0
        for ids, types, mask, labels in batches(train, args.batch, tok.pad, order):
            loss = F.cross_entropy(model(ids, types, mask), labels)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm)
            opt.step()
            sched.step()
            total_loss += loss.item()
        acc, f1 = evaluate(model, dev, args.eval_batch, tok.pad)
        print(f"epoch {epoch}: train loss {total_loss / steps_per_epoch:.4f} | dev accuracy {acc:.4f} f1 {f1:.4f} | "
              f"{time.time() - t_train:.1f}s")
    # CPU seconds too: on a shared machine wall time mostly measures the neighbours' load.
    print(f"total wall time {time.time() - t0:.1f}s (training + eval {time.time() - t_train:.1f}s), "
          f"CPU time {time.process_time() - c0:.1f}s over {args.threads} threads")


if __name__ == "__main__":
    main()
