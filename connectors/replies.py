"""Fitting the bot's replies to what a platform can show.

- ``split_text``: a long answer becomes several messages under the platform's
  limit (characters, or UTF-8 bytes for WeChat/WeCom), cut at a paragraph,
  line or sentence end when there is one, never inside a character.
- ``numbered``: platforms without buttons (WeChat) get the options as a
  numbered list; ``Choices`` remembers them per user so a reply of "1" (or
  "１", "第1个") is sent to the bot as the first button's payload (and, where
  a clicked button comes back as its title, as DingTalk's cards do, the title
  as its payload); in Redis with several servers (``choices_for``);
- ``is_markdown``: whether a reply needs the platform's Markdown message kind.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from faqbot.config import ChannelsConfig
from faqbot.normalize import normalize

log = logging.getLogger(__name__)

Measure = Callable[[str], int]
_SENTENCE_END = "。！？；!?;…"
_MARKDOWN = re.compile(r"\*\*|^\s*(?:[-*] |\d+\. |#)|\[[^\]]+\]\([^)]+\)", re.M)


def is_markdown(text: str) -> bool:
    """Bold, a list, a heading or a link: DingTalk and Feishu then send Markdown."""
    return bool(_MARKDOWN.search(text))


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def split_text(text: str, limit: int, measure: Measure = len) -> list[str]:
    """Pieces of ``text`` each at most ``limit`` long by ``measure``."""
    text = text.strip()
    pieces: list[str] = []
    while text and measure(text) > limit:
        cut = _longest_prefix(text, limit, measure)
        head = text[:cut]
        for separators in (["\n\n"], ["\n"], list(_SENTENCE_END), ["，", ",", " "]):
            best = max((head.rfind(s) + len(s) for s in separators if head.rfind(s) > 0), default=-1)
            if best > cut // 3:  # a boundary that still leaves a reasonably full piece
                cut = best
                break
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return [p for p in pieces if p]


def _longest_prefix(text: str, limit: int, measure: Measure) -> int:
    low, high = 1, len(text)
    while low < high:  # the largest n with measure(text[:n]) <= limit
        mid = (low + high + 1) // 2
        if measure(text[:mid]) <= limit:
            low = mid
        else:
            high = mid - 1
    return low


def numbered(text: str, buttons: list[dict[str, Any]]) -> str:
    """The message with its buttons as a numbered list the user can answer."""
    lines = [text.rstrip()] if text.strip() else []
    lines += [f"{i}. {b.get('title', '')}" for i, b in enumerate(buttons, 1)]
    lines.append("（回复数字即可选择）")
    return "\n".join(lines)


_NUMBER = re.compile(r"^(?:第|选|选择)?\s*(\d{1,2})\s*(?:个|项|条|号)?[.。、]?$")


class Choices:
    """The last numbered options shown to each user, for ``ttl`` seconds: in this process
    (the default; one server), or in Redis (``redis_url``) so that a number typed to
    another server behind the load balancer picks the option this one offered."""

    def __init__(self, ttl: float = 1800, max_users: int = 100_000, redis_url: str = "", channel: str = "") -> None:
        self.ttl = ttl
        self._offers: _Offers = _RedisOffers(redis_url, channel, ttl) if redis_url else _MemoryOffers(ttl, max_users)

    async def offer(self, user: str, buttons: list[dict[str, Any]]) -> None:
        await self._offers.put(user, list(buttons))

    async def resolve(self, user: str, text: str, titles: bool = False) -> str:
        """The payload the user picked by number (with ``titles``, also by a
        button's title, which stays offered), or ``text`` unchanged. A number is
        consumed once: of two servers handed the same "1", one gets the payload."""
        buttons = await self._offers.get(user)
        if not buttons:
            return text
        typed = normalize(text).strip()
        if titles:
            by_title = {
                normalize(str(b.get("title", ""))).strip(): str(b.get("payload") or b.get("title", ""))
                for b in buttons
                if b.get("title")
            }
            if typed in by_title:
                return by_title[typed]
        match = _NUMBER.match(typed)
        if not match:
            return text
        index = int(match.group(1)) - 1
        if not 0 <= index < len(buttons):
            return text  # out of range: plain text, the options stay offered
        taken = await self._offers.take(user)  # atomic: None when another server took it first
        if not taken or not 0 <= index < len(taken):
            return text
        return str(taken[index].get("payload") or taken[index].get("title") or text)

    async def close(self) -> None:
        await self._offers.close()


def choices_for(config: ChannelsConfig, channel: str) -> Choices:
    """A channel's numbered options: in Redis when ``[channels] dedup_url`` is a Redis URL
    (several servers share it already for retries), else in this process."""
    url = config.dedup_url if config.dedup_url.startswith(("redis://", "rediss://")) else ""
    return Choices(config.choice_ttl, redis_url=url, channel=channel)


Buttons = list[dict[str, Any]]


class _Offers(Protocol):
    async def put(self, user: str, buttons: Buttons) -> None: ...

    async def get(self, user: str) -> Buttons | None: ...

    async def take(self, user: str) -> Buttons | None:
        """The user's options, removed, if nobody took them first."""

    async def close(self) -> None: ...


class _MemoryOffers:
    """A dict in this process, pruned of expired users when it reaches ``max_users``."""

    def __init__(self, ttl: float, max_users: int) -> None:
        self.ttl, self.max_users = ttl, max_users
        self._offered: dict[str, tuple[float, Buttons]] = {}

    async def put(self, user: str, buttons: Buttons) -> None:
        if len(self._offered) >= self.max_users:
            now = time.monotonic()
            self._offered = {k: v for k, v in self._offered.items() if now - v[0] < self.ttl}
        self._offered[user] = (time.monotonic(), buttons)

    async def get(self, user: str) -> Buttons | None:
        offered = self._offered.get(user)
        if not offered or time.monotonic() - offered[0] > self.ttl:
            return None
        return offered[1]

    async def take(self, user: str) -> Buttons | None:
        found = await self.get(user)
        self._offered.pop(user, None)
        return found

    async def close(self) -> None:
        pass


class _RedisOffers:
    """``faqbot:choices:<channel>:<user>`` holding the buttons as JSON, expiring after the
    TTL; taken with GETDEL so that one server only consumes a number. Redis away: the
    options are not remembered and a number is read as text (logged), never an error."""

    def __init__(self, url: str, channel: str, ttl: float) -> None:
        import redis.asyncio as redis

        self.prefix = f"faqbot:choices:{channel}:"
        self.ttl_ms = max(1, int(ttl * 1000))
        self._redis = redis.from_url(url)

    async def put(self, user: str, buttons: Buttons) -> None:
        try:
            await self._redis.set(self.prefix + user, json.dumps(buttons, ensure_ascii=False), px=self.ttl_ms)
        except Exception as exc:
            log.warning("numbered choices: Redis unavailable (%s); the options for %s are not remembered", exc, user)

    async def get(self, user: str) -> Buttons | None:
        return await self._read(self._redis.get, user)

    async def take(self, user: str) -> Buttons | None:
        return await self._read(self._redis.getdel, user)

    async def _read(self, command: Callable[[str], Awaitable[Any]], user: str) -> Buttons | None:
        try:
            raw = await command(self.prefix + user)
        except Exception as exc:
            log.warning("numbered choices: Redis unavailable (%s); a number from %s is read as text", exc, user)
            return None
        if raw is None:
            return None
        found = json.loads(raw)
        return found if isinstance(found, list) else None

    async def close(self) -> None:
        await self._redis.close()
