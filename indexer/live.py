"""A searcher that follows the published index: editors publish, the bot answers
from the new version within a second, no restart and no failed request.

With ``[index] shared`` (several servers) a background thread also follows the version
every server serves (``indexer/shared_index.py``) into the local store every
``FOLLOW_SECONDS`` and reports what this process serves.

The `current` pointer is checked at most every ``poll_seconds``; a new version
is loaded in a background thread while the old one keeps serving, then swapped
in with one assignment. The embedder is loaded once and shared by all versions.

A version is swapped in only once every file matches its manifest's checksums
(``indexer/manifest.py``). When the current version is corrupt (or otherwise
cannot be served) the newest earlier intact version is served instead, with an
ERROR log line naming the refused version, why, and what is served; the same
bad version is not tried (or logged) again until ``current`` changes.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from faqbot.config import Settings
from indexer.embedders import Embedder, make_embedder
from indexer.search import IndexMissing, Searcher
from indexer.service import fallback_notice, open_serving
from indexer.shared_index import FOLLOW_SECONDS, SharedIndex, this_node
from indexer.store import IndexStore

log = logging.getLogger(__name__)


class LiveSearcher:
    def __init__(self, settings: Settings, embedder: Embedder | None = None, poll_seconds: float = 0.5) -> None:
        self.settings = settings
        self.store = IndexStore(settings.index_dir, settings.index.keep_versions)
        self.embedder = embedder or make_embedder(settings.embedder)
        self.poll_seconds = poll_seconds
        self._searcher: Searcher | None = None
        self._seen_target: str | None = None  # the `current` link last acted on, served or refused
        self._error: IndexMissing | None = None  # why nothing is served, while nothing is
        self._checked_at = 0.0
        self._shared = SharedIndex(settings.database_url) if settings.index.shared else None
        self._pointer: str | None = None  # the shared pointer last acted on
        self._followed_at = 0.0
        self._following = False
        self._loading = False
        self._reports = False
        self._closed = threading.Event()
        self._lock = threading.Lock()

    def _target(self) -> str | None:
        try:
            return os.readlink(self.store.current_link)
        except OSError:
            return None

    def _load(self, target: str) -> None:
        """Serve the newest intact version, ``target`` first; never swap in a refused one."""
        serving = self._searcher
        try:
            searcher, refused = open_serving(self.settings, self.embedder, reuse=serving)
        except IndexMissing as exc:
            if serving is None:
                self._error = exc
            log.error("%s%s", exc, f"; still serving {serving.directory.name}" if serving is not None else "")
        except Exception as exc:  # keep serving the old version; log for operators
            log.exception(
                "could not load index version %s; still serving %s",
                os.path.basename(target),
                serving.directory.name if serving is not None else "nothing",
            )
            if serving is None:
                self._error = IndexMissing(f"could not load the index under {self.settings.index_dir}: {exc}")
        else:
            if refused:
                log.error("%s", fallback_notice(searcher.directory.name, refused))
            if searcher is not serving:
                self._searcher, self._error = searcher, None
                log.info("now serving index version %s", searcher.directory.name)
        finally:
            self._loading = False

    def load_now(self) -> Searcher:
        """Serve what ``current`` names now, loading it in this thread: right after a publish
        from this process, whose next reads must see it (the studio's re-run of a gap)."""
        with self._lock:
            target = self._target()
            served = self._searcher.directory.name if self._searcher is not None else None
            # Also when a poll already saw the target and is loading it in the background.
            if target is not None and os.path.basename(target) != served:
                self._seen_target, self._loading = target, True
                self._load(target)
            self._checked_at = time.monotonic()
        return self.get()

    def follow_in_background(self) -> None:
        """With ``[index] shared``: follow and report every ``FOLLOW_SECONDS`` whether or not
        questions come (a quiet server still takes a publish, and the console sees it)."""
        if self._shared is None:
            return
        self._reports = True  # the one follower per server that says what the server serves

        def forever() -> None:
            while not self._closed.wait(FOLLOW_SECONDS):
                if not self._following:
                    self._followed_at, self._following = time.monotonic(), True
                    self._follow()
                try:
                    self.get()  # loads a version the follow brought, in the background
                except IndexMissing:
                    pass

        threading.Thread(target=forever, name="index-follower", daemon=True).start()

    def close(self) -> None:
        """Stop the background follower (``follow_in_background``)."""
        self._closed.set()

    def _follow(self) -> None:
        assert self._shared is not None
        try:
            self._pointer = self._shared.follow(self.store, self._pointer)
            if self._searcher is not None and self._reports:
                self._shared.report(this_node(self.settings), self._searcher.directory.name)
        except Exception:  # the database is away: keep serving what is here, try again later
            log.exception("could not follow the shared index")
        finally:
            self._following = False

    def get(self) -> Searcher:
        """The newest intact index version; raises ``IndexMissing`` (``IndexUnusable`` when
        versions exist but none can be served) while there is nothing to serve."""
        now = time.monotonic()
        if self._shared is not None and not self._following and now - self._followed_at >= FOLLOW_SECONDS:
            self._followed_at, self._following = now, True
            threading.Thread(target=self._follow, daemon=True).start()
        if self._searcher is None or now - self._checked_at >= self.poll_seconds:
            self._checked_at = now
            target = self._target()
            # Nothing served yet: every caller waits for the first load (under the lock)
            # instead of finding it "missing" while another thread is still loading it.
            if target is not None and (target != self._seen_target or self._searcher is None):
                with self._lock:
                    if target == self._seen_target:  # another thread got here first (loaded or failed)
                        pass
                    elif self._searcher is None:
                        self._seen_target, self._loading = target, True
                        self._load(target)
                    elif not self._loading:
                        self._seen_target, self._loading = target, True
                        threading.Thread(target=self._load, args=(target,), daemon=True).start()
        if self._searcher is None:
            if self._error is not None:
                raise self._error.with_traceback(None)
            raise IndexMissing(f"no published index under {self.settings.index_dir}; run `faqbot index build`")
        return self._searcher
