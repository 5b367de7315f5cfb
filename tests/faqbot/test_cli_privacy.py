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


def test_export_to_a_file_and_delete_only_with_yes(settings, tmp_path):
    records = Records(settings.database_url)
    records.log_unanswered("wecom:corp:alice", "wecom", "发票怎么开", 0.1, [])
    records.log_unanswered("wecom:corp:bob", "wecom", "怎么退款", 0.1, [])
    out = tmp_path / "alice.json"
    exported = run(settings, "privacy", "export", "--user", "wecom:corp:alice", "--out", str(out))
    assert exported.returncode == 0 and "已导出 1 个会话" in exported.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [r["question"] for r in data["stores"]["unanswered"]] == ["发票怎么开"]

    refused = run(settings, "privacy", "delete", "--user", "wecom:corp:alice")
    assert refused.returncode == 1 and "加 --yes" in refused.stderr and "unanswered 1" in refused.stderr
    assert len(Records(settings.database_url).recent_unanswered()) == 2  # nothing deleted yet
    done = run(settings, "privacy", "delete", "--user", "wecom:corp:alice", "--yes")
    assert done.returncode == 0 and "已删除 wecom:corp:alice 的 1 个会话、共 1 行" in done.stdout
    assert [r["question"] for r in Records(settings.database_url).recent_unanswered()] == ["怎么退款"]
    actions = [e.action for e in AuditLog(settings.database_url).search()[0]]
    assert actions == ["privacy_delete", "privacy_export"]
    blank = run(settings, "privacy", "delete", "--user", " ", "--yes")
    assert blank.returncode == 1 and "用户 ID 不能为空" in blank.stderr and "Traceback" not in blank.stderr
