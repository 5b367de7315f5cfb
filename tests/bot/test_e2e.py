"""End to end through the REST webhook: real Rasa server, real action server,
real index over a copy of the sample KB. Tests run in file order; the last one
stops the action server."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from bot.handoff.handoffs import HandoffStore
from bot.handoff.records import Records, outcomes
from connectors.guard import APOLOGY
from indexer.kb import load_kb
from tests.bot.conftest import Chat, post
from tests.http import send
from tests.polling import wait_until

pytestmark = pytest.mark.slow

# An agent is on duty for this whole module (signed in once, counted as present
# for a day), so requests for a person queue; tests/bot/test_handoff_e2e.py
# covers the console, presence and taking messages when nobody is on duty.
HANDOFF = {"presence_timeout": 86400, "max_waiting_per_agent": 100}
# Sign-in tests pose as several clients behind this loopback "proxy" (X-Forwarded-For).
CONSOLE = {"trusted_proxies": "127.0.0.1"}


@pytest.fixture(scope="module", autouse=True)
def agent_on_duty(bot_settings):
    from bot.handoff.agents import AgentStore

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
    assert [b["title"] for b in reply.buttons] == [e.question for e in hot]
    faq_ids = [json.loads(b["payload"].removeprefix("/choose_faq"))["faq_id"] for b in reply.buttons]
    assert faq_ids == [e.id for e in hot]
    picked = chat.say(reply.buttons[0]["payload"])
    assert picked.texts[0] == hot[0].answer.strip()


def test_paraphrase_not_in_kb_is_answered_with_the_right_faq(chat: Chat, kb):
    reply = chat.say("提币一般要等多长时间才能到")
    assert answer_of(kb, "ex-withdraw-arrival-time") in reply.texts
    assert [b["title"] for b in reply.buttons][:2] == ["有帮助", "没帮助"]


def test_a_direct_answer_offers_its_related_questions(chat: Chat, kb):
    reply = chat.say("提现要扣多少手续费")
    assert len(reply.messages) == 1 and reply.texts == [answer_of(kb, "ex-withdraw-fee")]  # one message
    related = [kb[i] for i in kb["ex-withdraw-fee"].related]
    assert [b["title"] for b in reply.buttons] == ["有帮助", "没帮助"] + [e.question for e in related]
    payload = reply.payload(related[0].question)
    assert json.loads(payload.removeprefix("/choose_faq"))["faq_id"] == related[0].id
    clicked = chat.say(payload)  # answered through the choice path, with its own related questions
    assert clicked.texts == [answer_of(kb, related[0].id)]
    assert [b["title"] for b in clicked.buttons][2:] == [kb[i].question for i in related[0].related]


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
        "zxqv 呜啦啦 blorp",
        "qwpo 嘀嘀嘀 frobnicate",
    ]


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
    assert "无需重复提交" in chat.say("人工客服").text  # asking again is not a message for the agent
    assert "已收到" in chat.say("请快一点").text
    assert chat.say("提现手续费是多少").messages == []
    assert len(handoffs_for(records, chat.sender)) == 1


def test_faq_with_always_policy_hands_off_with_its_notice(chat: Chat, kb, records):
    reply = chat.say("帳戶被凍結了，怎麼解凍")
    notice = kb["ex-security-unfreeze"].handoff_notice
    # What the editors wrote comes first (Rasa sends each paragraph as a message).
    assert reply.text.startswith(answer_of(kb, "ex-security-unfreeze").replace("\n\n", "\n"))
    assert notice in reply.texts
    [request] = handoffs_for(records, chat.sender)
    assert request["reason"] == "faq_policy" and request["faq_id"] == "ex-security-unfreeze"


def test_feedback_is_recorded_and_two_negatives_hand_off(chat: Chat, records):
    answer = chat.say("提现手续费是多少")
    sorry = chat.say(answer.payload("没帮助"))
    assert "抱歉没能帮到您" in sorry.text
    [row] = [r for r in records.recent_feedback(200) if r["conversation_id"] == chat.sender]
    assert row["faq_id"] == "ex-withdraw-fee" and row["helpful"] is False
    chat.say("提现多久能到账")
    reply = chat.say("没帮助")
    assert "已为您转接人工客服" in reply.text
    assert handoffs_for(records, chat.sender)[0]["reason"] == "negative_feedback"


def test_positive_feedback_is_thanked(chat: Chat, records):
    answer = chat.say("提现手续费是多少")
    reply = chat.say(answer.payload("有帮助"))
    assert "感谢您的反馈" in reply.text
    [row] = [r for r in records.recent_feedback(200) if r["conversation_id"] == chat.sender]
    assert row["helpful"] is True


def feedback_rows(records, sender: str) -> list[dict]:
    return [r for r in records.recent_feedback(500) if r["conversation_id"] == sender]


def test_feedback_counts_once_per_answer_however_often_it_is_sent(chat: Chat, records):
    answer = chat.say("提现手续费是多少")
    replies = [chat.say(answer.payload("有帮助")) for _ in range(5)] + [chat.say("有帮助") for _ in range(3)]
    assert "感谢您的反馈" in replies[0].text
    assert all(len(r.messages) == 1 for r in replies)  # one message, one bot turn
    [row] = feedback_rows(records, chat.sender)
    assert row["faq_id"] == "ex-withdraw-fee" and row["helpful"] is True
    chat.say("提现多久能到账")  # a new answer can be rated once again
    chat.say("有帮助")
    chat.say("有帮助")
    assert [r["faq_id"] for r in feedback_rows(records, chat.sender)].count("ex-withdraw-arrival-time") == 1


def test_negative_feedback_with_no_answer_records_nothing_and_opens_nothing(chat: Chat, records):
    first = chat.say("/feedback_negative")
    second = chat.say("没帮助")
    third = chat.say("没帮助")
    assert "哪个问题还没有解决" in second.text and "哪个问题还没有解决" in third.text
    assert "哪个问题" not in first.text  # a typed payload nobody offered is just text
    assert feedback_rows(records, chat.sender) == []
    assert handoffs_for(records, chat.sender) == []


def test_a_typed_payload_is_honoured_only_when_offered_now(chat: Chat, kb, running_bot, bot_settings):
    from tests.polling import tracker_texts

    for typed in (
        "/out_of_scope",
        "/restart",
        "/nlu_fallback",
        '/choose_faq{"faq_id": "ex-withdraw-fee"}',
        '/greet{"last_faq_id": "x"}',
        "/feedback_positive@1e308",
    ):
        reply = chat.say(typed)
        assert reply.status == 200 and 1 <= len(reply.messages) <= 3, (typed, reply.messages)
        assert answer_of(kb, "ex-withdraw-fee") not in reply.texts
        chat.say("提现手续费是多少")  # an answer between them: misses in a row would hand off
    assert tracker_texts(bot_settings.data_dir, chat.sender)[0::2] == [
        "out_of_scope",
        "restart",
        "nlu_fallback",
        'choose_faq{"faq_id": "ex-withdraw-fee"}',
        'greet{"last_faq_id": "x"}',
        "feedback_positive@1e308",
    ]
    assert handoffs_for(Records(bot_settings.database_url), chat.sender) == []
    from bot.handoff.tickets import TicketStore

    assert TicketStore(bot_settings.database_url).draft_for(chat.sender) is None
    # An offered button is honoured; once the bot has moved on, an old one is read as what it said.
    clarify = chat.say("充值的话呢")
    old = clarify.buttons[0]
    assert old["payload"].startswith("/choose_faq")
    chat.say(clarify.buttons[1]["payload"])
    chat.say("谢谢")
    again = chat.say(old["payload"])
    assert tracker_texts(bot_settings.data_dir, chat.sender)[-1] == old["payload"]  # recorded as clicked
    faq_id = json.loads(old["payload"][len("/choose_faq") :])["faq_id"]
    assert answer_of(kb, faq_id) in again.texts


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


def test_an_id_no_store_can_hold_is_a_400_and_the_bot_keeps_answering(running_bot, chat: Chat):
    """A lone surrogate in the sender id once made the SQL tracker store raise,
    which Rasa turns into sys.exit(1): one request stopped the bot."""
    raw = b'{"sender": "a\\ud800", "message": "hi"}'
    status, body = post(running_bot.rest_webhook, None, raw=raw)
    assert status == 400 and "surrogate" in body["error"]
    for sender, why in [("a\u0000b", "U+0000"), ("a\u200bb", "U+200B"), ("\u202eevil", "U+202E"), ("s" * 129, "128")]:
        status, body = post(running_bot.rest_webhook, {"sender": sender, "message": "hi"})
        assert status == 400 and why in body["error"], (sender, body)
    status, body = post(running_bot.rest_webhook, {"sender": "u-meta", "message": "hi", "metadata": [1]})
    assert status == 400 and "metadata" in body["error"]
    status, body = post(running_bot.rest_webhook, None, raw=b'{"sender": "u-text", "message": "hi\\udfff"}')
    assert status == 400 and "surrogate" in body["error"]
    for route in ("/handoff/status", "/handoff/messages"):
        reply = send(f"{running_bot.rasa_url}{route}?sender=a%00b")
        assert reply.status == 400 and "U+0000" in reply.json()["error"], (route, reply)
    assert all(proc.poll() is None for proc in running_bot.processes.values())
    assert chat.say("提现手续费是多少").texts[0].startswith("提现")


def test_socketio_refuses_bad_session_ids_and_bodies_and_keeps_answering(running_bot):
    import asyncio

    import socketio

    async def talk() -> tuple[list[str], list[dict]]:
        client = socketio.AsyncClient()
        errors: asyncio.Queue = asyncio.Queue()
        received: asyncio.Queue = asyncio.Queue()
        client.on("request_error", lambda data: errors.put_nowait(data["error"]))
        client.on("bot_uttered", lambda data: received.put_nowait(data))
        client.on("session_confirm", lambda data: received.put_nowait({"session": data}))
        await client.connect(running_bot.rasa_url, socketio_path="/socket.io", transports=["polling"])
        try:
            reasons = []
            for bad in ({"session_id": "a\ud800"}, {"session_id": "x" * 200}, {"session_id": ["list"]}):
                await client.emit("session_request", bad)
                reasons.append(await asyncio.wait_for(errors.get(), 10))
            for bad in (
                "just a string",
                {"message": "hi", "session_id": "a\u0000"},
                {"message": 5, "session_id": "ok-1"},
                {"message": "hi", "session_id": "ok-1", "metadata": "[not json"},
            ):
                await client.emit("user_uttered", bad)
                reasons.append(await asyncio.wait_for(errors.get(), 10))
            await client.emit("session_request", {"session_id": "widget-ok"})
            assert (await asyncio.wait_for(received.get(), 10)) == {"session": "widget-ok"}
            await client.emit("user_uttered", {"message": "谢谢", "session_id": "widget-ok"})
            return reasons, [await asyncio.wait_for(received.get(), 30)]
        finally:
            await client.disconnect()

    reasons, answered = asyncio.run(talk())
    assert ["U+D800" in reasons[0], "128" in reasons[1], "string" in reasons[2]] == [True] * 3, reasons
    assert ["object" in reasons[3], "U+0000" in reasons[4], "string" in reasons[5], "metadata" in reasons[6]] == [
        True
    ] * 4, reasons
    assert answered[0]["text"] == "不客气！还有其他问题可以继续问我。"
    assert all(proc.poll() is None for proc in running_bot.processes.values())


def sign_in(running_bot, name: str, password: str, client: str, device: str | None = None) -> tuple[int, dict, str]:
    """POST /console/api/login as a browser at address ``client`` would; the device cookie it got back."""
    headers = {
        "Content-Type": "application/json",
        "X-Forwarded-For": client,
        "X-Faqbot-Console": "1",
        "Origin": running_bot.rasa_url,
    }
    if device:
        headers["Cookie"] = f"faqbot_device={device}"
    body = json.dumps({"name": name, "password": password}).encode()
    reply = send(running_bot.rasa_url + "/console/api/login", body, headers)
    cookies = (reply.headers.get_all("Set-Cookie") or []) if reply.status == 200 else []
    found = next((c.split(";")[0].split("=", 1)[1] for c in cookies if c.startswith("faqbot_device=")), "")
    return reply.status, reply.json(), found


def test_guessing_an_agents_password_never_locks_the_agent_out(running_bot):
    status, _, device = sign_in(running_bot, "on-duty", "long-enough-password", "198.51.100.7")
    assert status == 200 and device
    for _ in range(6):
        status, body, _ = sign_in(running_bot, "on-duty", "guess", "203.0.113.9")
    assert status == 429 and "too many failed sign-ins" in body["error"]
    status, body, _ = sign_in(running_bot, "on-duty", "long-enough-password", "203.0.113.9")
    assert status == 429  # the guesser's address waits, even with the right password
    status, body, _ = sign_in(running_bot, "on-duty", "long-enough-password", "198.51.100.8", device)
    assert status == 200 and body["agent"]["name"] == "on-duty"  # the agent signs in from elsewhere
    status, _, _ = sign_in(running_bot, "nobody-here", "guess", "192.0.2.1")
    assert status == 401


def test_an_old_feedback_button_never_counts_for_another_answer(chat: Chat, records):
    first = chat.say("提现手续费是多少")
    chat.say("提现多久能到账")
    late = chat.say(first.payload("有帮助"))
    assert "已经不能用了" in late.text and len(late.messages) == 1
    assert feedback_rows(records, chat.sender) == []

    # The KPIs record it as what it was (faqbot report kpis: 旧按钮点击), for the answer it was under.
    def kinds() -> list[tuple[str, str | None]]:
        query = sa.select(outcomes.c.kind, outcomes.c.faq_id).where(outcomes.c.conversation_id == chat.sender)
        with records.engine.connect() as conn:
            return [(r.kind, r.faq_id) for r in conn.execute(query.order_by(outcomes.c.id))]

    wait_until(lambda: len(kinds()) == 3, 30, "the three turns to be recorded")
    assert kinds()[-1] == ("stale_button", "ex-withdraw-fee")
    chat.say(late.payload("没帮助"))  # the note asks about the latest answer again: that counts
    assert [(r["faq_id"], r["helpful"]) for r in feedback_rows(records, chat.sender)] == [
        ("ex-withdraw-arrival-time", False)
    ]


def test_a_button_clicked_while_waiting_reaches_the_agent_as_its_label(chat: Chat, records):
    clarify = chat.say("充值的话呢")
    old = clarify.buttons[0]
    assert "已为您转接人工客服" in chat.say("转人工").text
    chat.say(old["payload"])
    [request] = handoffs_for(records, chat.sender)
    store = HandoffStore(str(records.engine.url))
    said = [e["text"] for e in store.events(request["id"]) if e["kind"] == "user_message"]
    assert said == [old["title"]]


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
    path.write_text(
        text.replace("提现手续费主要用于支付区块链网络费用", marker + "提现手续费主要用于支付区块链网络费用", 1),
        encoding="utf-8",
    )
    build_and_publish(bot_settings, embedder=embedder)
    failures = []

    def served() -> bool:
        reply = chat.say("提现手续费是多少")
        if reply.status != 200 or not reply.texts:
            failures.append(reply)
        return marker in reply.text

    wait_until(served, what="the edited answer to be served")
    assert failures == []


def test_dead_action_server_gets_a_polite_message(chat: Chat, running_bot):
    actions = running_bot.processes["actions"]
    actions.terminate()
    actions.wait(10)
    reply = chat.say("提现手续费是多少")
    assert reply.status == 200
    assert reply.texts == [APOLOGY]
