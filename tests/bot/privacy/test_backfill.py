"""``faqbot privacy mask-stored`` on the real SQLite and PostgreSQL: rows written raw (as
before masking at rest, or before a pattern was configured) are masked in place, the
customer's questions stay otherwise as written, and a second run changes nothing."""

from __future__ import annotations

import dataclasses
import json

import pytest
import sqlalchemy as sa

from bot.handoff.audit import Action, AuditLog, Filter
from bot.handoff.db import now
from bot.handoff.records import Records, feedback, outcomes, unanswered
from bot.privacy.backfill import mask_stored, mask_stored_and_record
from bot.studio.gap_report import GapActions, kb_gap_actions
from tests.bot.privacy.seeding import settings_on

PHONE, MASKED = "13812345678", "138****5678"
RAW = f"我的手机{PHONE}提现没到账"


@pytest.fixture(params=["sqlite", "postgresql"])
def old_rows(request, settings, tmp_path):
    with settings_on(request.param, settings, tmp_path) as on:
        records = Records(on.database_url)
        records.log_unanswered("rest:old", "rest", "先建表", 0.1, [])  # the tables, as the bot makes them
        GapActions(on.database_url).record("draft", None, "先建表", ["先建表"], "editor")
        with records.engine.begin() as conn:  # rows as an earlier version wrote them: raw
            row = {"conversation_id": "rest:old", "channel": "rest", "question": RAW}
            conn.execute(unanswered.insert().values(created_at=now(), confidence=0.2, candidates="[]", **row))
            conn.execute(feedback.insert().values(
                created_at=now(), conversation_id="rest:old", channel="rest", faq_id="f", helpful=False, question=RAW
            ))  # fmt: skip
            conn.execute(outcomes.insert().values(
                at=now(), conversation_id="rest:old", channel="rest", kind="fallback", question=RAW
            ))  # fmt: skip
            conn.execute(kb_gap_actions.insert().values(
                action="out_of_scope", typical=RAW, questions=json.dumps([RAW, "别的问题"]), by="editor", at=now()
            ))  # fmt: skip
        records.engine.dispose()
        yield on


def texts(settings) -> list[str]:
    engine = sa.create_engine(settings.database_url)
    with engine.connect() as conn:
        found = [r[0] for t in (unanswered, feedback, outcomes) for r in conn.execute(sa.select(t.c.question))]
        for row in conn.execute(sa.select(kb_gap_actions.c.typical, kb_gap_actions.c.questions)):
            found += [row.typical, *json.loads(row.questions)]
    engine.dispose()
    return [t for t in found if t]


def test_old_rows_are_masked_once_and_a_dry_run_changes_nothing(old_rows):
    assert mask_stored(old_rows, dry_run=True) == {"unanswered": 1, "feedback": 1, "outcomes": 1, "kb_gap_actions": 1}
    assert sum(PHONE in t for t in texts(old_rows)) == 5  # nothing changed yet
    done = mask_stored_and_record(old_rows, "admin")
    assert done == {"unanswered": 1, "feedback": 1, "outcomes": 1, "kb_gap_actions": 1}
    after = texts(old_rows)
    assert not any(PHONE in t for t in after)
    assert after.count(f"我的手机{MASKED}提现没到账") == 5 and "别的问题" in after and "先建表" in after
    assert mask_stored(old_rows) == {"unanswered": 0, "feedback": 0, "outcomes": 0, "kb_gap_actions": 0}
    (entry,) = AuditLog(old_rows.database_url).search(Filter(action=Action.PRIVACY_MASK))[0]
    assert entry.actor == "admin" and entry.detail["rows"]["unanswered"] == 1


def test_a_pattern_added_later_is_applied_to_what_is_stored(old_rows):
    mask_stored(old_rows)
    with sa.create_engine(old_rows.database_url).begin() as conn:
        conn.execute(unanswered.insert().values(
            created_at=now(), conversation_id="rest:old", channel="rest", question="订单 DD202612070001 没发货",
            confidence=0.2, candidates="[]",
        ))  # fmt: skip
    patterned = old_rows.replace(masking=dataclasses.replace(old_rows.masking, patterns=("DD[0-9]{12}",)))
    assert mask_stored(patterned)["unanswered"] == 1
    assert not any("DD202612070001" in t for t in texts(patterned))
