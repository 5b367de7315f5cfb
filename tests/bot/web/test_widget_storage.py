"""What the widget keeps in the browser (issue #18 item 3), in headless Chromium on the real
widget served by the real console server: a stored conversation older than ``keepDays`` is
dropped when the page opens, a recent one is shown, and 清除对话 empties the log and storage
and starts a new conversation under a new session id."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from faqbot.config import Settings
from tests.bot.console.console_server import serving

pytestmark = pytest.mark.slow

DAY_MS = 86_400_000
USER_MSG = '[data-testid="widget-msg"][data-from="user"]'


@pytest.fixture
def site(tiny_kb: Settings) -> Iterator[str]:
    tiny_kb.data_dir.mkdir(parents=True, exist_ok=True)
    with serving(tiny_kb) as url:
        yield url


def stored(session: str, text: str, days_ago: float) -> str:
    return json.dumps(
        {
            "session": session,
            "history": [{"from": "user", "text": text}, {"from": "bot", "text": f"答：{text}"}],
            "lastSeq": 0,
            "open": True,
            "savedAt": int(time.time() * 1000 - days_ago * DAY_MS),
        },
        ensure_ascii=False,
    )


def open_with(browser, url: str, saved: str, keep_days: int | None = None):
    """The demo page with ``saved`` in the widget's localStorage (set before the widget runs)."""
    context = browser.new_context()
    key = f"faqbot-widget:{url}"
    options = "" if keep_days is None else f"window.FaqbotWidget = {{keepDays: {keep_days}}};"
    context.add_init_script(f"localStorage.setItem({json.dumps(key)}, {json.dumps(saved)}); {options}")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url + "/demo/")
    page.wait_for_function("window.FaqbotWidgetApi !== undefined")
    return page, errors, key


def test_an_expired_conversation_is_dropped_and_a_recent_one_kept(site, browser):
    from playwright.sync_api import expect

    page, errors, key = open_with(browser, site, stored("oldsession1", "去年的问题", days_ago=31))
    assert page.evaluate("window.FaqbotWidgetApi.session()") != "oldsession1"  # default: 30 days
    page.evaluate("window.FaqbotWidgetApi.open()")
    expect(page.locator(USER_MSG).filter(has_text="去年的问题")).to_have_count(0)
    assert errors == []
    page.context.close()

    page, errors, key = open_with(browser, site, stored("oldsession1", "去年的问题", days_ago=31), keep_days=60)
    assert page.evaluate("window.FaqbotWidgetApi.session()") == "oldsession1"  # within this site's 60 days
    page.context.close()

    page, errors, key = open_with(browser, site, stored("recent0001", "昨天的问题", days_ago=1))
    expect(page.locator(USER_MSG).filter(has_text="昨天的问题")).to_have_count(1)
    assert page.evaluate("window.FaqbotWidgetApi.session()") == "recent0001"
    assert errors == []
    page.context.close()


def test_clearing_empties_the_log_and_storage_and_starts_a_new_conversation(site, browser):
    from playwright.sync_api import expect

    page, errors, key = open_with(browser, site, stored("recent0002", "我的手机号是13800138000", days_ago=2))
    expect(page.locator(USER_MSG).filter(has_text="13800138000")).to_have_count(1)
    page.get_by_test_id("widget-clear").click()
    expect(page.locator(USER_MSG).filter(has_text="13800138000")).to_have_count(0)
    expect(page.get_by_test_id("widget-hint")).to_contain_text("本设备上的对话记录已清除")
    session = page.evaluate("window.FaqbotWidgetApi.session()")
    assert session and session != "recent0002"
    kept = json.loads(page.evaluate(f"localStorage.getItem({json.dumps(key)})"))
    assert kept["session"] == session and "13800138000" not in json.dumps(kept, ensure_ascii=False)
    page.reload()  # the new conversation is the one kept
    page.wait_for_function("window.FaqbotWidgetApi !== undefined")
    assert errors == []
    page.context.close()
