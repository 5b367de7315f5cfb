"""The channel contract (``connectors/base.py``, ``connectors/outbound.py``)
without a server: what the platform tests exercise through HTTP, here in the
small — one answer per message id, one user's items in order, one refusal
shape, pushes found among the app's channels, the agent's name on a push and
a platform's refusal answered False."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from sanic import response
from sanic.response import HTTPResponse

from connectors.background import drain
from connectors.base import Incoming, PlatformChannel, Refusal, json_object
from connectors.outbound import Outbound, Outbounds, SignedOutbound
from connectors.platform_api import PlatformError
from faqbot.config import Settings


class Pushed(SignedOutbound):
    platform = "demo"

    def __init__(self, refuse: bool = False) -> None:
        self.sent: list[str] = []
        self.refuse = refuse

    async def push(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]] | None, meta: dict[str, Any] | None
    ) -> bool:
        if self.refuse:
            raise PlatformError("demo", "send", "user blocked the bot")
        self.sent.append(text)
        return True


class Demo(PlatformChannel):
    required_env = ("DEMO_TOKEN",)

    @classmethod
    def name(cls) -> str:
        return "demo"

    @classmethod
    def from_env(cls, env: Mapping[str, str], settings: Settings) -> Demo:
        return cls(settings)

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__(settings)
        self.push = Pushed()

    def outbound(self) -> Outbound:
        return self.push

    def verify(self, request: Any) -> Any:
        return json.loads(request.body)

    async def parse(self, request: Any, body: Any) -> tuple[HTTPResponse, list[Incoming]]:
        return response.json({"ok": True}), [
            Incoming(
                [f"demo:{item['id']}"],
                UserMessage(item["text"], CollectingOutputChannel(), item["user"]),
                group=item["user"],
            )
            for item in body
        ]


def test_each_message_id_is_answered_once_and_one_users_items_in_order(tmp_path):
    channel = Demo(Settings(data_dir=tmp_path))
    handled: list[str] = []

    async def bot(message: UserMessage) -> None:
        await asyncio.sleep(0.05 if message.text == "a1" else 0)
        handled.append(message.text or "")

    async def scenario() -> tuple[HTTPResponse, HTTPResponse]:
        first = await channel.answer(
            None,
            [
                {"id": 1, "user": "a", "text": "a1"},
                {"id": 2, "user": "a", "text": "a2"},
                {"id": 1, "user": "a", "text": "again"},
            ],
            bot,
        )
        repeat = await channel.answer(None, [{"id": 2, "user": "a", "text": "a2"}], bot)
        await drain(5)
        return first, repeat

    first, repeat = asyncio.run(scenario())
    assert handled == ["a1", "a2"]  # the retry of id 1 dropped; a2 waited for the slow a1
    assert first.status == repeat.status == 200 and json.loads(repeat.body) == {"ok": True}


def test_a_refusal_is_one_shape_and_junk_json_is_a_400(tmp_path):
    channel = Demo(Settings(data_dir=tmp_path))
    refused = channel.refuse(None, Refusal(403, "wrong signature", "forbidden"))
    assert refused.status == 403 and json.loads(refused.body) == {"error": "forbidden"}
    for junk in (b"", b"[1]", b"{", b'{"a": "\\ud800"}'):
        try:
            json_object(junk)
        except Refusal as refusal:
            assert refusal.status == 400 and refusal.answer == refusal.reason
        else:
            raise AssertionError(f"{junk!r} was accepted")


def test_pushes_are_found_among_the_apps_channels_and_signed(tmp_path):
    channel = Demo(Settings(data_dir=tmp_path))
    app = SimpleNamespace(ctx=SimpleNamespace(input_channels=[channel]))
    outbounds = Outbounds()
    assert outbounds.get("demo") is None  # before the app has mounted its channels
    outbounds.attach(app)
    assert app.ctx.outbounds is outbounds and outbounds.get("rest") is None
    push = outbounds.get("demo")
    assert push is not None
    assert asyncio.run(push.send("u1", "您好", meta={"from": "agent", "name": "小李"}))
    assert channel.push.sent == ["【人工客服 小李】您好"]
    assert asyncio.run(Pushed(refuse=True).send("u1", "您好")) is False  # logged; the message stays stored


def test_a_channel_missing_a_platform_hook_fails_when_created_not_on_its_first_webhook():
    import pytest

    class Unfinished(PlatformChannel):  # no verify
        @classmethod
        def name(cls) -> str:
            return "unfinished"

        @classmethod
        def from_env(cls, env: Mapping[str, str], settings: Settings) -> Unfinished:
            return cls(settings)

    with pytest.raises(TypeError, match="verify"):
        Unfinished.from_env({}, Settings())
