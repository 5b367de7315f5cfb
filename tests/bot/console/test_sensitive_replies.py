"""An agent's reply with a sensitive word is held (422, a Chinese warning naming the word and
its category) unless the agent confirms it; a 留言 answer too; both are counted. Real console
routes on a real server, a real index built with the list, a real database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.handoff.agents import AgentStore
from bot.handoff.desk import HandoffDesk
from bot.handoff.handoffs import HandoffRequest
from bot.handoff.kpis import compute_kpis
from bot.handoff.teams import EDITOR, Teams
from faqbot.config import Settings
from indexer.service import build_and_publish
from indexer.validate import SENSITIVE_FILE
from tests.bot.console.console_server import serving
from tests.bot.web.client import Answer, call, sign_in
from tests.conftest import write_kb
from tests.polling import wait_until

pytestmark = pytest.mark.slow

AGENT, PASSWORD = "alice", "pass-word-123"
LIST = "[赌博] 转人工\n博彩\n[竞品] 只记录\n某某交易所\n"


@pytest.fixture
def console(tiny_kb: Settings, embedder) -> Iterator[tuple[str, Settings]]:
    write_kb(tiny_kb.kb_dir, SENSITIVE_FILE, LIST)
    build_and_publish(tiny_kb, embedder=embedder)
    AgentStore(tiny_kb.database_url).add(AGENT, PASSWORD, "爱丽丝")
    Teams(tiny_kb.database_url).set_role(AGENT, EDITOR)  # answers chats and keeps the KB
    with serving(tiny_kb) as url:
        yield url, tiny_kb


def send(url: str, token: str, path: str, body: dict) -> Answer:
    return call(url, "POST", path, {"Authorization": f"Bearer {token}"}, body)


def test_a_reply_with_a_sensitive_word_is_held_until_the_agent_confirms(console):
    url, settings = console
    desk = HandoffDesk(settings)
    handoff, _ = desk.handoffs.create(
        HandoffRequest("cust-1", "rest", "user_request", [{"role": "user", "text": "转人工"}])
    )
    token = sign_in(url, AGENT, PASSWORD)
    assert send(url, token, "/console/api/status", {"status": "online"}).status == 200
    assert send(url, token, f"/console/api/handoffs/{handoff.id}/claim", {}).status == 200
    path = f"/console/api/handoffs/{handoff.id}/messages"

    held = send(url, token, path, {"text": "这个可以去博 彩网站充值"})
    assert held.status == 422
    assert held.error.startswith("回复里有敏感词 “博彩”（赌博）：消息没有发出")
    assert held.json["sensitive"][0] | {"start": 0, "end": 0} == {
        "word": "博彩",
        "category": "赌博",
        "action": "handoff",
        "start": 0,
        "end": 0,
        "found": "博 彩",
    }
    assert [e for e in desk.handoffs.events(handoff.id) if e["kind"] == "agent_message"] == []  # nothing sent

    sent = send(url, token, path, {"text": "这个可以去博 彩网站充值", "confirm_sensitive": True})
    assert sent.status == 200 and "seq" in sent.json
    assert send(url, token, path, {"text": "提现手续费以页面为准"}).status == 200  # no word: sent at once

    counts = {(r["source"], r["action"]): r["count"] for r in compute_kpis(settings.database_url, days=1)["sensitive"]}
    assert counts == {("agent", "held"): 1, ("agent", "confirmed"): 1}


def test_a_ticket_answer_with_a_sensitive_word_is_held_too(console):
    url, settings = console
    desk = HandoffDesk(settings)
    draft = desk.tickets.start("cust-2", "rest", "user_request", "no_agent", None)
    ticket = desk.tickets.submit(draft.id, "我的提现没到账")
    token = sign_in(url, AGENT, PASSWORD)
    path = f"/console/api/tickets/{ticket.id}/answer"
    held = send(url, token, path, {"text": "建议您试试某某 交易所"})
    assert held.status == 422 and "“某某交易所”（竞品）" in held.error
    assert desk.tickets.get(ticket.id).answer is None
    sent = send(url, token, path, {"text": "建议您试试某某 交易所", "confirm_sensitive": True})
    assert sent.status == 200 and desk.tickets.get(ticket.id).answer == "建议您试试某某 交易所"


def test_editors_edit_the_word_list_in_the_studio(console):
    url, _ = console
    token = sign_in(url, AGENT, PASSWORD)
    bearer = {"Authorization": f"Bearer {token}"}
    found = call(url, "GET", "/console/api/studio/words", bearer)
    assert found.status == 200 and found.json == {"text": LIST, "change": None}
    checked = send(url, token, "/console/api/studio/check", {"kind": "words", "data": {"text": "博彩\n"}})
    assert [(p["file"], p["line"]) for p in checked.json["problems"]] == [(SENSITIVE_FILE, 1)]
    text = LIST + "网赌\n"
    saved = send(url, token, "/console/api/studio/changes", {"kind": "words", "data": {"text": text}})
    assert saved.status == 200 and saved.json["entry_id"] == "@words"
    assert [line for line in saved.json["diff"] if not line.startswith(" ")] == ["+ 敏感词：网赌"]
    again = call(url, "GET", "/console/api/studio/words", bearer).json
    assert again["text"] == LIST and again["change"]["id"] == saved.json["id"]


def test_the_console_shows_the_warning_and_sends_only_when_the_agent_confirms(console, browser):
    from playwright.sync_api import expect

    url, settings = console
    desk = HandoffDesk(settings)
    handoff, _ = desk.handoffs.create(
        HandoffRequest("cust-ui", "rest", "user_request", [{"role": "user", "text": "转人工"}])
    )
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    dialogs: list[str] = []
    answers = iter([False, True])  # the first warning is cancelled, the second confirmed

    def answer(dialog) -> None:
        dialogs.append(dialog.message)
        if next(answers):
            dialog.accept()
        else:
            dialog.dismiss()

    page.on("dialog", answer)
    try:
        page.goto(url + "/console/")
        page.get_by_test_id("login-name").fill(AGENT)
        page.get_by_test_id("login-password").fill(PASSWORD)
        page.get_by_test_id("login-submit").click()
        item = page.locator(f'[data-testid="queue-item"][data-handoff-id="{handoff.id}"]')
        item.click()
        page.get_by_test_id("claim").click()
        box = page.get_by_test_id("message-input")
        expect(box).to_be_enabled()
        box.fill("可以去博 彩网站充值")
        page.get_by_test_id("send").click()
        expect(page.locator("#action-note")).to_contain_text("回复里有敏感词 “博彩”（赌博）")
        assert dialogs and "确定仍要发送吗" in dialogs[0] and "“博彩”（赌博）" in dialogs[0]
        expect(box).to_have_value("可以去博 彩网站充值")  # kept for the agent to rewrite
        assert [e for e in desk.handoffs.events(handoff.id) if e["kind"] == "agent_message"] == []
        page.get_by_test_id("send").click()
        expect(box).to_have_value("")
        sent = wait_until(
            lambda: [e for e in desk.handoffs.events(handoff.id) if e["kind"] == "agent_message"], 15, "the reply"
        )
        assert sent[0]["text"] == "可以去博 彩网站充值" and len(dialogs) == 2
        # The 数据看板 counts both: held once, then confirmed.
        page.get_by_test_id("tab-kpis").click()
        table = page.get_by_test_id("kpi-sensitive")
        expect(table).to_contain_text("被拦下")
        expect(table).to_contain_text("确认后发出")
        assert errors == []
    finally:
        context.close()


def test_the_studio_hit_test_and_word_editor_show_the_list(console, browser):
    from playwright.sync_api import expect

    url, _ = console
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(url + "/console/")
        page.get_by_test_id("login-name").fill(AGENT)
        page.get_by_test_id("login-password").fill(PASSWORD)
        page.get_by_test_id("login-submit").click()
        page.get_by_test_id("tab-studio").click()
        expect(page.get_by_test_id("words-text")).to_have_value(LIST.rstrip("\n"))
        page.get_by_test_id("hit-q").fill("博 彩网站能充值吗")
        page.get_by_test_id("hit-run").click()
        expect(page.get_by_test_id("hit-sensitive")).to_contain_text("敏感词：“博彩”（赌博） → 转人工")
        page.get_by_test_id("words-text").fill(LIST + "网赌\n[允许]\n天气\n")
        expect(page.get_by_test_id("words-problems")).to_contain_text("不起作用")
        page.get_by_test_id("words-save").click()
        expect(page.get_by_test_id("words-status")).to_contain_text("修改 #")
        assert errors == []
    finally:
        context.close()
