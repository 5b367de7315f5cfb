"""Pushing to a user outside a turn, as the hand-off layer needs it: the shape of a
channel's outbound side (the channels implement it, ``connectors/outbound.py``) and
what a push came to. Declared here so the hand-off layer imports no channel code;
the Rasa server hands the desk its lookup."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any, Protocol


class Outbound(Protocol):
    async def send(
        self,
        recipient_id: str,
        text: str,
        buttons: list[dict[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> bool:
        """Send now; True if it reached a connected client or the platform accepted it."""
        ...


OutboundLookup = Callable[[str], Outbound | None]


def no_push(channel: str) -> Outbound | None:
    """No channel can push (scripts and tests): every user polls."""
    return None


class Delivered(StrEnum):
    LIVE = "live"  # a connected client or the platform got it
    STORED = "stored"  # kept in the hand-off log; the client fetches it when it is back
    POLL = "poll"  # the channel has no push; the user's client polls
