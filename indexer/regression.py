"""The regression set: real customer questions with the FAQ that should answer each,
run against an index version before it is published.

- ``run_cases``: each case through one searcher and its decision (``Searcher.decision``:
  the thresholds that version carries);
- ``compare``: the published version's results against a candidate's — the cases
  gained, lost and answered with another FAQ; a lost case needs an editor's confirmation;
- ``curve``: precision and coverage of the answer threshold from 0.30 to 0.95, from the
  confidences already computed (no second search): the confidence does not depend on
  the thresholds, only on the scores;
- ``recalibrate``: the lowest answer threshold whose precision reaches a target.

Pure: no database, no bot; the set itself is stored by ``bot/studio/regression_set.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from faqbot.config import DecisionConfig, Settings
from faqbot.normalize import normalize
from indexer.decide import ANSWER, CLARIFY, decide
from indexer.search import Searcher

# The answer thresholds the curve reads: 0.30, 0.35, … 0.95.
THRESHOLDS = tuple(round(0.3 + 0.05 * i, 2) for i in range(14))
DEFAULT_TARGET = 0.9
SEARCH_K = 10
EMBED_BATCH = 64  # questions embedded at once (the same vectors as one by one, several times faster)


@dataclass(frozen=True)
class Case:
    """A customer question and the FAQ entry that should answer it."""

    question: str
    faq_id: str

    @property
    def key(self) -> tuple[str, str]:
        """What makes two cases the same: the normalised question and the FAQ."""
        return normalize(self.question), self.faq_id


@dataclass(frozen=True)
class CaseResult:
    question: str
    expected: str  # the FAQ that should answer it
    action: str  # answer / clarify / fallback, as retrieval decides with the version's thresholds
    answered: str | None  # the FAQ answered with (action answer), else None
    in_choices: bool  # the expected FAQ is among the choices offered (action clarify)
    confidence: float  # the top candidate's calibrated confidence
    top: str | None  # the top candidate's FAQ id (None: nothing found)
    top_question: str | None = None

    @property
    def correct(self) -> bool:
        """Answered, with the right FAQ."""
        return self.answered == self.expected

    @property
    def top_right(self) -> bool:
        """The top candidate is the right FAQ: it would be answered right at any threshold it passes."""
        return self.top == self.expected

    @property
    def key(self) -> tuple[str, str]:
        return normalize(self.question), self.expected

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "confidence": round(self.confidence, 4), "correct": self.correct}


def run_cases(
    searcher: Searcher,
    cases: Sequence[Case],
    decision_config: DecisionConfig | None = None,
    vectors: dict[str, np.ndarray] | None = None,
) -> list[CaseResult]:
    """Each case searched and decided; ``decision_config`` defaults to the searcher's own
    (its version's thresholds). The questions are embedded in batches, into ``vectors``
    (query text → embedding) when given, so a second index with the same embedder (the
    regression gate's candidate and served versions) reuses them. Blocking."""
    config = decision_config or searcher.decision
    vectors = {} if vectors is None else vectors
    texts = {case.question: searcher.query_text(case.question) for case in cases}
    missing = sorted({t for t in texts.values() if t not in vectors})
    for start in range(0, len(missing), EMBED_BATCH):
        batch = missing[start : start + EMBED_BATCH]
        vectors.update(zip(batch, searcher.embedder.embed(batch, "query"), strict=True))
    results = []
    for case in cases:
        vector = vectors[texts[case.question]]
        found = searcher.search(case.question, k=max(SEARCH_K, config.max_clarify), query_vector=vector)
        decision = decide(found.candidates, config, searcher.model)
        top = found.candidates[0] if found.candidates else None
        results.append(
            CaseResult(
                question=case.question,
                expected=case.faq_id,
                action=str(decision.action),
                answered=decision.candidates[0].entry.id if decision.action == ANSWER else None,
                in_choices=decision.action == CLARIFY and any(c.entry.id == case.faq_id for c in decision.candidates),
                confidence=decision.confidence,
                top=top.entry.id if top else None,
                top_question=top.entry.question if top else None,
            )
        )
    return results


@dataclass(frozen=True)
class Change:
    """One case whose outcome differs between two versions."""

    question: str
    expected: str
    before: CaseResult | None
    after: CaseResult

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "expected": self.expected,
            "before": self.before.to_json() if self.before else None,
            "after": self.after.to_json(),
        }


@dataclass
class RegressionReport:
    total: int
    right_after: int
    right_before: int | None  # None: nothing to compare with (no published version)
    gained: list[Change] = field(default_factory=list)  # answered right now, not before
    lost: list[Change] = field(default_factory=list)  # answered right before, not now
    changed: list[Change] = field(default_factory=list)  # answered both times, with another FAQ
    results: list[CaseResult] = field(default_factory=list)  # ``after``'s

    @property
    def needs_confirmation(self) -> bool:
        """A case answered right by the published version is not any more: an editor must confirm."""
        return bool(self.lost)

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "right_before": self.right_before,
            "right_after": self.right_after,
            "gained": [c.to_json() for c in self.gained],
            "lost": [c.to_json() for c in self.lost],
            "changed": [c.to_json() for c in self.changed],
            "needs_confirmation": self.needs_confirmation,
            "results": [r.to_json() for r in self.results],
        }


