#!/usr/bin/python3
"""PyTorch side of ortrain's benchmark: trains the same BertForSequenceClassification on the same batches.

Reads an ortrain artifacts folder (manifest.json, config.json, weights.safetensors: the very weights ortrain
starts from, its classifier head included) and a batches JSON written by the benchmark, builds the model in
plain torch (a compact, faithful copy of transformers' eager BERT: no transformers package needed), and times
training steps as the HF Trainer runs them: forward with dropout, cross-entropy, backward,
clip_grad_norm_, AdamW, zero_grad. Prints one JSON object on the last stdout line.

Usage: /usr/bin/python3 torch_bench.py --artifacts DIR --batches FILE [--warmup 1] [--repeats 5] [--threads 2]
With --serve, the warm-up is followed by ortrain's step-server protocol (apps/bench/src/step-server.ts) instead
of the timed steps: a JSON "ready" line, then one JSON line per batch index read on stdin.
"""
import argparse
import json
import os
import struct
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--artifacts")
parser.add_argument("--batches")
parser.add_argument("--warmup", type=int, default=1)
parser.add_argument("--repeats", type=int, default=5)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda (scripts/gpu-check.sh)")
parser.add_argument("--version", action="store_true", help="print torch's version and BLAS, then exit")
parser.add_argument(
    "--serve",
    action="store_true",
    help="after the warm-up, time one step per batch index read on stdin (ortrain's step-server protocol)",
)
args = parser.parse_args()
if not args.version and not (args.artifacts and args.batches):
    parser.error("--artifacts and --batches are required")

# OpenBLAS reads its thread count when the library loads, so this must precede importing torch.
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

# OpenBLAS picks its kernels for the CPU it recognizes, and not always its fastest: one too new for the installed
# version falls back to SSE3 kernels ("Prescott": a sixth of the matrix-product speed on an AVX-512 Xeon), and
# it runs an AVX-512 Zen 4 on its AVX2 kernels (Haswell's speed, 1.6x slower than SkylakeX's there). Comparing
# against that would flatter ortrain, so the comparison probes every core type the CPU supports
# (OPENBLAS_CORETYPE, a sgemm of BERT-base's feed-forward shape in a child process each), keeps the fastest,
# and says which. The choice is made when the library loads: this process re-executes itself with it set.
AVX512 = {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"}
CORE_TYPES = [  # OpenBLAS's name, the CPU flags its kernels need
    ("SapphireRapids", AVX512 | {"avx512_bf16", "avx512_fp16", "amx_tile"}),
    ("Cooperlake", AVX512 | {"avx512_bf16"}),
    ("SkylakeX", AVX512),
    ("Zen", {"avx2", "fma"}),
    ("Haswell", {"avx2", "fma"}),
]
# A benchmark runs this script several times: the probe is reused for an hour on the same CPU and library.
PROBE_CACHE = os.path.join("/tmp", f"ortrain-openblas-probe-{os.getuid()}.json")


def ctypes_blas():
    import ctypes.util

    return ctypes.util.find_library("blas") or "libblas.so.3"


def openblas_core():
    import ctypes

    try:
        lib = ctypes.CDLL(ctypes_blas())
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return None  # not OpenBLAS


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            return set(next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), []))
    except OSError:
        return set()


def probe_gflops():
    """sgemm [1024 x 768] x [768 x 3072] with this process's OpenBLAS kernels: best of 8, GFLOP/s."""
    import numpy

    a = numpy.random.rand(1024, 768).astype(numpy.float32)
    b = numpy.random.rand(768, 3072).astype(numpy.float32)
    best = float("inf")
    for _ in range(8):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * 1024 * 768 * 3072 / best / 1e9


