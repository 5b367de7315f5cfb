"""The buttons the bot offered each conversation, so a typed ``/payload`` is
honoured only when it is one of them.

Every channel sends a clicked button to the bot as its payload text
(``/feedback_positive``, ``/choose_faq{"faq_id": …}``), and anyone can type the
same text. Typed payloads forged KPIs (20 feedback rows from one answer) and
reached intents no button ever offers (``/out_of_scope``). The rule here: a
message that starts with ``/`` is honoured only if the bot's latest turn in
this conversation offered exactly that payload; a payload from an earlier turn
becomes its button's title (what the user saw and clicked, e.g. the question
of an old hot-question button); anything else becomes plain text without the
slash. ``/greet`` (the welcome channels send on their own) always passes.

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
ALWAYS_HONOURED = frozenset({"/greet"})
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

    def screen(self, conversation_id: str, text: str) -> str:
        """``text`` as the bot should read it: unchanged unless it is a payload
        this conversation is not offered now (then its title, or plain text)."""
        if not text.startswith(PAYLOAD_PREFIX) or text in ALWAYS_HONOURED:
            return text
        offered = self.get(conversation_id)
        if text in offered.current:
            return text
        return offered.titles.get(text) or as_plain_text(text)
