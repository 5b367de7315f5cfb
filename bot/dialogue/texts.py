"""What the hand-off layer says to users, read from ``bot/domain.yml`` like
every other bot text, so editors change all wording in one file."""

from __future__ import annotations

import functools
from typing import Any

import yaml

from bot.paths import BOT_DIR


@functools.lru_cache(maxsize=1)
def _responses() -> dict[str, str]:
    domain = yaml.safe_load((BOT_DIR / "domain.yml").read_text(encoding="utf-8"))
    return {name: variants[0]["text"] for name, variants in domain["responses"].items()}


def say(name: str, **values: Any) -> str:
    """The text of response ``name`` with its ``{placeholders}`` filled in."""
    return _responses()[name].format(**values)
