"""The gate between channels and the bot, with the real stores on SQLite and
Rasa's real collecting output channel: who reads each message, and what the
user is told."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.handoff.desk import HandoffDesk
from bot.handoff.handoffs import CLOSED, HandoffRequest
from bot.handoff.rating import parse_rating, rating_buttons
from bot.handoff.tickets import OPEN
from bot.server.gate import HandoffGate
from faqbot.config import load_settings


@pytest.fixture
def desk(tmp_path) -> HandoffDesk:
    base = load_settings(env={})
    return HandoffDesk(base.replace(data_dir=tmp_path))


def send(gate: HandoffGate, sender: str, text: str) -> tuple[bool, list[str]]:
    output = CollectingOutputChannel()
    taken = asyncio.run(gate.intercept(UserMessage(text, output, sender, input_channel="rest")))
    return taken, [m["text"] for m in output.messages]


def request(conversation: str) -> HandoffRequest:
    return HandoffRequest(
        conversation_id=conversation,
        channel="rest",
        reason="user_request",
        transcript=[{"role": "user", "text": "提现没到账", "time": 1.0}],
    )


def on_duty(desk: HandoffDesk) -> None:
    desk.agents.add("li", "long-enough", "小李")
    desk.agents.touch("li")


def test_the_bot_keeps_conversations_nobody_else_owns(desk):
    assert send(HandoffGate(desk), "free", "提现手续费是多少") == (False, [])


def test_a_queued_conversation_goes_to_the_agent_acknowledged_once_then_silently(desk):
    on_duty(desk)
    gate = HandoffGate(desk)
    outcome = desk.request(request("c1"), last_question=None)
    assert outcome.kind == "queued" and outcome.reference in outcome.text
    assert send(gate, "c1", "有人吗")[1] == ["已收到，客服接入后会第一时间回复您。"]
    assert send(gate, "c1", "我的提现三天没到") == (True, [])
    handoff = desk.handoffs.open_for("c1")
    users = [e["text"] for e in desk.handoffs.events(handoff.id) if e["kind"] == "user_message"]
    assert users == ["有人吗", "我的提现三天没到"]
    assert "无需重复提交" in send(gate, "c1", "/request_human")[1][0]
    assert desk.request(request("c1"), last_question=None).kind == "already"


def test_cancel_while_waiting_gives_the_conversation_back(desk):
    on_duty(desk)
    gate = HandoffGate(desk)
    desk.request(request("c2"), last_question=None)
    taken, said = send(gate, "c2", "取消")
    assert taken and "已为您取消人工服务" in said[0]
    assert desk.handoffs.open_for("c2") is None
    assert send(gate, "c2", "提现手续费是多少") == (False, [])


def test_with_nobody_on_duty_a_message_is_taken_step_by_step(desk):
    gate = HandoffGate(desk)
    outcome = desk.request(request("c3"), last_question="提现没到账")
    assert outcome.kind == "message" and "目前没有客服在线" in outcome.text
    assert desk.handoffs.open_for("c3") is None  # nobody can answer live: nothing queues
    assert "没有识别出完整的手机号或邮箱" in send(gate, "c3", "138 0000")[1][0]
    assert send(gate, "c3", "提现手续费是多少")[0] is False  # a question instead: the bot answers it
    assert desk.tickets.draft_for("c3") is None  # and the 留言 is left (escaped)
    desk.request(request("c3"), last_question="提现没到账")
    assert "提现没到账" in send(gate, "c3", "邮箱 me@example.com")[1][0]
    said = send(gate, "c3", "不是这个，我要改绑手机")[1][0]
    [ticket] = desk.tickets.in_states((OPEN,))
    assert ticket.ticket in said and ticket.contact == "me@example.com" and ticket.question == "不是这个，我要改绑手机"
    assert send(gate, "c3", "提现手续费是多少") == (False, [])


def test_a_message_can_be_abandoned(desk):
    gate = HandoffGate(desk)
    desk.request(request("c4"), last_question=None)
    assert "已取消留言" in send(gate, "c4", "算了")[1][0]
    assert desk.tickets.draft_for("c4") is None and desk.tickets.in_states((OPEN,)) == []


def test_a_rating_counts_once_and_only_from_its_own_conversation(desk):
    on_duty(desk)
    gate = HandoffGate(desk)
    desk.request(request("c5"), last_question=None)
    handoff = desk.handoffs.open_for("c5")
    desk.handoffs.claim(handoff.id, "li")
    assert desk.handoffs.close(handoff.id, "li").state == CLOSED
    good = rating_buttons(handoff.id)[0]["payload"]
    assert parse_rating(good) == (handoff.id, "good")
    assert send(gate, "someone-else", good)[1] == ["这次服务已经评价过了，感谢您的支持！"]
    assert send(gate, "c5", good)[1] == ["感谢您的评价！"]
    assert send(gate, "c5", good)[1] == ["这次服务已经评价过了，感谢您的支持！"]
    assert [e["text"] for e in desk.handoffs.events(handoff.id) if e["kind"] == "rating"] == ["good"]


def test_a_full_queue_takes_messages_instead(tmp_path):
    base = load_settings(env={})
    desk = HandoffDesk(base.replace(data_dir=tmp_path, handoff=base.handoff.__class__(max_waiting_per_agent=1)))
    on_duty(desk)
    assert desk.request(request(f"c-{uuid.uuid4()}"), last_question=None).kind == "queued"
    busy = desk.request(request("late"), last_question=None)
    assert busy.kind == "message" and "前面还有 1 位" in busy.text


def test_outside_opening_hours_the_user_is_told_when_someone_will_reply(tmp_path):
    base = load_settings(env={})
    # Open one minute a week, so "now" is almost surely outside: the text names the next opening.
    desk = HandoffDesk(base.replace(data_dir=tmp_path, handoff=base.handoff.__class__(hours="sun 03:00-03:01")))
    on_duty(desk)
    outcome = desk.request(request("night"), last_question=None)
    assert outcome.kind == "message" and "非服务时间" in outcome.text and "03:00" in outcome.text


def test_users_left_waiting_when_the_last_agent_signs_off_are_offered_a_message(desk):
    desk.agents.add("li", "long-enough", "小李")
    token = desk.agents.sign_in("li", "long-enough")
    desk.agents.touch("li")
    gate = HandoffGate(desk)
    assert desk.request(request("w1"), None).kind == "queued"
    assert desk.request(request("w2"), None).kind == "queued"
    send(gate, "w1", "有人吗")
    send(gate, "w1", "我的提现三天没到")
    desk.handoffs.claim(desk.handoffs.open_for("w2").id, "li")
    assert asyncio.run(desk.release_stranded()) == 0  # someone is on duty: everybody keeps waiting

    desk.agents.sign_out(token)
    assert asyncio.run(desk.release_stranded()) == 1
    assert desk.handoffs.open_for("w1") is None
    assert desk.handoffs.open_for("w2").state == "with_agent"  # a conversation an agent has stays
    told = [m["text"] for m in desk.handoffs.messages_to("w1")]
    assert told[-1].startswith("抱歉，现在没有客服可以接待您了。") and "手机号或邮箱" in told[-1]
    # Leaving the message: the question the user was waiting with is offered as the default.
    assert "我的提现三天没到" in send(gate, "w1", "13800138000")[1][0]
    said = send(gate, "w1", "是")[1][0]
    [ticket] = desk.tickets.in_states((OPEN,))
    assert ticket.ticket in said and ticket.contact == "13800138000" and ticket.question == "我的提现三天没到"
    assert asyncio.run(desk.release_stranded()) == 0  # nothing left waiting


def sent(gate: HandoffGate, sender: str, text: str) -> tuple[bool, list[dict]]:
    output = CollectingOutputChannel()
    taken = asyncio.run(gate.intercept(UserMessage(text, output, sender, input_channel="rest")))
    return taken, output.messages


def answered_ticket(desk: HandoffDesk, conversation: str, answer: str = "一般 2 小时内到账。"):
    draft = desk.tickets.start(conversation, "rest", "user_request", "no_agent", None)
    ticket = desk.tickets.submit(draft.id, "提现多久到账")
    asyncio.run(desk.answer_ticket(ticket.id, "li", answer, "小李"))
    return ticket


def test_under_the_answer_the_customer_says_more_and_the_ticket_reopens(desk):
    from bot.handoff.tickets import ANSWERED, REOPENED

    gate = HandoffGate(desk)
    ticket = answered_ticket(desk, "t1")
    taken, [shown] = sent(gate, "t1", "你好")  # back: the answer comes first, then the bot's reply
    assert not taken and "回复了您的留言" in shown["text"]
    more = next(b["payload"] for b in shown["buttons"] if b["title"] == "还有问题，继续留言")
    taken, [asked] = sent(gate, "t1", more)
    assert taken and "请直接输入您要补充的内容" in asked["text"] and asked["buttons"][0]["title"] == "不用补充了"
    assert desk.owner_of("t1") == ("ticket", False)  # the next message is the follow-up, not the bot's
    assert "已补充到留言" in send(gate, "t1", "订单号 20261202-0042 还是没到")[1][0]
    reopened = desk.tickets.get(ticket.id)
    assert reopened.state == REOPENED and reopened.step is None and "订单号 20261202-0042" in reopened.question
    assert [e["kind"] for e in desk.tickets.events(ticket.id)] == ["reopened", "followup"]
    # The agent answers again: the new answer reaches the customer like the first.
    asyncio.run(desk.answer_ticket(ticket.id, "li", "已加急处理，请留意到账。", "小李"))
    assert desk.tickets.get(ticket.id).state == ANSWERED
    taken, [again] = sent(gate, "t1", "在吗")
    assert "已加急处理" in again["text"]
    assert [e["kind"] for e in desk.tickets.events(ticket.id)][-1] == "answered"  # the first answer is kept


def test_resolved_closes_the_ticket_and_nobody_acts_on_anothers(desk):
    from bot.handoff.ticket_buttons import ticket_buttons
    from bot.handoff.tickets import CLOSED, DELIVERED

    gate = HandoffGate(desk)
    mine, theirs = answered_ticket(desk, "t2"), answered_ticket(desk, "t3")
    sent(gate, "t2", "你好")
    resolved = ticket_buttons(mine.ticket)[0]["payload"]
    assert "已标记为已解决" in send(gate, "t2", resolved)[1][0]
    assert desk.tickets.get(mine.id).state == CLOSED
    assert "已经处理过了" in send(gate, "t2", resolved)[1][0]  # twice: nothing more happens
    forged = ticket_buttons(theirs.ticket)[1]["payload"]
    assert "已经处理过了" in send(gate, "t2", forged)[1][0]
    assert desk.tickets.get(theirs.id).state not in ("reopened",)  # t3's ticket is untouched
    # 还有问题, then 不用补充了: the ticket is as it was.
    sent(gate, "t3", "你好")
    send(gate, "t3", ticket_buttons(theirs.ticket)[1]["payload"])
    assert "保持原样" in send(gate, "t3", "取消")[1][0]
    assert desk.tickets.get(theirs.id).state == DELIVERED
    # 还有问题, then small talk: nothing added, the bot answers it.
    send(gate, "t3", ticket_buttons(theirs.ticket)[1]["payload"])
    assert send(gate, "t3", "好的谢谢") == (False, [])
    assert desk.tickets.get(theirs.id).state == DELIVERED


def test_a_sensitive_word_sent_to_an_agent_is_passed_on_and_counted(desk):
    import sqlalchemy as sa

    from bot.handoff.records import sensitive_hits
    from indexer.sensitive import SensitiveAction, SensitiveCategory, SensitiveList

    words = SensitiveList((SensitiveCategory("辱骂", SensitiveAction.REFUSE, ("蠢货",)),))
    on_duty(desk)
    gate = HandoffGate(desk, words.find)
    desk.request(request("s1"), last_question=None)
    from connectors import background

    async def to_the_agent() -> bool:
        message = UserMessage("你们这帮蠢 货", CollectingOutputChannel(), "s1", input_channel="rest")
        taken = await gate.intercept(message)
        await background.drain(30)  # the count runs after the message reached the agent
        return taken

    assert asyncio.run(to_the_agent())  # spaced out: still found
    handoff = desk.handoffs.open_for("s1")
    assert [e["text"] for e in desk.handoffs.events(handoff.id) if e["kind"] == "user_message"] == ["你们这帮蠢 货"]
    with desk.records.engine.connect() as conn:
        rows = conn.execute(sa.select(sensitive_hits).where(sensitive_hits.c.conversation_id == "s1")).all()
    assert [(r.source, r.category, r.action, r.word) for r in rows] == [("customer", "辱骂", "log", "蠢货")]
