"""管理 → 隐私 in headless Chromium against the real console server and a real database: an admin
runs the purge dry run, downloads one customer's data and deletes it after typing the id
again; an agent who is not an admin is refused every privacy route by the server."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from bot.handoff.agents import AgentStore
from bot.handoff.audit import Action, AuditLog, Filter
from bot.handoff.teams import ADMIN, AGENT, Teams
from bot.privacy.subject import export
from faqbot.config import Settings
from tests.bot.console.console_server import serving
from tests.bot.privacy.seeding import seed
from tests.bot.test_handoff_e2e import sign_in as sign_in_page
from tests.bot.web.client import call, sign_in
from tests.polling import wait_until

pytestmark = pytest.mark.slow

ALICE, BOB = "socketio:alice-5d1e", "socketio:bob-0a7c"
PASSWORD = "pass-word-123"


@pytest.fixture
def console(tiny_kb: Settings) -> Iterator[tuple[str, Settings]]:
    seed(tiny_kb, ALICE, "我的提现一直没到账", "13800138000")
    seed(tiny_kb, BOB, "怎么修改绑定手机", "13900139000")
    agents, teams = AgentStore(tiny_kb.database_url), Teams(tiny_kb.database_url)
    for name, display, role in (("boss", "老板", ADMIN), ("li", "小李", AGENT)):
        agents.add(name, PASSWORD, display)
        teams.set_role(name, role)
    with serving(tiny_kb) as url:
        yield url, tiny_kb


def test_only_admins_reach_the_privacy_routes(console):
    url, settings = console
    token = sign_in(url, "li", PASSWORD)
    auth = {"Authorization": f"Bearer {token}"}
    for method, path, body in (
        ("GET", "/console/api/admin/privacy", None),
        ("POST", "/console/api/admin/privacy/purge", {"dry_run": True}),
        ("GET", f"/console/api/admin/privacy/export?user={ALICE}", None),
        ("POST", "/console/api/admin/privacy/delete", {"user": ALICE, "confirm": ALICE}),
    ):
        assert call(url, method, path, auth, body).status == 403, path
    boss = {"Authorization": f"Bearer {sign_in(url, 'boss', PASSWORD)}"}
    unconfirmed = call(url, "POST", "/console/api/admin/privacy/delete", boss, {"user": ALICE, "confirm": "x"})
    assert unconfirmed.status == 400 and "确认删除" in unconfirmed.json["error"]
    assert export(settings, ALICE)["stores"]["turns"]  # nothing was deleted


def test_an_admin_purges_exports_and_deletes_in_the_panel(console, browser, tmp_path):
    from playwright.sync_api import expect

    url, settings = console
    page = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in_page(page, url, "boss", PASSWORD, "老板")
    page.get_by_test_id("tab-admin").click()
    expect(page.get_by_test_id("privacy-retention")).to_contain_text("对话记录 180 天")

    page.get_by_test_id("privacy-dry-run").click()
    expect(page.get_by_test_id("privacy-purge-row")).to_have_count(5)
    expect(page.get_by_test_id("privacy-note")).to_contain_text("什么都没有删除")
    expect(page.get_by_test_id("privacy-purge")).to_be_visible()

    page.get_by_test_id("privacy-user").fill(ALICE)
    with page.expect_download() as download:
        page.get_by_test_id("privacy-export").click()
    saved = tmp_path / "alice.json"
    download.value.save_as(saved)
    data = json.loads(saved.read_text(encoding="utf-8"))
    assert data["user"] == ALICE and data["stores"]["tickets"] and BOB not in saved.read_text(encoding="utf-8")

    page.get_by_test_id("privacy-delete-preview").click()
    expect(page.get_by_test_id("privacy-delete-summary")).to_contain_text("将永久删除该用户 1 个会话")
    page.get_by_test_id("privacy-confirm").fill("socketio:someone-else")
    page.get_by_test_id("privacy-delete").click()
    expect(page.locator("#admin-error")).to_contain_text("确认删除")
    assert export(settings, ALICE)["stores"]["turns"]  # a wrong confirmation deletes nothing
    page.get_by_test_id("privacy-confirm").fill(ALICE)
    page.get_by_test_id("privacy-delete").click()
    expect(page.get_by_test_id("privacy-note")).to_contain_text("已删除该用户的数据")
    wait_until(
        lambda: not any(export(settings, ALICE)["stores"].values()), timeout=15, what="alice's data to be deleted"
    )
    assert all(export(settings, BOB)["stores"][t] for t in ("turns", "tickets", "handoffs", "events"))
    expect(page.locator('[data-testid="audit-row"][data-action="privacy_delete"]')).to_have_count(1)
    actions = {e.action for e in AuditLog(settings.database_url).search(Filter(actor="boss"))[0]}
    assert {Action.PRIVACY_PURGE, Action.PRIVACY_EXPORT, Action.PRIVACY_DELETE} <= actions
    assert not errors, errors
    page.context.close()
