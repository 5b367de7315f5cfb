"""Retention on the real SQLite and PostgreSQL: what is older than its kind's days goes, one
kind at a time; what is younger, open hand-offs and 留言 still waiting for an answer stay;
a dry run counts the same and deletes nothing; one server at a time runs the scheduled purge."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
import sqlalchemy as sa

from bot.handoff.audit import Action, AuditLog, Filter
from bot.handoff.db import now
from bot.handoff.lease import Leases
from bot.privacy.retention import purge, purge_and_record
from bot.privacy.schedule import ACTOR, purge_if_due
from bot.privacy.stores import bot_database, tracker_database
from faqbot.config import ConfigError, RetentionConfig, load_settings
from tests.bot.privacy.seeding import seed, settings_on

pytestmark = pytest.mark.slow


def counts(settings) -> dict[str, int]:
    out = {}
    with bot_database(settings).connect() as conn:
        for table in (
            "turns", "outcomes", "feedback", "unanswered", "sensitive_hits", "kb_gap_actions", "handoffs",
            "handoff_events", "handoff_answer_uses", "tickets", "ticket_events", "ticket_transcripts",
            "ticket_deliveries", "customers", "offered_buttons",
        ):  # fmt: skip
            out[table] = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
    tracker = tracker_database(settings)
    assert tracker is not None
    with tracker.connect() as conn:
        out["events"] = conn.execute(sa.text("SELECT count(*) FROM events")).scalar_one()
    return out


@pytest.fixture(params=["sqlite", "postgresql"])
def seeded(request, settings, tmp_path):
    with settings_on(request.param, settings, tmp_path) as on:
        seed(on, "rest:alice")
        yield on


def test_each_kind_goes_after_its_days_and_a_dry_run_deletes_nothing(seeded):
    before = counts(seeded)
    assert all(before.values()), before
    later = now() + timedelta(days=40)  # only the logs (30 days) are older than their retention
    dry = {p.kind: p.total for p in purge(seeded, dry_run=True, at=later)}
    assert dry == {"transcripts": 0, "tickets": 0, "logs": 1, "kpi_events": 0, "gaps": 0}
    assert counts(seeded) == before
    assert {p.kind: p.total for p in purge(seeded, at=later)} == dry
    assert counts(seeded) == {**before, "sensitive_hits": 0}

    much_later = now() + timedelta(days=800)  # everything is older now
    found = {p.kind: p.tables for p in purge(seeded, at=much_later)}
    after = counts(seeded)
    # Kept however old: the open hand-off (and its messages), the 留言 still waiting for an answer.
    assert (
        after["handoffs"] == 1
        and after["handoff_events"] == before["handoff_events"] - found["transcripts"]["handoff_events"]
    )
    assert after["tickets"] == 1 and found["tickets"]["tickets"] == 1
    assert found["tickets"]["ticket_transcripts"] == 1 and found["tickets"]["ticket_deliveries"] == 1
    assert found["transcripts"]["handoff_answer_uses"] == 1
    for table in ("turns", "outcomes", "feedback", "unanswered", "kb_gap_actions", "customers", "offered_buttons"):
        assert after[table] == 0, table
    assert after["events"] == 0 and found["transcripts"]["events"] == before["events"]


def test_zero_days_keeps_a_kind_forever(seeded):
    keep = seeded.replace(retention=dataclasses.replace(seeded.retention, kpi_events=0, gaps=0))
    found = {p.kind: p for p in purge(keep, at=now() + timedelta(days=800))}
    assert found["kpi_events"].days == 0 and found["kpi_events"].total == 0
    after = counts(keep)
    assert after["turns"] == 1 and after["unanswered"] == 1 and after["customers"] == 0


def test_a_purge_is_audited(seeded):
    purge_and_record(seeded, "cli:ops", dry_run=True)
    (entry,) = AuditLog(seeded.database_url).search(Filter(action=Action.PRIVACY_PURGE))[0]
    assert entry.actor == "cli:ops" and entry.target_id == "dry_run"
    assert entry.detail == {"dry_run": True, "rows": {k: 0 for k in seeded.retention.days()}}


def test_one_server_at_a_time_runs_the_scheduled_purge(seeded):
    # Two servers on one database: the first takes the lease for the period, the second finds it taken.
    assert purge_if_due(seeded, "server-a") is not None
    assert purge_if_due(seeded, "server-b") is None
    assert purge_if_due(seeded, "server-a") is not None  # the holder itself may run again
    leases = Leases(seeded.database_url)
    assert leases.holder("retention_purge")[0] == "server-a"
    # When the period ends, whoever checks first takes it.
    assert leases.take("retention_purge", "server-b", 60, at=now() + timedelta(hours=25))
    assert not leases.take("retention_purge", "server-a", 60, at=now() + timedelta(hours=25))
    entries, total = AuditLog(seeded.database_url).search(Filter(action=Action.PRIVACY_PURGE))
    assert total == 2 and {e.actor for e in entries} == {ACTOR}
    off = seeded.replace(retention=dataclasses.replace(seeded.retention, purge_every_hours=0))
    assert purge_if_due(off, "server-c") is None


def test_retention_is_validated(tmp_path):
    assert RetentionConfig().days() == {"transcripts": 180, "tickets": 365, "logs": 30, "kpi_events": 730, "gaps": 180}
    assert load_settings(env={"FAQBOT_RETENTION_LOGS": "7"}, config_file=tmp_path / "none.toml").retention.logs == 7
    for bad in ("-1", "7.5", "forever"):
        with pytest.raises(ConfigError, match="(?i)retention.logs"):
            load_settings(env={"FAQBOT_RETENTION_LOGS": bad}, config_file=tmp_path / "none.toml")
    toml = tmp_path / "faqbot.toml"
    toml.write_text("[retention]\ntickets = 99999\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="retention.tickets"):
        load_settings(env={}, config_file=toml)


def test_a_redis_conversation_store_is_said_not_covered(settings):
    from bot.privacy.stores import TrackerNotCovered
    from bot.privacy.subject import delete

    redis = settings.replace(bot=dataclasses.replace(settings.bot, tracker_store="redis://127.0.0.1:6379/0"))
    assert {p.kind for p in purge(redis, dry_run=True)} == set(redis.retention.days())  # the tables still are
    with pytest.raises(TrackerNotCovered, match="Redis"):
        delete(redis, "rest:alice")
