"""转人工 end to end with every real part: the Rasa and action servers, the
agent console in headless Chromium (Playwright), a web-widget user on the real
socket.io channel and users on the REST channel. Tests run in file order and
share one conversation history; the servers are restarted once in the middle.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.handoff.handoffs import HandoffStore, handoff_answer_uses, handoff_events
from bot.handoff.tickets import TicketStore
from faqbot.config import PROJECT_ROOT, to_env
from tests.bot.conftest import MODELS_DIR, Chat, post
from tests.bot.widget_client import Widget
from tests.http import send
from tests.polling import wait_until
from tests.smtp import SmtpServer

pytestmark = pytest.mark.slow

HANDOFF = {"hours": "always", "presence_timeout": 30, "stranded_check_seconds": 1.0, "max_waiting_per_agent": 20}
AGENT, PASSWORD, DISPLAY = "li", "pass-word-123", "小李"
# A real SMTP server for the answers to 留言 (started by the ``smtp`` fixture).
SMTP = SmtpServer(Path(tempfile.mkdtemp(prefix="faqbot-smtp-")))
MAIL = {"smtp_url": SMTP.url(), "from_address": "客服中心 <support@example.com>", "ca_file": str(SMTP.cert)}


class Servers:
    """The bot's two servers, restartable; state survives in the data folder."""

    def __init__(self, settings) -> None:
        self.settings = settings
        self.bot = None

    def start(self) -> None:
        from bot.process.runner import start_bot

        self.bot = start_bot(
            self.settings, models_dir=MODELS_DIR, log_dir=self.settings.data_dir / "logs", say=lambda line: None
        )

    def restart(self) -> None:
        self.bot.stop()
        self.start()

    @property
    def url(self) -> str:
        return self.bot.rasa_url

    def rest(self, sender: str) -> Chat:
        return Chat(self.bot.rest_webhook, sender)

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        reply = send(self.url + path, headers=headers)
        return reply.status, reply.json()


@pytest.fixture(scope="module")
def servers(bot_settings):
    servers = Servers(bot_settings)
    servers.start()
    try:
        yield servers
    finally:
        servers.bot.stop()
        for name, path in servers.bot.logs.items():
            out = PROJECT_ROOT / "test-artifacts" / f"handoff-{name}.log"
            out.parent.mkdir(exist_ok=True)
            shutil.copy(path, out)


@pytest.fixture(scope="module", autouse=True)
def smtp():
    with SMTP as server:
        yield server


@pytest.fixture(scope="module")
def store(bot_settings) -> HandoffStore:
    return HandoffStore(bot_settings.database_url)


@pytest.fixture(scope="module")
def widget(servers):
    user = Widget(servers.url, "widget-handoff-1")
    yield user
    user.close()


