"""`faqbot agent`: console accounts from the real command line."""

from __future__ import annotations

from bot.handoff.agents import AgentStore
from tests.faqbot.test_cli import assert_clean_error, run


def test_agents_are_added_listed_changed_and_disabled(settings):
    added = run(settings, "agent", "add", "li", "--display-name", "小李", "--password-stdin", stdin="pass-word-1\n")
    assert added.returncode == 0 and "added admin li (小李)" in added.stdout  # the first account is an admin
    store = AgentStore(settings.database_url)
    assert store.agent_for(store.sign_in("li", "pass-word-1")).display_name == "小李"
    second = run(settings, "agent", "add", "wang", "--password-stdin", stdin="pass-word-1\n")
    assert second.returncode == 0 and "added agent wang (wang)" in second.stdout
    assert run(settings, "agent", "role", "wang", "admin").stdout == "wang is now admin\n"
    assert_clean_error(run(settings, "agent", "role", "nobody", "admin"), "no account named 'nobody'")
    listed = run(settings, "agent", "list")
    assert listed.returncode == 0 and listed.stdout.startswith("li\t小李\tadmin\tlast seen: never")
    assert "wang\twang\tadmin" in listed.stdout
    assert run(settings, "agent", "disable", "wang").returncode == 0
    changed = run(settings, "agent", "passwd", "li", "--password-stdin", stdin="pass-word-2\n")
    assert changed.returncode == 0 and store.sign_in("li", "pass-word-2")
    assert run(settings, "agent", "disable", "li").returncode == 0
    assert "no agents yet" in run(settings, "agent", "list").stdout


def test_bad_agent_commands_fail_with_one_clear_line(settings):
    assert_clean_error(run(settings, "agent", "add", "li", "--password-stdin", stdin="short\n"), "at least 8")
    assert_clean_error(run(settings, "agent", "add", "li"), "--password-stdin")  # no terminal to ask on
    run(settings, "agent", "add", "li", "--password-stdin", stdin="pass-word-1\n")
    assert_clean_error(run(settings, "agent", "add", "li", "--password-stdin", stdin="pass-word-1\n"), "already exists")
    assert_clean_error(
        run(settings, "agent", "passwd", "nobody", "--password-stdin", stdin="pass-word-1\n"),
        "no account named 'nobody'",
    )
