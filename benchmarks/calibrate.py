"""Fit the decision function's confidence and thresholds.

    .venv/bin/python benchmarks/calibrate.py [--false-rejection 0.05] [--precision 0.85]

Two sources, weighted equally:

A. the public dev benchmark (`../shared/eval`): noisy labels (BQ clusters
   overlap in intent), hard out-of-scope queries from the same bank domain;
B. the sample KB, leave-one-out: each entry's last similar question is taken
   out of the index and asked; plus `benchmarks/data/sample_oos.txt`, questions
   the sample KB cannot answer. (The held-out paraphrases in `tests/data` are
   never used here: they are the tests' data.)

1. Features per query: the top fused score and its margin over the runner-up.
   Label: the top FAQ is the right one (out-of-scope queries: never right).
2. Fit P(right) = sigmoid(a·top + b·margin + c) by log-loss with a, b ≥ 0, so
   that a better match can never lower the confidence. By default the curve
   is fitted on the sample KB only: on the dev benchmark the top score barely
   predicts correctness (ROC AUC 0.56, label noise between BQ clusters of the
   same intent), and a curve fitted there learns to ignore how well a question
   matched (`--shape-from both` shows it).
3. clarify_threshold: the largest confidence that still keeps in-scope false
   rejection at or below --false-rejection on both sources.
   answer_threshold: the lowest confidence at which the sample KB's answered
   queries are right at least --precision of the time.
Prints the [decision] values for faqbot/config.py and the resulting metrics.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
from _common import EVAL, ROOT, save
from scipy.optimize import minimize

from faqbot.config import load_settings
from indexer.build import build_index
from indexer.decide import FALLBACK, decide
from indexer.embed_cache import EmbeddingCache
from indexer.embedders import make_embedder
from indexer.evaluate import load_benchmark, ranked_results
from indexer.kb import load_kb
from indexer.search import Searcher


def features(results) -> np.ndarray:
    rows = []
    for r in results:
        top = r.candidates[0].fused if r.candidates else 0.0
        second = r.candidates[1].fused if len(r.candidates) > 1 else 0.0
        rows.append([top, top - second])
    return np.array(rows)


def dev_source(settings, embedder):
    entries, queries = load_benchmark(EVAL / "kb_dev.jsonl", EVAL / "queries_dev.jsonl")
    _, results = ranked_results(entries, queries, settings, embedder=embedder)
    gold = [q.gold for q in queries]
    return results, gold


def sample_source(settings, embedder):
    kb = load_kb(ROOT / "kb_content")
    held_out, entries = [], []
    for e in kb.enabled:
        held_out.append((e.similar[-1], e.id))
        entries.append(dataclasses.replace(e, similar=e.similar[:-1]))
    oos = [
        line.strip()
        for line in (ROOT / "benchmarks" / "data" / "sample_oos.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    queries = held_out + [(q, None) for q in oos]
    tmp = Path(tempfile.mkdtemp(prefix="faqbot-calib-"))
    cache = EmbeddingCache(settings.cache_dir / "embeddings.sqlite")
    try:
        build_index(entries, kb.terms, "calib", settings, embedder, cache, tmp)
        searcher = Searcher(tmp, settings, embedder)
        results = [searcher.search(q) for q, _ in queries]
    finally:
        cache.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return results, [g for _, g in queries]


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    def loss(theta):
        z = x @ theta[:2] + theta[2]
        p = 1 / (1 + np.exp(-np.clip(z, -30, 30)))
        eps = 1e-9
        return -np.sum(w * (y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))) / w.sum()

    result = minimize(loss, np.array([1.0, 1.0, 0.0]), method="L-BFGS-B", bounds=[(0, None), (0, None), (None, None)])
    return result.x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--false-rejection", type=float, default=0.05)
    parser.add_argument("--precision", type=float, default=0.85)
    parser.add_argument(
        "--shape-from",
        choices=("sample", "both"),
        default="sample",
        help="fit the confidence curve on the sample KB only (default) or on both sources",
    )
    args = parser.parse_args()

    settings = load_settings()
    embedder = make_embedder(settings.embedder)
    sources = {"dev": dev_source(settings, embedder), "sample": sample_source(settings, embedder)}
    xs, ys, ws, labels = [], [], [], {}
    for name, (results, gold) in sources.items():
        x = features(results)
        y = np.array(
            [
                float(g is not None and bool(r.candidates) and r.candidates[0].entry.id == g)
                for r, g in zip(results, gold, strict=True)
            ]
        )
        xs.append(x), ys.append(y), ws.append(np.full(len(y), 1.0 / len(y)))
        labels[name] = (x, y, np.array([g is not None for g in gold]))
    if args.shape_from == "sample":
        a, b, c = fit(*labels["sample"][:2], np.ones(len(labels["sample"][1])))
    else:
        a, b, c = fit(np.vstack(xs), np.concatenate(ys), np.concatenate(ws))

    def conf(x):
        return 1 / (1 + np.exp(-(a * x[:, 0] + b * x[:, 1] + c)))

    clarify = min(float(np.quantile(conf(x)[ins], args.false_rejection)) for x, _, ins in labels.values())
    sx, sy, sins = labels["sample"]
    sconf = conf(sx)
    answer = 1.0
    for t in np.sort(np.unique(np.round(sconf, 3))):
        chosen = sconf >= t
        if chosen.sum() >= 5 and sy[chosen].mean() >= args.precision:
            answer = float(t)
            break
    answer = max(answer, clarify)
    decision = dataclasses.replace(
        settings.decision,
        calib_score=round(float(a), 3),
        calib_margin=round(float(b), 3),
        calib_bias=round(float(c), 3),
        answer_threshold=round(answer, 3),
        clarify_threshold=round(clarify, 3),
    )
    report = {"decision": dataclasses.asdict(decision), "sources": {}}
    for name, (results, gold) in sources.items():
        actions = [decide(r.candidates, decision).action for r in results]
        ins = np.array([g is not None for g in gold])
        right = labels[name][1].astype(bool)
        act = np.array(actions)
        report["sources"][name] = {
            "queries": len(results),
            "in_scope": int(ins.sum()),
            "in_scope_false_rejection": round(float((act[ins] == FALLBACK).mean()), 3),
            "oos_rejection": round(float((act[~ins] == FALLBACK).mean()), 3) if (~ins).any() else None,
            "answered_share": round(float((act == "answer").mean()), 3),
            "answered_precision": round(float(right[act == "answer"].mean()), 3) if (act == "answer").any() else None,
            "clarify_share": round(float((act == "clarify").mean()), 3),
        }
    print("[decision]")
    for key in ("calib_score", "calib_margin", "calib_bias", "answer_threshold", "clarify_threshold"):
        print(f"{key} = {getattr(decision, key)}")
    print(json.dumps(report["sources"], indent=2))
    save("calibration", report)


if __name__ == "__main__":
    main()