def probe_cores(detected):
    """{core: GFLOP/s} for OpenBLAS's own choice ('detected') and each core type the CPU supports."""
    import subprocess

    flags = cpu_flags()
    cached = None
    try:
        with open(PROBE_CACHE) as f:
            cached = json.load(f)
    except (OSError, ValueError):
        pass
    key = f"{detected}|{ctypes_blas()}|{sorted(flags)}"
    if cached and cached.get("key") == key and time.time() - os.path.getmtime(PROBE_CACHE) < 3600:
        return cached["gflops"]
    results = {}
    for core in [None] + [name for name, needs in CORE_TYPES if needs <= flags and name != detected]:
        env = dict(os.environ, ORTRAIN_BLAS_PROBE="1")
        if core:
            env["OPENBLAS_CORETYPE"] = core
        out = subprocess.run([sys.executable, __file__, "--version"], env=env, capture_output=True, text=True)
        try:
            info = json.loads(out.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            continue
        if core is None or info["core"].lower() == core.lower():  # an unknown name leaves OpenBLAS's choice
            results[core or detected] = round(info["gflops"], 1)
    with open(PROBE_CACHE, "w") as f:
        json.dump({"key": key, "gflops": results}, f)
    return results


if os.environ.get("ORTRAIN_BLAS_PROBE"):
    print(json.dumps({"core": openblas_core(), "gflops": probe_gflops()}))
    sys.exit(0)

BLAS_DETECTED = os.environ.get("ORTRAIN_BLAS_DETECTED")
BLAS_PROBE = json.loads(os.environ.get("ORTRAIN_BLAS_PROBED", "{}"))
if BLAS_DETECTED is None and "OPENBLAS_CORETYPE" not in os.environ:
    detected = openblas_core()
    if detected is not None:
        probed = probe_cores(detected)
        best = max(probed, key=probed.get) if probed else detected
        env = dict(os.environ, ORTRAIN_BLAS_DETECTED=detected, ORTRAIN_BLAS_PROBED=json.dumps(probed))
        if best != detected:
            env["OPENBLAS_CORETYPE"] = best
        os.execve(sys.executable, [sys.executable, *sys.argv], env)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402


def blas_info():
    """The BLAS library actually loaded (Debian's torch links libblas.so.3, chosen by update-alternatives)."""
    try:
        with open("/proc/self/maps") as f:
            libs = sorted({line.split()[-1] for line in f if "blas" in line.rsplit("/", 1)[-1]})
        return ", ".join(libs) or "none mapped"
    except OSError:
        return "unknown"


if args.version:
    core = openblas_core()
    if core is not None and BLAS_PROBE:
        speeds = ", ".join(f"{c} {g:.0f}" for c, g in sorted(BLAS_PROBE.items(), key=lambda cg: -cg[1]))
        how = "OPENBLAS_CORETYPE" if "OPENBLAS_CORETYPE" in os.environ else "OpenBLAS's own choice"
        core = f"{core} ({how}, fastest of {speeds} GFLOP/s in a 1024x768x3072 sgemm; detected: {BLAS_DETECTED})"
    print(json.dumps({"torch": torch.__version__, "blas": blas_info(), "blasCore": core}))
    sys.exit(0)

torch.set_num_threads(args.threads)
torch.manual_seed(0)

DTYPES = {"F32": np.float32}


def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        if e["dtype"] not in DTYPES:
            raise SystemExit(f"{path}: tensor {name} has dtype {e['dtype']}, expected F32")
        b, end = e["data_offsets"]
        out[name] = np.frombuffer(data[b:end], dtype=DTYPES[e["dtype"]]).reshape(e["shape"]).copy()
    return out


class Layer(nn.Module):
    def __init__(self, h, heads, inter, eps, p_hidden, p_attn):
        super().__init__()
        self.heads, self.head_size = heads, h // heads
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.attn_out, self.attn_norm = nn.Linear(h, h), nn.LayerNorm(h, eps=eps)
        self.inter, self.out = nn.Linear(h, inter), nn.Linear(inter, h)
        self.out_norm = nn.LayerNorm(h, eps=eps)
        self.drop_attn, self.drop = nn.Dropout(p_attn), nn.Dropout(p_hidden)

    def split(self, x):
        b, s, _ = x.shape
        return x.view(b, s, self.heads, self.head_size).permute(0, 2, 1, 3)

    def forward(self, x, mask):
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = q @ k.transpose(-1, -2) / (self.head_size**0.5) + mask
        ctx = self.drop_attn(scores.softmax(-1)) @ v
        b, _, s, _ = ctx.shape
        ctx = ctx.permute(0, 2, 1, 3).reshape(b, s, -1)
        x = self.attn_norm(self.drop(self.attn_out(ctx)) + x)
        return self.out_norm(self.drop(self.out(F.gelu(self.inter(x)))) + x)


class BertForSequenceClassification(nn.Module):
    def __init__(self, cfg, num_labels, dropout):
        super().__init__()
        h, eps = cfg["hidden_size"], cfg.get("layer_norm_eps", 1e-12)
        self.word = nn.Embedding(cfg["vocab_size"], h)
        self.position = nn.Embedding(cfg["max_position_embeddings"], h)
        self.token_type = nn.Embedding(cfg.get("type_vocab_size", 2), h)
        self.emb_norm, self.emb_drop = nn.LayerNorm(h, eps=eps), nn.Dropout(dropout["hidden"])
        self.layers = nn.ModuleList(
            Layer(h, cfg["num_attention_heads"], cfg["intermediate_size"], eps, dropout["hidden"], dropout["attention"])
            for _ in range(cfg["num_hidden_layers"])
        )
        self.pooler = nn.Linear(h, h)
        self.cls_drop, self.classifier = nn.Dropout(dropout["classifier"]), nn.Linear(h, num_labels)

    def forward(self, ids, mask, types):
        pos = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
        x = self.emb_drop(self.emb_norm(self.word(ids) + self.token_type(types) + self.position(pos)))
        ext = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, ext)
        return self.classifier(self.cls_drop(torch.tanh(self.pooler(x[:, 0]))))

    def hf_names(self):
        """Our parameter name -> transformers' name (what ortrain's manifest uses)."""
        names = {
            "word.weight": "bert.embeddings.word_embeddings.weight",
            "position.weight": "bert.embeddings.position_embeddings.weight",
            "token_type.weight": "bert.embeddings.token_type_embeddings.weight",
            "emb_norm.weight": "bert.embeddings.LayerNorm.weight",
            "emb_norm.bias": "bert.embeddings.LayerNorm.bias",
            "pooler.weight": "bert.pooler.dense.weight",
            "pooler.bias": "bert.pooler.dense.bias",
            "classifier.weight": "classifier.weight",
            "classifier.bias": "classifier.bias",
        }
        sub = {
            "query": "attention.self.query",
            "key": "attention.self.key",
            "value": "attention.self.value",
            "attn_out": "attention.output.dense",
            "attn_norm": "attention.output.LayerNorm",
            "inter": "intermediate.dense",
            "out": "output.dense",
            "out_norm": "output.LayerNorm",
        }
        for i in range(len(self.layers)):
            for ours, theirs in sub.items():
                for kind in ("weight", "bias"):
                    names[f"layers.{i}.{ours}.{kind}"] = f"bert.encoder.layer.{i}.{theirs}.{kind}"
        return names


