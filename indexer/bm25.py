"""Okapi BM25 over jieba words and character n-grams, as one sparse matrix.

The matrix holds each (document, term) BM25 weight, so a query's scores are a
sum of a few columns: fast enough for tens of thousands of questions.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from scipy import sparse


class BM25:
    def __init__(
        self,
        vocab: dict[str, int],
        idf: np.ndarray,
        matrix: sparse.csc_matrix,
        k1: float,
        b: float,
        avgdl: float,
        term_weights: dict[str, float],
    ) -> None:
        self.vocab = vocab
        self.idf = idf
        self.matrix = matrix  # (n_docs, n_terms) BM25 weights
        self.k1, self.b, self.avgdl = k1, b, avgdl
        self.term_weights = term_weights

    @classmethod
    def build(
        cls,
        docs: Sequence[Sequence[str]],
        k1: float = 1.2,
        b: float = 0.75,
        term_weights: dict[str, float] | None = None,
    ) -> BM25:
        term_weights = term_weights or {}
        vocab: dict[str, int] = {}
        rows, cols, tfs = [], [], []
        lengths = np.zeros(len(docs), dtype=np.float32)
        for d, terms in enumerate(docs):
            counts = Counter(terms)
            lengths[d] = len(terms)
            for term, tf in counts.items():
                rows.append(d)
                cols.append(vocab.setdefault(term, len(vocab)))
                tfs.append(tf)
        n_docs, n_terms = len(docs), len(vocab)
        rows_a, cols_a = np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)
        tf_a = np.array(tfs, dtype=np.float32)
        df = np.bincount(cols_a, minlength=n_terms).astype(np.float32)
        idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        avgdl = float(lengths.mean()) if n_docs else 1.0
        norm = k1 * (1 - b + b * lengths[rows_a] / max(avgdl, 1e-6))
        weight_of = np.array([term_weights.get(t.split(":", 1)[0], 1.0) for t in vocab], dtype=np.float32)
        values = idf[cols_a] * tf_a * (k1 + 1) / (tf_a + norm) * weight_of[cols_a] if n_terms else tf_a
        matrix = sparse.csc_matrix((values, (rows_a, cols_a)), shape=(n_docs, n_terms), dtype=np.float32)
        return cls(vocab, idf, matrix, k1, b, avgdl, term_weights)

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every document, normalised by the query's self-score.

        Dividing by the score the query would get against an exact copy of
        itself makes scores comparable across queries: 1.0 is a verbatim
        match, 0 shares nothing.
        """
        counts = Counter(t for t in query_terms if t in self.vocab)
        n_docs = self.matrix.shape[0]
        if not counts:
            return np.zeros(n_docs, dtype=np.float32)
        ids = np.array([self.vocab[t] for t in counts], dtype=np.int64)
        qtf = np.array(list(counts.values()), dtype=np.float32)
        raw = np.asarray(self.matrix[:, ids] @ qtf).ravel()
        weights = np.array([self.term_weights.get(t.split(":", 1)[0], 1.0) for t in counts], dtype=np.float32)
        qlen = float(len(query_terms))
        norm = self.k1 * (1 - self.b + self.b * qlen / max(self.avgdl, 1e-6))
        ceiling = float(np.sum(self.idf[ids] * weights * qtf * qtf * (self.k1 + 1) / (qtf + norm)))
        # Terms the KB never saw still count in the ceiling (at the rarest
        # term's idf): a query that is mostly unknown words is a weak match.
        unseen = sum(1 for t in query_terms if t not in self.vocab)
        if unseen:
            ceiling += float(unseen * np.max(self.idf) * (self.k1 + 1) / (1 + norm))
        return (raw / max(ceiling, 1e-6)).astype(np.float32)

    def term_ids(self, terms: Iterable[str]) -> np.ndarray:
        """The column of each of ``terms`` the KB has (the others are left out)."""
        return np.array([self.vocab[t] for t in terms if t in self.vocab], dtype=np.int64)

    @functools.cached_property
    def _rows(self) -> sparse.csr_matrix:
        # The same matrix by document, for ``doc_terms``: made on first use (8 ms at 30k questions).
        return self.matrix.tocsr()

    @functools.cached_property
    def doc_freq(self) -> np.ndarray:
        """How many documents hold each term (column)."""
        return np.diff(self.matrix.indptr).astype(np.int64)

    def doc_terms(self, start: int, stop: int) -> np.ndarray:
        """The columns of the terms documents ``start`` … ``stop - 1`` hold."""
        rows = self._rows
        return rows.indices[rows.indptr[start] : rows.indptr[stop]]

    def save(self, directory: Path) -> None:
        m = self.matrix
        np.savez(
            directory / "bm25.npz",
            data=m.data,
            indices=m.indices,
            indptr=m.indptr,
            shape=np.array(m.shape),
            idf=self.idf,
        )
        (directory / "bm25_vocab.json").write_text(
            json.dumps(
                {
                    "k1": self.k1,
                    "b": self.b,
                    "avgdl": self.avgdl,
                    "term_weights": self.term_weights,
                    "terms": list(self.vocab),
                },
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )

    @classmethod
    def load(cls, directory: Path) -> BM25:
        arrays = np.load(directory / "bm25.npz")
        meta = json.loads((directory / "bm25_vocab.json").read_text(encoding="utf-8"))
        matrix = sparse.csc_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=tuple(arrays["shape"]))
        vocab = {t: i for i, t in enumerate(meta["terms"])}
        return cls(vocab, arrays["idf"], matrix, meta["k1"], meta["b"], meta["avgdl"], meta["term_weights"])
