#!/usr/bin/python3
"""Independent oracle for @ortrain/data's BERT tokenization (no `transformers` on these machines).

Re-implements what `AutoTokenizer.from_pretrained("bert-base-uncased")(a, b, truncation=True,
max_length=M)` does: BasicTokenizer (clean text, CJK spacing, lowercase + accent stripping, punctuation
split), greedy longest-match WordPiece, the Rust `tokenizers` longest_first pair truncation (the fast
tokenizer's, from tokenizers/src/utils/truncation.rs; see truncate() below) and the [CLS] A [SEP] B [SEP]
template with token_type_ids 0/1.

Usage:
  reference_bert_tokenize.py cases VOCAB_TXT CASES_JSON OUT_JSON
    CASES_JSON: [{"a": str, "b": str|null, "max_length": int}]; OUT_JSON adds input_ids/token_type_ids.
  reference_bert_tokenize.py digest VOCAB_TXT GLUE_TSV TEXT_COLS MAX_LENGTH
    sha256 over every row's input_ids then token_type_ids (int32 little-endian); TEXT_COLS like "3,4".
"""
import hashlib
import json
import struct
import sys
import unicodedata


def is_whitespace(ch):
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def is_control(ch):
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch).startswith("C")


def is_punctuation(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def is_cjk(cp):
    return (
        0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F
    )


def basic_tokenize(text):
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or is_control(ch):
            continue
        out.append(" " if is_whitespace(ch) else ch)
    text = "".join(f" {c} " if is_cjk(ord(c)) else c for c in out)
    tokens = []
    for tok in text.split():
        tok = unicodedata.normalize("NFD", tok.lower())
        tok = "".join(c for c in tok if unicodedata.category(c) != "Mn")
        cur = ""
        for c in tok:
            if is_punctuation(c):
                if cur:
                    tokens.append(cur)
                tokens.append(c)
                cur = ""
            else:
                cur += c
        if cur:
            tokens.append(cur)
    return tokens


def wordpiece(word, vocab):
    if len(word) > 100:
        return [vocab["[UNK]"]]
    ids, start = [], 0
    while start < len(word):
        end, found = len(word), None
        while start < end:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                found = vocab[piece]
                break
            end -= 1
        if found is None:
            return [vocab["[UNK]"]]
        ids.append(found)
        start = end
    return ids


def encode_text(text, vocab):
    return [i for w in basic_tokenize(text) for i in wordpiece(w, vocab)]


def truncate(n1, n2, m):
    """Rust tokenizers LongestFirst for a pair, m = max_length minus added special tokens."""
    swap = n1 > n2
    if swap:
        n1, n2 = n2, n1
    n2 = n1 if n1 > m else max(n1, m - n1)
    if n1 + n2 > m:
        n1 = m // 2
        n2 = n1 + m % 2
    return (n2, n1) if swap else (n1, n2)


def encode(a, b, max_length, vocab):
    ia = encode_text(a, vocab)
    cls, sep = vocab["[CLS]"], vocab["[SEP]"]
    if b is None:
        ia = ia[: max(0, max_length - 2)]
        return [cls] + ia + [sep], [0] * (len(ia) + 2)
    ib = encode_text(b, vocab)
    if len(ia) + len(ib) + 3 > max_length:
        ka, kb = truncate(len(ia), len(ib), max(0, max_length - 3))
        ia, ib = ia[:ka], ib[:kb]
    return [cls] + ia + [sep] + ib + [sep], [0] * (len(ia) + 2) + [1] * (len(ib) + 1)


def digest(vocab, tsv_path, cols, max_length):
    h = hashlib.sha256()
    with open(tsv_path, encoding="utf-8-sig") as f:
        lines = f.read().splitlines()[1:]
    for line in lines:
        fields = line.split("\t")
        texts = [fields[c] for c in cols]
        ids, types = encode(texts[0], texts[1] if len(texts) > 1 else None, max_length, vocab)
        h.update(struct.pack(f"<{len(ids)}i", *ids))
        h.update(struct.pack(f"<{len(types)}i", *types))
    print(json.dumps({"rows": len(lines), "max_length": max_length, "sha256": h.hexdigest()}))


def main():
    mode, vocab_path = sys.argv[1:3]
    with open(vocab_path, encoding="utf-8") as f:
        vocab = {line.rstrip("\n"): i for i, line in enumerate(f)}
    if mode == "digest":
        digest(vocab, sys.argv[3], [int(c) for c in sys.argv[4].split(",")], int(sys.argv[5]))
        return
    cases_path, out_path = sys.argv[3:5]
    with open(cases_path, encoding="utf-8") as f:
        cases = json.load(f)
    for c in cases:
        c["input_ids"], c["token_type_ids"] = encode(c["a"], c.get("b"), c["max_length"], vocab)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
