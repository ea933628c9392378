"""Golden values for @ortrain/metrics, computed by the reference implementations.

Run once with the system interpreter that has sklearn and scipy (not the pyenv one):

    /usr/bin/python3 packages/metrics/scripts/golden.py

It rewrites packages/metrics/test/fixtures/golden.json deterministically (fixed seeds). The tests only read
that JSON; Python never runs at test time. NaN is written as the string "NaN" because JSON has no NaN.
"""

import json
import os
import warnings

import numpy as np
import scipy
import scipy.special
import scipy.stats
import sklearn
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    matthews_corrcoef,
    precision_recall_fscore_support,
)

# sklearn warns (UndefinedMetricWarning) and scipy warns (ConstantInputWarning) on the edge cases we want
# to record; the values they return are what we pin.
warnings.simplefilter("ignore")

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "golden.json")
rng = np.random.default_rng(20240521)


def num(x):
    x = float(x)
    return "NaN" if np.isnan(x) else x


def ints(a):
    return [int(v) for v in a]


def f32(a):
    """Round to float32 the way a Float32Array does, then hand back exact float64 values for JSON."""
    return [float(v) for v in np.asarray(a, dtype=np.float32)]


# ---------------------------------------------------------------- classification


def classification_case(name, references, predictions, labels=None, pos_label=1):
    y_true = np.asarray(references)
    y_pred = np.asarray(predictions)
    present = sorted(set(ints(y_true)) | set(ints(y_pred)))
    label_set = list(labels) if labels is not None else present
    expected = {
        "accuracy": num(accuracy_score(y_true, y_pred)),
        "mcc": num(matthews_corrcoef(y_true, y_pred)),
        "confusion": {
            "labels": label_set,
            "matrix": confusion_matrix(y_true, y_pred, labels=label_set).tolist(),
        },
    }
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=label_set, average=None)
    expected["perClass"] = {
        "labels": label_set,
        "precision": [num(v) for v in p],
        "recall": [num(v) for v in r],
        "f1": [num(v) for v in f],
        "support": ints(s),
    }
    for average in ("macro", "micro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=label_set, average=average)
        expected[average] = {"precision": num(p), "recall": num(r), "f1": num(f)}
    if len(label_set) <= 2:
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average="binary", pos_label=pos_label)
        expected["binary"] = {"precision": num(p), "recall": num(r), "f1": num(f)}
    case = {"name": name, "references": ints(y_true), "predictions": ints(y_pred), "expected": expected}
    if labels is not None:
        case["labels"] = list(labels)
    if pos_label != 1:
        case["posLabel"] = pos_label
    return case


def noisy_copy(y, classes, error_rate):
    """Predictions that agree with y except on a random error_rate fraction, where a wrong class is drawn."""
    y_pred = y.copy()
    for i in np.flatnonzero(rng.random(len(y)) < error_rate):
        y_pred[i] = rng.choice([c for c in classes if c != y[i]])
    return y_pred


