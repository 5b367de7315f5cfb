"""What every channel does around the bot:

- a message whose sender id is not acceptable (``connectors/identity.py``)
  is dropped before anything sees it: channels refuse those with a 400 at
  parse time, this is the last line for any path that forgot; the text and
  metadata are made storable (lone surrogates, control characters);
- an oversized message is not processed; the user is told the limit;
- the app's gate (``connectors/gate.py``, found by ``gate``) sees the message first and may
  take it (a person owns the conversation); then the bot stays silent. Else
  it screens a typed ``/payload`` (honoured only when the bot offers that
  button to this user now) and is told which buttons the bot's turn offered;
- never leave a user in silence: if handling a message raised, or produced no
  reply at all (Rasa swallows a dead action server's error and says nothing),
  send a short apology through the same channel and log why."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import OutputChannel, UserMessage

from connectors.gate import GateLookup
from connectors.identity import id_problem, safe_json, safe_text

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 2000
TOO_LONG = "您的消息有 {n} 个字，超过了 {limit} 字的上限，请精简后分条发送。"
APOLOGY = "抱歉，系统暂时出了点问题，请稍后再试。如果问题紧急，请发邮件至 support@example.com。"

Handler = Callable[[UserMessage], Awaitable[Any]]


class CountingOutput(OutputChannel):
    """Delegates every reply to the real output channel and counts them."""

    def __init__(
        self, inner: OutputChannel, on_buttons: Callable[[list[dict[str, str]]], Awaitable[None]] | None = None
    ) -> None:
        self.inner = inner
        self.sent = 0
        self.buttons: list[dict[str, str]] = []  # what this turn offered, for the gate
        self.on_buttons = on_buttons

    def name(self) -> str:
        return self.inner.name()

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        self.sent += 1
        offered = [
            {"title": str(b.get("title") or b["payload"]), "payload": b["payload"]}
            for b in list(message.get("buttons") or []) + list(message.get("quick_replies") or [])
            if isinstance(b, dict) and isinstance(b.get("payload"), str)
        ]
        if offered:
            self.buttons += offered
            if self.on_buttons is not None:  # before the user can see them: a fast click must count
                try:
                    await self.on_buttons(self.buttons)
                except Exception:
                    log.exception("could not record the buttons offered to %s", recipient_id)
        await self.inner.send_response(recipient_id, message)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        self.sent += 1
        await self.inner.send_text_message(recipient_id, text, **kwargs)


def guarded(on_new_message: Handler, apology: str = APOLOGY, gate: GateLookup | None = None) -> Handler:
    async def handle(message: UserMessage) -> None:
        problem = id_problem(message.sender_id)
        if problem is not None:
            log.warning("dropped a message on %s: %s", message.input_channel, problem)
            return
        message.text = safe_text(message.text) if message.text else message.text
        if message.metadata is not None:
            message.metadata = safe_json(message.metadata)
        if message.message_id and id_problem(message.message_id, "message_id") is not None:
            message.message_id = uuid.uuid4().hex  # only dedup reads platform ids, and it already has
        if len(message.text or "") > MAX_MESSAGE_CHARS:
            log.warning(
                "rejected a %d-character message from %s on %s",
                len(message.text),
                message.sender_id,
                message.input_channel,
            )
            await message.output_channel.send_text_message(
                message.sender_id, TOO_LONG.format(n=len(message.text), limit=MAX_MESSAGE_CHARS)
            )
            return
        owner = gate() if gate is not None else None
        if owner is not None:
            try:
                if await owner.intercept(message):
                    return
            except Exception:  # the hand-off layer is down: the bot answering beats silence
                log.exception(
                    "the message gate failed for %s on %s; the bot answers", message.sender_id, message.input_channel
                )
            try:
                await owner.screen(message)
            except Exception:  # cannot tell what was offered: no typed payload is honoured
                log.exception("screening a message from %s on %s failed", message.sender_id, message.input_channel)
                if (message.text or "").startswith("/"):
                    message.text = message.text.lstrip("/ ") or "？"
        started = time.perf_counter()

        async def offer(buttons: list[dict[str, str]]) -> None:
            if owner is not None:
                await owner.offered(message, buttons)

        output = CountingOutput(message.output_channel, offer)
        message.output_channel = output
        failed = False
        try:
            await on_new_message(message)
        except Exception:
            failed = True
            log.exception("handling a message from %s on %s failed", message.sender_id, message.input_channel)
        # Every message the bot handles gets a reply: typed commands such as
        # /restart are plain text unless offered (the gate's screen), and no
        # offered button is silent.
        if output.sent == 0:
            log.error(
                "no reply produced for %s on %s (is the action server up?); sent an apology",
                message.sender_id,
                message.input_channel,
            )
            await output.inner.send_text_message(message.sender_id, apology)
        elif owner is not None and not failed:
            try:
                await owner.answered(message, (time.perf_counter() - started) * 1000)
                if not output.buttons:  # a turn without buttons leaves none current
                    await owner.offered(message, [])
            except Exception:
                log.exception("the message gate could not record a turn of %s", message.sender_id)

    return handle
