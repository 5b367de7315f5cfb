"""相似问法 suggestions for editors (the studio): wordings customers used for an FAQ that the
FAQ does not list yet, from two signals in the stored records of the last days.

- ``clarify``: the bot asked 您是想问… (an ``outcomes`` row of kind ``clarify`` with the
  customer's question Q) and the customer picked FAQ X: the next answer/clarify/fall-back
  outcome of that conversation is an answer with X, within ``PICK_WITHIN`` (as
  ``faq_health`` counts "picked", with a time limit).
- ``agent``: in a hand-off an agent sent X's answer. Either the console recorded that the
  agent inserted X's suggested answer (``handoff_answer_uses``) and the message still
  holds at least ``INSERTED_KEPT`` of the answer (an agent who rewrote it answered in their
  own words), or, with nothing recorded, the message *is* one FAQ's answer: at least
  ``SAME_TEXT`` of the answer is in the message and of the message in the answer
  (character pairs of the normalised texts, so punctuation, spacing and a word or two do
  not matter). Q is the customer's latest question before that message
  (``questions.latest_question``: for most hand-offs the one that started it).

Q is dropped when, normalised (``faqbot.normalize``), it is already a wording of any entry
(one wording, one answer: the validator refuses a wording two entries share), shorter than
``MIN_CHARS`` or longer than ``MAX_CHARS``, or was dismissed. A question with a phone,
ID-card or bank-card number or an e-mail address (``faqbot.masking``), raw or as the
records keep it (masked), is dropped, not shown masked: a similar question is published into
the KB and the index, where a customer's number must not go, and "138****5678" is no wording
other customers use.
Each conversation counts once per (X, Q).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.dialogue.conversation import without_pleasantries
from bot.handoff.db import Database, aware
from bot.handoff.handoffs import handoff_answer_uses, handoff_events, handoffs
from bot.handoff.handoffs import metadata as handoff_metadata
from bot.handoff.questions import latest_question
from bot.handoff.records import metadata as records_metadata
from bot.handoff.records import outcomes
from faqbot.masking import holds_personal
from faqbot.normalize import normalize

PICK_WITHIN = timedelta(minutes=10)
INSERTED_KEPT = 0.6
SAME_TEXT = 0.8
MIN_ANSWER_CHARS = 10  # shorter answers ("好的") are not matched by their text alone
MIN_CHARS, MAX_CHARS = 2, 100
MAX_EXAMPLES = 3
SOURCES = ("clarify", "agent")


@dataclass
class SimilarSuggestion:
    faq_id: str
    question: str  # the wording to add: the one customers used most
    count: int = 0  # conversations
    sources: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)  # the wordings seen, most used first

    def to_json(self) -> dict[str, Any]:
        return {
            "faq_id": self.faq_id,
            "question": self.question,
            "count": self.count,
            "sources": self.sources,
            "examples": self.examples,
        }


@dataclass(frozen=True)
class Candidate:
    faq_id: str
    question: str  # as the customer wrote it
    conversation_id: str
    source: str  # one of SOURCES


def key_of(question: str) -> str:
    """The form suggestions are compared and dismissed in: normalised, without the greeting."""
    return normalize(without_pleasantries(question))


def clarify_picks(url: str, since: datetime) -> list[Candidate]:
    """(X, Q) for every 您是想问 whose next question outcome picked X within ``PICK_WITHIN``."""
    db = Database(url, records_metadata)
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(outcomes.c.conversation_id, outcomes.c.at, outcomes.c.kind)
            .add_columns(outcomes.c.faq_id, outcomes.c.question)
            .where(outcomes.c.at >= since, outcomes.c.kind.in_(("answer", "clarify", "fallback")))
            .order_by(outcomes.c.conversation_id, outcomes.c.at, outcomes.c.id)
        ).all()
    found = []
    asked: dict[str, tuple[datetime, str]] = {}  # conversation → its open clarify: when, Q
    for row in rows:
        before = asked.pop(row.conversation_id, None)
        at = aware(row.at)
        if row.kind == "clarify" and row.question:
            asked[row.conversation_id] = (at, row.question)
        elif row.kind == "answer" and row.faq_id and before is not None and at - before[0] <= PICK_WITHIN:
            found.append(Candidate(row.faq_id, before[1], row.conversation_id, "clarify"))
    return found


def _pairs(text: str) -> set[str]:
    """The character pairs of the normalised text (spaces dropped): a cheap, order-aware overlap."""
    chars = normalize(text).replace(" ", "")
    return {chars[i : i + 2] for i in range(len(chars) - 1)}


class AnswerMatcher:
    """Which FAQ answer an agent's message is (or still holds)."""

    def __init__(self, answers: Mapping[str, str]) -> None:
        self.pairs = {faq_id: _pairs(text) for faq_id, text in answers.items()}
        self.index: dict[str, list[str]] = defaultdict(list)
        for faq_id, text in answers.items():
            if len(normalize(text).replace(" ", "")) >= MIN_ANSWER_CHARS:
                for pair in self.pairs[faq_id]:
                    self.index[pair].append(faq_id)

    def kept(self, faq_id: str, message: str) -> float:
        """How much of the answer of ``faq_id`` is in ``message`` (0 to 1)."""
        answer = self.pairs.get(faq_id)
        return len(answer & _pairs(message)) / len(answer) if answer else 0.0

    def same_as(self, message: str) -> str | None:
        """The one FAQ whose answer ``message`` essentially is, if any."""
        said = _pairs(message)
        shared: Counter[str] = Counter(faq_id for pair in said for faq_id in self.index.get(pair, ()))
        best = [
            (n / len(self.pairs[faq_id]), faq_id)
            for faq_id, n in shared.items()
            if n >= SAME_TEXT * len(self.pairs[faq_id]) and n >= SAME_TEXT * len(said)
        ]
        best.sort(reverse=True)
        if not best or (len(best) > 1 and best[0][0] == best[1][0]):
            return None  # no answer, or two equally close: not sure which
        return best[0][1]


