"""The regression set editors own: real customer questions with the FAQ that should answer
each, in the database every server shares (``regression_cases``), run against an index
version before it is published (``indexer/regression.py``).

A case comes from the hit test (``hit_test``), the unanswered questions (``gap``), a
JSON Lines file (``import``: one ``{"question": …, "faq_id": …}`` a line) or is typed in
(``manual``). The same question (normalised) for the same FAQ is one case.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.handoff.db import Database, aware
from bot.handoff.db import now as _now
from faqbot.errors import UserError
from faqbot.normalize import normalize
from indexer.regression import Case

SOURCES = ("hit_test", "gap", "import", "manual")
MAX_QUESTION, MAX_FAQ_ID = 500, 64

metadata = sa.MetaData()

regression_cases = sa.Table(
    "regression_cases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("question", sa.Text, nullable=False),
    # normalize(question): what makes two cases the same, with faq_id.
    sa.Column("normalised", sa.String(2 * MAX_QUESTION), nullable=False),
    sa.Column("faq_id", sa.String(MAX_FAQ_ID), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("added_by", sa.String(64), nullable=True),
    sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("normalised", "faq_id", name="uq_regression_cases_question_faq"),
)


class RegressionSetError(UserError, ValueError):
    """A case that cannot be added (the message says why, for the API)."""


@dataclass(frozen=True)
class StoredCase:
    id: int
    question: str
    faq_id: str
    source: str
    added_by: str | None
    added_at: datetime

    @property
    def case(self) -> Case:
        return Case(self.question, self.faq_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "faq_id": self.faq_id,
            "source": self.source,
            "added_by": self.added_by,
            "added_at": self.added_at.isoformat(),
        }


def _row(r: Any) -> StoredCase:
    return StoredCase(r.id, r.question, r.faq_id, r.source, r.added_by, aware(r.added_at))


def clean_case(question: Any, faq_id: Any, source: Any = "manual") -> tuple[str, str, str]:
    """The case's fields checked and trimmed (``RegressionSetError`` saying what is wrong)."""
    if not isinstance(question, str) or not normalize(question):
        raise RegressionSetError("需要问题（question）：用户问的原话")
    question = question.strip()
    if len(question) > MAX_QUESTION:
        raise RegressionSetError(f"问题有 {len(question)} 个字，最多 {MAX_QUESTION} 个")
    if not isinstance(faq_id, str) or not faq_id.strip() or len(faq_id.strip()) > MAX_FAQ_ID:
        raise RegressionSetError("需要条目 id（faq_id）：应该回答这个问题的 FAQ 条目")
    if source not in SOURCES:
        raise RegressionSetError(f"来源（source）只能是 {'、'.join(SOURCES)}")
    return question, faq_id.strip(), source


class RegressionSet:
    def __init__(self, url: str) -> None:
        self._db = Database(url, metadata)

    @property
    def engine(self) -> sa.engine.Engine:
        return self._db.engine

    def cases(self) -> list[StoredCase]:
        """Every case, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(regression_cases).order_by(regression_cases.c.id)).all()
        return [_row(r) for r in rows]

    def as_cases(self) -> list[Case]:
        return [c.case for c in self.cases()]

    def add(
        self, question: Any, faq_id: Any, source: Any = "manual", added_by: str | None = None
    ) -> tuple[StoredCase, bool]:
        """The case, and whether it is new: the same normalised question for the same FAQ is
        the one case already there (also when two servers add it at once)."""
        question, faq_id, source = clean_case(question, faq_id, source)
        key = normalize(question)
        where = sa.and_(regression_cases.c.normalised == key, regression_cases.c.faq_id == faq_id)
        for _ in range(2):
            with self.engine.begin() as conn:
                existing = conn.execute(sa.select(regression_cases).where(where)).first()
                if existing is not None:
                    return _row(existing), False
            try:
                with self.engine.begin() as conn:
                    values = {
                        "question": question,
                        "normalised": key,
                        "faq_id": faq_id,
                        "source": source,
                        "added_by": added_by,
                        "added_at": _now(),
                    }
                    new_id = conn.execute(regression_cases.insert().values(**values)).inserted_primary_key[0]
                    return StoredCase(int(new_id), question, faq_id, source, added_by, values["added_at"]), True
            except sa.exc.IntegrityError:  # added by someone else between the two: read it
                continue
        raise RegressionSetError("没能保存这个问题，请再试一次")

    def delete(self, case_id: int) -> bool:
        """Whether there was such a case."""
        with self.engine.begin() as conn:
            return conn.execute(regression_cases.delete().where(regression_cases.c.id == case_id)).rowcount > 0

    def import_jsonl(self, text: str, added_by: str | None = None, source: str = "import") -> tuple[int, int]:
        """Add one case per line ``{"question": …, "faq_id": …}`` (blank lines skipped); returns
        (added, already there). A bad line stops the import before anything is added
        (``RegressionSetError`` naming the line)."""
        rows = _parse_jsonl(text, source)
        added = 0
        for question, faq_id, kind in rows:
            added += self.add(question, faq_id, kind, added_by)[1]
        return added, len(rows) - added

    def export_jsonl(self) -> str:
        """Every case as JSON Lines ``{"question": …, "faq_id": …}``, oldest first (what ``import_jsonl`` reads)."""
        return "".join(
            json.dumps({"question": c.question, "faq_id": c.faq_id}, ensure_ascii=False) + "\n" for c in self.cases()
        )


def _parse_jsonl(text: str, source: str) -> list[tuple[str, str, str]]:
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RegressionSetError(f"第 {number} 行不是有效的 JSON（{exc.msg}）") from None
        if not isinstance(data, dict):
            raise RegressionSetError(f"第 {number} 行应该是带 question 和 faq_id 的 JSON 对象")
        try:
            rows.append(clean_case(data.get("question"), data.get("faq_id"), source))
        except RegressionSetError as exc:
            raise RegressionSetError(f"第 {number} 行：{exc}") from None
    return rows


def read_jsonl(text: str) -> list[Case]:
    """Cases from JSON Lines text (``faqbot kb regress --set FILE``), checked as ``import_jsonl`` does."""
    return [Case(question, faq_id) for question, faq_id, _ in _parse_jsonl(text, "import")]
