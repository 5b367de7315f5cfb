"""Messages the bot did not generate: a person's replies (and notices such as
"the agent has left") pushed to a user outside a request/response turn.

Each channel that can push returns an ``Outbound`` from its ``outbound()``
(the equivalent of Rasa's ``InputChannel.get_output_channel()``, which makes
one output channel without a recipient: ours need the recipient, and say
whether the push arrived). ``Outbounds`` finds them among the channels Rasa
mounted on the app (``app.ctx.input_channels``) and lives on ``app.ctx``; the
hand-off layer looks one up by the channel the user came from. A channel
without one (REST) is served by polling instead.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, Protocol, runtime_checkable

from connectors.platform_api import PlatformError

log = logging.getLogger(__name__)


class Outbound(Protocol):
    async def send(
        self,
        recipient_id: str,
        text: str,
        buttons: list[dict[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> bool:
        """Send now; True if it reached a connected client or the platform accepted it.

        ``meta`` says who wrote it: ``{"from": "agent", "name": "小李", "seq": 12}`` or
        ``{"from": "system", "event": "claimed" | "closed" | ..., "seq": 13}``; ``seq`` is the
        message's place in the hand-off log, so a client can fetch what it missed."""


# A channel whose platform has its own human desk (WeCom 微信客服) may also offer
#     async def take_over(self, recipient_id: str) -> bool
# called after a bot turn that queued a hand-off: True means the platform's own
# servicers now have the conversation and it leaves the console's queue.

AGENT_PREFIX = "【人工客服 {name}】"


def signed(text: str, meta: dict[str, Any] | None) -> str:
    """An agent's words with the agent's name, for chats that show no author."""
    if meta and meta.get("from") == "agent":
        return AGENT_PREFIX.format(name=meta.get("name") or "客服") + text
    return text


class SignedOutbound(ABC):
    """A platform's push: the agent's name in front, the platform's refusal
    logged and answered False (the message stays stored for the console).
    Subclasses write only ``push``."""

    platform = "platform"

    async def send(
        self,
        recipient_id: str,
        text: str,
        buttons: list[dict[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> bool:
        try:
            return await self.push(recipient_id, signed(text, meta), buttons, meta)
        except PlatformError as exc:
            log.warning("%s: could not push a hand-off message to %s: %s", self.platform, recipient_id, exc)
            return False

    @abstractmethod
    async def push(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]] | None, meta: dict[str, Any] | None
    ) -> bool:
        """Send ``text`` (already signed); True when the platform took it, PlatformError when it refused."""


@runtime_checkable
class Pushes(Protocol):
    """A channel that can push (``PlatformChannel``, the socket.io channel)."""

    def outbound(self) -> Outbound | None: ...

    @classmethod
    def name(cls) -> str: ...


class Outbounds:
    """Channel name → its push, from the channels mounted on one app. Made
    before the app exists (the hand-off desk is), attached once Rasa has
    mounted the channels."""

    def __init__(self) -> None:
        self._channels: list[Any] = []

    def attach(self, app: Any) -> None:
        self._channels = list(getattr(app.ctx, "input_channels", None) or [])
        app.ctx.outbounds = self

    def get(self, channel: str) -> Outbound | None:
        for mounted in self._channels:
            if isinstance(mounted, Pushes) and mounted.name() == channel:
                return mounted.outbound()
        return None


def outbounds_of(app: Any) -> Outbounds:
    """The pushes of ``app`` (empty before ``Outbounds.attach``)."""
    found = getattr(app.ctx, "outbounds", None)
    return found if isinstance(found, Outbounds) else Outbounds()
