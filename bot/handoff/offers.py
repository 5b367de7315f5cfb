"""The buttons the bot offered each conversation, so a typed ``/payload`` is
honoured only when it is one of them.

Every channel sends a clicked button to the bot as its payload text
(``/feedback_positive``, ``/choose_faq{"faq_id": …}``), and anyone can type the
same text. Typed payloads forged KPIs (20 feedback rows from one answer) and
reached intents no button ever offers (``/out_of_scope``). The rule here: a
message that starts with ``/`` is honoured only if the bot's latest turn in
this conversation offered exactly that payload. A payload from an earlier turn
is passed on marked stale, with its button's title (what the user saw and
clicked), so the bot does what the label says as a fresh turn and never counts
it for another answer; anything else becomes plain text without the slash.
``/greet`` (the welcome channels send on their own) always passes.

Stored in the bot's database (one row per conversation), so every server sees
the same offers; calls are blocking and are run off the event loop by the gate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import sqlalchemy as sa

from bot.handoff.db import Database, now

PAYLOAD_PREFIX = "/"
# Sent by channels themselves (a follow, a "Get started", Telegram's /start), not from a button.
WELCOME = "/greet"
ALWAYS_HONOURED = frozenset({WELCOME})
# Titles of earlier buttons kept per conversation, newest last.
MAX_TITLES = 100

metadata = sa.MetaData()

offers = sa.Table(
    "offered_buttons",
    metadata,
    sa.Column("conversation_id", sa.String(255), primary_key=True),
    sa.Column("current", sa.Text, nullable=False),  # JSON list: the payloads of the latest turn
    sa.Column("titles", sa.Text, nullable=False),  # JSON object: payload → title, every turn's
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)


@dataclass
class Offered:
    current: list[str] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Screened:
    """A message as the bot should read it, and which turn's button it was."""

    text: str
    button: str  # a bot.dialogue.conversation.Button: "current", "stale" or "none"
    label: str | None = None  # the button's title


def as_plain_text(text: str) -> str:
    """What a typed, unoffered payload is read as: the words without the slash."""
    return text.lstrip(PAYLOAD_PREFIX + " \t") or "？"


class OfferBook:
    def __init__(self, url: str) -> None:
        self._db = Database(url, metadata)

    def get(self, conversation_id: str) -> Offered:
        with self._db.engine.connect() as conn:
            row = conn.execute(
                sa.select(offers.c.current, offers.c.titles).where(offers.c.conversation_id == conversation_id)
            ).first()
        if row is None:
            return Offered()
        return Offered(json.loads(row.current), json.loads(row.titles))

    def offer(self, conversation_id: str, buttons: list[dict[str, str]]) -> None:
        """The bot's latest turn offered ``buttons`` (possibly none): they replace what was current."""
        try:
            self._offer(conversation_id, buttons)
        except sa.exc.IntegrityError:  # another server inserted this conversation's row first
            self._offer(conversation_id, buttons)

    def _offer(self, conversation_id: str, buttons: list[dict[str, str]]) -> None:
        with self._db.engine.begin() as conn:
            row = conn.execute(
                sa.select(offers.c.titles).where(offers.c.conversation_id == conversation_id).with_for_update()
            ).first()
            titles: dict[str, str] = json.loads(row.titles) if row is not None else {}
            for button in buttons:
                titles.pop(button["payload"], None)
                titles[button["payload"]] = button["title"]
            titles = dict(list(titles.items())[-MAX_TITLES:])
            values = {
                "current": json.dumps([b["payload"] for b in buttons], ensure_ascii=False),
                "titles": json.dumps(titles, ensure_ascii=False),
                "updated_at": now(),
            }
            if row is None:
                conn.execute(offers.insert().values(conversation_id=conversation_id, **values))
            else:
                conn.execute(offers.update().where(offers.c.conversation_id == conversation_id).values(**values))

    def screen(self, conversation_id: str, text: str) -> Screened:
        """``text`` as the bot should read it: a payload of the latest turn as it is,
        one of an earlier turn marked stale with its title, any other payload as
        plain text without the slash; text that is not a payload unchanged."""
        if not text.startswith(PAYLOAD_PREFIX):
            return Screened(text, "none")
        if text in ALWAYS_HONOURED:
            return Screened(text, "current")
        offered = self.get(conversation_id)
        if text in offered.current:
            return Screened(text, "current", offered.titles.get(text))
        title = offered.titles.get(text)
        if title is not None:
            return Screened(text, "stale", title)
        return Screened(as_plain_text(text), "none")

    def label(self, conversation_id: str, text: str) -> str | None:
        """The title of a button this conversation was offered with payload ``text``."""
        return self.get(conversation_id).titles.get(text) if text.startswith(PAYLOAD_PREFIX) else None
