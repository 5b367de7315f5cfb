"""The improvement loop: what customers asked that the bot did not answer well, grouped,
what the editors did about each group, and whether those questions are answered now.

``collect`` groups the collected questions (``indexer/gaps.py``: misses, clarifies,
fall-backs, 没帮助; personal data masked) leaving out those an editor already
handled. An editor handles a group by adding it as similar questions to an FAQ,
drafting a new FAQ from it, or marking it out of scope (``kb_gap_actions``, in
the shared database); ``rerun`` asks a handled group's questions again against
the index served now, so the studio shows how many are answered after a publish.
Blocking (embedder, database): callers run it in a worker thread.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.handoff.db import Database, aware
from bot.handoff.db import now as _now
from bot.handoff.records import Records
from faqbot.config import Settings
from faqbot.normalize import normalize
from indexer.gaps import Asked, Gap, Nearest, background_of, find_gaps
from indexer.search import Searcher

ACTIONS = {"similar": "已加为相似问题", "draft": "已起草新条目", "out_of_scope": "不在服务范围"}
MAX_QUESTIONS = 200

metadata = sa.MetaData()

kb_gap_actions = sa.Table(
    "kb_gap_actions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("faq_id", sa.String(64), nullable=True),
    sa.Column("typical", sa.Text, nullable=False),
    sa.Column("questions", sa.Text, nullable=False),  # JSON list, masked as the gap showed them
    sa.Column("by", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class Handled:
    id: int
    action: str
    faq_id: str | None
    typical: str
    questions: list[str]
    by: str
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "action": self.action,
            "action_label": ACTIONS.get(self.action, self.action),
            "faq_id": self.faq_id,
            "typical": self.typical,
            "questions": self.questions,
            "by": self.by,
            "at": self.at.isoformat(),
        }


class GapActions:
    def __init__(self, url: str) -> None:
        self.db = Database(url, metadata)

    def record(self, action: str, faq_id: str | None, typical: str, questions: list[str], by: str) -> Handled:
        if action not in ACTIONS:
            raise ValueError(f"未知的处理方式 {action}")
        questions = [q for q in questions if q.strip()][:MAX_QUESTIONS]
        if not questions:
            raise ValueError("这一组没有问题")
        at = _now()
        with self.db.engine.begin() as conn:
            gap_id = conn.execute(
                sa.insert(kb_gap_actions).values(
                    action=action,
                    faq_id=faq_id,
                    typical=typical,
                    questions=json.dumps(questions, ensure_ascii=False),
                    by=by,
                    at=at,
                )
            ).inserted_primary_key[0]
        return Handled(int(gap_id), action, faq_id, typical, questions, by, at)

    def handled(self, limit: int = 100) -> list[Handled]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(sa.select(kb_gap_actions).order_by(kb_gap_actions.c.id.desc()).limit(limit)).all()
        return [Handled(r.id, r.action, r.faq_id, r.typical, json.loads(r.questions), r.by, aware(r.at)) for r in rows]

    def get(self, gap_id: int) -> Handled:
        with self.db.engine.connect() as conn:
            r = conn.execute(sa.select(kb_gap_actions).where(kb_gap_actions.c.id == gap_id)).first()
        if r is None:
            raise ValueError(f"找不到已处理的问题组 #{gap_id}")
        return Handled(r.id, r.action, r.faq_id, r.typical, json.loads(r.questions), r.by, aware(r.at))

    def handled_keys(self) -> set[str]:
        """The normalised wording of every question an editor has handled (left out of later reports)."""
        with self.db.engine.connect() as conn:
            rows = conn.execute(sa.select(kb_gap_actions.c.questions)).scalars().all()
        return {normalize(q) for text in rows for q in json.loads(text)}


def collect(settings: Settings, days: int, searcher: Searcher | None, actions: GapActions) -> list[Gap]:
    """The gaps of the last ``days`` days, most customers first, without the handled questions."""
    since = datetime.now(UTC) - timedelta(days=days)
    done = actions.handled_keys()
    asked = [
        Asked(q, c, source)
        for q, c, source in Records(settings.database_url).asked_since(since)
        if normalize(q) not in done
    ]
    if not asked:
        return []
    if searcher is None:
        from indexer.embedders import make_embedder

        return find_gaps(asked, make_embedder(settings.embedder))

    background = background_of(searcher.embedder, searcher.texts)
    return find_gaps(asked, searcher.embedder, nearest_in(searcher), background=background)


def nearest_in(searcher: Searcher) -> Nearest:
    """The FAQ nearest a question in ``searcher``'s index, with its fused score."""

    def nearest(question: str) -> tuple[str | None, float | None]:
        found = searcher.search(question, k=1).candidates
        return (found[0].entry.id, float(found[0].fused)) if found else (None, None)

    return nearest


def rerun(searcher: Searcher, handled: Handled) -> dict[str, Any]:
    """The handled group's questions asked again: how many the bot now answers directly
    (and with the FAQ the editor chose, when there is one)."""
    answered = right = 0
    for question in handled.questions:
        decision = searcher.decide(searcher.search(question, k=5).candidates)
        if str(decision.action) == "answer":
            answered += 1
            if handled.faq_id and decision.candidates and decision.candidates[0].entry.id == handled.faq_id:
                right += 1
    return {"total": len(handled.questions), "answered": answered, "answered_by_faq": right}
