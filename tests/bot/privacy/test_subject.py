"""Data subject requests on the real SQLite and PostgreSQL: one customer seeded in every
store through the stores' own APIs (and Rasa's conversation store), another beside them;
the export holds all of the first and nothing of the second; after the deletion no table
anywhere holds the first customer's id, and the second's data is all there."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from bot.handoff.audit import Action, AuditLog, Filter
from bot.privacy.stores import bot_database, tracker_database
from bot.privacy.subject import SubjectError, delete, delete_and_record, export, export_and_record, subject_hash
from tests.bot.privacy.seeding import seed, settings_on

pytestmark = pytest.mark.slow

ALICE, BOB = "rest:alice-7f3a", "rest:bob-91c2"


@pytest.fixture(params=["sqlite", "postgresql"])
def two_customers(request, settings, tmp_path):
    with settings_on(request.param, settings, tmp_path) as on:
        seed(on, ALICE, "我的提现一直没到账")
        seed(on, BOB, "怎么修改绑定手机", "13900139000")
        yield on


def every_row(settings) -> dict[str, list[str]]:
    """Every row of every table of both databases, as text: table → rows."""
    engines = {bot_database(settings), tracker_database(settings)}
    out: dict[str, list[str]] = {}
    for engine in engines:
        assert engine is not None
        for table in sa.inspect(engine).get_table_names():
            with engine.connect() as conn:
                rows = conn.execute(sa.text(f'SELECT * FROM "{table}"')).all()
            out.setdefault(table, []).extend(json.dumps(list(r), ensure_ascii=False, default=str) for r in rows)
    return out


def holding(settings, text: str) -> set[str]:
    return {table for table, rows in every_row(settings).items() if any(text in row for row in rows)}


STORES = {
    "turns", "outcomes", "feedback", "unanswered", "sensitive_hits", "handoffs", "handoff_events",
    "handoff_answer_uses", "tickets", "ticket_deliveries", "ticket_transcripts", "ticket_events",
    "customers", "offered_buttons", "events",
}  # fmt: skip
# Rows linked to the person through a hand-off's or a 留言's id, not their own.
LINKED = {"handoff_answer_uses", "ticket_deliveries", "ticket_transcripts"}


def test_the_export_holds_everything_of_the_one_person_and_nothing_of_another(two_customers):
    data = export(two_customers, ALICE)
    assert data["user"] == ALICE and data["conversations"] == [ALICE]
    assert {name for name, rows in data["stores"].items() if rows} == STORES
    text = json.dumps(data, ensure_ascii=False)
    assert "我的提现一直没到账" in text and "13800138000" in text and "您好，请稍等" in text
    assert BOB not in text and "怎么修改绑定手机" not in text
    assert [e["type_name"] for e in data["stores"]["events"]][:2] == ["action", "user"]
    assert data["stores"]["events"][1]["data"]["text"] == "我的提现一直没到账"  # parsed, not a string
    # By the verified id their site passed the widget: the same person, the same conversations.
    assert export(two_customers, f"site-{ALICE}")["conversations"] == sorted([ALICE, f"site-{ALICE}"])


def test_after_deletion_no_table_holds_the_person_and_the_other_is_intact(two_customers):
    assert holding(two_customers, ALICE) >= STORES - LINKED  # seeded everywhere
    stored = export(two_customers, ALICE)["stores"]
    links = [row["id"] for row in stored["handoffs"] + stored["tickets"]]
    assert len(links) == 4 and all(holding(two_customers, link) for link in links)
    bob_before = export(two_customers, BOB)["stores"]
    preview = delete(two_customers, ALICE, dry_run=True)
    assert holding(two_customers, ALICE) >= STORES - LINKED  # a dry run deletes nothing
    done = delete_and_record(two_customers, ALICE, "admin")
    assert done.tables == preview.tables and done.total > 0 and done.tables["events"] > 0

    assert holding(two_customers, ALICE) == set()
    assert holding(two_customers, "alice-7f3a") == set()
    for link in links:  # their hand-offs' and 留言's messages, deliveries, transcripts
        assert holding(two_customers, link) == set(), link
    # What they wrote is gone too, also from the editors' gap actions (which hold no one's id):
    # the action stays, the other customer's question in it too.
    assert holding(two_customers, "13800138000") == set()
    assert holding(two_customers, "我的提现一直没到账") == set()
    assert done.tables["kb_gap_actions"] == 1 and "kb_gap_actions" in holding(two_customers, "怎么修改绑定手机")
    bob_after = export(two_customers, BOB)["stores"]
    assert bob_after == bob_before
    (entry,) = AuditLog(two_customers.database_url).search(Filter(action=Action.PRIVACY_DELETE))[0]
    assert entry.actor == "admin" and entry.target_id == subject_hash(ALICE) and entry.detail["rows"] == done.tables
    assert delete(two_customers, ALICE).total == 0  # a second request finds nothing


def test_an_export_is_audited_without_the_id_and_a_blank_id_is_refused(two_customers):
    export_and_record(two_customers, BOB, "admin", role="admin", ip="10.0.0.9")
    (entry,) = AuditLog(two_customers.database_url).search(Filter(action=Action.PRIVACY_EXPORT))[0]
    assert entry.target_id == subject_hash(BOB) and BOB not in json.dumps(entry.to_json(), ensure_ascii=False)
    assert entry.detail["rows"]["tickets"] == 2 and entry.ip == "10.0.0.9"
    for bad in ("", "   ", "x" * 300):
        with pytest.raises(SubjectError, match="用户 ID"):
            delete(two_customers, bad)
