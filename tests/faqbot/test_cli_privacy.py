"""`faqbot privacy …` from the real command line, on a real database."""

from __future__ import annotations

import json

from bot.handoff.audit import Action, AuditLog, Filter
from bot.handoff.records import Records
from tests.faqbot.test_cli import run


def test_purge_dry_run_counts_per_kind_and_is_audited(settings):
    Records(settings.database_url).log_turn("rest:alice", "rest", "bot", 5.0)
    dry = run(settings, "privacy", "purge", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "统计事件（kpi_events，保留 730 天）：将删除 0 行" in dry.stdout and "什么都没有删除" in dry.stdout
    done = json.loads(run(settings, "privacy", "purge", "--json", env={"FAQBOT_RETENTION_GAPS": "0"}).stdout)
    kinds = {k["kind"]: k for k in done["kinds"]}
    assert done["dry_run"] is False and kinds["gaps"]["days"] == 0 and kinds["kpi_events"]["total"] == 0
    entries, _ = AuditLog(settings.database_url).search(Filter(action=Action.PRIVACY_PURGE))
    assert [e.target_id for e in entries] == ["purge", "dry_run"] and entries[0].actor.startswith("cli:")