def compare(before: Sequence[CaseResult] | None, after: Sequence[CaseResult]) -> RegressionReport:
    """``after`` (the candidate) against ``before`` (the published version; None: none yet).
    Cases are matched by normalised question and expected FAQ; a case only in ``after`` is
    gained when it is answered right."""
    previous = {r.key: r for r in before} if before is not None else {}
    report = RegressionReport(
        total=len(after),
        right_after=sum(r.correct for r in after),
        right_before=sum(r.correct for r in before) if before is not None else None,
        results=list(after),
    )
    if before is None:
        return report
    for now in after:
        then = previous.get(now.key)
        change = Change(now.question, now.expected, then, now)
        was_right = then is not None and then.correct
        if now.correct and not was_right:
            report.gained.append(change)
        elif was_right and not now.correct:
            report.lost.append(change)
        if then is not None and then.answered and now.answered and then.answered != now.answered:
            report.changed.append(change)
    return report


@dataclass(frozen=True)
class CurvePoint:
    threshold: float
    answered: int
    right: int
    total: int

    @property
    def precision(self) -> float | None:
        """Answered right / answered (None when nothing is answered)."""
        return self.right / self.answered if self.answered else None

    @property
    def coverage(self) -> float:
        """Answered / all cases."""
        return self.answered / self.total if self.total else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "answered": self.answered,
            "right": self.right,
            "total": self.total,
            "precision": None if self.precision is None else round(self.precision, 4),
            "coverage": round(self.coverage, 4),
        }


Scored = CaseResult | tuple[float, bool]


def _scores(results: Sequence[Scored]) -> list[tuple[float, bool]]:
    return [(r.confidence, r.top_right) if isinstance(r, CaseResult) else (float(r[0]), bool(r[1])) for r in results]


def point(results: Sequence[Scored], threshold: float) -> CurvePoint:
    """What answering at ``threshold`` would do on these cases: a case is answered when its
    top candidate's confidence reaches it, and answered right when that top is its FAQ."""
    scores = _scores(results)
    answered = [right for conf, right in scores if conf >= threshold]
    return CurvePoint(threshold, len(answered), sum(answered), len(scores))


def curve(results: Sequence[Scored], thresholds: Sequence[float] = THRESHOLDS) -> list[CurvePoint]:
    """Precision and coverage at each answer threshold; ``results`` are ``CaseResult`` or
    ``(confidence, top is right)`` pairs."""
    return [point(results, t) for t in thresholds]


@dataclass(frozen=True)
class Recalibration:
    target: float
    reached: bool  # some threshold reaches the target precision
    answer_before: float
    clarify_before: float
    answer_after: float
    clarify_after: float
    before: CurvePoint
    after: CurvePoint

    @property
    def changed(self) -> bool:
        return (self.answer_after, self.clarify_after) != (self.answer_before, self.clarify_before)

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "reached": self.reached,
            "changed": self.changed,
            "answer_threshold": {"before": self.answer_before, "after": self.answer_after},
            "clarify_threshold": {"before": self.clarify_before, "after": self.clarify_after},
            "before": self.before.to_json(),
            "after": self.after.to_json(),
        }


def recalibrate(
    results: Sequence[Scored],
    current: DecisionConfig,
    target: float = DEFAULT_TARGET,
    thresholds: Sequence[float] = THRESHOLDS,
) -> Recalibration:
    """The lowest answer threshold (of ``thresholds``) whose precision on the set reaches
    ``target``: the most questions answered at that precision.

    When no threshold reaches it, nothing changes (``reached`` False): raising the threshold
    to the top of the grid would not make the answers right, only fewer — the FAQ needs work.

    The clarify threshold is kept: it was chosen to reject few in-scope questions, and the set
    (questions that have an answer) says nothing about out-of-scope ones, so it is not a reason
    to lower it. It moves only when it must, to stay below a lower answer threshold (one grid
    step, 0.05, below it): a clarify at or above the answer threshold would never be reached.
    """
    if not 0.0 < target <= 1.0:
        raise ValueError(f"the target precision must be in (0, 1], not {target}")
    points = curve(results, thresholds)
    chosen = next((p for p in points if p.precision is not None and p.precision >= target), None)
    answer = chosen.threshold if chosen is not None else current.answer_threshold
    clarify = current.clarify_threshold
    if clarify >= answer:
        clarify = round(max(answer - 0.05, 0.01), 4)
    return Recalibration(
        target=target,
        reached=chosen is not None,
        answer_before=current.answer_threshold,
        clarify_before=current.clarify_threshold,
        answer_after=answer,
        clarify_after=clarify,
        before=point(results, current.answer_threshold),
        after=point(results, answer),
    )


def gate(
    settings: Settings, candidate: Searcher, published: Searcher | None, cases: Sequence[Case]
) -> RegressionReport:
    """The publish flow's check: the set against the candidate version and the published one
    (None: nothing published yet), each deciding with its own thresholds. ``needs_confirmation``
    on the report: a case the published version answered right is lost. Blocking.

    ``settings`` is the configuration both searchers were opened with; their thresholds are
    ``Searcher.decision`` (the configured ones with each version's ``decision.yml``)."""
    vectors: dict[str, np.ndarray] = {}  # shared when both versions embed with the same model
    after = run_cases(candidate, cases, vectors=vectors)
    shared = published is not None and published.embedder is candidate.embedder
    before = run_cases(published, cases, vectors=vectors if shared else None) if published is not None else None
    return compare(before, after)
