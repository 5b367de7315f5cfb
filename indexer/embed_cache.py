"""Embedding cache keyed by (backend, model, role, normalised text).

A rebuild after an edit re-embeds only the questions that changed. SQLite so
that concurrent builders and readers never see a torn write.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from indexer.embedders import Embedder
from indexer.progress import ProgressFn, no_progress


class EmbeddingCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, dim INTEGER, vec BLOB)")

    @staticmethod
    def _key(embedder: Embedder, role: str, text: str) -> str:
        raw = f"{embedder.backend}\x1f{embedder.model}\x1f{role}\x1f{text}"
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()

    def embed(
        self,
        embedder: Embedder,
        texts: Sequence[str],
        role: str,
        progress: ProgressFn = no_progress,
        use_cached: bool = True,
    ) -> tuple[np.ndarray, int]:
        """Vectors for ``texts``; returns (vectors, how many were newly embedded)."""
        keys = [self._key(embedder, role, t) for t in texts]
        found: dict[str, np.ndarray] = {}
        if use_cached:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                rows = self._db.execute(
                    f"SELECT key, dim, vec FROM vectors WHERE key IN ({','.join('?' * len(chunk))})", chunk
                )
                for key, dim, blob in rows:
                    if dim == embedder.dim:
                        found[key] = np.frombuffer(blob, dtype=np.float32)
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items())
        if missing:
            vectors = embedder.embed([t for _, t in missing], role, progress)
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                    [
                        (k, embedder.dim, v.astype(np.float32).tobytes())
                        for (k, _), v in zip(missing, vectors, strict=True)
                    ],
                )
            found.update({k: v for (k, _), v in zip(missing, vectors, strict=True)})
        out = np.vstack([found[k] for k in keys]) if keys else np.zeros((0, embedder.dim), np.float32)
        return out.astype(np.float32), len(missing)

    def close(self) -> None:
        self._db.close()
