"""The channel guard with Rasa's real message and output-channel classes."""

from __future__ import annotations

import asyncio

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from connectors.guard import APOLOGY, MAX_MESSAGE_CHARS, guarded


def run(handler, text: str) -> list[dict]:
    output = CollectingOutputChannel()
    asyncio.run(guarded(handler)(UserMessage(text, output, "u1", input_channel="socketio")))
    return output.messages


def test_a_reply_passes_through_untouched():
    async def bot(message: UserMessage) -> None:
        await message.output_channel.send_response(message.sender_id, {"text": "您好"})

    assert [m["text"] for m in run(bot, "你好")] == ["您好"]


def test_silence_or_a_crash_becomes_an_apology_even_for_a_command():
    async def silent(message: UserMessage) -> None:
        return None

    async def crash(message: UserMessage) -> None:
        raise RuntimeError("action server down")

    assert [m["text"] for m in run(silent, "提现手续费")] == [APOLOGY]
    assert [m["text"] for m in run(crash, "提现手续费")] == [APOLOGY]
    assert [m["text"] for m in run(silent, "/restart")] == [APOLOGY]


def test_a_sender_id_no_store_can_hold_never_reaches_the_bot():
    seen = []

    async def bot(message: UserMessage) -> None:
        seen.append(message.sender_id)

    for sender in ("a\ud800", "x\x00", "", "u" * 129):
        output = CollectingOutputChannel()
        asyncio.run(guarded(bot)(UserMessage("hi", output, sender, input_channel="feishu")))
        assert output.messages == []
    assert seen == []


def test_text_and_metadata_reach_the_bot_storable():
    seen = []

    async def bot(message: UserMessage) -> None:
        seen.append((message.text, message.metadata))
        await message.output_channel.send_response(message.sender_id, {"text": "好的"})

    output = CollectingOutputChannel()
    asyncio.run(guarded(bot)(UserMessage("提现\ud800多少\x00", output, "u1", metadata={"k": ["v\udfff"]})))
    assert seen == [("提现\ufffd多少\ufffd", {"k": ["v\ufffd"]})]


def test_oversized_message_is_refused_with_the_limit_and_not_processed():
    seen = []

    async def bot(message: UserMessage) -> None:
        seen.append(message.text)

    [reply] = run(bot, "长" * (MAX_MESSAGE_CHARS + 1))
    assert str(MAX_MESSAGE_CHARS) in reply["text"] and str(MAX_MESSAGE_CHARS + 1) in reply["text"]
    assert seen == []
