"""End to end through the REST webhook: real Rasa server, real action server,
real index over a copy of the sample KB. Tests run in file order; the last one
stops the action server."""

from __future__ import annotations

import time

import pytest

from bot.handoff_store import HandoffStore
from bot.records import Records
from connectors.guard import APOLOGY
from indexer.kb import load_kb
from tests.bot.conftest import Chat, post

pytestmark = pytest.mark.slow

# An agent is on duty for this whole module (signed in once, counted as present
# for a day), so requests for a person queue; tests/bot/test_handoff_e2e.py
# covers the console, presence and taking messages when nobody is on duty.
HANDOFF = {"presence_timeout": 86400, "max_waiting_per_agent": 100}


@pytest.fixture(scope="module", autouse=True)
def agent_on_duty(bot_settings):
    from bot.agents import AgentStore

    agents = AgentStore(bot_settings.database_url)
    agents.add("on-duty", "long-enough-password")
    agents.touch("on-duty")


@pytest.fixture(scope="module")
def kb(bot_settings):
    return {e.id: e for e in load_kb(bot_settings.kb_dir).entries}


@pytest.fixture(scope="module")
def records(bot_settings):
    return Records(bot_settings.database_url)


def answer_of(kb, faq_id: str) -> str:
    return kb[faq_id].answer.strip()


def handoffs_for(records, sender: str) -> list[dict]:
    store = HandoffStore(str(records.engine.url))
    return [h.to_json() for h in store.recent(500) if h.conversation_id == sender]


def test_greeting_offers_the_hot_questions_and_one_click_answers(chat: Chat, kb):
    reply = chat.say("你好")
    assert reply.status == 200
    assert "智能客服" in reply.text
    hot = [e for e in kb.values() if e.hot]
    assert 0 < len(hot) <= 5
    assert reply.buttons == [{"title": e.question, "payload": f'/choose_faq{{"faq_id": "{e.id}"}}'}
                             for e in hot]
    picked = chat.say(reply.buttons[0]["payload"])
    assert picked.texts[0] == hot[0].answer.strip()


def test_paraphrase_not_in_kb_is_answered_with_the_right_faq(chat: Chat, kb):
    reply = chat.say("提币一般要等多长时间才能到")
    assert answer_of(kb, "ex-withdraw-arrival-time") in reply.texts
    assert [b["title"] for b in reply.buttons][:2] == ["有帮助", "没帮助"]


def test_traditional_characters_are_answered(chat: Chat, kb):
    reply = chat.say("提現手續費怎麼收")
    assert answer_of(kb, "ex-withdraw-fee") in reply.texts


def test_ambiguous_question_clarifies_and_a_choice_answers(chat: Chat, kb):
    reply = chat.say("充值的话呢")
    assert reply.texts[0] == "您是想问："
    choices = reply.buttons
    assert 2 <= len(choices) <= 3
    assert all(c["payload"].startswith("/choose_faq") for c in choices)
    chosen = choices[1]
    answered = chat.say(chosen["payload"])
    faq = next(e for e in kb.values() if e.question == chosen["title"])
    assert answer_of(kb, faq.id) in answered.texts


def test_nonsense_falls_back_and_is_logged_for_editors(chat: Chat, records):
    reply = chat.say("zxqv 呜啦啦 blorp")
    assert "没有找到" in reply.text
    assert [b["title"] for b in reply.buttons] == ["转人工"]
    logged = [r for r in records.recent_unanswered(200) if r["conversation_id"] == chat.sender]
    assert logged and logged[0]["question"] == "zxqv 呜啦啦 blorp"
    assert logged[0]["channel"] == "rest"
    assert {"id", "fused", "dense", "bm25"} <= set(logged[0]["candidates"][0])


def test_two_fallbacks_in_a_row_hand_off(chat: Chat, records):
    chat.say("zxqv 呜啦啦 blorp")
    reply = chat.say("qwpo 嘀嘀嘀 frobnicate")
    assert "已为您转接人工客服" in reply.text
    [request] = handoffs_for(records, chat.sender)
    assert request["reason"] == "repeated_fallback"
    assert [line["text"] for line in request["transcript"] if line["role"] == "user"] == [
        "zxqv 呜啦啦 blorp", "qwpo 嘀嘀嘀 frobnicate"]


def test_request_human_records_one_handoff_and_tells_the_truth(chat: Chat, records):
    chat.say("提现手续费是多少")
    reply = chat.say("转人工")
    [request] = handoffs_for(records, chat.sender)
    assert request["reason"] == "user_request" and request["channel"] == "rest"
    assert request["id"].replace("-", "")[:8].upper() in reply.text  # the ticket the user can quote
    assert "已为您转接人工客服" in reply.text and "请稍候" in reply.text  # an agent is on duty: it queues
    assert request["transcript"][0] == {**request["transcript"][0], "role": "user", "text": "提现手续费是多少"}
    again = chat.say("/request_human")
    assert request["ticket"] in again.text and "无需重复提交" in again.text
    # From now on a person owns the conversation: messages are acknowledged once, then the bot is silent.
    assert "已收到" in chat.say("人工客服").text
    assert chat.say("提现手续费是多少").messages == []
    assert len(handoffs_for(records, chat.sender)) == 1


