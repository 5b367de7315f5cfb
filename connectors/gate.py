"""Who reads a user's message before the bot does.

A channel hands every message to the installed gate first. The gate may take
it (a person owns the conversation, or a message is being left for one); then
the bot never sees it. Connectors define the interface only: the hand-off
layer in ``bot/`` implements it and installs it when the server starts, so
``connectors/`` never imports ``bot/``.
"""

from __future__ import annotations

from typing import Protocol

from rasa.core.channels.channel import UserMessage


class MessageGate(Protocol):
    async def intercept(self, message: UserMessage) -> bool:
        """Handle the message here (replying through ``message.output_channel``
        if needed) and return True, or return False to let the bot answer it."""

    async def answered(self, message: UserMessage, reply_ms: float) -> None:
        """The bot answered ``message`` in ``reply_ms`` milliseconds."""

    async def screen(self, message: UserMessage) -> None:
        """Before the bot reads ``message`` (the gate did not take it): a typed
        ``/payload`` that the bot does not offer this user now is rewritten
        (``message.text``) to plain text."""

    async def offered(self, message: UserMessage, buttons: list[dict[str, str]]) -> None:
        """The bot's turn for ``message`` offered these buttons (title, payload; possibly none)."""


_gate: MessageGate | None = None


def install(gate: MessageGate | None) -> None:
    global _gate
    _gate = gate


def current() -> MessageGate | None:
    return _gate
