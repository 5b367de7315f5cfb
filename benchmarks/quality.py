"""Dev-benchmark quality: BM25 only, dense only, hybrid (the default).

.venv/bin/python benchmarks/quality.py
"""

from __future__ import annotations

import dataclasses

from _common import EVAL, save

from faqbot.config import load_settings
from indexer.embedders import make_embedder
from indexer.evaluate import load_benchmark, metrics, ranked_results


def main() -> None:
    settings = load_settings()
    embedder = make_embedder(settings.embedder)
    entries, queries = load_benchmark(EVAL / "kb_dev.jsonl", EVAL / "queries_dev.jsonl")
    rows = {}
    for name, weight in (("bm25_only", 0.0), ("dense_only", 1.0), ("hybrid", settings.retrieval.dense_weight)):
        tuned = dataclasses.replace(settings, retrieval=dataclasses.replace(settings.retrieval, dense_weight=weight))
        searcher, results = ranked_results(entries, queries, tuned, embedder=embedder)
        rows[name] = metrics(queries, results, searcher)
        print(name, rows[name])
    save("quality", {"benchmark": "shared/eval dev", "dense_weight": settings.retrieval.dense_weight, "results": rows})


if __name__ == "__main__":
    main()
