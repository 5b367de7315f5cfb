"""What every channel does around the bot:

- an oversized message is not processed; the user is told the limit;
- the installed gate (``connectors/gate.py``) sees the message first and may
  take it (a person owns the conversation); then the bot stays silent;
- never leave a user in silence: if handling a message raised, or produced no
  reply at all (Rasa swallows a dead action server's error and says nothing),
  send a short apology through the same channel and log why."""

from __future__ import annotations

import logging
import time
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import OutputChannel, UserMessage

from connectors import gate

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 2000
TOO_LONG = "您的消息有 {n} 个字，超过了 {limit} 字的上限，请精简后分条发送。"
APOLOGY = "抱歉，系统暂时出了点问题，请稍后再试。如果问题紧急，请发邮件至 support@example.com。"

Handler = Callable[[UserMessage], Awaitable[Any]]


class CountingOutput(OutputChannel):
    """Delegates every reply to the real output channel and counts them."""

    def __init__(self, inner: OutputChannel) -> None:
        self.inner = inner
        self.sent = 0

    def name(self) -> str:  # type: ignore[override]
        return self.inner.name()

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        self.sent += 1
        await self.inner.send_response(recipient_id, message)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        self.sent += 1
        await self.inner.send_text_message(recipient_id, text, **kwargs)


def guarded(on_new_message: Handler, apology: str = APOLOGY) -> Handler:
    async def handle(message: UserMessage) -> None:
        if len(message.text or "") > MAX_MESSAGE_CHARS:
            log.warning("rejected a %d-character message from %s on %s", len(message.text),
                        message.sender_id, message.input_channel)
            await message.output_channel.send_text_message(
                message.sender_id, TOO_LONG.format(n=len(message.text), limit=MAX_MESSAGE_CHARS))
            return
        owner = gate.current()
        if owner is not None:
            try:
                if await owner.intercept(message):
                    return
            except Exception:  # the hand-off layer is down: the bot answering beats silence
                log.exception("the message gate failed for %s on %s; the bot answers", message.sender_id,
                              message.input_channel)
        started = time.perf_counter()
        output = CountingOutput(message.output_channel)
        message.output_channel = output
        failed = False
        try:
            await on_new_message(message)
        except Exception:
            failed = True
            log.exception("handling a message from %s on %s failed", message.sender_id, message.input_channel)
        # Commands such as /restart legitimately answer nothing.
        command = (message.text or "").startswith("/")
        if output.sent == 0 and (failed or not command):
            log.error("no reply produced for %s on %s (is the action server up?); sent an apology",
                      message.sender_id, message.input_channel)
            await output.inner.send_text_message(message.sender_id, apology)
        elif owner is not None and not failed:
            try:
                await owner.answered(message, (time.perf_counter() - started) * 1000)
            except Exception:
                log.exception("the message gate could not record a turn of %s", message.sender_id)

    return handle
