"""High-level index operations shared by the CLI and the bot: build and publish, open, ask."""

from __future__ import annotations

from dataclasses import dataclass

from faqbot.config import Settings
from indexer.build import build_index
from indexer.decide import Decision, decide
from indexer.embed_cache import EmbeddingCache
from indexer.embedders import Embedder, make_embedder
from indexer.kb import KnowledgeBase, load_kb
from indexer.progress import ProgressFn, no_progress
from indexer.search import IndexMissing, Searcher, SearchResult, read_manifest
from indexer.store import IndexStore


@dataclass
class PublishResult:
    version: str
    manifest: dict
    kb: KnowledgeBase
    skipped: bool  # True when the current index already matches the KB


def store_for(settings: Settings) -> IndexStore:
    return IndexStore(settings.index_dir, settings.index.keep_versions)


def build_and_publish(settings: Settings, full: bool = False, embedder: Embedder | None = None,
                      progress: ProgressFn = no_progress) -> PublishResult:
    """Validate the KB (raising ``KBInvalid``), build a new version and publish it.

    Without ``full``, an index whose manifest already matches the KB content
    and the configured embedder is left as it is.
    """
    kb = load_kb(settings.kb_dir)
    content_hash = kb.content_hash()
    store = store_for(settings)
    current = store.current()
    if current is not None and not full:
        manifest = read_manifest(current)
        built = manifest.get("embedder", {})
        if (manifest.get("content_hash") == content_hash and built.get("backend") == settings.embedder.backend
                and built.get("model") == (embedder.model if embedder else settings.embedder.model)):
            return PublishResult(current.name, manifest, kb, skipped=True)
    embedder = embedder or make_embedder(settings.embedder)
    cache = EmbeddingCache(settings.cache_dir / "embeddings.sqlite")
    try:
        version, manifest = store.publish(
            lambda out: build_index(kb.entries, kb.terms, content_hash, settings, embedder, cache, out,
                                    full=full, progress=progress),
            label=content_hash[:8])
    finally:
        cache.close()
    return PublishResult(version, manifest, kb, skipped=False)


def open_current(settings: Settings, embedder: Embedder | None = None) -> Searcher:
    current = store_for(settings).current()
    if current is None:
        raise IndexMissing(f"no published index under {settings.index_dir}; run `faqbot index build`")
    return Searcher(current, settings, embedder)


def ask(searcher: Searcher, question: str, k: int = 5, explain: bool = False) -> tuple[SearchResult, Decision]:
    result = searcher.search(question, k=max(k, searcher.settings.decision.max_clarify), explain=explain)
    return result, decide(result.candidates, searcher.settings.decision)
