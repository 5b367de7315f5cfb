"""Suggestions an editor rejected (忽略), so they do not come back in the studio: a similar
question for an entry (``similar``: the target is the question's ``key_of`` form, so the
same wording with other punctuation stays rejected) or a 猜你想问 pair (``related``: the
target is the next entry's id). In the shared database (``kb_suggestion_dismissals``),
like the handled gaps."""

from __future__ import annotations

import sqlalchemy as sa

from bot.handoff.db import Database
from bot.handoff.db import now as _now
from bot.handoff.similar_suggestions import key_of

KINDS = ("similar", "related")

metadata = sa.MetaData()

kb_suggestion_dismissals = sa.Table(
    "kb_suggestion_dismissals",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("faq_id", sa.String(128), nullable=False),
    sa.Column("target", sa.String(500), nullable=False),
    sa.Column("by", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("kind", "faq_id", "target", name="uq_kb_suggestion_dismissals"),
)


class Dismissals:
    def __init__(self, url: str) -> None:
        self.db = Database(url, metadata)

    def dismiss(self, kind: str, faq_id: str, target: str, by: str) -> bool:
        """Reject one suggestion; False when it was rejected before (nothing changes)."""
        if kind not in KINDS:
            raise ValueError(f"未知的建议类型 {kind}")
        target = key_of(target) if kind == "similar" else target.strip()
        if not faq_id.strip() or not target:
            raise ValueError("要忽略的建议缺少条目或内容")
        row = {"kind": kind, "faq_id": faq_id.strip(), "target": target[:500]}
        try:
            with self.db.engine.begin() as conn:
                conn.execute(sa.insert(kb_suggestion_dismissals).values(**row, by=by, at=_now()))
        except sa.exc.IntegrityError:  # rejected before (or by another editor at the same moment)
            return False
        return True

    def dismissed(self, kind: str) -> set[tuple[str, str]]:
        """(FAQ id, target) of every rejected suggestion of ``kind``."""
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(kb_suggestion_dismissals.c.faq_id, kb_suggestion_dismissals.c.target).where(
                    kb_suggestion_dismissals.c.kind == kind
                )
            ).all()
        return {(r.faq_id, r.target) for r in rows}