@pytest.fixture(scope="module")
def console(servers, browser):
    """The agent's console page (signed in by the test that needs it first)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    yield page
    context.close()


def test_console_and_its_api_refuse_anyone_not_signed_in(servers):
    for path in (
        "/console/api/queue",
        "/console/api/me",
        "/console/api/kpis",
        "/console/api/stream",
        "/console/api/handoffs/x",
    ):
        status, body = servers.get(path)
        assert status == 401 and "not signed in" in body["error"], path
    assert servers.get("/console/api/queue", {"Cookie": "faqbot_console=forged"})[0] == 401
    assert servers.get("/console/api/queue", {"Authorization": "Bearer forged"})[0] == 401
    assert post(servers.url + "/console/api/handoffs/x/claim", {})[0] == 401
    assert post(servers.url + "/console/api/handoffs/x/messages", {"text": "hi"})[0] == 401
    status, body = post(servers.url + "/console/api/login", {"name": AGENT, "password": "guess"})
    assert status == 401 and body["error"] == "wrong account name or password"
    for _ in range(6):  # guessing is cut off per account name, after 5 failures
        status, body = post(servers.url + "/console/api/login", {"name": "mallory", "password": "guess"})
    assert status == 429 and "too many failed sign-ins" in body["error"]
    with urllib.request.urlopen(servers.url + "/console/", timeout=10) as page:  # the page itself is public
        assert page.status == 200 and "客服工作台" in page.read().decode()


def test_with_nobody_on_duty_the_bot_says_so_and_takes_a_message(servers, bot_settings):
    user = servers.rest("rest-offline")
    user.say("提现三天了还没到账怎么办")
    offer = user.say("转人工")
    assert "目前没有客服在线" in offer.text and "手机号或邮箱" in offer.text
    assert offer.payload("取消留言") == "取消留言"  # the way out is a button
    again = user.say("138 0013")  # a number too short: says what is missing, without blaming
    assert "没有识别出完整的手机号或邮箱" in again.text and "正确" not in again.text
    confirm = user.say("我的手机是 138-0013-8000")
    assert "好的，记下了您的联系方式：13800138000" in confirm.text  # what it understood
    assert "提现三天了还没到账怎么办" in confirm.text  # the last question is offered as the message
    done = user.say(confirm.payload("提交"))
    [ticket] = TicketStore(bot_settings.database_url).in_states()
    assert ticket.ticket in done.text and "13800138000" in done.text
    assert ticket.contact == "13800138000" and ticket.question == "提现三天了还没到账怎么办"
    assert ticket.why_offline == "no_agent"
    # The message is taken; the bot answers again.
    assert "手续费" in user.say("提现手续费是多少").text
    # Another customer leaves an e-mail address: the answer will be mailed, and the bot says so.
    mail_user = servers.rest("rest-mail")
    mail_user.say("发票怎么开")
    mail_user.say("转人工")
    confirm = mail_user.say("邮箱 kehu@example.cn")
    assert "kehu@example.cn" in confirm.text
    done = mail_user.say(confirm.payload("提交"))
    assert "也会发到邮箱 kehu@example.cn" in done.text


def test_an_agent_created_by_the_cli_signs_in_and_answers_the_message(servers, console, bot_settings):
    env = {**os.environ, **to_env(bot_settings)}
    done = subprocess.run(
        [sys.executable, "-m", "faqbot", "agent", "add", AGENT, "--display-name", DISPLAY, "--password-stdin"],
        input=PASSWORD + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    from playwright.sync_api import expect

    console.goto(servers.url + "/console/")
    console.get_by_test_id("login-name").fill(AGENT)
    console.get_by_test_id("login-password").fill("wrong-password")
    console.get_by_test_id("login-submit").click()
    expect(console.get_by_test_id("login-error")).to_contain_text("账号或密码错误")
    console.get_by_test_id("login-password").fill(PASSWORD)
    console.get_by_test_id("login-submit").click()
    expect(console.get_by_test_id("agent-name")).to_contain_text(DISPLAY)
    tickets = {t.conversation_id: t for t in TicketStore(bot_settings.database_url).in_states()}
    ticket = tickets["rest-offline"]
    item = console.locator(f'[data-testid="queue-tickets"] [data-ticket-id="{ticket.id}"]')
    expect(item).to_contain_text("13800138000")
    item.click()
    # The ticket keeps the conversation before it, and offers answers for its question.
    expect(console.get_by_test_id("ticket-transcript")).to_contain_text("提现三天了还没到账怎么办")
    suggestion = console.get_by_test_id("suggestion").first
    expect(suggestion).to_be_visible(timeout=15000)
    suggestion.get_by_test_id("suggestion-insert").click()
    expect(console.get_by_test_id("ticket-answer-input")).not_to_have_value("")
    console.get_by_test_id("ticket-answer-input").fill("已为您查询，提现已在处理中，请留意到账。")
    console.get_by_test_id("ticket-answer-send").click()
    expect(item).to_have_count(0)
    # The REST channel cannot push, and no SMS service is configured: the console says so.
    result = console.get_by_test_id("deliveries")
    expect(result.locator('[data-route="chat"]')).to_contain_text("未送达，已保存")
    expect(result.locator('[data-route="sms"]')).to_contain_text("未配置短信服务")
    status, polled = servers.get("/handoff/messages?sender=rest-offline")
    assert status == 200 and polled["tickets"][0]["answer"] == "已为您查询，提现已在处理中，请留意到账。"
    assert polled["tickets"][0]["shown"] is False and polled["tickets"][0]["agent"] == DISPLAY
    # The customer comes back: the bot first shows the answer, with the agent's name, once.
    back = servers.rest("rest-offline").say("你好")
    assert f"客服 {DISPLAY} 回复了您的留言（编号 {ticket.ticket}）" in back.texts[0]
    assert "已为您查询，提现已在处理中" in back.texts[0] and len(back.texts) > 1  # then the bot's own reply
    assert "回复了您的留言" not in servers.rest("rest-offline").say("谢谢").text
    # The e-mail customer's answer goes out by real SMTP, and the console shows it arrived.
    mailed = tickets["rest-mail"]
    answered = console.locator(f'[data-testid="queue-tickets"] [data-ticket-id="{mailed.id}"]')
    answered.click()
    console.get_by_test_id("ticket-answer-input").fill("电子发票可在订单详情页申请，1 个工作日内开出。")
    console.get_by_test_id("ticket-answer-send").click()
    expect(console.get_by_test_id("deliveries").locator('[data-route="email"]')).to_contain_text("已送达")
    [letter] = wait_until(lambda: SMTP.inbox.to("kehu@example.cn"), what="the answer e-mailed")
    assert letter["Subject"] == f"您的留言（编号 {mailed.ticket}）有回复了"
    body = letter.get_content()
    assert "电子发票可在订单详情页申请" in body and "发票怎么开" in body and DISPLAY in body
    # Answered tickets stay in the console, with how each route went.
    done_item = console.locator(f'[data-testid="queue-answered"] [data-ticket-id="{mailed.id}"]')
    done_item.click()
    expect(console.get_by_test_id("deliveries").locator('[data-route="email"]')).to_contain_text("已送达")
    # The widget of a customer who comes back shows it and says it did; it is not shown twice.
    status, polled = servers.get("/handoff/messages?sender=rest-mail")
    [waiting] = polled["tickets"]
    assert waiting["shown"] is False and waiting["text"].startswith(f"客服 {DISPLAY} 回复了您的留言")
    status, marked = post(servers.url + "/handoff/tickets/shown", {"sender": "rest-mail", "ticket": waiting["ticket"]})
    assert status == 200 and marked["marked"] is True
    assert servers.get("/handoff/messages?sender=rest-mail")[1]["tickets"][0]["shown"] is True
    assert post(servers.url + "/handoff/tickets/shown", {"sender": "rest-mail"})[0] == 400


def test_a_widget_user_is_handed_to_the_agent_who_replies_live(servers, console, widget, store):
    from playwright.sync_api import expect

    widget.say("提现手续费是多少")
    widget.expect("手续费")
    widget.say("转人工")
    widget.expect("已为您转接人工客服")
    handoff = store.open_for("widget-handoff-1")
    item = console.locator(f'[data-testid="queue-item"][data-handoff-id="{handoff.id}"]')
    expect(item).to_have_attribute("data-state", "waiting", timeout=15000)
    item.click()
    conversation = console.get_by_test_id("conversation")
    expect(conversation.locator('[data-testid="msg"][data-kind="transcript-user"]').first).to_contain_text(
        "提现手续费是多少"
    )
    # The buttons the bot offered are in the transcript, as their titles.
    options = conversation.locator('[data-kind="transcript-bot"] [data-testid="transcript-options"]').first
    expect(options).to_contain_text("有帮助")
    console.get_by_test_id("claim").click()
    widget.expect(f"客服 {DISPLAY} 已接入")
    console.get_by_test_id("message-input").fill("您好，我是小李，请问有什么可以帮您？")
    console.get_by_test_id("send").click()
    widget.expect("您好，我是小李")
    widget.say("我的提现三天还没到账")
    expect(conversation.locator('[data-testid="msg"][data-kind="user_message"]').last).to_contain_text(
        "我的提现三天还没到账", timeout=15000
    )
    assert widget.drain(2) == []  # the bot stays silent while the agent owns the conversation
    suggestion = console.get_by_test_id("suggestion").first
    expect(suggestion).to_be_visible(timeout=30000)
    suggestion.get_by_test_id("suggestion-insert").click()
    inserted = console.get_by_test_id("message-input").input_value()
    assert len(inserted) > 10
    console.get_by_test_id("send").click()
    widget.expect(inserted.split("\n\n")[0][:20])
    # The console said which suggested answer the agent sent: the studio learns the question from it.
    with store.engine.connect() as conn:
        used = conn.execute(
            sa.select(handoff_answer_uses.c.faq_id)
            .join(handoff_events, handoff_events.c.seq == handoff_answer_uses.c.seq)
            .where(handoff_events.c.handoff_id == handoff.id)
        ).scalars()
        assert list(used) == [suggestion.get_attribute("data-faq-id")]
    assert console.errors == []


def test_a_rest_user_reaches_the_agent_and_polls_the_replies(servers, console, store):
    from playwright.sync_api import expect

    user = servers.rest("rest-live")
    assert "已为您转接人工客服" in user.say("转人工").text
    handoff = store.open_for("rest-live")
    item = console.locator(f'[data-testid="queue-item"][data-handoff-id="{handoff.id}"]')
    expect(item).to_be_visible(timeout=15000)
    item.click()
    console.get_by_test_id("claim").click()
    console.get_by_test_id("message-input").fill("REST 用户您好，请讲。")
    console.get_by_test_id("send").click()
    assert user.say("还在吗").messages == []  # the bot is silent
    expect(
        console.get_by_test_id("conversation").locator('[data-testid="msg"][data-kind="user_message"]').last
    ).to_contain_text("还在吗", timeout=15000)
    status, polled = servers.get("/handoff/messages?sender=rest-live")
    texts = [m["text"] for m in polled["messages"]]
    assert status == 200 and f"客服 {DISPLAY} 已接入，正在为您服务。" in texts and "REST 用户您好，请讲。" in texts
    status, later = servers.get(f"/handoff/messages?sender=rest-live&after={polled['next']}")
    assert later["messages"] == []


def test_canned_replies_are_found_by_typing_a_slash(servers, console, store):
    from playwright.sync_api import expect

    console.get_by_test_id("canned-toggle").click()
    expect(console.get_by_test_id("canned-list")).to_contain_text("还没有快捷回复")
    console.get_by_test_id("canned-shortcut").fill("到账")
    console.get_by_test_id("canned-text").fill("提现一般 30 分钟内到账，高峰期可能延迟。")
    console.get_by_test_id("canned-team").check()
    console.get_by_test_id("canned-add").click()
    expect(console.locator('[data-testid="canned-item"][data-shortcut="到账"]')).to_contain_text("团队")
    console.get_by_test_id("canned-shortcut").fill("到账")  # taken: said plainly
    console.get_by_test_id("canned-text").fill("重复")
    console.get_by_test_id("canned-team").check()
    console.get_by_test_id("canned-add").click()
    expect(console.locator("#canned-error")).to_contain_text("快捷词 /到账 已被使用")
    console.get_by_test_id("canned-toggle").click()
    box = console.get_by_test_id("message-input")
    box.fill("")
    box.press_sequentially("/到")
    expect(console.get_by_test_id("canned-option")).to_have_count(1)
    box.press("Enter")  # picks the reply; does not send
    expect(box).to_have_value("提现一般 30 分钟内到账，高峰期可能延迟。")
    handoff = store.open_for("rest-live")
    assert not [e for e in store.events(handoff.id) if e["text"] == "/到"]
    box.press("Enter")  # now it sends
    expect(
        console.get_by_test_id("conversation").locator('[data-testid="msg"][data-kind="agent_message"]').last
    ).to_contain_text("提现一般 30 分钟内到账", timeout=15000)


def test_the_console_draws_replies_as_the_widget_does_and_keeps_links_safe(servers, console, store):
    from playwright.sync_api import expect

    # The agent's reply in the open conversation (rest-live): Markdown, as the customer's widget shows it.
    console.get_by_test_id("message-input").fill(
        "请按以下步骤操作：\n\n1. 打开 **提现记录**\n2. 点 [详情](javascript:alert(1)) 或看 [费率说明](https://help.example.com/fees)"
    )
    console.get_by_test_id("send").click()
    reply = console.get_by_test_id("conversation").locator('[data-testid="msg"][data-kind="agent_message"]').last
    expect(reply.locator("strong")).to_have_text("提现记录", timeout=15000)
    expect(reply.locator("ol li")).to_have_count(2)
    expect(reply.locator("a")).to_have_count(1)  # the javascript: link stays text
    expect(reply.locator("a")).to_have_attribute("href", "https://help.example.com/fees")
    expect(reply.locator("a")).to_have_attribute("rel", "noopener noreferrer")
    expect(reply).to_contain_text("详情 (javascript:alert(1))")
    assert "**" not in reply.inner_text()
    assert console.errors == []


# Headless Chromium shows no desktop notifications and its pages always have the focus. The
# alerted console records what it asks the Notification API for and its beeps, and has a switch
# for the agent's attention: window.__away(true) is another window in front; window.focus(), what
# a click on a notification does, brings the console back.
ALERT_SPY = """
(() => {
  window.__notes = [];
  window.__shown = [];
  window.__beeps = 0;
  const Real = window.Notification;
  if (Real) {
    window.Notification = class extends Real {
      constructor(title, options = {}) {
        super(title, options);
        window.__notes.push({ title, body: options.body || "", tag: options.tag || "" });
        window.__shown.push(this);
      }
    };
  }
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (...args) { window.__beeps += 1; return start.apply(this, args); };
  let away = false;
  Document.prototype.hasFocus = function () { return !away; };
  window.__away = (value) => { away = value; window.dispatchEvent(new Event(value ? "blur" : "focus")); };
  window.focus = () => window.__away(false);
})();
"""


def test_the_console_alerts_the_agent_to_new_chats_messages_and_notes_only(servers, browser, store, bot_settings):
    from playwright.sync_api import expect

    early = servers.rest("rest-alert-early")
    assert "已为您转接人工客服" in early.say("转人工").text  # waiting before the page opens: not news
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.grant_permissions(["notifications"], origin=servers.url)
    context.add_init_script(ALERT_SPY)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def notes() -> list[dict[str, str]]:
        return page.evaluate("window.__notes")

    try:
        page.goto(servers.url + "/console/")
        page.get_by_test_id("login-name").fill(AGENT)
        page.get_by_test_id("login-password").fill(PASSWORD)
        page.get_by_test_id("login-submit").click()
        expect(page.get_by_test_id("agent-name")).to_contain_text(DISPLAY)
        queued = page.locator(f'[data-testid="queue-item"][data-handoff-id="{store.open_for("rest-alert-early").id}"]')
        expect(queued).to_be_visible(timeout=15000)
        expect(page).to_have_title("客服工作台")
        # Desktop notifications are the agent's choice, asked for by the button and remembered.
        sound, desktop = page.get_by_test_id("alert-sound"), page.get_by_test_id("alert-desktop")
        expect(sound).to_have_attribute("aria-pressed", "true")
        expect(desktop).to_have_attribute("aria-pressed", "false")
        desktop.click()
        expect(desktop).to_have_attribute("aria-pressed", "true")
        expect(desktop).to_have_text("桌面通知：开")
        assert page.evaluate("JSON.parse(localStorage.getItem('faqbot-console:alerts'))") == {
            "sound": True,
            "desktop": True,
        }

        # The agent is in another window when a customer asks for a person: a count, a beep, a notification.
        page.evaluate("window.__away(true)")
        user = servers.rest("rest-alert")
        user.say("提现手续费是多少")
        assert "已为您转接人工客服" in user.say("转人工").text
        handoff = store.open_for("rest-alert")
        expect(page).to_have_title("(1) 客服工作台", timeout=15000)
        wait_until(lambda: len(notes()) >= 1, what="a desktop notification")
        [note] = notes()
        assert note["title"] == "新的转人工会话" and handoff.ticket in note["body"]
        assert note["tag"] == f"faqbot-handoff:{handoff.id}"
        assert page.evaluate("window.__beeps") >= 1
        # Back at the console the count stays until the agent opens the conversation.
        page.evaluate("window.__away(false)")
        item = page.locator(f'[data-testid="queue-item"][data-handoff-id="{handoff.id}"]')
        item.click()
        expect(page).to_have_title("客服工作台")
        # Its transcript shows the bot's answer as the widget showed it: bold, a list, a link.
        bot = page.get_by_test_id("conversation").locator('[data-testid="msg"][data-kind="transcript-bot"]')
        expect(bot.locator("strong").first).to_have_text("每笔固定数量")
        expect(bot.locator("ul li")).to_have_count(3)
        expect(bot.locator('a[href="https://help.example.com/fees"]')).to_have_text("费率说明")
        assert "**" not in page.get_by_test_id("conversation").inner_text()

        # The agent's own actions (claim, reply) alert nobody; the customer's answer to them does.
        page.get_by_test_id("claim").click()
        expect(page.get_by_test_id("message-input")).to_be_enabled(timeout=15000)
        page.get_by_test_id("message-input").fill("您好，我是小李，请讲。")
        page.get_by_test_id("send").click()
        conversation = page.get_by_test_id("conversation")
        expect(conversation.locator('[data-kind="agent_message"]').last).to_contain_text("请讲", timeout=15000)
        page.evaluate("window.__away(true)")
        beeps = page.evaluate("window.__beeps")
        assert user.say("手续费能 **便宜点** 吗 [x](https://example.com)").messages == []
        expect(page).to_have_title("(1) 客服工作台", timeout=15000)
        wait_until(lambda: len(notes()) >= 2, what="a second notification")
        assert [n["title"] for n in notes()] == ["新的转人工会话", "用户发来新消息"]
        assert "手续费能 **便宜点** 吗" in notes()[1]["body"] and handoff.ticket in notes()[1]["body"]
        wait_until(lambda: page.evaluate("window.__beeps") > beeps, what="a beep")
        # Coming back to the page with that conversation open reads it; the customer's words stay plain text.
        page.evaluate("window.__away(false)")
        expect(page).to_have_title("客服工作台")
        said = conversation.locator('[data-kind="user_message"]').last
        expect(said).to_contain_text("手续费能 **便宜点** 吗 [x](https://example.com)")
        assert said.locator("strong, a").count() == 0

        # With another conversation open, a click on the notification brings the agent to this one.
        queued.click()
        expect(queued).to_have_class(re.compile(r"\bselected\b"))
        page.evaluate("window.__away(true)")
        assert user.say("在吗").messages == []
        wait_until(lambda: len(notes()) >= 3, what="a third notification")
        expect(page).to_have_title("(1) 客服工作台")
        page.evaluate("window.__shown[2].dispatchEvent(new Event('click'))")
        expect(item).to_have_class(re.compile(r"\bselected\b"))
        expect(page).to_have_title("客服工作台")
        assert page.evaluate("document.hasFocus()")

        # A 留言 alerts too: the agent steps away, a customer leaves a message.
        page.get_by_test_id("agent-status").select_option("away")
        expect(page.locator("#online")).to_contain_text("可接待客服：0")
        page.evaluate("window.__away(true)")
        writer = servers.rest("rest-alert-ticket")
        writer.say("提现三天了还没到账怎么办")
        assert "手机号或邮箱" in writer.say("转人工").text
        confirm = writer.say("我的手机是 139-0013-9000")
        assert "留言已提交" in writer.say(confirm.payload("提交")).text
        [ticket] = [
            t for t in TicketStore(bot_settings.database_url).in_states() if t.conversation_id == "rest-alert-ticket"
        ]
        wait_until(lambda: len(notes()) >= 4, what="a fourth notification")
        assert notes()[3]["title"] == "新的留言" and ticket.ticket in notes()[3]["body"]
        expect(page).to_have_title("(1) 客服工作台")
        page.evaluate("window.__away(false)")
        page.get_by_test_id("agent-status").select_option("online")
        expect(page.locator("#online")).to_contain_text("可接待客服：1")
        page.locator(f'[data-testid="queue-tickets"] [data-ticket-id="{ticket.id}"]').click()
        expect(page).to_have_title("客服工作台")
        # The agent answers it (no alert for that either); the answer shows as the customer will see it.
        page.get_by_test_id("ticket-answer-input").fill(
            "**已处理**：到账进度见 [提现记录](https://help.example.com/fees)。"
        )
        page.get_by_test_id("ticket-answer-send").click()
        expect(page.get_by_test_id("answer-result")).to_be_visible(timeout=15000)
        page.locator(f'[data-testid="queue-answered"] [data-ticket-id="{ticket.id}"]').click()
        expect(page.locator(".ticket-card strong")).to_have_text("已处理")
        expect(page.locator('.ticket-card a[href="https://help.example.com/fees"]')).to_have_text("提现记录")
        # Nothing the agent did alerted: four notifications, each for a customer's news.
        assert len(notes()) == 4 and errors == []
        expect(page).to_have_title("客服工作台")
    finally:
        context.close()
        token = post(servers.url + "/console/api/login", {"name": AGENT, "password": PASSWORD})[1]["token"]
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        for customer in ("rest-alert-early", "rest-alert"):
            left = store.open_for(customer)
            if left is not None:
                send(f"{servers.url}/console/api/handoffs/{left.id}/close", b"{}", auth)


def test_the_alert_toggles_are_remembered_and_a_browser_refusal_is_shown(servers, browser):
    from playwright.sync_api import expect

    context = browser.new_context()  # notifications not granted: the browser refuses when asked
    page = context.new_page()
    try:
        page.goto(servers.url + "/console/")
        page.get_by_test_id("login-name").fill(AGENT)
        page.get_by_test_id("login-password").fill(PASSWORD)
        page.get_by_test_id("login-submit").click()
        expect(page.get_by_test_id("agent-name")).to_contain_text(DISPLAY)
        sound, desktop = page.get_by_test_id("alert-sound"), page.get_by_test_id("alert-desktop")
        sound.click()
        expect(sound).to_have_attribute("aria-pressed", "false")
        expect(sound).to_have_text("声音提醒：关")
        desktop.click()
        expect(desktop).to_have_text("桌面通知已被浏览器禁止")
        expect(desktop).to_have_attribute("aria-pressed", "false")
        expect(page.locator("#action-note")).to_contain_text("浏览器已禁止本站的桌面通知")
        page.reload()
        expect(page.get_by_test_id("agent-name")).to_contain_text(DISPLAY)
        expect(sound).to_have_attribute("aria-pressed", "false")
        expect(desktop).to_have_text("桌面通知已被浏览器禁止")
        expect(desktop).to_have_attribute("title", re.compile("网站设置中允许"))
    finally:
        context.close()


def test_a_restart_in_the_middle_loses_nothing(servers, console, widget, store):
    from playwright.sync_api import expect

    widget.forget_session()
    servers.restart()
    widget.wait_rejoined()
    user = servers.rest("rest-live")
    assert user.say("重启后的消息").messages == []  # still the agent's: the bot stays silent
    widget.say("重启后 widget 的消息")
    conversation = console.get_by_test_id("conversation")
    # The console's live feed reconnects by itself and resumes from the last event it saw.
    expect(conversation.locator('[data-testid="msg"][data-kind="user_message"]').last).to_contain_text(
        "重启后的消息", timeout=30000
    )
    rest_handoff = store.open_for("rest-live")
    kinds_and_texts = [(e["kind"], e["text"]) for e in store.events(rest_handoff.id)]
    assert [t for k, t in kinds_and_texts if k == "user_message"] == ["还在吗", "重启后的消息"]
    widget_handoff = store.open_for("widget-handoff-1")
    console.locator(f'[data-testid="queue-item"][data-handoff-id="{widget_handoff.id}"]').click()
    expect(conversation.locator('[data-testid="msg"][data-kind="user_message"]').last).to_contain_text(
        "重启后 widget 的消息", timeout=15000
    )
    console.get_by_test_id("message-input").fill("重启后客服的回复")
    console.get_by_test_id("send").click()
    widget.expect("重启后客服的回复")
    users = [e["text"] for e in store.events(widget_handoff.id) if e["kind"] == "user_message"]
    assert users == ["我的提现三天还没到账", "重启后 widget 的消息"]


def test_the_agent_closes_and_the_bot_answers_again(servers, console, widget, store):
    from playwright.sync_api import expect

    handoff = store.open_for("widget-handoff-1")
    console.get_by_test_id("note-input").fill("用户提现延迟，已查链上记录")
    console.get_by_test_id("note-add").click()
    expect(
        console.get_by_test_id("conversation").locator('[data-testid="msg"][data-kind="note"]').last
    ).to_contain_text("已查链上记录", timeout=15000)
    console.get_by_test_id("close").click()  # asks first: nothing is closed yet
    expect(console.get_by_test_id("close-dialog")).to_be_visible()
    assert store.get(handoff.id).state == "with_agent"
    console.get_by_test_id("close-reason").select_option("resolved")
    console.get_by_test_id("close-tags").fill("提现, 链上延迟")
    console.get_by_test_id("close-confirm").click()
    expect(console.get_by_test_id("conversation").locator('[data-testid="msg"][data-kind="wrapup"]')).to_contain_text(
        "结束原因：问题已解决 · 标签：提现、链上延迟", timeout=15000
    )
    closing = widget.expect("人工服务已结束")
    assert [b["title"] for b in closing["quick_replies"]] == ["满意", "不满意"]
    assert "已查链上记录" not in json.dumps(closing, ensure_ascii=False)  # notes never reach the user
    widget.say(closing["quick_replies"][0]["payload"])
    widget.expect("感谢您的评价")
    assert store.get(handoff.id).state == "closed"
    assert [e["text"] for e in store.events(handoff.id) if e["kind"] == "rating"] == ["good"]
    [wrapup] = [json.loads(e["text"]) for e in store.events(handoff.id) if e["kind"] == "wrapup"]
    assert wrapup == {"reason": "resolved", "tags": ["提现", "链上延迟"]}
    widget.say("提现手续费是多少")
    widget.expect("手续费")  # the bot is back
    from playwright.sync_api import expect as expect_

    console.get_by_test_id("tab-kpis").click()
    expect_(console.get_by_test_id("kpi-chart").first).to_be_visible(timeout=15000)
    rating = console.locator('[data-testid="kpi-card"][data-kpi="service_rating"]')
    expect_(rating).to_contain_text("100.0%")  # one rating, satisfied
    expect_(rating).to_have_attribute("title", re.compile("满意"))  # each card says how it is counted
    # The manager's numbers add up and the export carries the same ones.
    report = console.request.get(servers.url + "/console/api/kpis?days=14").json()
    totals = report["totals"]
    assert sum(totals["outcomes"].values()) == totals["conversations"] > 0
    assert sum(totals["handoffs_by_reason"].values()) == round(totals["handoff_rate"] * totals["conversations"])
    conversations = console.locator('[data-testid="kpi-card"][data-kpi="conversations"] .value')
    expect_(conversations).to_have_text(str(totals["conversations"]))
    with console.expect_download() as download:
        console.get_by_test_id("export-csv-day").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    header, total = rows[0], rows[-1]
    assert total[0] == "合计" and int(total[header.index("会话数")]) == totals["conversations"]
    assert int(total[header.index("转人工")]) == totals["outcomes"]["handed_off"]
    assert sum(int(day[header.index("会话数")]) for day in rows[1:-1]) == totals["conversations"]
    with console.expect_download() as download:
        console.get_by_test_id("export-xlsx").click()
    assert Path(download.value.path()).read_bytes()[:2] == b"PK"
    assert console.errors == []


def test_the_agent_finds_a_closed_conversation_and_a_message_in_the_history(servers, console, widget, store):
    from playwright.sync_api import expect

    closed = store.last_closed_for("widget-handoff-1")
    console.get_by_test_id("tab-history").click()
    console.get_by_test_id("history-q").fill("链上记录")  # a word of the closed conversation's note
    console.get_by_test_id("history-search").click()
    hit = console.locator(f'[data-testid="history-item"][data-id="{closed.id}"]')
    expect(hit).to_contain_text("已结束")
    expect(hit).to_contain_text("链上记录")
    hit.click()
    expect(console.get_by_test_id("tab-chat")).to_have_attribute("aria-selected", "true")
    conversation = console.get_by_test_id("conversation")
    expect(conversation.locator('[data-kind="note"]')).to_contain_text("已查链上记录", timeout=15000)
    expect(console.get_by_test_id("message-input")).to_be_disabled()  # closed: read only
    # Reopened from the history: a new conversation, already the agent's; the customer is told.
    console.get_by_test_id("reopen").click()
    expect(console.get_by_test_id("message-input")).to_be_enabled()
    widget.expect(f"客服 {DISPLAY} 重新打开了之前的对话")
    console.get_by_test_id("message-input").fill("您好，提现已经到账了吗？")
    console.get_by_test_id("send").click()
    widget.expect("提现已经到账了吗")
    console.get_by_test_id("close").click()
    console.get_by_test_id("close-confirm").click()
    widget.expect("人工服务已结束")
    # What the search finds downloads as a table, the same filters applied.
    console.get_by_test_id("tab-history").click()
    with console.expect_download() as download:
        console.get_by_test_id("history-export-csv").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert rows[0][:3] == ["类型", "编号", "用户"] and [r[1] for r in rows[1:]] == [closed.ticket]
    assert rows[1][rows[0].index("结束原因")] == "问题已解决" and rows[1][rows[0].index("标签")] == "提现、链上延迟"
    console.get_by_test_id("tab-chat").click()
    # A 留言 is found by its question, with its answer and how it was delivered.
    console.get_by_test_id("tab-history").click()
    console.get_by_test_id("history-q").fill("发票怎么开")
    console.get_by_test_id("history-search").click()
    ticket = console.locator('[data-testid="history-item"][data-type="ticket"]')
    expect(ticket).to_have_count(1)
    ticket.click()
    expect(conversation).to_contain_text("电子发票可在订单详情页申请")
    expect(console.get_by_test_id("deliveries").locator('[data-route="email"]')).to_contain_text("已送达")
    expect(console.get_by_test_id("ticket-controls")).to_be_hidden()
    # Nothing found is said plainly.
    console.get_by_test_id("tab-history").click()
    console.get_by_test_id("history-q").fill("这句话从没出现过")
    console.get_by_test_id("history-search").click()
    expect(console.get_by_test_id("history-results")).to_contain_text("没有找到符合条件的会话或留言")
    console.get_by_test_id("tab-chat").click()
    assert console.errors == []


def test_an_agent_who_is_away_gets_no_new_chats_and_the_chat_limit_holds(servers, console, store, bot_settings):
    from playwright.sync_api import expect

    console.get_by_test_id("agent-status").select_option("away")
    expect(console.locator("#online")).to_contain_text("可接待客服：0")
    away = servers.rest("rest-away").say("转人工")
    assert "手机号或邮箱" in away.text and store.open_for("rest-away") is None  # a 留言, not a queue nobody serves
    assert "取消" in servers.rest("rest-away").say("取消留言").text
    console.get_by_test_id("agent-status").select_option("online")
    expect(console.locator("#online")).to_contain_text("可接待客服：1")
    # The limit: with max_chats_per_agent conversations open, claiming one more is refused plainly.
    limit = bot_settings.handoff.max_chats_per_agent
    token = post(servers.url + "/console/api/login", {"name": AGENT, "password": PASSWORD})[1]["token"]
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    opened = []
    for n in range(limit + 1):
        user = servers.rest(f"rest-limit-{n}")
        assert "已为您转接人工客服" in user.say("转人工").text
        opened.append(store.open_for(f"rest-limit-{n}"))
    mine = [h for h in store.in_states(("with_agent",)) if h.agent == AGENT]
    for handoff in opened[: limit - len(mine)]:
        reply = send(f"{servers.url}/console/api/handoffs/{handoff.id}/claim", b"{}", auth)
        assert reply.status == 200, reply.json()
    refused = send(f"{servers.url}/console/api/handoffs/{opened[-1].id}/claim", b"{}", auth)
    assert refused.status == 409 and f"the limit is {limit}" in refused.json()["error"]
    for handoff in store.in_states(("with_agent", "waiting")):
        if handoff.conversation_id.startswith("rest-limit-"):
            send(f"{servers.url}/console/api/handoffs/{handoff.id}/close", b"{}", auth)
    assert console.errors == []


def test_a_user_left_waiting_when_the_last_agent_signs_off_is_offered_a_message(servers, console, store):
    user = servers.rest("rest-stranded")
    assert "已为您转接人工客服" in user.say("转人工").text
    user.say("我的提现三天没到账")  # waiting, with a question
    console.get_by_test_id("logout").click()  # the only agent leaves

    def released() -> list[str]:
        _, polled = servers.get("/handoff/messages?sender=rest-stranded")
        return [m["text"] for m in polled["messages"] if "现在没有客服可以接待您了" in m["text"]]

    wait_until(released, timeout=30, what="the waiting user told that nobody is left")  # checked every second
    assert store.open_for("rest-stranded") is None
    assert "我的提现三天没到账" in user.say("me@example.com").text  # the message flow, question as default
    assert "留言已提交" in user.say("是").text


def test_a_waiting_user_learns_quickly_when_the_last_agent_closes_the_console_tab(
    servers, browser, store, bot_settings
):
    from playwright.sync_api import expect

    from bot.handoff.agents import AgentStore

    context = browser.new_context()
    tab = context.new_page()
    tab.goto(servers.url + "/console/")
    tab.get_by_test_id("login-name").fill(AGENT)
    tab.get_by_test_id("login-password").fill(PASSWORD)
    tab.get_by_test_id("login-submit").click()
    expect(tab.get_by_test_id("agent-name")).to_contain_text(DISPLAY)
    agents = AgentStore(bot_settings.database_url)
    wait_until(lambda: agents.online(30), timeout=30, what="the console's stream counting the agent present")
    user = servers.rest("rest-tab-closed")
    assert "已为您转接人工客服" in user.say("转人工").text
    context.close()  # the tab is gone, without signing out

    def released() -> bool:
        _, polled = servers.get("/handoff/messages?sender=rest-tab-closed")
        return any("现在没有客服可以接待您了" in m["text"] for m in polled["messages"])

    # Well before presence_timeout (30 s) would count the agent as gone: the closed stream said so.
    wait_until(released, timeout=25, what="the waiting user told that nobody is left")
    assert store.open_for("rest-tab-closed") is None


@pytest.fixture(scope="module")
def kb_answer(bot_settings):
    from indexer.kb import load_kb

    entries = {e.id: e for e in load_kb(bot_settings.kb_dir).entries}
    return lambda faq_id: entries[faq_id].answer.strip()


# Runs last: the only agent has signed off, so requests for a person take a message.
def test_leaving_a_message_never_traps_the_customer(servers, bot_settings, kb_answer):
    tickets = TicketStore(bot_settings.database_url)
    user = servers.rest("rest-escape")
    user.say("转人工")
    assert tickets.draft_for("rest-escape") is not None
    answered = user.say("提现手续费是多少")  # a question instead of a contact: answered, the 留言 left
    assert kb_answer("ex-withdraw-fee") in answered.texts
    assert tickets.draft_for("rest-escape") is None
    [escaped] = [t for t in tickets.in_states(("escaped",)) if t.conversation_id == "rest-escape"]
    assert escaped.question is None
    # Twice a number that is not a contact: asked again once, then skipping is offered.
    user.say("转人工")
    assert "没有识别出" in user.say("12345").text
    skip = user.say("1234567")
    assert "不留联系方式" in skip.text and skip.payload("不留联系方式") == "不留联系方式"
    asked = user.say("不留联系方式")
    assert "不留联系方式" in asked.text and "提现手续费是多少" in asked.text
    done = user.say("我想问提现手续费能不能减免")  # a new description replaces the carried question
    assert "留言已提交" in done.text and "发到这个对话里" in done.text
    [ticket] = [t for t in tickets.in_states() if t.conversation_id == "rest-escape"]
    assert ticket.contact is None and ticket.question == "我想问提现手续费能不能减免"


def sign_in(page, url: str, name: str, password: str, display: str) -> None:
    from playwright.sync_api import expect

    page.goto(url + "/console/")
    page.get_by_test_id("login-name").fill(name)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("agent-name")).to_contain_text(display)


# Runs after the 留言 tests: signs agents in again.
def test_an_admin_adds_a_colleague_and_a_group_and_a_chat_is_transferred_between_them(
    servers, console, browser, store, bot_settings
):
    from playwright.sync_api import expect

    from bot.handoff.agents import AgentStore

    # The first account (made by the CLI) is an admin: the 管理 tab adds a colleague and a group.
    sign_in(console, servers.url, AGENT, PASSWORD, DISPLAY)
    console.get_by_test_id("tab-admin").click()
    console.get_by_test_id("admin-agent-name").fill("wang")
    console.get_by_test_id("admin-agent-display").fill("小王")
    console.get_by_test_id("admin-agent-password").fill("wang-pass-123")
    console.get_by_test_id("admin-agent-add").click()
    row = console.locator('[data-testid="admin-agent"][data-name="wang"]')
    expect(row).to_contain_text("小王")
    expect(row.get_by_test_id("admin-role")).to_have_value("agent")
    console.get_by_test_id("admin-group-name").fill("英文服务")
    console.get_by_test_id("admin-group-members").select_option(["wang"])
    console.get_by_test_id("admin-group-save").click()
    expect(console.get_by_test_id("admin-note")).to_contain_text("技能组「英文服务」已保存")
    expect(console.locator('[data-testid="admin-group"][data-group="英文服务"]')).to_contain_text("小王")
    expect(row).to_contain_text("英文服务")
    console.get_by_test_id("tab-chat").click()

    # 小王 signs in in another browser: an agent has no 管理 tab, and its API refuses them.
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    wang = context.new_page()
    sign_in(wang, servers.url, "wang", "wang-pass-123", "小王")
    expect(wang.get_by_test_id("tab-admin")).to_be_hidden()
    token = post(servers.url + "/console/api/login", {"name": "wang", "password": "wang-pass-123"})[1]["token"]
    refused = send(servers.url + "/console/api/admin/agents", headers={"Authorization": f"Bearer {token}"})
    assert refused.status == 403
    lead = post(servers.url + "/console/api/login", {"name": AGENT, "password": PASSWORD})[1]["token"]
    lead_auth = {"Authorization": f"Bearer {lead}", "Content-Type": "application/json"}
    demoted = send(servers.url + "/console/api/admin/agents/li", json.dumps({"role": "agent"}).encode(), lead_auth)
    assert demoted.status == 400 and "last admin" in demoted.json()["error"]
    agents = AgentStore(bot_settings.database_url)
    wait_until(lambda: len(agents.available(30)) == 2, timeout=30, what="both agents taking chats")

    # 小李 takes a chat and transfers it to 小王 with a note; the customer is told who has it now.
    user = servers.rest("rest-transfer")
    assert "已为您转接人工客服" in user.say("转人工").text
    handoff = store.open_for("rest-transfer")
    item = console.locator(f'[data-testid="queue-item"][data-handoff-id="{handoff.id}"]')
    item.click()
    console.get_by_test_id("claim").click()
    expect(console.get_by_test_id("transfer")).to_be_visible()
    bad = send(f"{servers.url}/console/api/handoffs/{handoff.id}/transfer", b'{"group": "x"}', lead_auth)
    assert bad.status == 400 and "group id" in bad.json()["error"]
    console.get_by_test_id("transfer").click()
    console.get_by_test_id("transfer-target").select_option("agent:wang")
    console.get_by_test_id("transfer-note").fill("用户要英文服务")
    console.get_by_test_id("transfer-confirm").click()
    expect(console.get_by_test_id("message-input")).to_be_disabled()
    expect(console.get_by_test_id("conversation")).to_contain_text("转接给 客服 小王")
    theirs = wang.locator(f'[data-testid="queue-active"] [data-handoff-id="{handoff.id}"]')
    expect(theirs).to_contain_text("我在处理", timeout=15000)
    theirs.click()
    expect(wang.get_by_test_id("conversation")).to_contain_text("用户要英文服务")
    wang.get_by_test_id("message-input").fill("Hello, this is Wang.")
    wang.get_by_test_id("send").click()

    def customer_texts() -> list[str] | None:
        _, polled = servers.get("/handoff/messages?sender=rest-transfer")
        texts = [m["text"] for m in polled["messages"]]
        return texts if texts and texts[-1] == "Hello, this is Wang." else None

    texts = wait_until(customer_texts, what="小王's message reaching the customer")
    assert "已为您转接到客服 小王，由 TA 继续为您服务。" in texts

    # 小王 sends it on to the group: back in the queue for its members, shown with the group.
    wang.get_by_test_id("transfer").click()
    expect(wang.locator('#transfer-target option[value^="group:"]')).to_be_disabled()  # nobody else in it
    wang.get_by_test_id("transfer-cancel").click()
    console.get_by_test_id("tab-admin").click()  # the admin routes the REST channel to the group
    console.locator('[data-testid="admin-group"][data-group="英文服务"]').get_by_test_id("admin-group-edit").click()
    expect(console.get_by_test_id("admin-group-members")).to_have_values(["wang"])
    console.get_by_test_id("admin-group-channels").select_option(["rest"])
    console.get_by_test_id("admin-group-save").click()
    expect(console.locator('[data-testid="admin-group"][data-group="英文服务"]')).to_contain_text("REST")
    console.get_by_test_id("tab-chat").click()
    routed = servers.rest("rest-routed")
    assert "已为您转接人工客服" in routed.say("转人工").text
    waiting = store.open_for("rest-routed")
    tagged = wang.locator(f'[data-testid="queue-waiting"] [data-handoff-id="{waiting.id}"]')
    expect(tagged.get_by_test_id("queue-group")).to_contain_text("英文服务", timeout=15000)
    tagged.click()
    wang.get_by_test_id("claim").click()
    expect(wang.get_by_test_id("message-input")).to_be_enabled()
    assert store.get(waiting.id).agent == "wang"
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for done in (handoff, waiting):
        send(f"{servers.url}/console/api/handoffs/{done.id}/close", b"{}", auth)
    context.close()


def test_a_wechat_message_past_the_48_hours_says_so_before_and_after_answering(servers, console, bot_settings):
    from datetime import UTC, datetime, timedelta

    from playwright.sync_api import expect

    from bot.handoff.records import Records

    tickets = TicketStore(bot_settings.database_url)
    at = datetime.now(UTC) - timedelta(hours=50)
    turn = {"at": at, "conversation_id": "oWechatOld", "channel": "wechat", "handled_by": "bot", "reply_ms": None}
    Records(bot_settings.database_url).log_turns([turn])
    ticket = tickets.submit(tickets.start("oWechatOld", "wechat", "user_request", "closed", None).id, "怎么解冻")
    item = console.locator(f'[data-testid="queue-tickets"] [data-ticket-id="{ticket.id}"]')
    item.click()
    expect(console.get_by_test_id("ticket-window")).to_contain_text("已超过微信公众号客服消息 48 小时回复窗口")
    console.get_by_test_id("ticket-answer-input").fill("请在 App 安全中心提交解冻申请。")
    console.get_by_test_id("ticket-answer-send").click()
    chat = console.get_by_test_id("deliveries").locator('[data-route="chat"]')
    expect(chat).to_contain_text("平台不允许主动发送")
    assert console.errors == []


def test_an_editor_sees_why_the_bot_answers_a_question_and_an_agent_cannot(servers, browser, bot_settings):
    from playwright.sync_api import expect

    from bot.handoff.agents import AgentStore
    from bot.handoff.records import Records
    from bot.handoff.teams import Teams

    AgentStore(bot_settings.database_url).add("zhou", "zhou-pass-123", "小周")
    Teams(bot_settings.database_url).set_role("zhou", "editor")
    Records(bot_settings.database_url).log_feedback("rest-health", "rest", "ex-withdraw-fee", False, "手续费太贵")
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    sign_in(page, servers.url, "zhou", "zhou-pass-123", "小周")
    expect(page.get_by_test_id("tab-admin")).to_be_hidden()
    page.get_by_test_id("tab-studio").click()
    # The answers customers said did not help come first.
    review = page.locator('[data-testid="review-row"][data-faq="ex-withdraw-fee"]')
    expect(review).to_contain_text("提现手续费")
    page.get_by_test_id("hit-q").fill("提现的手续费怎么收")
    page.get_by_test_id("hit-run").click()
    expect(page.get_by_test_id("hit-decision")).to_contain_text("机器人会：直接回答")
    first = page.get_by_test_id("hit-row").first
    expect(first).to_have_attribute("data-faq", "ex-withdraw-fee")
    expect(first).to_contain_text("手续费")  # the words it shares with the question
    assert page.get_by_test_id("hit-row").count() >= 3
    expect(page.get_by_test_id("hit-decision")).to_contain_text("按本知识库拟合的模型")
    expect(first.get_by_test_id("hit-coverage")).to_have_text(re.compile(r"^\d+\.\d%$"))
    expect(page.get_by_test_id("hit-synonyms")).to_be_hidden()
    page.get_by_test_id("hit-q").fill("提币的手续费怎么收")  # synonyms.txt: 提现 = 提币
    page.get_by_test_id("hit-run").click()
    expect(page.get_by_test_id("hit-synonyms")).to_have_text("同义词：提币 → 提现")
    page.get_by_test_id("hit-q").fill("今天比特币的价格是多少")
    page.get_by_test_id("hit-run").click()
    expect(page.get_by_test_id("hit-decision")).not_to_contain_text("机器人会：直接回答")
    expect(page.get_by_test_id("hit-novelty")).to_contain_text("知识库没见过的内容")
    context.close()
    # 猜你想问 suggestions: what customers were answered with next, for editors only.
    records = Records(bot_settings.database_url)
    for conversation in ("rest-next-1", "rest-next-2"):
        records.log_outcome(conversation, "rest", "answer", "ex-withdraw-limit")
        records.log_outcome(conversation, "rest", "answer", "ex-withdraw-fee")
    editor = post(servers.url + "/console/api/login", {"name": "zhou", "password": "zhou-pass-123"})[1]["token"]
    suggested = send(
        servers.url + "/console/api/studio/related-suggestions?days=30", headers={"Authorization": f"Bearer {editor}"}
    )
    assert suggested.status == 200
    pair = next(s for s in suggested.json()["suggestions"] if s["faq_id"] == "ex-withdraw-limit")
    assert pair["next_id"] == "ex-withdraw-fee" and pair["count"] >= 2 and pair["next_question"] == "提现手续费是多少？"
    AgentStore(bot_settings.database_url).add("zhao", "zhao-pass-123", "小赵")  # an agent, not an editor
    agent = post(servers.url + "/console/api/login", {"name": "zhao", "password": "zhao-pass-123"})[1]["token"]
    refused = send(
        servers.url + "/console/api/studio/related-suggestions", headers={"Authorization": f"Bearer {agent}"}
    )
    assert refused.status == 403 and "editors only" in refused.json()["error"]
    token = post(servers.url + "/console/api/login", {"name": "wang", "password": "wang-pass-123"})[1]["token"]
    refused = send(servers.url + "/console/api/studio/hit-test?q=x", headers={"Authorization": f"Bearer {token}"})
    assert refused.status == 403 and "editors only" in refused.json()["error"]