classification = [
    classification_case("binary small", [0, 1, 1, 0, 1, 1, 0, 0, 1, 0], [0, 1, 0, 0, 1, 1, 1, 0, 1, 1]),
    classification_case("binary perfect", [0, 1, 1, 0, 1], [0, 1, 1, 0, 1]),
    classification_case("binary all wrong", [0, 1, 1, 0, 1], [1, 0, 0, 1, 0]),
    classification_case("constant prediction negative", [0, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0]),
    classification_case("constant prediction positive", [0, 1, 1, 0, 1, 0], [1, 1, 1, 1, 1, 1]),
    classification_case("no true positives in references", [0, 0, 0, 0], [0, 1, 0, 1]),
    classification_case("everything negative", [0, 0, 0], [0, 0, 0]),
    classification_case("everything negative, labels declared", [0, 0, 0], [0, 0, 0], labels=[0, 1]),
    classification_case("binary positive label 0", [0, 1, 1, 0, 1, 0, 0], [0, 1, 0, 0, 0, 1, 0], pos_label=0),
    classification_case("binary labels 2 and 5", [2, 5, 5, 2, 5, 2], [2, 5, 2, 2, 5, 5], pos_label=5),
    classification_case("multiclass small", [0, 1, 2, 0, 1, 2, 0, 1, 2], [0, 2, 1, 0, 0, 1, 0, 1, 2]),
    classification_case("multiclass class never predicted", [0, 1, 2, 2, 1, 0, 2], [0, 1, 1, 1, 1, 0, 0]),
    classification_case("multiclass declared absent class", [0, 1, 2, 2, 1, 0], [0, 2, 2, 1, 1, 0], labels=[0, 1, 2, 3]),
    classification_case("multiclass declared order", [3, 1, 2, 2, 1, 3], [3, 2, 2, 1, 1, 1], labels=[3, 1, 2]),
    classification_case("multiclass negative ids", [-1, 0, 7, 7, -1, 0, 7], [-1, 7, 7, 0, -1, 0, -1]),
    classification_case("single sample", [1], [1]),
]
for i in range(10):
    n = int(rng.integers(8, 80))
    prior = float(rng.uniform(0.05, 0.95))  # some heavily imbalanced
    y = (rng.random(n) < prior).astype(int)
    classification.append(
        classification_case(f"random binary {i}", y, noisy_copy(y, [0, 1], float(rng.uniform(0, 0.6))))
    )
for i in range(10):
    k = int(rng.integers(3, 7))
    n = int(rng.integers(10, 120))
    prior = rng.dirichlet(np.full(k, 0.7))  # imbalanced class priors
    y = rng.choice(k, size=n, p=prior)
    classification.append(
        classification_case(
            f"random multiclass {i} (k={k})", y, noisy_copy(y, list(range(k)), float(rng.uniform(0, 0.8)))
        )
    )

# ---------------------------------------------------------------- correlation


def rank_case(values):
    return [float(v) for v in scipy.stats.rankdata(values, method="average")]


def correlation_case(name, x, y):
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return {
        "name": name,
        "x": [float(v) for v in x],
        "y": [float(v) for v in y],
        "pearson": num(scipy.stats.pearsonr(x, y)[0]),
        "spearman": num(scipy.stats.spearmanr(x, y)[0]),
        "rankX": rank_case(x),
        "rankY": rank_case(y),
    }


base = rng.normal(size=30)
correlation = [
    correlation_case("small", [1, 2, 3, 4, 5], [2, 1, 4, 3, 5]),
    correlation_case("perfect linear", base, 3 * base + 2),
    correlation_case("perfect negative", base, -0.5 * base + 1),
    correlation_case("monotone non-linear", base, np.exp(base)),
    correlation_case("two points", [1.5, 2.5], [7, 3]),
    correlation_case("three points", [0, 1, 3], [1, 0, 5]),
    correlation_case("ties", [1, 2, 2, 3, 3, 3, 4], [1, 1, 2, 2, 3, 5, 5]),
    correlation_case("integer scores with many ties", rng.integers(0, 4, 40), rng.integers(0, 6, 40)),
    correlation_case("constant x", [2, 2, 2, 2], [1, 2, 3, 4]),
    correlation_case("constant y", [1, 2, 3, 4], [0.5, 0.5, 0.5, 0.5]),
    correlation_case("large offset", 1e6 + rng.normal(size=25), 1e6 + rng.normal(size=25)),
    correlation_case("tiny scale", 1e-9 * rng.normal(size=25), 1e-9 * rng.normal(size=25)),
]
for i in range(6):
    n = int(rng.integers(5, 200))
    x = rng.normal(size=n)
    y = float(rng.uniform(-1, 1)) * x + rng.normal(size=n)
    correlation.append(correlation_case(f"random {i} (n={n})", x, y))
# STS-B-like: float32 regression outputs against gold scores on a 0..5 scale with ties.
gold = np.round(rng.uniform(0, 5, 60) * 5) / 5
pred = np.asarray(gold + rng.normal(scale=0.8, size=60), dtype=np.float32).astype(np.float64)
correlation.append(correlation_case("stsb-like float32 predictions", pred, gold))

# ---------------------------------------------------------------- logits


