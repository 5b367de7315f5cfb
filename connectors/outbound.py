"""Messages the bot did not generate: a person's replies (and notices such as
"the agent has left") pushed to a user outside a request/response turn.

Each channel that can push implements ``Outbound`` and registers it under its
channel name; the hand-off layer looks it up by the channel the user came
from. A channel without one (REST) is served by polling instead.
"""

from __future__ import annotations

from typing import Any, Protocol


class Outbound(Protocol):
    async def send(self, recipient_id: str, text: str, buttons: list[dict[str, Any]] | None = None,
                   meta: dict[str, Any] | None = None) -> bool:
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


_outbounds: dict[str, Outbound] = {}


def register(channel: str, outbound: Outbound) -> None:
    _outbounds[channel] = outbound


def outbound_for(channel: str) -> Outbound | None:
    return _outbounds.get(channel)
