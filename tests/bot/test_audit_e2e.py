"""The audit log and access by need against the real servers (issue #18 items 5 and 6): an
agent of one group is refused a conversation routed to another over real HTTP, an admin
opens it and the view is audited; the 管理 → 审计 panel in headless Chromium shows the
sign-in rows and filters them. Tests run in file order on one bot."""

from __future__ import annotations

import csv
import io
import urllib.request

import pytest

from bot.handoff.agents import AgentStore
from bot.handoff.audit import AuditLog, Filter
from bot.handoff.handoffs import HandoffRequest, HandoffStore
from bot.handoff.teams import ADMIN, AGENT, Teams
from tests.bot.test_handoff_e2e import Servers, sign_in
from tests.http import post_json, send
from tests.polling import wait_until

pytestmark = pytest.mark.slow

HANDOFF = {"hours": "always"}
ACCOUNTS = {"boss": ("老板", ADMIN), "li": ("小李", AGENT), "amy": ("Amy", AGENT)}
NOT_YOURS = "这个会话不属于您的分组，无权查看"


def password(name: str) -> str:
    return f"{name}-pass-123"


@pytest.fixture(scope="module")
def setup(bot_settings):
    """Three accounts, two groups (李 in 售后组, Amy in 英文服务), a hand-off waiting for each
    group and one for everyone; then the servers."""
    url = bot_settings.database_url
    agents, teams, handoffs = AgentStore(url), Teams(url), HandoffStore(url)
    for name, (display, role) in ACCOUNTS.items():
        agents.add(name, password(name), display)
        teams.set_role(name, role)
    after_sales = teams.save_group("售后组", members=["li"])
    english = teams.save_group("英文服务", members=["amy"])
    made = {}
    for key, group in (("a", after_sales.id), ("b", english.id), ("all", None)):
        handoff, _ = handoffs.create(HandoffRequest(f"audit-{key}", "rest", "user_request", []))
        teams.route(handoff.id, group)
        made[key] = handoff.id
    servers = Servers(bot_settings)
    servers.start()
    yield servers, made
    servers.bot.stop()


def token_of(servers, name: str) -> str:
    reply = post_json(servers.url + "/console/api/login", {"name": name, "password": password(name)})
    assert reply.status == 200, reply.text
    return reply.json()["token"]


def get(servers, path: str, token: str):
    return send(servers.url + path, headers={"Authorization": f"Bearer {token}"})


def test_an_agent_is_refused_another_groups_conversation_and_an_admins_view_is_audited(setup, bot_settings):
    servers, made = setup
    log = AuditLog(bot_settings.database_url)
    li = token_of(servers, "li")

    refused = get(servers, f"/console/api/handoffs/{made['b']}", li)
    assert refused.status == 403 and refused.json()["error"] == NOT_YOURS
    for action in ("claim", "messages", "close", "transfer"):  # not just hidden: every route refuses
        path = f"/console/api/handoffs/{made['b']}/{action}"
        reply = post_json(servers.url + path, {"text": "你好"}, {"Authorization": f"Bearer {li}"})
        assert reply.status == 403, (action, reply.text)
    assert get(servers, f"/console/api/handoffs/{made['a']}", li).status == 200
    assert get(servers, f"/console/api/handoffs/{made['all']}", li).status == 200
    queue = {h["id"] for h in get(servers, "/console/api/queue", li).json()["handoffs"]}
    assert made["a"] in queue and made["all"] in queue and made["b"] not in queue
    history = {r["id"] for r in get(servers, "/console/api/history?customer=audit-", li).json()["results"]}
    assert made["b"] not in history and made["a"] in history

    # li claims and replies in his own group's conversation: both recorded, the reply by its length only.
    auth = {"Authorization": f"Bearer {li}"}
    assert post_json(servers.url + f"/console/api/handoffs/{made['a']}/claim", {}, auth).status == 200
    sent = post_json(servers.url + f"/console/api/handoffs/{made['a']}/messages", {"text": "您好，请稍等"}, auth)
    assert sent.status == 200, sent.text
    (reply_row,), _ = log.search(Filter(actor="li", action="reply"))
    assert reply_row.target_id == made["a"] and reply_row.detail["length"] == 6
    assert "您好" not in str(reply_row.detail)
    assert log.search(Filter(actor="li", action="claim"))[1] == 1
    assert log.search(Filter(actor="li", action="view"))[1] == 0  # his own group: no view row

    boss = token_of(servers, "boss")
    assert get(servers, f"/console/api/handoffs/{made['b']}", boss).status == 200
    (view,), _ = log.search(Filter(actor="boss", action="view"))
    assert view.target_kind == "handoff" and view.target_id == made["b"] and view.role == ADMIN and view.ip
    assert made["b"] in {h["id"] for h in get(servers, "/console/api/queue", boss).json()["handoffs"]}


