"""Who reads a user's message before the bot does.

A channel hands every message to the app's gate first. The gate may take it
(a person owns the conversation, or a message is being left for one); then
the bot never sees it. Connectors define the interface only: the hand-off
layer in ``bot/`` implements it and installs it on the Sanic app
(``install``), so ``connectors/`` never imports ``bot/``; each channel's
blueprint finds it on the app it is mounted on (``gate_lookup``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint


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


GateLookup = Callable[[], "MessageGate | None"]


def install(app: Any, gate: MessageGate | None) -> None:
    """``gate`` reads every message of every channel mounted on ``app``."""
    app.ctx.gate = gate


def gate_of(app: Any) -> MessageGate | None:
    return getattr(app.ctx, "gate", None) if app is not None else None


def gate_lookup(hook: Blueprint) -> GateLookup:
    """The gate of the app ``hook`` gets mounted on (None until the server starts, and without one)."""
    mounted: list[Any] = []

    @hook.listener("before_server_start")
    async def remember_the_app(app: Any, _: Any) -> None:
        mounted[:] = [app]

    return lambda: gate_of(mounted[0]) if mounted else None