def test_faq_with_always_policy_hands_off_with_its_notice(chat: Chat, kb, records):
    reply = chat.say("帳戶被凍結了，怎麼解凍")
    notice = kb["ex-security-unfreeze"].handoff_notice
    assert notice in reply.texts
    [request] = handoffs_for(records, chat.sender)
    assert request["reason"] == "faq_policy" and request["faq_id"] == "ex-security-unfreeze"


def test_feedback_is_recorded_and_two_negatives_hand_off(chat: Chat, records):
    chat.say("提现手续费是多少")
    sorry = chat.say("/feedback_negative")
    assert "抱歉没能帮到您" in sorry.text
    [row] = [r for r in records.recent_feedback(200) if r["conversation_id"] == chat.sender]
    assert row["faq_id"] == "ex-withdraw-fee" and row["helpful"] is False
    chat.say("提现多久能到账")
    reply = chat.say("没帮助")
    assert "已为您转接人工客服" in reply.text
    assert handoffs_for(records, chat.sender)[0]["reason"] == "negative_feedback"


def test_positive_feedback_is_thanked(chat: Chat, records):
    chat.say("提现手续费是多少")
    reply = chat.say("/feedback_positive")
    assert "感谢您的反馈" in reply.text
    [row] = [r for r in records.recent_feedback(200) if r["conversation_id"] == chat.sender]
    assert row["helpful"] is True


def test_follow_up_is_resolved_with_the_previous_topic(chat: Chat, kb, running_bot):
    chat.say("提现手续费是多少")
    reply = chat.say("那要多久？")
    assert answer_of(kb, "ex-withdraw-arrival-time") in reply.texts
    # The same words in a fresh conversation are not enough to answer.
    fresh = Chat(running_bot.rest_webhook, chat.sender + "-fresh").say("那要多久？")
    assert answer_of(kb, "ex-withdraw-arrival-time") not in fresh.texts


def test_bad_requests_get_clear_errors(running_bot):
    status, body = post(running_bot.rest_webhook, {"message": "你好"})
    assert status == 400 and "sender" in body["error"]
    status, body = post(running_bot.rest_webhook, {"sender": "x", "message": "长" * 2001})
    assert status == 413 and "2000" in body["error"]
    status, body = post(running_bot.rest_webhook, None, raw=b"{not json")
    assert status == 400


def test_socketio_channel_answers_the_web_widget(running_bot, kb):
    import asyncio

    import socketio

    async def talk() -> list[dict]:
        client = socketio.AsyncClient()
        received: asyncio.Queue = asyncio.Queue()
        client.on("bot_uttered", lambda data: received.put_nowait(data))
        client.on("session_confirm", lambda data: received.put_nowait({"session": data}))
        await client.connect(running_bot.rasa_url, socketio_path="/socket.io", transports=["polling"])
        try:
            await client.emit("session_request", {"session_id": "widget-1"})
            assert "session" in await asyncio.wait_for(received.get(), 10)
            await client.emit("user_uttered", {"message": "提現手續費怎麼收", "session_id": "widget-1"})
            messages = [await asyncio.wait_for(received.get(), 30)]
            while not messages[-1].get("quick_replies"):  # one message per paragraph, buttons on the last
                messages.append(await asyncio.wait_for(received.get(), 10))
            return messages
        finally:
            await client.disconnect()

    messages = asyncio.run(talk())
    assert [m["text"] for m in messages] == answer_of(kb, "ex-withdraw-fee").split("\n\n")
    assert [b["title"] for b in messages[-1]["quick_replies"]][:2] == ["有帮助", "没帮助"]


def test_kb_edit_is_served_without_restart(chat: Chat, bot_settings, embedder):
    from indexer.service import build_and_publish

    path = bot_settings.kb_dir / "exchange-deposit-withdrawal.yml"
    text = path.read_text(encoding="utf-8")
    marker = "（本条已于测试中更新）"
    path.write_text(text.replace("提现手续费主要用于支付区块链网络费用", marker + "提现手续费主要用于支付区块链网络费用", 1),
                    encoding="utf-8")
    build_and_publish(bot_settings, embedder=embedder)
    published = time.monotonic()
    seen, failures = None, 0
    while time.monotonic() - published < 10:
        reply = chat.say("提现手续费是多少")
        failures += reply.status != 200 or not reply.texts
        if marker in reply.text:
            seen = time.monotonic() - published
            break
        time.sleep(0.1)
    assert seen is not None, "the edited answer was not served within 10 s"
    assert failures == 0


def test_dead_action_server_gets_a_polite_message(chat: Chat, running_bot):
    actions = running_bot.processes["actions"]
    actions.terminate()
    actions.wait(10)
    reply = chat.say("提现手续费是多少")
    assert reply.status == 200
    assert reply.texts == [APOLOGY]
