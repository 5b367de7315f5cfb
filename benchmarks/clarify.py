"""Clarify buttons that make sense (issue #16): the decision with and without the
shared-content rule (`indexer/overlap.py`), on three sets.

    .venv/bin/python benchmarks/clarify.py

- sample KB leave-one-out: each entry's last similar question taken out of the index and
  asked (as `benchmarks/calibrate.py` builds it), plus `benchmarks/data/sample_oos.txt`;
- the held-out paraphrases in `tests/data/paraphrases/` against the whole sample KB, plus
  the same out-of-scope questions;
- the dev benchmark (`../shared/eval`), with its own out-of-scope queries.

Every query is searched once; both decisions are taken from the same candidates
(``require_shared_content`` off = the decision before issue #16).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import EVAL, ROOT, percentile_ms, save

from faqbot.config import DecisionConfig, Settings, load_settings
from indexer.build import build_index
from indexer.decide import ANSWER, CLARIFY, FALLBACK, decide
from indexer.embed_cache import EmbeddingCache
from indexer.embedders import Embedder, make_embedder
from indexer.evaluate import load_benchmark
from indexer.kb import FaqEntry, load_kb
from indexer.search import Searcher, SearchResult
from indexer.synonyms import Synonyms

Queries = list[tuple[str, str | None]]  # (question, the right entry's id or None: out of scope)


def searched(
    entries: list[FaqEntry], terms: list[str], synonyms: Synonyms | None, queries: Queries, settings, embedder
) -> tuple[list[SearchResult], list[float]]:
    """Build a temporary index, search every query (k=10); also the time of each search."""
    tmp = Path(tempfile.mkdtemp(prefix="faqbot-clarify-"))
    cache = EmbeddingCache(settings.cache_dir / "embeddings.sqlite")
    try:
        build_index(entries, terms, "clarify", settings, embedder, cache, tmp, synonyms=synonyms)
        searcher = Searcher(tmp, settings, embedder)
        texts = [searcher.query_text(q) or q for q, _ in queries]
        vectors, _ = cache.embed(embedder, texts, "query")
        results, times = [], []
        for (q, _), v in zip(queries, vectors, strict=True):
            start = time.perf_counter()
            results.append(searcher.search(q, k=10, query_vector=v))
            times.append(time.perf_counter() - start)
    finally:
        cache.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return results, times


def score(results: list[SearchResult], queries: Queries, decider: DecisionConfig | Callable) -> dict:
    """``decider``: a decision config (no confidence model), or a function of the candidates."""
    decide_on = decider if callable(decider) else lambda c: decide(c, decider)
    answered = right = clarified = covered = buttons = rejected = 0
    oos = oos_rejected = oos_answered = oos_buttons = 0
    for result, (_, gold) in zip(results, queries, strict=True):
        decision = decide_on(result.candidates)
        ids = [c.entry.id for c in decision.candidates]
        if gold is None:
            oos += 1
            oos_rejected += decision.action == FALLBACK
            oos_answered += decision.action == ANSWER
            oos_buttons += len(ids) if decision.action == CLARIFY else 0
        elif decision.action == ANSWER:
            answered += 1
            right += ids[0] == gold
        elif decision.action == CLARIFY:
            clarified += 1
            covered += gold in ids
            buttons += len(ids)
        else:
            rejected += 1
    n = len(queries) - oos

    def pct(a: int, b: int) -> float | None:
        return round(100 * a / b, 1) if b else None

    return {
        "answered_pct": pct(answered, n),
        "precision_pct": pct(right, answered + oos_answered),  # an out-of-scope question answered is wrong
        "clarified_pct": pct(clarified, n),
        "right_among_buttons_pct": pct(covered, clarified),
        "buttons_per_clarify": round(buttons / clarified, 2) if clarified else None,
        "right_share_of_buttons_pct": pct(covered, buttons),
        "oos_rejection_pct": pct(oos_rejected, oos),
        "oos_buttons_offered": oos_buttons,
        "in_scope_false_rejection_pct": pct(rejected, n),
        "in_scope": n,
        "out_of_scope": oos,
    }


def sample_oos() -> Queries:
    lines = (ROOT / "benchmarks" / "data" / "sample_oos.txt").read_text(encoding="utf-8").splitlines()
    return [(line.strip(), None) for line in lines if line.strip() and not line.startswith("#")]


def sources(settings: Settings, embedder: Embedder) -> dict[str, tuple[list[SearchResult], Queries, list[float]]]:
    """Each set's results, queries and search times."""
    kb = load_kb(ROOT / "kb_content")
    terms = list(kb.terms)
    loo = [dataclasses.replace(e, similar=e.similar[:-1]) for e in kb.enabled]
    held: Queries = [(e.similar[-1], e.id) for e in kb.enabled]
    para: Queries = []
    for path in sorted((ROOT / "tests" / "data" / "paraphrases").glob("*.jsonl")):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        para += [(row["query"], row["id"]) for row in rows]
    entries, dev = load_benchmark(EVAL / "kb_dev.jsonl", EVAL / "queries_dev.jsonl")
    sets = {
        "sample KB leave-one-out + out-of-scope": (loo, terms, kb.synonyms, held + sample_oos()),
        "held-out paraphrases + out-of-scope": (list(kb.enabled), terms, kb.synonyms, para + sample_oos()),
        "dev benchmark": (entries, [], None, [(q.text, q.gold) for q in dev]),
    }
    out = {}
    for name, (kb_entries, kb_terms, synonyms, queries) in sets.items():
        results, times = searched(kb_entries, kb_terms, synonyms, queries, settings, embedder)
        out[name] = (results, queries, times)
    return out


def main() -> None:
    settings = load_settings()
    embedder = make_embedder(settings.embedder)
    after = settings.decision
    before = dataclasses.replace(after, require_shared_content=False)
    report = {}
    for name, (results, queries, times) in sources(settings, embedder).items():
        report[name] = {
            "before": score(results, queries, before),
            "after": score(results, queries, after),
            # one search with the query already embedded: BM25, FAISS, fusion and the content check
            "search_p50_ms": percentile_ms(times, 50),
            "search_p99_ms": percentile_ms(times, 99),
        }
        print(name, json.dumps(report[name], ensure_ascii=False))
    save("clarify", {"sources": report})


if __name__ == "__main__":
    main()
