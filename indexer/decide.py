"""The retrieval step of the decision: retrieval results into answer / clarify / fallback.

Confidence is a logistic calibration of the top fused score and its margin
over the runner-up, fitted on the dev benchmark (``benchmarks/calibrate.py``)
so that it reads as "probability the top FAQ is right".

Nothing is offered, as an answer or a clarify button, whose entry shares no content
with the question (``Candidate.shares_content``, ``indexer/overlap.py``): a clarify
left with no button, or an answer whose entry shares nothing, is a fallback.

This is only what retrieval knows. What the bot does with a turn (follow-ups,
hand-off policy, streaks) is decided in ``bot/dialogue/turn.py``, which starts
from this ``Decision``; the indexer imports nothing of the bot.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from faqbot.config import DecisionConfig

if TYPE_CHECKING:  # the search imports this module to decide with its own version's model
    from indexer.confidence import ConfidenceModel
    from indexer.search import Candidate


class Action(enum.StrEnum):
    """What retrieval alone would do; a ``str``, so logs and JSON read ``"answer"``."""

    ANSWER = "answer"
    CLARIFY = "clarify"
    FALLBACK = "fallback"


ANSWER, CLARIFY, FALLBACK = Action.ANSWER, Action.CLARIFY, Action.FALLBACK


@dataclass(frozen=True)
class Decision:
    action: Action
    confidence: float
    # answer: the one FAQ; clarify: up to max_clarify choices; fallback: the
    # best guesses, kept for the unanswered-questions log.
    candidates: list[Candidate] = field(default_factory=list)

    def answered_with(self, candidate: Candidate) -> Decision:
        """This decision turned into an answer with ``candidate`` (same confidence): the
        conversation knew more than retrieval did (a follow-up resolved by its topic)."""
        return dataclasses.replace(self, action=ANSWER, candidates=[candidate])


def confidence(top: float, second: float, config: DecisionConfig) -> float:
    z = config.calib_score * top + config.calib_margin * (top - second) + config.calib_bias
    return 1.0 / (1.0 + math.exp(-max(min(z, 60.0), -60.0)))


def offerable(candidate: Candidate, config: DecisionConfig) -> bool:
    """May ``candidate`` be offered at all: it shares content with the question (or the check is off)."""
    return candidate.shares_content or not config.require_shared_content


def decide(candidates: Sequence[Candidate], config: DecisionConfig, model: ConfidenceModel | None = None) -> Decision:
    """``model``: the index version's fitted confidence (``Searcher.decide`` passes it; ``config``
    then carries its thresholds); None: the configured sigmoid of the top score and margin."""
    if not candidates:
        return Decision(FALLBACK, 0.0, [])
    top = candidates[0]
    second = candidates[1].fused if len(candidates) > 1 else 0.0
    # The confidence reads the ranking as it is: a candidate left out is not a lesser match.
    conf = model.probability(candidates) if model is not None else confidence(top.fused, second, config)
    guesses = list(candidates[: config.max_clarify])  # a fallback keeps them for the unanswered-questions log
    if conf >= config.answer_threshold:
        return Decision(ANSWER, conf, [top]) if offerable(top, config) else Decision(FALLBACK, conf, guesses)
    if conf >= config.clarify_threshold:
        # Offer the top one and the runners-up that are nearly as good.
        # With a single plausible match this is "您是想问…？" about that one.
        choices = [
            c
            for c in candidates[: config.max_clarify]
            if top.fused - c.fused <= config.clarify_window and offerable(c, config)
        ]
        return Decision(CLARIFY, conf, choices) if choices else Decision(FALLBACK, conf, guesses)
    return Decision(FALLBACK, conf, guesses)
