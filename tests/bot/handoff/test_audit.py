"""The audit log (``bot/handoff/audit.py``) on SQLite and on the local PostgreSQL: rows are
appended and found by actor, action, target and time; the database itself refuses to
change or delete one; and access by need (``Teams.access``) on the same real stores."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from bot.handoff.audit import Action, AuditLog, Filter, audit_log
from bot.handoff.db import now
from bot.handoff.teams import ADMIN, OUTSIDE, OWN, REFUSED, Teams
from tests.databases import scratch_database


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    with scratch_database(request.param, tmp_path) as found:
        yield found


def test_rows_are_appended_and_found_by_every_filter(url):
    log = AuditLog(url)
    first = log.record("li", Action.SIGN_IN, "account", "li", role="agent", ip="10.0.0.1")
    log.record("li", Action.REPLY, "handoff", "h-123", {"length": 12}, role="agent", ip="10.0.0.1")
    log.record("wang", Action.ROLE_CHANGE, "account", "li", {"old": "agent", "new": "admin"}, role=ADMIN)

    entries, total = log.search()
    assert total == 3 and [e.action for e in entries] == ["role_change", "reply", "sign_in"]  # newest first
    assert entries[-1].id == first and entries[-1].ip == "10.0.0.1" and entries[-1].at.tzinfo is not None

    replies, n = log.search(Filter(actor="li", action="reply"))
    assert n == 1 and replies[0].detail == {"length": 12} and replies[0].target_id == "h-123"
    assert log.search(Filter(target="h-1"))[1] == 1
    assert log.search(Filter(target="%"))[1] == 0  # a LIKE wildcard is a character, not "anything"
    assert log.search(Filter(since=now() + timedelta(minutes=1)))[1] == 0
    assert log.search(Filter(until=now() + timedelta(minutes=1)))[1] == 3

    page, total = log.search(limit=2, offset=2)
    assert total == 3 and [e.action for e in page] == ["sign_in"]

    rows = log.rows(Filter(actor="wang"))
    assert rows[0][3] == "操作" and rows[1][1:4] == ("wang", ADMIN, "role_change") and '"new": "admin"' in rows[1][6]


def test_an_unknown_action_is_a_clear_error():
    with pytest.raises(ValueError, match="'action' must be one of"):
        Filter(action="drop_tables")


def test_the_database_refuses_to_change_or_delete_a_row(url):
    log = AuditLog(url)
    log.record("li", Action.SIGN_IN, "account", "li")
    for statement in (
        audit_log.update().values(actor="mallory"),
        audit_log.delete(),
    ):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), log.engine.begin() as conn:
            conn.execute(statement)
    entries, total = log.search()
    assert total == 1 and entries[0].actor == "li"
    assert not hasattr(log, "delete") and not hasattr(log, "update")


def test_postgresql_refuses_truncate_too(tmp_path):
    with scratch_database("postgresql", tmp_path) as found:
        log = AuditLog(found)
        log.record("li", Action.SIGN_IN)
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), log.engine.begin() as conn:
            conn.execute(sa.text("TRUNCATE audit_log"))
        assert log.search()[1] == 1


def test_a_second_process_reads_the_same_log(url):
    AuditLog(url).record("li", Action.EXPORT_KPIS, "export", "csv")
    other = AuditLog(url)  # another server on the same database
    assert [e.action for e in other.search()[0]] == ["export_kpis"]


def test_access_by_need(url):
    teams = Teams(url)
    teams.set_role("boss", ADMIN)
    after_sales = teams.save_group("售后组", members=["li"])
    english = teams.save_group("英文服务", members=["amy"])
    teams.route("h-a", after_sales.id)
    teams.route("h-b", english.id)
    pairs = [("h-a", None), ("h-b", None), ("h-free", None), ("h-b-mine", "li")]
    teams.route("h-b-mine", english.id)
    assert teams.access("li", pairs) == {"h-a": OWN, "h-b": REFUSED, "h-free": OWN, "h-b-mine": OWN}
    assert teams.access("boss", pairs) == {"h-a": OUTSIDE, "h-b": OUTSIDE, "h-free": OWN, "h-b-mine": OUTSIDE}
    found = [{"id": "h-a"}, {"id": "h-b"}, {"type": "ticket", "id": "t-1"}]
    assert [h["id"] for h in teams.visible("li", found)] == ["h-a", "t-1"]
    assert teams.refused_of("li", {"h-a": None, "h-b": None, "h-b-mine": "li"}) == {"h-b"}


def test_without_groups_everyone_sees_everything(url):
    teams = Teams(url)
    assert teams.access("li", [("h-1", None), ("h-2", "wang")]) == {"h-1": OWN, "h-2": OWN}
