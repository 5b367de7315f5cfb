"""A searcher that follows the published index: editors publish, the bot answers
from the new version within a second, no restart and no failed request.

The `current` pointer is checked at most every ``poll_seconds``; a new version
is loaded in a background thread while the old one keeps serving, then swapped
in with one assignment. The embedder is loaded once and shared by all versions.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from faqbot.config import Settings
from indexer.embedders import Embedder, make_embedder
from indexer.search import IndexMissing, Searcher
from indexer.store import IndexStore

log = logging.getLogger(__name__)


class LiveSearcher:
    def __init__(self, settings: Settings, embedder: Embedder | None = None, poll_seconds: float = 0.5) -> None:
        self.settings = settings
        self.store = IndexStore(settings.index_dir, settings.index.keep_versions)
        self.embedder = embedder or make_embedder(settings.embedder)
        self.poll_seconds = poll_seconds
        self._searcher: Searcher | None = None
        self._loaded_target: str | None = None
        self._checked_at = 0.0
        self._loading = False
        self._lock = threading.Lock()

    def _target(self) -> str | None:
        try:
            return os.readlink(self.store.current_link)
        except OSError:
            return None

    def _load(self, target: str) -> None:
        try:
            searcher = Searcher((self.store.root / target).resolve(), self.settings, self.embedder)
        except Exception:  # keep serving the old version; log for operators
            log.exception("could not load index version %s; still serving %s", target, self._loaded_target)
        else:
            self._searcher, self._loaded_target = searcher, target
            log.info("now serving index version %s", Path(target).name)
        finally:
            self._loading = False

    def get(self) -> Searcher:
        """The newest loadable index version; raises ``IndexMissing`` before the first publish."""
        now = time.monotonic()
        if self._searcher is None or now - self._checked_at >= self.poll_seconds:
            self._checked_at = now
            target = self._target()
            if target is not None and target != self._loaded_target:
                with self._lock:
                    if self._searcher is None:
                        self._loading = True
                        self._load(target)
                    elif not self._loading:
                        self._loading = True
                        threading.Thread(target=self._load, args=(target,), daemon=True).start()
        if self._searcher is None:
            raise IndexMissing(f"no published index under {self.settings.index_dir}; run `faqbot index build`")
        return self._searcher
