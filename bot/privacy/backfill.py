"""``faqbot privacy mask-stored``: mask personal data in rows written before masking at rest
existed (or before a pattern was added to ``[masking] patterns``).

New rows are masked as they are written (``bot/handoff/records.py``, the gap actions); this
pass applies the same masker (``faqbot/masking.py``) to the analysis columns of the rows
already there: the unanswered log, feedback, the KPI outcomes' questions and the editors' gap
actions. Masking is idempotent, so it can run again at any time; rows already masked are left
alone. What must stay raw to serve the customer (a 留言's contact, the transcript the handling
agent reads) is not touched: retention purges it.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import sqlalchemy as sa

from bot.handoff.audit import Action, AuditLog
from bot.handoff.records import feedback, outcomes, unanswered
from bot.privacy.stores import bot_database
from bot.studio.gap_report import kb_gap_actions
from faqbot.config import Settings
from faqbot.masking import masker_for

BATCH = 500


def mask_stored(settings: Settings, dry_run: bool = False) -> dict[str, int]:
    """Rows changed per table (``dry_run``: that would change)."""
    mask = masker_for(settings.masking)
    engine = bot_database(settings)
    changed: dict[str, int] = {}
    with engine.begin() as conn:
        present = set(sa.inspect(conn).get_table_names())
        for table in (unanswered, feedback, outcomes):
            if table.name in present:
                changed[table.name] = _mask_column(conn, table, table.c.question, mask, dry_run)
        if kb_gap_actions.name in present:
            changed[kb_gap_actions.name] = _mask_gap_actions(conn, mask, dry_run)
    return changed


def _mask_column(
    conn: sa.Connection, table: sa.Table, column: sa.Column, mask: Callable[[str], str], dry_run: bool
) -> int:
    changed, after = 0, 0
    while True:
        page = sa.select(table.c.id, column).where(table.c.id > after, column.is_not(None))
        rows = conn.execute(page.order_by(table.c.id).limit(BATCH)).all()
        if not rows:
            return changed
        for row_id, text in rows:
            masked = mask(text)
            if masked != text:
                changed += 1
                if not dry_run:
                    conn.execute(table.update().where(table.c.id == row_id).values({column.name: masked}))
        after = rows[-1][0]


def _mask_gap_actions(conn: sa.Connection, mask: Callable[[str], str], dry_run: bool) -> int:
    changed = 0
    for row in conn.execute(sa.select(kb_gap_actions)).all():
        questions = json.loads(row.questions)
        masked = [mask(q) for q in questions]
        typical = mask(row.typical)
        if masked == questions and typical == row.typical:
            continue
        changed += 1
        if not dry_run:
            conn.execute(
                kb_gap_actions.update()
                .where(kb_gap_actions.c.id == row.id)
                .values(questions=json.dumps(masked, ensure_ascii=False), typical=typical)
            )
    return changed


def mask_stored_and_record(settings: Settings, actor: str, dry_run: bool = False) -> dict[str, int]:
    """``mask_stored``, then one audit line: who, whether it was a dry run, rows per table."""
    changed = mask_stored(settings, dry_run)
    detail = {"dry_run": dry_run, "rows": changed}
    target = "dry_run" if dry_run else "mask"
    AuditLog(settings.database_url).record(actor, Action.PRIVACY_MASK, "masking", target, detail)
    return changed
