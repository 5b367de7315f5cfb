"""The website chat widget in headless Chromium against the real servers: the
demo page, answers with their Markdown, clarify and feedback buttons, 转人工 and
the hand-off state, an agent's reply (hostile content included) shown safely,
history kept across a refresh, the phone layout and the unread badge.
Screenshots go to test-artifacts/ (desktop and phone)."""

from __future__ import annotations

import json
import urllib.request

import pytest

from bot.handoff.agents import AgentStore
from bot.handoff.handoffs import HandoffStore
from faqbot.config import PROJECT_ROOT
from indexer.kb import load_kb
from tests.bot.test_handoff_e2e import Servers
from tests.polling import wait_until

pytestmark = pytest.mark.slow

HANDOFF = {"presence_timeout": 86400}
# The host site's secret for signed user ids (the customer panel).
SITE_SECRET = "demo-site-secret"
WIDGET = {"identity_secret": SITE_SECRET}
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
HOSTILE = (
    '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 1"> '
    "[点我](javascript:window.__pwned=1) **加粗**"
)


@pytest.fixture(scope="module")
def servers(bot_settings):
    agents = AgentStore(bot_settings.database_url)
    agents.add("li", "pass-word-123", "小李")
    agents.touch("li")  # on duty for this module
    servers = Servers(bot_settings)
    servers.start()
    yield servers
    servers.bot.stop()


@pytest.fixture(scope="module")
def kb(bot_settings):
    return {e.id: e for e in load_kb(bot_settings.kb_dir).entries}


