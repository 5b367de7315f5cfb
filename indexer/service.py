"""High-level index operations shared by the CLI and the bot: build and publish, open, ask.

Every way in checks a version's integrity first (``indexer/manifest.py``): a
corrupt current version is rebuilt by ``build_and_publish`` instead of being
skipped as up to date, and readers (``open_serving``, the live searcher, the
bot's start) fall back to the newest earlier version that is intact, telling
the caller which version was refused and why.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from faqbot.config import Settings
from indexer.build import build_index
from indexer.decide import Decision
from indexer.embed_cache import EmbeddingCache
from indexer.embedders import Embedder, make_embedder
from indexer.kb import KnowledgeBase, load_kb
from indexer.manifest import IndexCorrupt, IndexMismatch, IndexOutdated, Manifest, verify_version
from indexer.progress import ProgressFn, no_progress
from indexer.search import IndexMissing, Searcher, SearchResult
from indexer.shared_index import SharedIndex
from indexer.store import IndexStore, StoreError

log = logging.getLogger(__name__)


class IndexUnusable(IndexMissing):
    """Versions are published but none can be served; the message names each one and why.

    An ``IndexMissing``, so everything that copes with "no index yet" (the bot's
    知识库正在维护 reply, the CLI's one-line error) copes with this too.
    """

    def __init__(self, message: str, refused: list[VersionState]) -> None:
        super().__init__(message)
        self.refused = refused


@dataclass(frozen=True)
class VersionState:
    """Whether one published version can be served: ``ok``, ``corrupt`` (files damaged),
    ``outdated`` (built before checksums) or ``unusable`` (another embedder or normaliser)."""

    version: str
    state: str
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.state == "ok"

    def describe(self) -> str:
        return f"index {self.version} is {self.state}: {self.reason}"


def _refused(version: str, exc: BaseException) -> VersionState:
    if isinstance(exc, IndexCorrupt):
        return VersionState(version, "corrupt", str(exc))
    if isinstance(exc, IndexOutdated):
        return VersionState(version, "outdated", str(exc))
    if isinstance(exc, IndexMismatch):
        return VersionState(version, "unusable", str(exc))
    return VersionState(version, "corrupt", f"cannot be loaded ({type(exc).__name__}: {exc})")


def fallback_notice(served: str, refused: list[VersionState]) -> str:
    """One line for operators: which versions were refused, why, and what is served instead."""
    return "; ".join(r.describe() for r in refused) + f"; serving {served} instead (run `faqbot index build`)"


@dataclass
class PublishResult:
    version: str
    manifest: Manifest
    kb: KnowledgeBase
    skipped: bool  # True when the current index already matches the KB
    # Why the current version could not simply be kept (corrupt, outdated, …); None after a plain KB change.
    rebuilt_because: str | None = None


def store_for(settings: Settings) -> IndexStore:
    return IndexStore(settings.index_dir, settings.index.keep_versions)


def build_and_publish(
    settings: Settings, full: bool = False, embedder: Embedder | None = None, progress: ProgressFn = no_progress
) -> PublishResult:
    """Validate the KB (raising ``KBInvalid``), build a new version and publish it.

    Without ``full``, an intact index whose manifest already matches the KB
    content and the configured embedder is left as it is; a corrupt or
    outdated one is rebuilt, and ``rebuilt_because`` says why.
    """
    kb = load_kb(settings.kb_dir)
    content_hash = kb.content_hash()
    store = store_for(settings)
    current = store.current()
    rebuilt_because = None
    if current is None and store.current_target():
        rebuilt_because = f"index {store.current_target()} is missing from {store.versions}"
    if current is not None and not full:
        try:
            manifest = verify_version(current)
            if manifest.is_up_to_date(content_hash, settings, embedder):
                if settings.index.shared and shared_index(settings).current() is None:
                    shared_index(settings).push(store, current.name)  # the first server: others follow it
                return PublishResult(current.name, manifest, kb, skipped=True)
        except (IndexCorrupt, IndexMismatch) as exc:
            rebuilt_because = _refused(current.name, exc).describe()
    embedder = embedder or make_embedder(settings.embedder)
    cache = EmbeddingCache(settings.cache_dir / "embeddings.sqlite")
    try:
        version, manifest = store.publish(
            lambda out: build_index(
                kb.entries,
                kb.terms,
                content_hash,
                settings,
                embedder,
                cache,
                out,
                full=full,
                progress=progress,
                decision=kb.decision,
                synonyms=kb.synonyms,
                sensitive=kb.sensitive,
            ),
            label=content_hash[:8],
        )
    finally:
        cache.close()
    if settings.index.shared:
        shared_index(settings).push(store, version)
    return PublishResult(version, manifest, kb, skipped=False, rebuilt_because=rebuilt_because)


def shared_index(settings: Settings) -> SharedIndex:
    """The index every server follows (``[index] shared``), in the bot's database."""
    return SharedIndex(settings.database_url)


def rollback(settings: Settings) -> str:
    """Serve the previously published version again (on every server when shared); returns it."""
    store = store_for(settings)
    version = store.rollback()
    if settings.index.shared:
        shared_index(settings).push(store, version)
    return version


def _no_index(settings: Settings) -> IndexMissing:
    return IndexMissing(f"no published index under {settings.index_dir}; run `faqbot index build`")


def _unusable(settings: Settings, refused: list[VersionState], build_error: str | None = None) -> IndexUnusable:
    parts = [f"could not build one ({build_error})"] if build_error else []
    parts += [r.describe() for r in refused] or ["none was published before"]
    todo = "fix that, then run `faqbot index build`" if build_error else "run `faqbot index build`"
    return IndexUnusable(f"no usable index under {settings.index_dir}: {'; '.join(parts)}; {todo}", refused)


def version_states(settings: Settings) -> list[VersionState]:
    """The current version and the earlier ones still on disk, newest first, each checked
    against its manifest and the configured embedder and normaliser (no embedder is loaded)."""
    store = store_for(settings)
    states = []
    for version in store.serving_order():
        try:
            verify_version(store.version_dir(version)).check_compatible(settings)
        except Exception as exc:  # reported, not raised: this is the status view
            states.append(_refused(version, exc))
        else:
            states.append(VersionState(version, "ok"))
    return states


def open_serving(
    settings: Settings, embedder: Embedder | None = None, reuse: Searcher | None = None
) -> tuple[Searcher, list[VersionState]]:
    """The newest published version that is intact and loads: ``current``, else the one
    before it, and so on; with the versions refused on the way (newest first).

    ``reuse`` is a searcher already serving: returned as is when its version is
    the one chosen. Raises ``IndexMissing`` when nothing is published and
    ``IndexUnusable`` when nothing published can be served.
    """
    store = store_for(settings)
    order = store.serving_order()
    if not order:
        raise _no_index(settings)
    embedder = embedder or (reuse.embedder if reuse is not None else make_embedder(settings.embedder))
    refused: list[VersionState] = []
    for version in order:
        if reuse is not None and reuse.directory.name == version:
            return reuse, refused
        try:
            return Searcher(store.version_dir(version), settings, embedder), refused
        except Exception as exc:  # any reason a version cannot be served sends us to the one before
            refused.append(_refused(version, exc))
    raise _unusable(settings, refused)


def open_current(settings: Settings, embedder: Embedder | None = None) -> Searcher:
    """``open_serving``'s searcher; a fall-back is logged as an error naming the refused versions."""
    searcher, refused = open_serving(settings, embedder)
    if refused:
        log.error("%s", fallback_notice(searcher.directory.name, refused))
    return searcher


@dataclass
class ServingIndex:
    """What the bot will answer from at start: the index it built (if it could) and the version it loaded."""

    searcher: Searcher
    published: PublishResult | None  # None: building failed and an earlier intact version is served
    refused: list[VersionState] = field(default_factory=list)
    build_error: str | None = None

    @property
    def version(self) -> str:
        return self.searcher.directory.name

    def summary(self) -> list[str]:
        """Lines for the operator: the index served, then a WARNING line when an older
        version is served because newer ones were refused or could not be built."""
        entries = self.searcher.manifest.counts.enabled
        if self.published is None:
            how = "the last intact version"
        elif self.published.skipped:
            how = "up to date"
        else:
            how = "published" + (
                f"; rebuilt because {self.published.rebuilt_because}" if self.published.rebuilt_because else ""
            )
        lines = [f"index {self.version}: {entries} FAQ entries ({how})"]
        if self.build_error:
            lines.append(f"WARNING: could not build a new index ({self.build_error}); serving {self.version}")
        if self.refused:
            lines.append(f"WARNING: {fallback_notice(self.version, self.refused)}")
        return lines


def publish_and_open(
    settings: Settings, embedder: Embedder | None = None, progress: ProgressFn = no_progress
) -> ServingIndex:
    """Build and publish the KB if needed, then load what will be served (``faqbot run``'s start).

    A build that fails for storage reasons (disk full, a folder in the way)
    falls back to the newest intact published version; an invalid KB still
    raises ``KBInvalid``. Raises ``IndexUnusable`` (one line: what is wrong and
    what to run) when there is nothing to serve.
    """
    embedder = embedder or make_embedder(settings.embedder)
    published, build_error = None, None
    pointer = shared_index(settings).current() if settings.index.shared else None
    try:
        if pointer is not None:  # several servers: serve what they serve, not a build of this folder
            shared_index(settings).fetch(store_for(settings), pointer)
        else:
            published = build_and_publish(settings, embedder=embedder, progress=progress)
    except (OSError, StoreError) as exc:
        build_error = f"{type(exc).__name__}: {exc}"
    try:
        searcher, refused = open_serving(settings, embedder)
    except IndexUnusable as exc:
        if build_error is None:
            raise
        raise _unusable(settings, exc.refused, build_error) from None
    except IndexMissing:
        if build_error is None:
            raise
        raise _unusable(settings, [], build_error) from None
    return ServingIndex(searcher, published, refused, build_error)


@contextmanager
def candidate_index(
    settings: Settings, embedder: Embedder | None = None, progress: ProgressFn = no_progress
) -> Iterator[Searcher]:
    """The KB as it is now, built into a temporary folder and opened, without publishing it
    (what the next publish would serve: for the regression set). Validates the KB (``KBInvalid``);
    questions already embedded come from the embedding cache. The folder is removed on exit."""
    with tempfile.TemporaryDirectory(prefix="faqbot-candidate-") as tmp:
        yield build_candidate(settings, Path(tmp) / "candidate", embedder, progress)


def build_candidate(
    settings: Settings, out: Path, embedder: Embedder | None = None, progress: ProgressFn = no_progress
) -> Searcher:
    """The KB of ``settings.kb_dir`` built into ``out`` (not published) and opened: the caller
    owns the folder (the studio keeps the draft's while it is being tested)."""
    kb = load_kb(settings.kb_dir)
    embedder = embedder or make_embedder(settings.embedder)
    cache = EmbeddingCache(settings.cache_dir / "embeddings.sqlite")
    try:
        build_index(
            kb.entries,
            kb.terms,
            kb.content_hash(),
            settings,
            embedder,
            cache,
            out,
            progress=progress,
            decision=kb.decision,
            synonyms=kb.synonyms,
            sensitive=kb.sensitive,
        )
    finally:
        cache.close()
    return Searcher(out, settings, embedder)


def ask(searcher: Searcher, question: str, k: int = 5, explain: bool = False) -> tuple[SearchResult, Decision]:
    """Search and decide, with the thresholds of the version searched (``Searcher.decision``)."""
    result = searcher.search(question, k=max(k, searcher.decision.max_clarify), explain=explain)
    return result, searcher.decide(result.candidates)
