"""Roles, groups and routing, and transferring a chat: the stores on SQLite and the
local PostgreSQL, the desk with its real stores on SQLite."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from bot.handoff.desk import HandoffDesk
from bot.handoff.handoffs import WAITING, WITH_AGENT, HandoffError, HandoffRequest
from bot.handoff.teams import ADMIN, AGENT, TeamError, Teams
from faqbot.config import load_settings
from tests.databases import postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def teams(request, tmp_path) -> Teams:
    if request.param == "sqlite":
        return Teams(f"sqlite:///{tmp_path / 'teams.sqlite'}")
    return Teams(postgres_url())


def unique(name: str) -> str:
    """Group names are unique per database, and the PostgreSQL one is shared by every run."""
    return f"{name}-{uuid.uuid4().hex[:6]}"


def test_a_group_keeps_its_rules_and_members_and_names_are_unique(teams):
    name = unique("售后组")
    group = teams.save_group(name, ["售后", " 退款 ", "售后"], ["wechat"], ["li", "wang"])
    assert (group.categories, group.channels, group.members) == (("售后", "退款"), ("wechat",), ("li", "wang"))
    with pytest.raises(TeamError, match="already exists"):
        teams.save_group(name)
    renamed = teams.save_group(name + "2", ["售后"], [], ["wang"], group_id=group.id)
    assert renamed.id == group.id and renamed.members == ("wang",) and renamed.channels == ()
    with pytest.raises(TeamError, match="a list of strings"):
        teams.save_group(unique("x"), "售后")
    with pytest.raises(TeamError, match="1 to 32"):
        teams.save_group("  ")
    teams.remove_group(group.id)
    with pytest.raises(TeamError, match="no group"):
        teams.group(group.id)


def test_a_category_rule_wins_over_a_channel_rule(teams):
    category = unique("cat")
    by_channel = teams.save_group(unique("渠道组"), [], [category + "-channel"], ["a"])
    by_category = teams.save_group(unique("分类组"), [category], [], ["b"])
    found = [g.id for g in teams.matching(category, category + "-channel")]
    assert found[:2] == [by_category.id, by_channel.id]
    assert [g.id for g in teams.matching(None, category + "-channel")] == [by_channel.id]
    assert teams.matching(unique("other"), "nowhere") == []


def test_roles_default_to_agent_and_a_routed_hand_off_is_for_its_members(teams):
    group = teams.save_group(unique("英文"), [], [], ["anna"])
    handoff_id = str(uuid.uuid4())
    teams.route(handoff_id, group.id)
    assert teams.role_of("bob-" + handoff_id[:4]) == AGENT
    assert teams.may_take(handoff_id, "anna") is None
    assert teams.may_take(handoff_id, "bob").id == group.id
    teams.set_role("bob", ADMIN)
    assert teams.may_take(handoff_id, "bob") is None  # admins take anything
    teams.set_role("bob", AGENT)
    teams.route(handoff_id, None)
    assert teams.may_take(handoff_id, "bob") is None
    with pytest.raises(TeamError, match="role must be"):
        teams.set_role("bob", "boss")


# -- the desk: routing on creation, claiming, transfers ------------------------------


@pytest.fixture
def desk(tmp_path) -> HandoffDesk:
    return HandoffDesk(load_settings(env={}).replace(data_dir=tmp_path))


def signed_in(desk: HandoffDesk, *names: str) -> None:
    for name in names:
        desk.agents.add(name, "long-enough", name.upper())
        desk.agents.touch(name)


def request(conversation: str, category: str | None = None, channel: str = "rest") -> HandoffRequest:
    return HandoffRequest(
        conversation_id=conversation,
        channel=channel,
        reason="user_request",
        transcript=[{"role": "user", "text": "退款多久到账", "time": 1.0}],
        category=category,
    )


def test_a_hand_off_goes_to_the_group_of_its_category_while_a_member_is_available(desk):
    signed_in(desk, "li", "wang")
    after_sales = desk.teams.save_group("售后组", ["售后"], [], ["wang"])
    desk.request(request("c1", category="售后"), None)
    first = desk.handoffs.open_for("c1")
    assert desk.teams.routes_of([first.id])[first.id].id == after_sales.id
    with pytest.raises(HandoffError, match="waits for group 售后组"):
        asyncio.run(desk.claim(first.id, "li", "LI"))
    assert asyncio.run(desk.claim(first.id, "wang", "WANG")).agent == "wang"

    desk.agents.set_status("wang", "away")  # nobody of the group takes chats: everyone may
    desk.request(request("c2", category="售后"), None)
    second = desk.handoffs.open_for("c2")
    assert desk.teams.routes_of([second.id]) == {}
    assert asyncio.run(desk.claim(second.id, "li", "LI")).agent == "li"


def test_a_transfer_to_an_agent_keeps_the_chat_live_and_tells_the_customer_who(desk):
    signed_in(desk, "li", "wang")
    desk.request(request("c3"), None)
    handoff = desk.handoffs.open_for("c3")
    asyncio.run(desk.claim(handoff.id, "li", "LI"))
    moved = asyncio.run(desk.transfer(handoff.id, "li", "wang", None, "用户要退款，已核实订单"))
    assert moved.state == WITH_AGENT and moved.agent == "wang"
    events = desk.handoffs.events(handoff.id)
    kinds = [e["kind"] for e in events]
    assert kinds[-3:] == ["transferred", "note", "bot_message"]
    assert json.loads(events[-3]["text"]) == {"to_agent": "wang", "to_group": None}
    assert "已为您转接到客服 WANG" in events[-1]["text"]
    with pytest.raises(HandoffError, match="is with wang, not li"):
        asyncio.run(desk.reply(handoff.id, "li", "还在吗"))
    asyncio.run(desk.reply(handoff.id, "wang", "您好，我来处理"))


def test_a_transfer_is_refused_when_the_target_cannot_take_it(desk):
    signed_in(desk, "li", "wang")
    desk.agents.add("zhao", "long-enough", "ZHAO")  # never signed in
    desk.request(request("c4"), None)
    handoff = desk.handoffs.open_for("c4")
    with pytest.raises(HandoffError, match="only a claimed one"):
        asyncio.run(desk.transfer(handoff.id, "li", "wang", None))
    asyncio.run(desk.claim(handoff.id, "li", "LI"))
    with pytest.raises(HandoffError, match="zhao is not taking chats now"):
        asyncio.run(desk.transfer(handoff.id, "li", "zhao", None))
    with pytest.raises(HandoffError, match="is with li, not wang"):
        asyncio.run(desk.transfer(handoff.id, "wang", "li", None))
    with pytest.raises(ValueError, match="one agent"):
        asyncio.run(desk.transfer(handoff.id, "li", None, None))
    lonely = desk.teams.save_group("夜班", [], [], ["li", "zhao"])
    with pytest.raises(HandoffError, match="nobody in group 夜班"):
        asyncio.run(desk.transfer(handoff.id, "li", None, lonely.id))
    assert desk.handoffs.get(handoff.id).agent == "li"  # nothing changed


def test_a_transfer_to_a_group_requeues_it_for_the_members_and_keeps_the_first_wait(desk):
    signed_in(desk, "li", "wang", "anna")
    english = desk.teams.save_group("英文服务", [], [], ["anna"])
    desk.request(request("c5"), None)
    handoff = desk.handoffs.open_for("c5")
    first = asyncio.run(desk.claim(handoff.id, "li", "LI"))
    queued = asyncio.run(desk.transfer(handoff.id, "li", None, english.id))
    assert queued.state == WAITING and queued.agent is None
    assert "正在为您转接其他客服" in desk.handoffs.events(handoff.id)[-1]["text"]
    with pytest.raises(HandoffError, match="waits for group 英文服务"):
        asyncio.run(desk.claim(handoff.id, "wang", "WANG"))
    taken = asyncio.run(desk.claim(handoff.id, "anna", "ANNA"))
    assert taken.agent == "anna" and taken.claimed_at == first.claimed_at


def test_an_agent_reopens_a_closed_conversation_and_it_is_not_counted_as_a_request(desk):
    from bot.handoff.kpis import compute_kpis

    signed_in(desk, "li")
    desk.records.log_turn("c6", "rest", "bot", 10.0)  # the customer's conversation that day
    desk.request(request("c6"), None)
    first = desk.handoffs.open_for("c6")
    asyncio.run(desk.claim(first.id, "li", "LI"))
    asyncio.run(desk.close(first.id, "li"))
    opened = asyncio.run(desk.reopen(first.id, "li", "LI"))
    assert opened.state == WITH_AGENT and opened.agent == "li" and opened.reason == "agent_reopened"
    assert "客服 LI 重新打开了之前的对话" in desk.handoffs.events(opened.id)[-1]["text"]
    with pytest.raises(HandoffError, match="only a closed one"):
        asyncio.run(desk.reopen(opened.id, "li", "LI"))
    with pytest.raises(HandoffError, match="already waiting or with an agent"):
        asyncio.run(desk.reopen(first.id, "li", "LI"))
    report = compute_kpis(desk.settings.database_url, days=1)["totals"]
    assert report["handoffs_by_reason"] == {"user_request": 1} and report["queue_wait_seconds"]["count"] == 1


def test_a_wechat_conversation_past_its_window_cannot_be_reopened(desk):
    signed_in(desk, "li")
    desk.request(request("oOld", channel="wechat"), None)
    old = desk.handoffs.open_for("oOld")
    asyncio.run(desk.claim(old.id, "li", "LI"))
    asyncio.run(desk.close(old.id, "li"))
    with pytest.raises(HandoffError, match="reply window has closed"):  # no message from them on record
        asyncio.run(desk.reopen(old.id, "li", "LI"))
