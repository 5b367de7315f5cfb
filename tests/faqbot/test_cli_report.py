"""`faqbot report`, the KPIs included, in a subprocess on a real SQLite database."""

from __future__ import annotations

import json

import pytest

from bot.handoff.handoffs import HandoffRequest, HandoffStore
from bot.handoff.records import Records
from tests.faqbot.test_cli import assert_clean_error, run


@pytest.fixture
def served(settings):
    """Two conversations today: one the bot answered (helpful), one a person took over (rated good)."""
    records, handoffs = Records(settings.database_url), HandoffStore(settings.database_url)
    records.log_turn("u1", "rest", "bot", 120)
    records.log_feedback("u1", "rest", "withdraw-fee", True, "提现手续费")
    records.log_turn("u2", "socketio", "bot", 80)
    handoff, _ = handoffs.create(HandoffRequest("u2", "socketio", "user_request", []))
    handoffs.claim(handoff.id, "alice")
    handoffs.agent_message(handoff.id, "alice", "您好")
    handoffs.close(handoff.id, "alice")
    handoffs.rate(handoff.id, "good")
    for store in (records, handoffs):
        store.engine.dispose()
    return settings


def report(settings, *args: str, timezone: str = "Asia/Shanghai"):
    return run(
        settings,
        "report",
        *args,
        env={"FAQBOT_BOT_DATABASE_URL": settings.database_url, "FAQBOT_HANDOFF_TIMEZONE": timezone},
    )


def test_kpis_json(served):
    proc = report(served, "kpis", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert (data["days"], data["timezone"], len(data["by_day"])) == (14, "Asia/Shanghai", 14)
    totals = data["totals"]
    ends = totals["outcomes"]
    assert (totals["conversations"], ends["bot_resolved"], ends["handed_off"], ends["ticket"]) == (2, 1, 1, 0)
    assert totals["bot_resolution_rate"] == 0.5 and totals["handoff_rate"] == 0.5
    assert totals["answer_feedback"] == {"positive": 1, "negative": 0, "rate": 1.0}
    assert totals["service_rating"] == {"good": 1, "bad": 0, "rate": 1.0}
    assert totals["first_response_seconds"]["count"] == 1 and totals["handling_seconds"]["count"] == 1
    assert totals["bot_reply_ms"] == {"p50": 100.0, "p95": 118.0, "count": 2}
    assert [row["channel"] for row in data["by_channel"]] == ["rest", "socketio"]

    short = json.loads(report(served, "kpis", "--days", "3", "--json", timezone="UTC").stdout)
    assert (short["days"], short["timezone"], len(short["by_day"])) == (3, "UTC", 3)


def test_kpis_text(served):
    proc = report(served, "kpis")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("客服指标 ") and "（Asia/Shanghai，14 天）" in proc.stdout
    total = next(line for line in proc.stdout.splitlines() if line.startswith("合计"))
    assert total.split()[:6] == ["合计", "2", "50.0%", "50.0%", "1", "0"] and total.endswith("100/118ms")
    assert "会话结果: 机器人解决 1 / 机器人未解决 0 / 转人工 1" in proc.stdout
    assert "人工服务评价: 满意 1 / 不满意 0" in proc.stdout
    assert "socketio" in proc.stdout


def test_kpis_export(served, tmp_path):
    proc = report(served, "kpis", "--csv", "by_channel")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("渠道,会话数,机器人解决") and lines[1].startswith("rest,1,1")
    assert lines[-1].startswith("合计,2,1")
    out = tmp_path / "kpis.xlsx"
    proc = report(served, "kpis", "--xlsx", str(out))
    assert proc.returncode == 0 and out.read_bytes()[:2] == b"PK"  # a zip: the xlsx container


def test_kpis_bad_arguments(served):
    assert_clean_error(report(served, "kpis", "--days", "0"), "days must be at least 1")
    assert_clean_error(report(served, "kpis", timezone="Mars/Olympus"), "unknown timezone 'Mars/Olympus'")


def test_the_other_reports_still_work(served):
    feedback = report(served, "feedback")
    assert feedback.returncode == 0 and "有帮助" in feedback.stdout and "withdraw-fee" in feedback.stdout
    handoffs = json.loads(report(served, "handoffs", "--json").stdout)
    assert [(h["conversation_id"], h["state"]) for h in handoffs] == [("u2", "closed")]
    assert "no unanswered records yet" in report(served, "unanswered").stdout


def test_tickets_report_says_what_became_of_each_message(settings):
    from bot.handoff.tickets import TicketStore

    tickets = TicketStore(settings.database_url)
    left = tickets.start("u3", "rest", "user_request", "no_agent", "提现没到账")
    tickets.escape(left.id)  # the customer asked the bot something else instead
    kept = tickets.start("u4", "rest", "user_request", "no_agent", None)
    tickets.submit(tickets.set_contact(kept.id, "13800000000").id, "退款多久到账")
    tickets.engine.dispose()
    rows = json.loads(report(settings, "tickets", "--json").stdout)
    assert sorted((t["conversation_id"], t["state"]) for t in rows) == [("u3", "escaped"), ("u4", "open")]
    text = report(settings, "tickets").stdout
    assert "escaped" in text and "退款多久到账" in text


def test_conversations_as_csv_json_and_excel(served, tmp_path):
    proc = report(served, "conversations", "--days", "1")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("类型,编号,用户,渠道,状态") and len(lines) == 2
    assert lines[1].startswith("会话,") and ",u2,socketio,closed,user_request,alice," in lines[1]
    [row] = json.loads(report(served, "conversations", "--json").stdout)
    assert row["评价"] == "满意" and row["客服"] == "alice"
    book = tmp_path / "c.xlsx"
    written = report(served, "conversations", "--xlsx", str(book))
    assert written.returncode == 0 and "1 rows" in written.stdout and book.read_bytes()[:2] == b"PK"
    assert_clean_error(report(served, "conversations", "--days", "0"), "days must be at least 1")