def load_model(folder):
    manifest = json.load(open(os.path.join(folder, "manifest.json")))
    cfg = json.load(open(os.path.join(folder, "config.json")))
    weights = read_safetensors(os.path.join(folder, manifest["weights"]))
    info = {p["name"]: p for p in manifest["parameters"]}
    model = BertForSequenceClassification(cfg, manifest["model"]["numLabels"], manifest["dropout"])
    state = {}
    for ours, theirs in model.hf_names().items():
        if theirs not in weights:
            raise SystemExit(f"{folder}: weights have no tensor {theirs}")
        w = weights[theirs]
        state[ours] = torch.from_numpy(w.T.copy() if info[theirs].get("transposed") else w)
    model.load_state_dict(state)
    return model, manifest, info


def serve(step, batches, ready):
    print(json.dumps({"ready": True, **ready}), flush=True)
    for line in iter(sys.stdin.readline, ""):
        i = int(line)
        t0 = time.perf_counter()
        loss = step(i)
        ms = (time.perf_counter() - t0) * 1000
        print(json.dumps({"ms": ms, "rows": batches[i % len(batches)][0].shape[0], "loss": loss}), flush=True)


def main():
    model, manifest, info = load_model(args.artifacts)
    model.to(args.device)
    hf = model.hf_names()
    batches = [
        tuple(
            torch.tensor(b[k], dtype=torch.int64, device=args.device).view(
                *(b["dims"] if k != "labels" else [b["dims"][0]])
            )
            for k in ("input_ids", "attention_mask", "token_type_ids", "labels")
        )
        for b in json.load(open(args.batches))["batches"]
    ]
    model.eval()
    with torch.no_grad():
        ids, mask, types, labels = batches[0]
        initial_loss = F.cross_entropy(model(ids, mask, types), labels).item()

    opt_cfg = manifest["optimizer"]
    decay = [p for n, p in model.named_parameters() if info[hf[n]]["weightDecay"]]
    no_decay = [p for n, p in model.named_parameters() if not info[hf[n]]["weightDecay"]]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": opt_cfg["weightDecay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=2e-5,
        betas=(opt_cfg["beta1"], opt_cfg["beta2"]),
        eps=opt_cfg["epsilon"],
    )
    model.train()

    def step(i):
        ids, mask, types, labels = batches[i % len(batches)]
        loss = F.cross_entropy(model(ids, mask, types), labels)
        loss.backward()
        if opt_cfg["maxGradNorm"] > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), opt_cfg["maxGradNorm"])
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()

    # Warm-up steps take the first batches, timed steps the next ones (cycling), as the benchmark laid them out.
    for i in range(args.warmup):
        step(i)
    if args.serve:
        serve(step, batches, {"torch": torch.__version__, "blas": blas_info(), "initialLoss": initial_loss})
        return
    times, rows, loss = [], [], float("nan")
    for i in range(args.warmup, args.warmup + args.repeats):
        t0 = time.perf_counter()
        loss = step(i)
        times.append((time.perf_counter() - t0) * 1000)
        rows.append(batches[i % len(batches)][0].shape[0])
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "blas": blas_info(),
                "threads": torch.get_num_threads(),
                "initialLoss": initial_loss,
                "stepMs": times,
                "rows": rows,
                "lastLoss": loss,
                "device": args.device,
                **(
                    {"deviceMemoryPeakBytes": torch.cuda.max_memory_allocated()}
                    if args.device.startswith("cuda")
                    else {}
                ),
            }
        )
    )


main()
