"""The published index as the console reads it: suggested answers for agents, and the
hit test for editors (a question → the ranked FAQs with every score, the decision
retrieval would make, and why). Loaded on first use and following publishes
(``indexer/live.py``); blocking: the routes call it in a worker thread."""

from __future__ import annotations

import threading
from typing import Any

from faqbot.config import Settings
from indexer.live import LiveSearcher
from indexer.manifest import IndexMissing
from indexer.search import Searcher
from indexer.sensitive import Hit, strongest

HIT_TEST_K = 10


class KbLookup:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._live: LiveSearcher | None = None
        self._lock = threading.Lock()

    def searcher(self) -> Searcher:
        """The index being served now (``IndexMissing`` while there is none)."""
        with self._lock:
            if self._live is None:
                self._live = LiveSearcher(self.settings)
        return self._live.get()

    def refresh(self) -> Searcher:
        """The version just published, loaded now (blocking; ``LiveSearcher.load_now``)."""
        self.searcher()
        assert self._live is not None
        return self._live.load_now()

    def available(self) -> bool:
        """Whether an index can be served now (without raising)."""
        try:
            self.searcher()
        except IndexMissing:
            return False
        return True

    def sensitive(self, text: str) -> list[Hit]:
        """The sensitive words in ``text`` by the served version's list (none without an index)."""
        try:
            searcher = self.searcher()
        except IndexMissing:
            return []
        return searcher.sensitive.find(text)

    def suggest(self, question: str) -> list[dict[str, Any]]:
        """The three FAQ answers nearest the customer's question, each with its confidence."""
        searcher = self.searcher()
        candidates = searcher.search(question, k=3).candidates
        found = []
        for c in candidates:
            found.append(
                {
                    "faq_id": c.entry.id,
                    "question": c.entry.question,
                    "answer": c.entry.answer.strip(),
                    "confidence": round(searcher.confidence_of([c, *(o for o in candidates if o is not c)]), 3),
                }
            )
        return found

    def hit_test(self, question: str, searcher: Searcher | None = None) -> dict[str, Any]:
        """What retrieval does with ``question``: the top FAQs with dense, BM25 and fused
        scores, the question of each that matched and the words it shares with the query
        (``no_shared_content``: none at all, so it is never offered), and the decision
        (answer / clarify / fallback) with its confidence and thresholds.
        ``searcher``: another index than the served one (the studio's draft)."""
        searcher = searcher or self.searcher()
        served = searcher.search(question, k=HIT_TEST_K)
        config = searcher.decision  # the served version's thresholds (its decision.yml)
        decision = searcher.decide(served.candidates)  # exactly what customers get: without expired entries
        # Expired entries are listed too, marked 已过期: editors see why one is not answered.
        result = searcher.search(question, k=HIT_TEST_K, explain=True, include_expired=True)
        chosen = {c.entry.id for c in decision.candidates} if decision.action != "fallback" else set()
        hits = searcher.sensitive.find(question)
        action = strongest(hits)
        return {
            "query": question,
            "normalised": result.normalised,
            # synonyms.txt (of this index version) rewrote these words before matching
            "synonyms": [{"from": variant, "to": canonical} for variant, canonical in result.synonyms],
            # sensitive_words.txt (of this index version): a customer asking this is refused or handed
            # off before any retrieval (``sensitive_action``), or answered and counted (``log``)
            "sensitive": [h.to_json() for h in hits],
            "sensitive_action": str(action) if action else None,
            "index_version": searcher.directory.name,
            "decision": {
                "action": str(decision.action),
                "confidence": round(decision.confidence, 4),
                "answer_threshold": config.answer_threshold,
                "clarify_threshold": config.clarify_threshold,
                "chosen": [c.entry.id for c in decision.candidates] if chosen else [],
                # "fitted": the model fitted on this version's KB (indexer/confidence.py); "configured": the sigmoid
                "model": "fitted" if searcher.model is not None else "configured",
                # the share of the question's content no question of the KB holds (indexer/evidence.py)
                "novelty": round(served.candidates[0].evidence.novelty, 4) if served.candidates else 0.0,
            },
            "candidates": [
                {
                    "rank": rank,
                    "faq_id": c.entry.id,
                    "question": c.entry.question,
                    "category": c.entry.category,
                    "matched_question": c.matched_question,
                    "shared_terms": list(c.shared_terms),
                    "fused": round(c.fused, 4),
                    "dense": round(c.dense, 4),
                    "bm25": round(c.bm25, 4),
                    # how much of the question's content this entry has (IDF-weighted; indexer/evidence.py)
                    "coverage": round(c.evidence.coverage, 4),
                    "chosen": c.entry.id in chosen,
                    "expired": c.expired,
                    # shares no content word with the question (indexer/overlap.py): never offered
                    "no_shared_content": not c.shares_content,
                    "valid_until": c.entry.valid_until,
                }
                for rank, c in enumerate(result.candidates, 1)
            ],
        }
