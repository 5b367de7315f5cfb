"""The one place that turns retrieval results into answer / clarify / fallback.

Confidence is a logistic calibration of the top fused score and its margin
over the runner-up, fitted on the dev benchmark (``benchmarks/calibrate.py``)
so that it reads as "probability the top FAQ is right".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

from faqbot.config import DecisionConfig
from indexer.search import Candidate

ANSWER, CLARIFY, FALLBACK = "answer", "clarify", "fallback"


@dataclass(frozen=True)
class Decision:
    action: str
    confidence: float
    # answer: the one FAQ; clarify: up to max_clarify choices; fallback: the
    # best guesses, kept for the unanswered-questions log.
    candidates: list[Candidate] = field(default_factory=list)


def confidence(top: float, second: float, config: DecisionConfig) -> float:
    z = config.calib_score * top + config.calib_margin * (top - second) + config.calib_bias
    return 1.0 / (1.0 + math.exp(-max(min(z, 60.0), -60.0)))


def decide(candidates: Sequence[Candidate], config: DecisionConfig) -> Decision:
    if not candidates:
        return Decision(FALLBACK, 0.0, [])
    top = candidates[0]
    second = candidates[1].fused if len(candidates) > 1 else 0.0
    conf = confidence(top.fused, second, config)
    if conf >= config.answer_threshold:
        return Decision(ANSWER, conf, [top])
    if conf >= config.clarify_threshold:
        # Offer the top one and the runners-up that are nearly as good.
        # With a single plausible match this is "您是想问…？" about that one.
        choices = [c for c in candidates[:config.max_clarify]
                   if top.fused - c.fused <= config.clarify_window]
        return Decision(CLARIFY, conf, choices)
    return Decision(FALLBACK, conf, list(candidates[:config.max_clarify]))
