"""Build one index version directory from validated FAQ entries.

The directory is written completely (manifest last, with a sha256 of every
other file: ``indexer/manifest.py``) before ``store`` makes it visible; see
``indexer/store.py`` for the atomic publish.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from faqbot.config import Settings
from faqbot.normalize import NORMALISER_VERSION, normalize
from indexer import confidence
from indexer.bm25 import BM25
from indexer.confidence import ConfidenceModel
from indexer.dense import build_faiss, index_kind, save_faiss
from indexer.embed_cache import EmbeddingCache
from indexer.embedders import Embedder
from indexer.evidence import BACKGROUND_NPY, background_questions
from indexer.kb import FaqEntry
from indexer.manifest import FORMAT_VERSION, MANIFEST, Manifest, write_manifest
from indexer.progress import ProgressFn, no_progress
from indexer.search import Searcher
from indexer.sensitive import SensitiveList
from indexer.synonyms import Synonyms
from indexer.tokenize import Tokenizer

__all__ = ["FORMAT_VERSION", "MANIFEST", "build_index", "question_docs", "bm25_term_weights"]

log = logging.getLogger(__name__)


def question_docs(
    entries: Sequence[FaqEntry], synonyms: Synonyms | None = None
) -> tuple[list[int], list[str], list[str]]:
    """One document per distinct question as matched (normalised, synonyms applied), grouped by entry in order."""
    synonyms = synonyms or Synonyms()
    owners, texts, normalised = [], [], []
    for i, entry in enumerate(entries):
        seen: set[str] = set()
        for question in entry.questions:
            key = synonyms.apply(normalize(question))
            if key and key not in seen:
                seen.add(key)
                owners.append(i)
                texts.append(question)
                normalised.append(key)
    return owners, texts, normalised


def bm25_term_weights(settings: Settings) -> dict[str, float]:
    return {"w": 1.0, "c": settings.retrieval.char_ngram_weight}


def build_index(
    entries: Sequence[FaqEntry],
    terms: Sequence[str],
    content_hash: str,
    settings: Settings,
    embedder: Embedder,
    cache: EmbeddingCache,
    out_dir: Path,
    full: bool = False,
    progress: ProgressFn = no_progress,
    decision: Mapping[str, float] | None = None,
    synonyms: Synonyms | None = None,
    sensitive: SensitiveList | None = None,
) -> Manifest:
    """Write an index of the enabled ``entries`` into ``out_dir``; returns the manifest.

    ``decision``: the KB's thresholds (``decision.yml``), recorded in the manifest so
    that whoever serves this version decides with them (``Searcher.decision``).
    ``synonyms`` rewrite the questions before both BM25 and the embedder read them, and are
    stored with the version (``synonyms.json``) for its searcher to rewrite queries the same way.
    ``sensitive``: the sensitive-word list, stored with the version (``sensitive.json``) so that
    whoever serves it checks messages with the list it was built with.
    """
    started = time.monotonic()
    out_dir.mkdir(parents=True, exist_ok=True)
    synonyms = synonyms or Synonyms()
    enabled = [e for e in entries if e.enabled]
    owners, texts, normalised = question_docs(enabled, synonyms)

    tokenizer = Tokenizer(terms)
    bm25 = BM25.build(
        [tokenizer.terms(t) for t in normalised],
        k1=settings.retrieval.bm25_k1,
        b=settings.retrieval.bm25_b,
        term_weights=bm25_term_weights(settings),
    )
    vectors, newly = cache.embed(
        embedder, normalised, settings.embedder.document_role, progress=progress, use_cached=not full
    )
    dense = build_faiss(vectors, settings.index)
    # The generic questions the query is compared with (indexer/evidence.py), read as a query is.
    background = [synonyms.apply(normalize(q)) for q in background_questions()]
    background_vectors, _ = cache.embed(embedder, background, "query", use_cached=not full)

    save_faiss(dense, out_dir)
    np.save(out_dir / "vectors.npy", vectors)
    np.save(out_dir / BACKGROUND_NPY, background_vectors)
    bm25.save(out_dir)
    synonyms.save(out_dir)
    if sensitive:  # versions without a list keep the files they had
        sensitive.save(out_dir)
    (out_dir / "userdict.txt").write_text("\n".join(tokenizer.user_words) + "\n", encoding="utf-8")
    (out_dir / "entries.json").write_text(
        json.dumps([e.to_json() for e in enabled], ensure_ascii=False, indent=0), encoding="utf-8"
    )
    (out_dir / "docs.json").write_text(
        json.dumps({"owners": owners, "texts": texts}, ensure_ascii=False), encoding="utf-8"
    )
    fields: dict = {
        "embedder": {
            "backend": embedder.backend,
            "model": embedder.model,
            "dim": embedder.dim,
            "document_role": settings.embedder.document_role,
        },
        "normaliser_version": NORMALISER_VERSION,
        "content_hash": content_hash,
        "counts": {
            "entries": len(entries),
            "enabled": len(enabled),
            "disabled": len(entries) - len(enabled),
            "vectors": len(texts),
            "bm25_terms": len(bm25.vocab),
            "newly_embedded": newly,
        },
        "dense_index": index_kind(dense),
        "bm25": {
            "k1": settings.retrieval.bm25_k1,
            "b": settings.retrieval.bm25_b,
            "term_weights": bm25_term_weights(settings),
        },
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "build_seconds": round(time.monotonic() - started, 3),
    }
    if decision:
        fields["decision"] = dict(decision)
    manifest = write_manifest(out_dir, fields)
    if not settings.decision.fit_confidence:
        return manifest
    model = fit_confidence(out_dir, settings, embedder)
    if model is None:
        return manifest
    fields["confidence"] = model.to_json()
    fields["build_seconds"] = round(time.monotonic() - started, 3)
    return write_manifest(out_dir, fields)


def fit_confidence(out_dir: Path, settings: Settings, embedder: Embedder) -> ConfidenceModel | None:
    """The confidence model of the version just written to ``out_dir`` (``indexer/confidence.py``);
    None when its KB has too few questions of its own (the configured decision applies)."""
    started = time.monotonic()
    searcher = Searcher(out_dir, settings, embedder)
    try:
        model = confidence.fit(confidence.fit_samples(searcher))
    except ValueError as exc:
        log.info("confidence model not fitted: %s", exc)
        return None
    return dataclasses.replace(model, fitted={**model.fitted, "seconds": round(time.monotonic() - started, 3)})
