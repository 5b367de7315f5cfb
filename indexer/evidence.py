"""What a match says beyond its two scores: the out-of-scope signals of issue #16.

The fused score cannot tell "the KB has this" from "the KB has something near it":
"房贷利率是多少" scores like "刷卡的费率是多少". These signals read what the question
*says* and what the entry has of it, and the confidence model (``indexer/confidence.py``)
weighs them:

- ``coverage``: the IDF-weighted share of the question's content units
  (``indexer/overlap.py``) the candidate entry has in its questions, tags or answer;
  what is left uncovered is what the entry does not talk about (护照, 利率);
- ``novelty``: the IDF-weighted share of the question's content the whole KB has in
  none of its questions: words it has never seen;
- ``background``: how much closer the question is to a generic question that no
  business answers (``indexer/data/background_questions.txt``) than to the candidate;
- ``dense_rank`` / ``bm25_rank``: the candidate's place in each retriever's own ranking:
  both agree on a real match more often than on a guess.

An ``Exclusion`` leaves documents (and a background question) out of one search as if
they were not in the index: the confidence model is fitted on the KB's own questions
asked with themselves left out, and on whole entries left out (their questions become
questions the KB cannot answer), without building an index per question.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from indexer.bm25 import BM25


@dataclass(frozen=True)
class Evidence:
    """A candidate's signals; a candidate built by hand (tests, tools) reads as a full match."""

    coverage: float = 1.0
    novelty: float = 0.0
    background: float = 0.0  # best background cosine minus this candidate's dense cosine
    dense_rank: int = 0  # 0: first in the dense ranking; RANK_CAP: not in the retriever's pool
    bm25_rank: int = 0
    query_chars: int = 0  # the length of what was searched (a long message reads differently)


RANK_CAP = 20
# The generic questions' vectors in an index version (built with it, so a version is self-contained).
BACKGROUND_NPY = "background.npy"
BACKGROUND_QUESTIONS = Path(__file__).parent / "data" / "background_questions.txt"


def background_questions() -> list[str]:
    """The bundled generic questions (one per line, ``#`` comments)."""
    lines = BACKGROUND_QUESTIONS.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@dataclass(frozen=True)
class Exclusion:
    """Documents (positions in the index) and a background question one search leaves out."""

    docs: frozenset[int] = frozenset()
    background: int | None = None

    def __bool__(self) -> bool:
        return bool(self.docs) or self.background is not None


NO_EXCLUSION = Exclusion()


@dataclass(frozen=True)
class QueryContent:
    """The query's content units with their weights, and the BM25 columns that hold each."""

    units: tuple[str, ...]
    weights: tuple[float, ...]  # IDF of each unit in the KB's questions; unseen units get the rarest term's
    columns: tuple[tuple[int, ...], ...]  # each unit's BM25 columns (word, bigram) that some question holds
    novelty: float
    total: float

    @classmethod
    def read(cls, units: frozenset[str], bm25: BM25, excluded_docs: frozenset[int] = frozenset()) -> QueryContent:
        """Weigh ``units`` by the IDF of their word (``w:``) or bigram (``c:``) column, as if
        ``excluded_docs`` were not in the KB (a word only they hold is unseen)."""
        ordered = tuple(sorted(units))
        held: dict[int, int] = {}
        for d in excluded_docs:
            for col in bm25.doc_terms(d, d + 1).tolist():
                held[col] = held.get(col, 0) + 1
        n_docs = max(bm25.matrix.shape[0] - len(excluded_docs), 1)
        rarest = math.log(1.0 + (n_docs - 0.5) / 1.5)  # a term only one question holds
        doc_freq = bm25.doc_freq
        weights, columns = [], []
        unseen = 0.0
        for unit in ordered:
            cols, idfs = [], []
            for term in (f"w:{unit}", f"c:{unit}") if len(unit) == 2 else (f"w:{unit}",):
                col = bm25.vocab.get(term)
                df = int(doc_freq[col]) - held.get(col, 0) if col is not None else 0
                if col is not None and df > 0:
                    cols.append(col)
                    idfs.append(math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5)))
            # a unit's weight: the IDF of its most common spelling; unseen: the rarest
            weight = min(idfs) if idfs else rarest
            unseen += 0.0 if cols else weight
            weights.append(weight)
            columns.append(tuple(cols))
        total = sum(weights)
        return cls(ordered, tuple(weights), tuple(columns), unseen / total if total else 0.0, total)

    def coverage(self, entry_columns: frozenset[int], extra_units: frozenset[str]) -> float:
        """The weighted share of the units found in ``entry_columns`` (BM25 columns of the
        entry's questions) or among ``extra_units`` (its tags and answer)."""
        if not self.total:
            return 1.0  # nothing to cover: a question of particles only
        covered = sum(
            w
            for u, w, cols in zip(self.units, self.weights, self.columns, strict=True)
            if u in extra_units or any(c in entry_columns for c in cols)
        )
        return covered / self.total
