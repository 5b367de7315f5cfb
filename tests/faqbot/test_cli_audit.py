"""`faqbot audit list` from the real command line: what the console and the CLI itself recorded."""

from __future__ import annotations

import json

from bot.handoff.audit import Action, AuditLog
from tests.faqbot.test_cli import assert_clean_error, run


def test_the_log_is_listed_and_filtered_and_cli_account_changes_are_in_it(settings):
    AuditLog(settings.database_url).record("li", Action.SIGN_IN, "account", "li", role="agent", ip="10.0.0.7")
    assert run(settings, "agent", "add", "wang", "--password-stdin", stdin="pass-word-1\n").returncode == 0
    assert run(settings, "agent", "role", "wang", "editor").returncode == 0

    listed = run(settings, "audit", "list")
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    assert [line.split("\t")[3] for line in lines] == ["role_change", "account_create", "sign_in"]
    assert lines[0].split("\t")[1].startswith("cli:") and '"new": "editor"' in lines[0]
    assert "10.0.0.7" in lines[2]

    mine = json.loads(run(settings, "audit", "list", "--actor", "li", "--json").stdout)
    assert mine["total"] == 1 and mine["entries"][0]["action"] == "sign_in"
    only = json.loads(run(settings, "audit", "list", "--action", "role_change", "--since", "1d", "--json").stdout)
    assert [e["target_id"] for e in only["entries"]] == ["wang"]
    assert "no audit entries match" in run(settings, "audit", "list", "--since", "2999-01-01").stdout


def test_bad_filters_fail_with_one_clear_line(settings):
    assert_clean_error(run(settings, "audit", "list", "--action", "drop"), "--action must be one of")
    bad = run(settings, "audit", "list", "--since", "yesterday")
    assert bad.returncode != 0 and "use 2026-12-07" in bad.stderr


def test_a_conversation_export_from_the_cli_is_recorded(settings):
    assert run(settings, "report", "conversations", "--days", "3").returncode == 0
    found = json.loads(run(settings, "audit", "list", "--action", "export_conversations", "--json").stdout)
    (entry,) = found["entries"]
    assert entry["actor"].startswith("cli:") and entry["target_id"] == "csv"
    assert entry["detail"] == {"rows": 0, "days": 3, "via": "cli"}
