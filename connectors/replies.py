"""Fitting the bot's replies to what a platform can show.

- ``split_text``: a long answer becomes several messages under the platform's
  limit (characters, or UTF-8 bytes for WeChat/WeCom), cut at a paragraph,
  line or sentence end when there is one, never inside a character.
- ``numbered``: platforms without buttons (WeChat) get the options as a
  numbered list; ``Choices`` remembers them per user so a reply of "1" (or
  "１", "第1个") is sent to the bot as the first button's payload (and, where
  a clicked button comes back as its title, as DingTalk's cards do, the title
  as its payload);
- ``is_markdown``: whether a reply needs the platform's Markdown message kind.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from faqbot.normalize import normalize

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
    """The last numbered options shown to each user, for a limited time."""

    def __init__(self, ttl: float = 1800, max_users: int = 100_000) -> None:
        self.ttl, self.max_users = ttl, max_users
        self._offered: dict[str, tuple[float, list[dict[str, Any]]]] = {}

    def offer(self, user: str, buttons: list[dict[str, Any]]) -> None:
        if len(self._offered) >= self.max_users:
            now = time.monotonic()
            self._offered = {k: v for k, v in self._offered.items() if now - v[0] < self.ttl}
        self._offered[user] = (time.monotonic(), list(buttons))

    def resolve(self, user: str, text: str, titles: bool = False) -> str:
        """The payload the user picked by number (with ``titles``, also by a
        button's title, which stays offered), or ``text`` unchanged."""
        offered = self._offered.get(user)
        if not offered or time.monotonic() - offered[0] > self.ttl:
            return text
        typed = normalize(text).strip()
        if titles:
            by_title = {
                normalize(str(b.get("title", ""))).strip(): str(b.get("payload") or b.get("title", ""))
                for b in offered[1]
                if b.get("title")
            }
            if typed in by_title:
                return by_title[typed]
        match = _NUMBER.match(typed)
        if not match:
            return text
        index = int(match.group(1)) - 1
        buttons = offered[1]
        if 0 <= index < len(buttons):
            del self._offered[user]
            return str(buttons[index].get("payload") or buttons[index].get("title") or text)
        return text