def agent_answers(url: str, since: datetime, answers: Mapping[str, str]) -> list[Candidate]:
    """(X, Q) for every agent message since ``since`` that used X's answer, Q the question before it."""
    db = Database(url, handoff_metadata)
    matcher = AnswerMatcher(answers)
    with db.engine.connect() as conn:
        answered = (
            sa.select(handoff_events.c.handoff_id)
            .where(handoff_events.c.kind == "agent_message", handoff_events.c.at >= since)
            .distinct()
        )
        rows = conn.execute(
            sa.select(
                handoff_events.c.handoff_id,
                handoff_events.c.kind,
                handoff_events.c.text,
                handoff_events.c.at,
                handoff_answer_uses.c.faq_id,
            )
            .outerjoin(handoff_answer_uses, handoff_answer_uses.c.seq == handoff_events.c.seq)
            .where(
                handoff_events.c.handoff_id.in_(answered),
                handoff_events.c.kind.in_(("user_message", "agent_message")),
            )
            .order_by(handoff_events.c.handoff_id, handoff_events.c.seq)
        ).all()
        started = {
            r.id: r
            for r in conn.execute(
                sa.select(handoffs.c.id, handoffs.c.conversation_id, handoffs.c.transcript).where(
                    handoffs.c.id.in_(answered)
                )
            )
        }
    said: dict[str, list[str]] = {}
    found = []
    for row in rows:
        handoff = started[row.handoff_id]
        if row.handoff_id not in said:
            transcript = json.loads(handoff.transcript)
            said[row.handoff_id] = [t["text"] for t in transcript if t.get("role") == "user" and t.get("text")]
        if row.kind == "user_message":
            said[row.handoff_id].append(row.text or "")
            continue
        if aware(row.at) < since:
            continue
        text = row.text or ""
        faq_id = row.faq_id if row.faq_id and matcher.kept(row.faq_id, text) >= INSERTED_KEPT else None
        faq_id = faq_id or (matcher.same_as(text) if not row.faq_id else None)
        question = latest_question(said[row.handoff_id])
        if faq_id and question:
            found.append(Candidate(faq_id, question, handoff.conversation_id, "agent"))
    return found


def similar_suggestions(
    url: str,
    known: Mapping[str, Iterable[str]],
    answers: Mapping[str, str],
    days: int = 30,
    dismissed: Collection[tuple[str, str]] = (),
    now: datetime | None = None,
) -> list[SimilarSuggestion]:
    """The wordings worth adding, most conversations first. ``known``: every entry's wordings
    (standard question and similar ones; entries not in it get no suggestions);
    ``answers``: every entry's answer; ``dismissed``: (FAQ id, ``key_of`` Q) pairs an editor
    rejected."""
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    taken = {normalize(q) for wordings in known.values() for q in wordings}
    rejected = set(dismissed)
    seen: dict[tuple[str, str], set[str]] = defaultdict(set)  # (X, key) → conversations
    wordings: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    sources: dict[tuple[str, str], set[str]] = defaultdict(set)
    for candidate in clarify_picks(url, since) + agent_answers(url, since, answers):
        wording = without_pleasantries(candidate.question).strip()
        key = normalize(wording)
        size = len(key.replace(" ", ""))
        if candidate.faq_id not in known or size < MIN_CHARS or len(wording) > MAX_CHARS:
            continue
        if key in taken or (candidate.faq_id, key) in rejected or holds_personal(wording):
            continue
        pair = (candidate.faq_id, key)
        if candidate.conversation_id in seen[pair]:
            continue
        seen[pair].add(candidate.conversation_id)
        wordings[pair][wording] += 1
        sources[pair].add(candidate.source)
    found = [
        SimilarSuggestion(
            faq_id,
            wordings[(faq_id, key)].most_common(1)[0][0],
            len(conversations),
            [s for s in SOURCES if s in sources[(faq_id, key)]],
            [w for w, _ in wordings[(faq_id, key)].most_common(MAX_EXAMPLES)],
        )
        for (faq_id, key), conversations in seen.items()
    ]
    found.sort(key=lambda s: (-s.count, s.faq_id, s.question))
    return found
