"""The KB as it would be with every open change, built (not published) for the hit test:
an editor sees what a question would get after their drafts go live, before review.

Built from the same files a publish would write (``publishing.draft_texts``) in a scratch
copy, with the served version's embedder and the shared embedding cache, so only the
questions a draft adds are embedded. The last build is kept (keyed by the draft's file
texts) while the drafts stay the same: a cache on this server, rebuilt from the database
on any other.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import threading
from pathlib import Path

from bot.studio.publishing import Draft, PublishRefused, check_texts, scratch_kb
from faqbot.config import Settings
from indexer.embedders import Embedder
from indexer.search import Searcher
from indexer.service import build_candidate


class DraftIndex:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.RLock()
        self._key: str | None = None
        self._folder: Path | None = None
        self._searcher: Searcher | None = None

    def searcher(self, draft: Draft, embedder: Embedder | None) -> Searcher:
        """The draft's index (``PublishRefused`` with every problem when the drafts make the KB invalid)."""
        key = hashlib.sha256(json.dumps(sorted(draft.texts.items()), ensure_ascii=False).encode()).hexdigest()
        with self._lock:
            if key == self._key and self._searcher is not None:
                return self._searcher
            kb_dir = self.settings.kb_dir
            problems = check_texts(kb_dir, draft.texts)
            if any(p.severity == "error" for p in problems):
                raise PublishRefused(problems)
            folder = Path(tempfile.mkdtemp(prefix="faqbot-draft-"))
            try:
                with scratch_kb(kb_dir, draft.texts) as scratch:
                    searcher = build_candidate(self.settings.replace(kb_dir=scratch), folder / "draft", embedder)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            self.close()
            self._key, self._folder, self._searcher = key, folder, searcher
            return searcher

    def close(self) -> None:
        """Remove the kept build (before keeping a new one, and when the server stops)."""
        with self._lock:
            if self._folder is not None:
                shutil.rmtree(self._folder, ignore_errors=True)
            self._key = self._folder = self._searcher = None