def test_the_live_feed_carries_only_the_agents_conversations(setup, bot_settings):
    servers, made = setup
    store = HandoffStore(bot_settings.database_url)
    before = store.last_seq()
    store.user_message(made["b"], "英文组的私事")
    store.user_message(made["all"], "大家都能看")
    li = token_of(servers, "li")
    feed = urllib.request.Request(
        servers.url + f"/console/api/stream?after={before}", headers={"Authorization": f"Bearer {li}"}
    )
    seen: list[str] = []
    with urllib.request.urlopen(feed, timeout=20) as lines:
        for line in lines:
            seen.append(line.decode())
            if "大家都能看" in seen[-1]:
                break
    text = "".join(seen)
    assert "英文组的私事" not in text and made["b"] not in text
    assert "event: queue" in text  # the queue moved, nothing more


def test_sign_ins_are_recorded_and_only_admins_search_and_export_the_log(setup, bot_settings):
    servers, _ = setup
    log = AuditLog(bot_settings.database_url)
    assert post_json(servers.url + "/console/api/login", {"name": "amy", "password": "wrong-guess"}).status == 401
    assert log.search(Filter(actor="amy", action="sign_in_failed"))[1] == 1
    assert post_json(servers.url + "/console/api/login", {"name": "my-secret-pw", "password": "x" * 8}).status == 401
    (unknown,), _ = log.search(Filter(action="sign_in_failed", actor="(unknown)"))
    assert unknown.detail == {"known": False} and "my-secret-pw" not in str(unknown.to_json())

    li, boss = token_of(servers, "li"), token_of(servers, "boss")
    assert get(servers, "/console/api/admin/audit", li).status == 403
    found = get(servers, "/console/api/admin/audit?actor=li&action=sign_in", boss).json()
    assert found["total"] >= 2 and {e["actor"] for e in found["entries"]} == {"li"}
    assert get(servers, "/console/api/admin/audit?action=nonsense", boss).status == 400
    assert get(servers, "/console/api/admin/audit?since=yesterday", boss).status == 400

    exported = get(servers, "/console/api/admin/audit/export?action=sign_in", boss)
    assert exported.status == 200 and exported.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.body.decode("utf-8-sig"))))
    assert rows[0][:4] == ["时间(UTC)", "账号", "角色", "操作"] and {r[3] for r in rows[1:]} == {"sign_in"}
    assert log.search(Filter(actor="boss", action="export_audit"))[1] == 1  # the export itself is audited

    reply = post_json(
        servers.url + "/console/api/admin/agents/li", {"role": "editor"}, {"Authorization": f"Bearer {boss}"}
    )
    assert reply.status == 200, reply.text
    (change,), _ = log.search(Filter(action="role_change", target="li"))
    assert change.actor == "boss" and change.detail == {"old": AGENT, "new": "editor"}


def test_an_admin_opens_the_audit_panel_and_filters_it(setup, browser):
    from playwright.sync_api import expect

    servers, _ = setup
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, servers.url, "boss", password("boss"), "老板")
    page.get_by_test_id("tab-admin").click()
    rows = page.get_by_test_id("audit-row")
    expect(rows.first).to_be_visible()
    expect(page.locator('[data-testid="audit-row"][data-action="sign_in"][data-actor="boss"]').first).to_be_visible()

    page.get_by_test_id("audit-actor").fill("li")
    page.get_by_test_id("audit-action").select_option("sign_in")
    page.get_by_test_id("audit-search").click()

    def shown() -> list[list[str]]:  # read in one go: the table is re-rendered as a whole
        return page.eval_on_selector_all(
            '[data-testid="audit-row"]', "rows => rows.map((r) => [r.dataset.actor, r.dataset.action])"
        )

    wait_until(
        lambda: (found := shown()) and all(row == ["li", "sign_in"] for row in found),
        timeout=15,
        what="the 审计 table filtered to li's sign-ins",
    )
    expect(page.get_by_test_id("audit-page")).to_contain_text("共")
    assert not errors, errors
    page.context.close()


def test_a_chat_transferred_to_another_group_leaves_the_agents_view_without_an_error(setup, browser, bot_settings):
    from playwright.sync_api import expect

    servers, _ = setup
    url = bot_settings.database_url
    teams, handoffs = Teams(url), HandoffStore(url)
    groups = {g.name: g for g in teams.groups()}
    handoff, _ = handoffs.create(HandoffRequest("audit-transfer", "rest", "user_request", []))
    teams.route(handoff.id, groups["售后组"].id)
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, servers.url, "li", password("li"), "小李")
    page.locator(f'[data-testid="queue-item"][data-handoff-id="{handoff.id}"]').click()
    page.get_by_test_id("claim").click()
    expect(page.get_by_test_id("transfer")).to_be_visible()

    AgentStore(url).touch("amy")  # Amy's console is connected: 英文服务 has someone to take it
    page.get_by_test_id("transfer").click()
    page.get_by_test_id("transfer-target").select_option(f"group:{groups['英文服务'].id}")
    page.get_by_test_id("transfer-confirm").click()
    expect(page.get_by_test_id("not-yours")).to_contain_text("该会话已不在您的分组")
    expect(page.locator("#action-note")).to_contain_text("已转接")  # the transfer's note, not an error
    expect(page.locator(f'[data-handoff-id="{handoff.id}"]')).to_have_count(0)  # gone from his queue
    refused = get(servers, f"/console/api/handoffs/{handoff.id}", token_of(servers, "li"))
    assert refused.status == 403
    assert not errors, errors
    page.context.close()