def logits_case(name, rows):
    a = np.asarray(rows, dtype=np.float32)
    x = a.astype(np.float64)
    return {
        "name": name,
        "shape": list(a.shape),
        "data": f32(a.reshape(-1)),
        "argmax": ints(np.argmax(x, axis=-1)),
        "softmax": [float(v) for v in scipy.special.softmax(x, axis=-1).reshape(-1)],
    }


logits = [
    logits_case("random 2 classes", rng.normal(size=(7, 2))),
    logits_case("random 3 classes", 3 * rng.normal(size=(9, 3))),
    logits_case("ties go to the first index", [[1, 1], [0, 2], [5, 5]]),
    logits_case("three-way ties", [[0.5, 0.5, 0.5], [-1, 3, 3], [4, 4, -2]]),
    logits_case("large magnitudes", [[1000, 1001], [-1000, -1002], [3e4, -3e4]]),
    logits_case("one class", [[0.3], [-2], [7]]),
]

# ---------------------------------------------------------------- GLUE
# Mirrors evaluate's metrics/glue/glue.py: acc = (preds == labels).mean(); f1 = f1_score(labels, preds);
# pearson/spearmanr from scipy; matthews_corrcoef(labels, preds). Predictions come from the course's
# compute_metrics: np.argmax(logits, axis=-1) (or the squeezed [n, 1] output for the stsb regression).

GLUE_LABELS = {"mnli": 3, "mnli_matched": 3, "mnli_mismatched": 3, "stsb": 1}


def glue_compute(task, preds, labels):
    if task == "cola":
        return {"matthews_correlation": float(matthews_corrcoef(labels, preds))}
    if task == "stsb":
        return {
            "pearson": num(scipy.stats.pearsonr(preds, labels)[0]),
            "spearmanr": num(scipy.stats.spearmanr(preds, labels)[0]),
        }
    if task in ("mrpc", "qqp"):
        return {"accuracy": float((preds == labels).mean()), "f1": float(f1_score(y_true=labels, y_pred=preds))}
    return {"accuracy": float((preds == labels).mean())}


def glue_case(name, task, n, positive_rate=0.68, signal=1.6):
    k = GLUE_LABELS.get(task, 2)
    if task == "stsb":
        labels = np.round(rng.uniform(0, 5, n) * 5) / 5
        out = np.asarray(labels + rng.normal(scale=0.9, size=n), dtype=np.float32).reshape(n, 1)
        preds = out.astype(np.float64).reshape(-1)
        label_list = [float(v) for v in labels]
    else:
        p = np.full(k, (1 - positive_rate) / (k - 1))
        p[1] = positive_rate
        labels = rng.choice(k, size=n, p=p)
        out = rng.normal(size=(n, k)).astype(np.float32)
        out[np.arange(n), labels] += np.float32(signal)  # logits that are right most of the time
        preds = np.argmax(out.astype(np.float64), axis=-1)
        label_list = ints(labels)
    return {
        "name": name,
        "task": task,
        "shape": list(out.shape),
        "logits": f32(out.reshape(-1)),
        "labelIds": label_list,
        "expected": glue_compute(task, preds, labels),
    }


glue = [glue_case("mrpc validation shape (408 examples)", "mrpc", 408)]
for task in ["qqp", "stsb", "cola", "sst2", "mnli", "mnli_matched", "mnli_mismatched", "qnli", "rte", "wnli", "hans"]:
    glue.append(glue_case(f"{task} random", task, int(rng.integers(20, 60)), positive_rate=0.5))

fixture = {
    "generator": "packages/metrics/scripts/golden.py",
    "versions": {"numpy": np.__version__, "scipy": scipy.__version__, "sklearn": sklearn.__version__},
    "classification": classification,
    "correlation": correlation,
    "logits": logits,
    "glue": glue,
}
with open(OUT, "w") as fh:
    json.dump(fixture, fh, separators=(",", ":"))
    fh.write("\n")
print(f"wrote {os.path.relpath(OUT)}: {len(classification)} classification, {len(correlation)} correlation, "
      f"{len(logits)} logits, {len(glue)} glue cases")
