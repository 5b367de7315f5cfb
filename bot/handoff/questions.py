"""Which of a customer's messages is their question: the agent's suggested answers are
looked up with it (``bot/console/common.py``), and the editors' similar-question
suggestions pair it with the FAQ answer the agent sent (``similar_suggestions.py``).
One rule for both, so the studio suggests the wording the agent was answering."""

from __future__ import annotations

from collections.abc import Iterable

from bot.dialogue.conversation import asks_for_human, without_pleasantries
from bot.handoff.wording import plain

# Shorter than this (characters, after the pleasantries) is not a question.
MIN_QUESTION_CHARS = 3
# What waiting customers type that is not a question.
NUDGES = frozenset({"请快一点", "快一点", "快点", "请快点", "在吗", "有人吗", "人呢", "还在吗", "好的", "嗯", "谢谢"})


def is_question(text: str) -> bool:
    """Not a button, a 转人工 request, a nudge ("请快一点") or too short to be a question."""
    words = plain(without_pleasantries(text))
    return not (text.startswith("/") or asks_for_human(text) or len(words) < MIN_QUESTION_CHARS or words in NUDGES)


def latest_question(said: Iterable[str]) -> str | None:
    """The last of the customer's messages (oldest first) that is a question."""
    found = None
    for text in said:
        if text and is_question(text):
            found = text
    return found
