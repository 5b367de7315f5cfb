"""Out-of-scope detection and the fitted confidence (issue #16): targets and ablation.

    .venv/bin/python benchmarks/confidence.py

Two sets, each searched once against an index built exactly as `faqbot index build` builds
it (the confidence model fitted on the KB at build, `indexer/confidence.py`):

- the sample KB (`kb_content/`) with the held-out evaluation set: the paraphrases in
  `tests/data/paraphrases/` and the out-of-scope questions in `tests/data/out_of_scope.txt`
  (neither is used by the fit);
- the dev benchmark (`../shared/eval`): its KB, its queries (71 out of scope).

Rows: the decision before issue #16's model (the configured sigmoid of top score and margin,
with its thresholds), the shipped fitted model, and for the ablation the same fit with one
feature group at a time (each with thresholds chosen the same way on the same fitting data).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from _common import EVAL, ROOT, save
from clarify import score
from sklearn.metrics import roc_auc_score

from faqbot.config import Settings, load_settings
from indexer import confidence
from indexer.build import build_index
from indexer.decide import Decision, decide
from indexer.embed_cache import EmbeddingCache
from indexer.embedders import Embedder, make_embedder
from indexer.evaluate import load_benchmark
from indexer.kb import FaqEntry, load_kb
from indexer.search import Candidate, Searcher, SearchResult
from indexer.synonyms import Synonyms

Queries = list[tuple[str, str | None]]
BASE = ["top", "margin"]
GROUPS: dict[str, list[str]] = {
    "top + margin, refitted per KB": BASE,
    "+ coverage (coverage, cover_gap)": [*BASE, "coverage", "cover_gap"],
    "+ novelty (novelty, uncovered_novelty)": [*BASE, "novelty", "uncovered_novelty"],
    "+ background": [*BASE, "background"],
    "+ dense/lexical agreement (agree, ranks)": [*BASE, "agree", "dense_rank", "bm25_rank"],
    "+ scores apart (dense, bm25, dense_margin)": [*BASE, "dense", "bm25", "dense_margin"],
    "all (shipped)": list(confidence.FEATURES),
}


def out_of_scope() -> Queries:
    lines = (ROOT / "tests" / "data" / "out_of_scope.txt").read_text(encoding="utf-8").splitlines()
    return [(line.strip(), None) for line in lines if line.strip() and not line.startswith("#")]


def paraphrases() -> Queries:
    out: Queries = []
    for path in sorted((ROOT / "tests" / "data" / "paraphrases").glob("*.jsonl")):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        out += [(row["query"], row["id"]) for row in rows]
    return out


def searched(
    entries: list[FaqEntry],
    terms: list[str],
    synonyms: Synonyms | None,
    queries: Queries,
    settings: Settings,
    embedder: Embedder,
) -> tuple[Searcher, list[SearchResult], float]:
    """Build (and fit) an index, search every query; also the build's seconds."""
    tmp = Path(tempfile.mkdtemp(prefix="faqbot-confidence-"))
    cache = EmbeddingCache(settings.cache_dir / "embeddings.sqlite")
    try:
        started = time.perf_counter()
        build_index(entries, terms, "confidence", settings, embedder, cache, tmp, synonyms=synonyms)
        seconds = time.perf_counter() - started
        searcher = Searcher(tmp, settings, embedder)
        texts = [searcher.query_text(q) or q for q, _ in queries]
        vectors, _ = cache.embed(embedder, texts, "query")
        results = [searcher.search(q, k=10, query_vector=v) for (q, _), v in zip(queries, vectors, strict=True)]
    finally:
        cache.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return searcher, results, seconds


def auc(confidences: Sequence[float], right: Sequence[bool]) -> float | None:
    labels = np.array(right, dtype=int)
    return round(float(roc_auc_score(labels, confidences)), 4) if 0 < labels.sum() < len(labels) else None


Decider = Callable[[Sequence[Candidate]], Decision]


def row(results: list[SearchResult], queries: Queries, decider: Decider, samples: list[confidence.Sample]) -> dict:
    def right(r: SearchResult, gold: str | None) -> bool:
        return bool(r.candidates) and r.candidates[0].entry.id == gold

    out = score(results, queries, decider)
    out["auc_eval"] = auc(
        [decider(r.candidates).confidence for r in results],
        [right(r, g) for r, g in zip(results, [g for _, g in queries], strict=True)],
    )
    out["auc_fit_data"] = auc([decider(s.candidates).confidence for s in samples], [s.right for s in samples])
    return out


def deciders(searcher: Searcher, samples: list[confidence.Sample]) -> dict[str, Decider]:
    configured = searcher.settings.decision
    rows: dict[str, Decider] = {"before: top + margin sigmoid, configured thresholds": lambda c: decide(c, configured)}
    for name, names in GROUPS.items():
        model = confidence.fit(samples, names)
        config = dataclasses.replace(
            configured, answer_threshold=model.answer_threshold, clarify_threshold=model.clarify_threshold
        )
        rows[name] = lambda c, config=config, model=model: decide(c, config, model)
    rows["shipped (as served: Searcher.decide)"] = searcher.decide
    return rows


def ranking(results: list[SearchResult], queries: Queries) -> dict[str, float]:
    top1 = mrr = 0.0
    inside = [(r, g) for r, (_, g) in zip(results, queries, strict=True) if g is not None]
    for r, gold in inside:
        ids = [c.entry.id for c in r.candidates]
        top1 += ids[:1] == [gold]
        mrr += 1.0 / (ids.index(gold) + 1) if gold in ids[:10] else 0.0
    return {"top1": round(top1 / len(inside), 4), "mrr_at_10": round(mrr / len(inside), 4)}


def main() -> None:
    settings = load_settings()
    embedder = make_embedder(settings.embedder)
    kb = load_kb(ROOT / "kb_content")
    dev_entries, dev = load_benchmark(EVAL / "kb_dev.jsonl", EVAL / "queries_dev.jsonl")
    sets = {
        "sample KB: held-out paraphrases + out-of-scope": (
            list(kb.enabled),
            list(kb.terms),
            kb.synonyms,
            paraphrases() + out_of_scope(),
        ),
        "sample KB without synonyms.txt": (list(kb.enabled), list(kb.terms), None, paraphrases() + out_of_scope()),
        "dev benchmark": (dev_entries, [], None, [(q.text, q.gold) for q in dev]),
    }
    report = {}
    for name, (entries, terms, synonyms, queries) in sets.items():
        searcher, results, build_seconds = searched(entries, terms, synonyms, queries, settings, embedder)
        samples = confidence.fit_samples(searcher)
        model = searcher.model
        chosen = deciders(searcher, samples)
        if "without" in name:  # the synonyms' effect: the shipped decision only
            chosen = {k: v for k, v in chosen.items() if k.startswith(("before", "shipped"))}
        report[name] = {
            "ranking": ranking(results, queries),
            "build_seconds": round(build_seconds, 2),
            "model": model.to_json() if model else None,
            "rows": {label: row(results, queries, d, samples) for label, d in chosen.items()},
        }
        print(name, json.dumps({k: v for k, v in report[name].items() if k != "model"}, ensure_ascii=False, indent=1))
    save("confidence", {"sets": report})


if __name__ == "__main__":
    main()