@pytest.fixture(scope="module")
def page(servers, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    page.goto(servers.url + "/demo/")
    yield page
    context.close()


def agent_call(servers, path: str, body: dict, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(servers.url + path, data=json.dumps(body).encode(), headers=headers)
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.loads(reply.read())


def bot_messages(page):
    return page.locator('[data-testid="widget-msg"][data-from="bot"]')


def ask(page, text: str) -> None:
    page.get_by_test_id("widget-input").fill(text)
    page.get_by_test_id("widget-input").press("Enter")


def test_the_demo_page_answers_a_paraphrase_with_its_markdown(page, kb):
    from playwright.sync_api import expect

    page.get_by_test_id("widget-bubble").click()
    expect(page.get_by_test_id("widget-panel")).to_be_visible()
    expect(page.get_by_test_id("widget-input")).to_be_focused()
    # One welcome, the bot's own, with the hot questions from the KB as buttons.
    expect(bot_messages(page)).to_have_count(1, timeout=20000)
    expect(bot_messages(page).first).to_contain_text("我是智能客服")
    # The welcome's button (the answer below may offer the same question again as 猜你想问).
    hot = page.locator('[data-testid="widget-reply"]', has_text="提现手续费是多少？").first
    expect(hot).to_be_enabled()
    ask(page, "提币一般要多长时间才能到")
    # Rasa's socket.io channel sends one message per paragraph, the buttons with the last.
    answer = bot_messages(page).filter(has_text="到账时间取决于网络确认速度")
    expect(answer).to_have_count(1, timeout=20000)
    expect(answer.locator("strong").first).to_have_text("几分钟到 1 小时")  # **bold** rendered
    expect(bot_messages(page).filter(has_text="已完成").locator("ul li")).to_have_count(3)
    expect(page.locator('[data-testid="widget-reply"]', has_text="有帮助")).to_have_count(1)
    expect(hot).to_be_disabled()  # the welcome's buttons belong to an earlier turn
    assert "**" not in page.get_by_test_id("widget-log").inner_text()
    page.screenshot(path=str(ARTIFACTS / "widget-desktop.png"))


def test_clarify_buttons_and_not_helpful(page, kb):
    from playwright.sync_api import expect

    ask(page, "充值的话呢")
    expect(bot_messages(page).last).to_contain_text("您是想问", timeout=20000)
    choices = page.locator(".replies").last.get_by_test_id("widget-reply")
    title = choices.nth(1).inner_text()
    choices.nth(1).click()
    faq = next(e for e in kb.values() if e.question == title)
    first_line = faq.answer.strip().split("\n")[0].replace("**", "")[:12]
    expect(bot_messages(page).filter(has_text=first_line).last).to_be_visible(timeout=20000)
    page.locator(".replies").last.get_by_test_id("widget-reply").filter(has_text="没帮助").click()
    expect(bot_messages(page).last).to_contain_text("抱歉没能帮到您", timeout=20000)


def test_a_hand_off_shows_its_state_and_the_agent_safely(page, servers, bot_settings):
    from playwright.sync_api import expect

    ask(page, "转人工")
    expect(bot_messages(page).last).to_contain_text("已为您转接人工客服", timeout=20000)
    expect(page.get_by_test_id("widget-status")).to_contain_text("正在为您转接人工客服", timeout=10000)
    session = page.evaluate("window.FaqbotWidgetApi.session()")
    handoff = HandoffStore(bot_settings.database_url).open_for(session)
    token = agent_call(servers, "/console/api/login", {"name": "li", "password": "pass-word-123"})["token"]
    agent_call(servers, f"/console/api/handoffs/{handoff.id}/claim", {}, token)
    # The agent types: the customer sees it, and the reply replaces the indicator.
    assert agent_call(servers, f"/console/api/handoffs/{handoff.id}/typing", {}, token) == {"shown": True}
    expect(page.get_by_test_id("widget-typing")).to_be_visible(timeout=10000)
    agent_call(servers, f"/console/api/handoffs/{handoff.id}/messages", {"text": HOSTILE}, token)
    agent = page.locator('[data-testid="widget-msg"][data-from="agent"]').last
    expect(agent).to_contain_text("<script>window.__pwned = 1</script>", timeout=20000)  # shown as text
    expect(page.get_by_test_id("widget-typing")).to_have_count(0)
    expect(agent).to_contain_text("人工客服 小李")
    expect(agent.locator("strong")).to_have_text("加粗")
    assert agent.locator("img, script, a").count() == 0  # javascript: links stay text
    assert page.evaluate("window.__pwned") is None
    expect(page.get_by_test_id("widget-status")).to_contain_text("人工客服 小李 正在为您服务", timeout=10000)
    ask(page, "我的提现还没到账")
    expect(page.get_by_test_id("widget-typing")).to_have_count(0)  # nobody is typing: no false indicator
    events = lambda: [e["text"] for e in HandoffStore(bot_settings.database_url).events(handoff.id)]  # noqa: E731
    # In the server's store, not on the page: Playwright's own waits cannot see it.
    wait_until(lambda: "我的提现还没到账" in events(), 10, "the user's message to reach the agent")
    # Network loss: what the agent sends meanwhile arrives after the reconnect, once.
    page.context.set_offline(True)
    expect(page.locator(".offline")).to_be_visible(timeout=30000)
    agent_call(servers, f"/console/api/handoffs/{handoff.id}/messages", {"text": "断线期间客服发的消息"}, token)
    page.context.set_offline(False)
    missed = page.locator('[data-testid="widget-msg"][data-from="agent"]', has_text="断线期间客服发的消息")
    expect(missed).to_have_count(1, timeout=30000)
    expect(page.locator(".offline")).to_be_hidden()
    page.wait_for_timeout(1500)
    expect(missed).to_have_count(1)
    agent_call(servers, f"/console/api/handoffs/{handoff.id}/close", {}, token)
    expect(page.locator('[data-testid="widget-msg"][data-from="system"]').last).to_contain_text(
        "人工服务已结束", timeout=20000
    )
    expect(page.get_by_test_id("widget-status")).to_be_hidden(timeout=10000)


def test_a_refresh_keeps_the_conversation(page):
    from playwright.sync_api import expect

    before = page.get_by_test_id("widget-msg").count()
    session = page.evaluate("window.FaqbotWidgetApi.session()")
    page.reload()
    expect(page.get_by_test_id("widget-panel")).to_be_visible()
    expect(page.get_by_test_id("widget-msg")).to_have_count(before)
    assert page.evaluate("window.FaqbotWidgetApi.session()") == session
    ask(page, "提现手续费是多少")  # the same conversation goes on with the bot
    expect(bot_messages(page).last).to_contain_text("手续费", timeout=20000)
    assert page.errors == []


def test_phone_layout_unread_badge_and_length_limit(servers, browser):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone = context.new_page()
    phone.goto(servers.url + "/demo/")
    expect(phone.get_by_test_id("widget-bubble")).to_contain_text("1")  # the greeting is unread
    phone.get_by_test_id("widget-bubble").click()
    panel = phone.get_by_test_id("widget-panel")
    box = panel.bounding_box()
    assert box["width"] == 390 and box["height"] >= 800  # full screen on a phone
    phone.get_by_test_id("widget-input").fill("长" * 2001)
    expect(phone.get_by_test_id("widget-hint")).to_contain_text("消息最长 2000 字")
    phone.get_by_test_id("widget-input").press("Enter")
    expect(phone.locator('[data-testid="widget-msg"][data-from="user"]')).to_have_count(0)  # not sent
    phone.get_by_test_id("widget-input").fill("忘记登录密码了怎么办")
    phone.get_by_test_id("widget-send").click()
    expect(phone.locator('[data-testid="widget-msg"][data-from="bot"]').last).to_contain_text("密码", timeout=20000)
    phone.screenshot(path=str(ARTIFACTS / "widget-phone.png"))
    context.close()


def test_keyboard_only_use_and_accessible_names(servers, browser):
    """Tab reaches the bubble, Enter opens it with the focus in the input,
    Shift+Enter makes a new line, Enter sends, Escape closes back to the bubble;
    every control has a name a screen reader can say."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(servers.url + "/demo/")
    bubble = page.get_by_test_id("widget-bubble")
    expect(bubble).to_have_attribute("aria-label", "打开星河客服，1 条未读消息")
    for _ in range(40):  # through the demo page's own links to the bubble
        page.keyboard.press("Tab")
        if page.evaluate(
            "document.activeElement && document.activeElement.id === 'faqbot-widget' && "
            "document.activeElement.shadowRoot.activeElement?.dataset.testid === 'widget-bubble'"
        ):
            break
    else:
        pytest.fail("Tab never reached the chat bubble")
    page.keyboard.press("Enter")
    field = page.get_by_test_id("widget-input")
    expect(field).to_be_focused()
    expect(bubble).to_have_attribute("aria-label", "打开星河客服")  # read: no unread left
    page.keyboard.type("提现")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("手续费是多少")
    assert field.input_value() == "提现\n手续费是多少"
    page.keyboard.press("Enter")
    expect(page.locator('[data-testid="widget-msg"][data-from="bot"]').last).to_contain_text("手续费", timeout=20000)
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("widget-panel")).to_be_hidden()
    expect(bubble).to_be_focused()
    unnamed = page.evaluate("""() => {
        const root = document.getElementById('faqbot-widget').shadowRoot;
        return [...root.querySelectorAll('button, textarea, input, a')]
          .filter(e => !(e.getAttribute('aria-label') || e.textContent.trim()))
          .map(e => e.outerHTML.slice(0, 80));
    }""")
    assert unnamed == []
    context.close()


def test_a_customer_who_left_a_message_sees_the_answer_when_back(servers, browser, bot_settings):
    """The customer leaves, an agent answers their 留言, they open the site again:
    the answer is there, labelled with the agent, once."""
    from playwright.sync_api import expect

    from bot.handoff.tickets import TicketStore
    from tests.polling import wait_until

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    first = context.new_page()
    first.goto(servers.url + "/demo/")
    first.get_by_test_id("widget-bubble").click()
    expect(bot_messages(first).first).to_contain_text("您好", timeout=20000)
    session = first.evaluate("window.FaqbotWidgetApi.session()")
    first.close()  # gone; the 留言 was left and is answered while they are away
    tickets = TicketStore(bot_settings.database_url)
    draft = tickets.start(session, "socketio", "user_request", "no_agent", "发票怎么开")
    tickets.set_contact(draft.id, "kehu@example.cn")
    ticket = tickets.answer(tickets.submit(draft.id, "发票怎么开").id, "li", "电子发票可在订单详情页申请。")
    back = context.new_page()
    back.goto(servers.url + "/demo/")
    if back.get_by_test_id("widget-panel").is_hidden():
        back.get_by_test_id("widget-bubble").click()
    answer = back.locator('[data-testid="widget-msg"][data-from="agent"]', has_text="回复了您的留言")
    expect(answer).to_have_count(1, timeout=20000)
    expect(answer).to_contain_text(f"客服 小李 回复了您的留言（编号 {ticket.ticket}）")
    expect(answer).to_contain_text("电子发票可在订单详情页申请。")
    wait_until(lambda: not tickets.not_shown(session), what="the widget said it showed the answer")
    back.reload()
    expect(back.get_by_test_id("widget-msg").first).to_be_visible(timeout=20000)
    back.wait_for_timeout(1500)
    expect(answer).to_have_count(1)  # kept in the history, not shown again
    context.close()


def signed_in_visitor(servers, browser, user_id: str, signature: str):
    """A visitor of the host site signed in as ``user_id``: the site passes the widget the id
    and its signature, as the README's snippet does."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    user = {"id": user_id, "name": "张三", "signature": signature}
    context.add_init_script(f"window.FaqbotWidget = {{user: {json.dumps(user)}}};")
    page = context.new_page()
    page.goto(servers.url + "/demo/")
    page.get_by_test_id("widget-bubble").click()
    ask(page, "转人工")
    expect(bot_messages(page).last).to_contain_text("已为您转接人工客服", timeout=20000)
    return context, page.evaluate("window.FaqbotWidgetApi.session()")


def test_the_agent_sees_who_the_customer_is_and_their_earlier_conversations(servers, browser, bot_settings):
    """The page and device the widget reports, the host site's user id only when signed,
    and the same user's conversations from another browser."""
    from playwright.sync_api import expect

    from bot.handoff.customers import sign

    store = HandoffStore(bot_settings.database_url)
    token = agent_call(servers, "/console/api/login", {"name": "li", "password": "pass-word-123"})["token"]
    earlier_context, earlier = signed_in_visitor(servers, browser, "u-1001", sign("u-1001", SITE_SECRET))
    first = store.open_for(earlier)
    agent_call(servers, f"/console/api/handoffs/{first.id}/close", {}, token)
    earlier_context.close()
    now_context, session = signed_in_visitor(servers, browser, "u-1001", sign("u-1001", SITE_SECRET))
    # Someone else claiming to be u-1001 without the site's signature for it.
    forged_context, forged = signed_in_visitor(servers, browser, "u-1001", sign("u-2002", SITE_SECRET))

    console_context = browser.new_context(viewport={"width": 1400, "height": 900})
    console = console_context.new_page()
    console.goto(servers.url + "/console/")
    console.get_by_test_id("login-name").fill("li")
    console.get_by_test_id("login-password").fill("pass-word-123")
    console.get_by_test_id("login-submit").click()
    current = store.open_for(session)
    console.locator(f'[data-testid="queue-item"][data-handoff-id="{current.id}"]').click()
    panel = console.get_by_test_id("customer-panel")
    expect(panel.locator('[data-fact="网站用户"]')).to_have_text("张三 · u-1001（已验证）")
    expect(panel.get_by_test_id("customer-page")).to_have_text("星河数字资产 · 帮助中心（演示）")
    expect(panel.get_by_test_id("customer-page")).to_have_attribute("href", servers.url + "/demo/")
    expect(panel.locator('[data-fact="设备"]')).to_contain_text("Linux")
    expect(panel.locator('[data-fact="渠道"]')).to_have_text("网页")
    previous = panel.get_by_test_id("customer-previous-item")
    expect(previous).to_have_count(1)
    expect(previous).to_contain_text(f"会话 {first.ticket}")
    previous.click()  # opens the earlier conversation
    expect(console.get_by_test_id("conversation")).to_contain_text("会话已结束")

    forged_handoff = store.open_for(forged)
    console.locator(f'[data-testid="queue-item"][data-handoff-id="{forged_handoff.id}"]').click()
    expect(panel.locator('[data-fact="网站用户"]')).to_contain_text("签名不符，未采用")
    expect(panel.get_by_test_id("customer-previous-item")).to_have_count(0)
    for handoff in (current, forged_handoff):
        agent_call(servers, f"/console/api/handoffs/{handoff.id}/close", {}, token)
    for context in (now_context, forged_context, console_context):
        context.close()


def test_under_an_answer_the_customer_has_more_to_say_and_then_it_is_solved(servers, browser, bot_settings):
    """还有问题 reopens the 留言 with what the customer adds; the agent answers again in the
    console; 问题已解决 closes it."""
    from playwright.sync_api import expect

    from bot.handoff.tickets import TicketStore

    tickets = TicketStore(bot_settings.database_url)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    customer = context.new_page()
    customer.goto(servers.url + "/demo/")
    customer.get_by_test_id("widget-bubble").click()
    expect(bot_messages(customer).first).to_contain_text("您好", timeout=20000)
    session = customer.evaluate("window.FaqbotWidgetApi.session()")
    draft = tickets.start(session, "socketio", "user_request", "no_agent", None)
    tickets.set_contact(draft.id, "kehu@example.cn")
    ticket = tickets.answer(tickets.submit(draft.id, "提现多久到账").id, "li", "一般 2 小时内到账。")
    customer.reload()
    if customer.get_by_test_id("widget-panel").is_hidden():
        customer.get_by_test_id("widget-bubble").click()
    answer = customer.locator('[data-testid="widget-msg"][data-from="agent"]', has_text="一般 2 小时内到账")
    expect(answer).to_have_count(1, timeout=20000)
    customer.get_by_test_id("widget-reply").filter(has_text="还有问题，继续留言").click()
    expect(bot_messages(customer).last).to_contain_text("请直接输入您要补充的内容", timeout=20000)
    ask(customer, "订单号 20261203-7 还没到账")
    expect(bot_messages(customer).last).to_contain_text(f"已补充到留言（编号 {ticket.ticket}）", timeout=20000)

    console_context = browser.new_context(viewport={"width": 1400, "height": 900})
    console = console_context.new_page()
    console.goto(servers.url + "/console/")
    console.get_by_test_id("login-name").fill("li")
    console.get_by_test_id("login-password").fill("pass-word-123")
    console.get_by_test_id("login-submit").click()
    item = console.locator(f'[data-testid="queue-tickets"] [data-ticket-id="{ticket.id}"]')
    expect(item.get_by_test_id("ticket-state")).to_have_text("用户追问")
    item.click()
    expect(console.get_by_test_id("ticket-events")).to_contain_text("用户补充：订单号 20261203-7 还没到账")
    console.get_by_test_id("ticket-answer-input").fill("已为您加急，预计 30 分钟内到账。")
    console.get_by_test_id("ticket-answer-send").click()
    expect(console.get_by_test_id("deliveries").locator('[data-route="chat"]').last).to_contain_text("已送达")
    again = customer.locator('[data-testid="widget-msg"][data-from="agent"]', has_text="预计 30 分钟内到账")
    expect(again).to_have_count(1, timeout=20000)
    customer.get_by_test_id("widget-reply").filter(has_text="问题已解决").last.click()
    expect(bot_messages(customer).last).to_contain_text("已标记为已解决", timeout=20000)
    assert tickets.get(ticket.id).state == "closed"
    closed = console.locator(f'[data-testid="queue-answered"] [data-ticket-id="{ticket.id}"]')
    expect(closed.get_by_test_id("ticket-state")).to_have_text("已关闭", timeout=15000)
    context.close()
    console_context.close()
