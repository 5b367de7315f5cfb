"""What the knowledge base is missing: the questions customers asked that the bot did not
answer well (misses, clarifies, fallbacks, 没帮助), grouped so that one question asked
in different words is one group, ranked by how many customers asked it, each with
the FAQ that comes nearest today.

Grouping embeds each distinct question (after the normaliser, so 繁體, full-width and
punctuation do not split a group) with the index's own embedder and joins it to the
closest group whose centroid is at least ``threshold`` cosine away, most-asked
questions first, so a group grows around its typical wording. The small e5 model
puts any two questions of one domain close together (0.84 on average; paraphrases
0.93), so the vectors are first centred on a *background* — the mean of the KB's own
questions — which spreads them apart (different questions ~0.03, paraphrases ~0.55)
and makes one threshold hold. A group's typical question is the member nearest its
centroid; its nearest FAQ is what the published index returns for that question.
Personal numbers are masked before anything is kept (``faqbot/masking.py``).

``faqbot kb gaps`` prints the groups; the studio will act on them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from faqbot.masking import mask_personal
from faqbot.normalize import normalize
from indexer.embedders import Embedder

# Cosine after centring: paraphrases of one question above, different questions of one
# domain below. Chosen on the BQ dev queries (BENCHMARKS.md, "Grouping the gaps"), where
# meanings are fine-grained: lower merges different questions, higher splits paraphrases;
# tests/data/gap_questions.json stays pure and mostly whole at it.
DEFAULT_THRESHOLD = 0.5
# With no background and too few questions to be their own, raw cosine and its own cut.
RAW_THRESHOLD = 0.88
MIN_SELF_BACKGROUND = 20
MAX_QUESTIONS_SHOWN = 20


@dataclass(frozen=True)
class Asked:
    """One customer's question (``customer``: whoever asked, to count people, not repeats)."""

    text: str
    customer: str | None = None
    source: str = "file"  # unanswered | clarify | fallback | not_helpful | file


class Nearest(Protocol):
    def __call__(self, question: str) -> tuple[str | None, float | None]: ...


def no_nearest(question: str) -> tuple[str | None, float | None]:
    return None, None


@dataclass
class Gap:
    questions: list[str]  # distinct wordings, most asked first (masked)
    count: int  # customers who asked (asks, when who asked is unknown)
    asks: int
    typical: str
    sources: dict[str, int] = field(default_factory=dict)
    nearest_faq: str | None = None
    nearest_score: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "questions": self.questions[:MAX_QUESTIONS_SHOWN],
            "count": self.count,
            "asks": self.asks,
            "typical": self.typical,
            "sources": self.sources,
            "nearest_faq": self.nearest_faq,
            "nearest_score": self.nearest_score,
        }


@dataclass
class _Wording:
    text: str  # masked, as a customer wrote it (the first time)
    key: str  # normalised: what makes two wordings the same
    asks: int = 0
    customers: set[str] = field(default_factory=set)
    anonymous: int = 0
    sources: Counter[str] = field(default_factory=Counter)


def _wordings(asked: Iterable[Asked]) -> list[_Wording]:
    found: dict[str, _Wording] = {}
    for question in asked:
        masked = mask_personal(question.text.strip())
        key = normalize(masked)
        if not key:
            continue
        wording = found.setdefault(key, _Wording(masked, key))
        wording.asks += 1
        wording.sources[question.source] += 1
        if question.customer:
            wording.customers.add(question.customer)
        else:
            wording.anonymous += 1
    return sorted(found.values(), key=lambda w: (-w.asks, len(w.key), w.key))


def cluster(vectors: np.ndarray, threshold: float) -> list[list[int]]:
    """Rows (unit vectors, in priority order) grouped greedily around running centroids:
    one pass, each row against the groups so far (O(rows × groups), preallocated)."""
    count, dim = vectors.shape
    sums = np.zeros((count, dim), dtype=np.float32)
    centroids = np.zeros((count, dim), dtype=np.float32)
    groups: list[list[int]] = []
    for i, vector in enumerate(vectors):
        if groups:
            similarity = centroids[: len(groups)] @ vector
            best = int(np.argmax(similarity))
            if similarity[best] >= threshold:
                groups[best].append(i)
                sums[best] += vector
                centroids[best] = sums[best] / max(float(np.linalg.norm(sums[best])), 1e-12)
                continue
        sums[len(groups)] = vector
        centroids[len(groups)] = vector
        groups.append([i])
    return groups


def background_of(embedder: Embedder, questions: Sequence[str], limit: int = 300) -> np.ndarray | None:
    """The mean query vector of (up to ``limit`` of) the KB's questions, spread over the list."""
    if not questions:
        return None
    step = max(1, len(questions) // limit)
    sample = [normalize(q) for q in questions[::step][:limit]]
    return np.asarray(embedder.embed(sample, "query").mean(axis=0), dtype=np.float32)


def _centred(vectors: np.ndarray, background: np.ndarray) -> np.ndarray:
    moved = vectors - background[None, :]
    return moved / np.maximum(np.linalg.norm(moved, axis=1, keepdims=True), 1e-12)


def find_gaps(
    asked: Iterable[Asked],
    embedder: Embedder,
    nearest: Nearest = no_nearest,
    threshold: float | None = None,
    background: np.ndarray | None = None,
) -> list[Gap]:
    """The groups, most customers first. ``background``: ``background_of`` the KB's
    questions; without it, the questions are their own background when there are enough."""
    wordings = _wordings(asked)
    if not wordings:
        return []
    vectors = embedder.embed([w.key for w in wordings], "query")
    if background is None and len(wordings) >= MIN_SELF_BACKGROUND:
        background = vectors.mean(axis=0)
    if background is not None:
        vectors = _centred(vectors, background)
        threshold = DEFAULT_THRESHOLD if threshold is None else threshold
    else:
        threshold = RAW_THRESHOLD if threshold is None else threshold
    gaps = []
    for members in cluster(vectors, threshold):
        group = [wordings[i] for i in members]
        centroid = vectors[members].sum(axis=0)
        centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
        typical = group[int(np.argmax(vectors[members] @ centroid))]
        customers: set[str] = set().union(*(w.customers for w in group))
        sources: Counter[str] = sum((w.sources for w in group), Counter())
        faq, score = nearest(typical.text)
        gaps.append(
            Gap(
                questions=[w.text for w in group],
                count=len(customers) + sum(w.anonymous for w in group),
                asks=sum(w.asks for w in group),
                typical=typical.text,
                sources=dict(sorted(sources.items())),
                nearest_faq=faq,
                nearest_score=None if score is None else round(score, 4),
            )
        )
    gaps.sort(key=lambda g: (-g.count, -g.asks, g.typical))
    return gaps


def read_questions(lines: Sequence[str]) -> list[Asked]:
    """``--from FILE``: one question per line, or JSON lines with ``text`` (and optionally
    ``customer``); blank lines are skipped. ``ValueError`` names a bad line."""
    import json

    found = []
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                data = json.loads(line)
            except ValueError:
                raise ValueError(f"line {number}: not valid JSON") from None
            if not isinstance(data, dict) or not isinstance(data.get("text"), str):
                raise ValueError(f"line {number}: a JSON line needs a string 'text'")
            customer = data.get("customer")
            found.append(Asked(data["text"], str(customer) if customer is not None else None))
        else:
            found.append(Asked(line))
    return found
