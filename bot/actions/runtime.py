"""Process-wide objects of the action server, created on first use: the settings,
the live index (loaded once, following every publish), the records store and
the hand-off intake (``bot/handoff/intake.py``)."""

from __future__ import annotations

import functools

from bot.handoff.intake import Intake
from bot.handoff.records import Records
from faqbot.config import Settings, load_settings
from faqbot.masking import masker_for
from indexer.live import LiveSearcher


@functools.cache
def settings() -> Settings:
    return load_settings()


@functools.cache
def live_index() -> LiveSearcher:
    live = LiveSearcher(settings())
    live.follow_in_background()  # several servers: take each publish, say what this one serves
    return live


@functools.cache
def records() -> Records:
    return Records(settings().database_url, masker_for(settings().masking))


@functools.cache
def desk() -> Intake:
    """The action server's half of the hand-off layer: asking for a person."""
    return Intake(settings())


def warm_up() -> None:
    """Load the embedder and the index before the first user waits for it."""
    import logging

    try:
        live_index().get().search("你好")
    except Exception as exc:  # no index yet: the first question will say so politely
        logging.getLogger(__name__).warning("index not loaded at start-up: %s", exc)
