"""Retrieval quality on a benchmark in the ``shared/eval`` JSON Lines format.

Builds a temporary index from the benchmark KB with the configured embedder
(through the embedding cache), then reports top-1, recall@5, MRR@10 on
in-scope queries and the fallback decision's rejection rates.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from faqbot.config import Settings
from faqbot.errors import UserError
from indexer.build import build_index
from indexer.decide import FALLBACK
from indexer.embed_cache import EmbeddingCache
from indexer.embedders import Embedder, make_embedder
from indexer.kb import FaqEntry
from indexer.progress import ProgressFn, no_progress
from indexer.search import Searcher
from indexer.synonyms import Synonyms


class BenchmarkError(UserError, ValueError):
    """A benchmark file is missing or malformed."""


@dataclass(frozen=True)
class Query:
    text: str
    gold: str | None


def _jsonl(path: Path) -> list[tuple[int, dict]]:
    if not path.is_file():
        raise BenchmarkError(f"{path}: file not found")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BenchmarkError(f"{path}:{number}: invalid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise BenchmarkError(f"{path}:{number}: expected a JSON object")
        rows.append((number, row))
    if not rows:
        raise BenchmarkError(f"{path}: no records")
    return rows


def load_benchmark(kb_path: Path, queries_path: Path) -> tuple[list[FaqEntry], list[Query]]:
    entries, ids = [], set()
    for number, row in _jsonl(kb_path):
        entry_id, question = row.get("id"), row.get("question")
        if not isinstance(entry_id, str) or not entry_id:
            raise BenchmarkError(f"{kb_path}:{number}: field 'id' must be a non-empty string")
        if not isinstance(question, str) or not question.strip():
            raise BenchmarkError(f"{kb_path}:{number}: field 'question' must be a non-empty string")
        similar = row.get("similar", [])
        if not isinstance(similar, list) or not all(isinstance(s, str) for s in similar):
            raise BenchmarkError(f"{kb_path}:{number}: field 'similar' must be a list of strings")
        if entry_id in ids:
            raise BenchmarkError(f"{kb_path}:{number}: duplicate id {entry_id!r}")
        ids.add(entry_id)
        entries.append(
            FaqEntry(
                id=entry_id,
                question=question,
                answer=row.get("answer", "") or "-",
                category="eval",
                similar=tuple(similar),
            )
        )
    queries = []
    for number, row in _jsonl(queries_path):
        text, gold = row.get("query"), row.get("gold")
        if not isinstance(text, str) or not text.strip():
            raise BenchmarkError(f"{queries_path}:{number}: field 'query' must be a non-empty string")
        if gold is not None and gold not in ids:
            raise BenchmarkError(f"{queries_path}:{number}: gold {gold!r} is not an id in {kb_path}")
        queries.append(Query(text, gold))
    return entries, queries


def ranked_results(
    entries: list[FaqEntry],
    queries: list[Query],
    settings: Settings,
    embedder: Embedder | None = None,
    progress: ProgressFn = no_progress,
    synonyms: Synonyms | None = None,
) -> tuple[Searcher, list]:
    """Build a temporary index and search every query; returns the searcher and results."""
    embedder = embedder or make_embedder(settings.embedder)
    cache = EmbeddingCache(settings.cache_dir / "embeddings.sqlite")
    try:
        with tempfile.TemporaryDirectory(prefix="faqbot-eval-") as tmp:
            build_index(entries, [], "eval", settings, embedder, cache, Path(tmp), progress=progress, synonyms=synonyms)
            searcher = Searcher(Path(tmp), settings, embedder)
            # Embed exactly what Searcher.search reads (a long query's head and tail).
            texts = [searcher.query_text(q.text) or q.text for q in queries]
            vectors, _ = cache.embed(embedder, texts, "query", progress=progress)
            results = [searcher.search(q.text, k=10, query_vector=v) for q, v in zip(queries, vectors, strict=True)]
    finally:
        cache.close()
    return searcher, results


def metrics(queries: list[Query], results: list, searcher: Searcher) -> dict:
    """Ranking quality, and the rejections of ``searcher``'s decision (its fitted confidence)."""
    top1 = r5 = mrr = 0.0
    in_scope = oos = oos_rejected = false_rejected = 0
    for query, result in zip(queries, results, strict=True):
        ids = [c.entry.id for c in result.candidates]
        rejected = searcher.decide(result.candidates).action == FALLBACK
        if query.gold is None:
            oos += 1
            oos_rejected += rejected
            continue
        in_scope += 1
        false_rejected += rejected
        if ids[:1] == [query.gold]:
            top1 += 1
        if query.gold in ids[:5]:
            r5 += 1
        if query.gold in ids[:10]:
            mrr += 1.0 / (ids.index(query.gold) + 1)
    n = max(in_scope, 1)
    return {
        "top1": round(top1 / n, 4),
        "recall_at_5": round(r5 / n, 4),
        "mrr_at_10": round(mrr / n, 4),
        "oos_rejection": round(oos_rejected / max(oos, 1), 4),
        "in_scope_false_rejection": round(false_rejected / n, 4),
        "n_queries": len(queries),
    }


def evaluate(
    kb_path: Path,
    queries_path: Path,
    settings: Settings,
    progress: ProgressFn = no_progress,
    synonyms: Synonyms | None = None,
) -> dict:
    entries, queries = load_benchmark(kb_path, queries_path)
    searcher, results = ranked_results(entries, queries, settings, progress=progress, synonyms=synonyms)
    return metrics(queries, results, searcher)
