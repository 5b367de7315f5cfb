"""Who a customer is, for the console's customer panel: the page they chat from and
their device (as their widget reports them), and the host site's user id when the
site vouches for it.

The widget sends ``metadata.customer`` with its first message on each page:
``{page_url, page_title, referrer, user_agent, language, user: {id, name, signature}}``.
Everything in it comes from the visitor's browser, so it is shown as reported,
never trusted, except the user id: it counts only with ``signature`` =
hex HMAC-SHA256 of the id under the site's secret (``[widget] identity_secret``),
which only the host site's server knows. A visitor who edits the id in their
browser cannot produce its signature, so they cannot pass as another user and
see that user's previous conversations. A wrong or missing signature keeps the id
out and says why (``identity``: verified | unsigned | invalid | none).

One row per conversation (``customers``), rewritten when the widget reports a new
page; every conversation with the same verified user id is theirs.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from bot.handoff.db import Database, aware
from bot.handoff.db import now as _now

VERIFIED, UNSIGNED, INVALID, NONE = "verified", "unsigned", "invalid", "none"
LIMITS = {"page_url": 2000, "page_title": 200, "referrer": 2000, "user_agent": 400, "language": 32}
MAX_USER_ID, MAX_USER_NAME = 128, 64

metadata = sa.MetaData()

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("conversation_id", sa.String(255), primary_key=True),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("page_url", sa.Text, nullable=True),
    sa.Column("page_title", sa.String(200), nullable=True),
    sa.Column("referrer", sa.Text, nullable=True),
    sa.Column("user_agent", sa.String(400), nullable=True),
    sa.Column("language", sa.String(32), nullable=True),
    # Only a verified id is kept; ``identity`` says what became of the one sent.
    sa.Column("user_id", sa.String(MAX_USER_ID), nullable=True, index=True),
    sa.Column("user_name", sa.String(MAX_USER_NAME), nullable=True),
    sa.Column("identity", sa.String(16), nullable=False),
    sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
)


def sign(user_id: str, secret: str) -> str:
    """What the host site's server computes for the widget (documented in the README)."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def _text(value: Any, limit: int) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    cleaned = "".join(ch for ch in value.strip() if ch.isprintable())
    return cleaned[:limit] or None


def _web_url(value: Any, limit: int) -> str | None:
    """An http(s) address, else nothing: the console links it, so no ``javascript:``."""
    text = _text(value, limit)
    if text is None:
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    return text if parts.scheme in ("http", "https") and parts.netloc else None


@dataclass(frozen=True)
class Customer:
    conversation_id: str
    channel: str
    page_url: str | None = None
    page_title: str | None = None
    referrer: str | None = None
    user_agent: str | None = None
    language: str | None = None
    user_id: str | None = None
    user_name: str | None = None
    identity: str = NONE
    first_seen: datetime | None = None
    last_seen: datetime | None = None

    @classmethod
    def reported(cls, conversation_id: str, channel: str, raw: Any, secret: str) -> Customer | None:
        """What a client reported (``metadata.customer``), cleaned; ``None`` if it is not an object."""
        if not isinstance(raw, dict):
            return None
        user: dict[str, Any] = raw["user"] if isinstance(raw.get("user"), dict) else {}
        user_id = _text(user.get("id"), MAX_USER_ID)
        identity, name = NONE, None
        if user_id is not None:
            signature = user.get("signature")
            if not secret or not isinstance(signature, str) or not signature:
                identity, user_id = UNSIGNED, None
            elif hmac.compare_digest(sign(user_id, secret), signature.strip().lower()):
                identity, name = VERIFIED, _text(user.get("name"), MAX_USER_NAME)
            else:
                identity, user_id = INVALID, None
        return cls(
            conversation_id,
            channel,
            page_url=_web_url(raw.get("page_url"), LIMITS["page_url"]),
            page_title=_text(raw.get("page_title"), LIMITS["page_title"]),
            referrer=_web_url(raw.get("referrer"), LIMITS["referrer"]),
            user_agent=_text(raw.get("user_agent"), LIMITS["user_agent"]),
            language=_text(raw.get("language"), LIMITS["language"]),
            user_id=user_id,
            user_name=name,
            identity=identity,
        )

    def to_json(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for key in ("first_seen", "last_seen"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


class CustomerBook:
    def __init__(self, url: str) -> None:
        self._db = Database(url, metadata)

    def note(self, customer: Customer) -> None:
        """Keep what the client reported now (the page they are on); the first visit stays."""
        at = _now()
        values = {k: getattr(customer, k) for k in (*LIMITS, "channel", "user_id", "user_name", "identity")}
        with self._db.engine.begin() as conn:
            done = conn.execute(
                customers.update()
                .where(customers.c.conversation_id == customer.conversation_id)
                .values(**values, last_seen=at)
            )
            if done.rowcount == 0:
                conn.execute(
                    customers.insert().values(
                        conversation_id=customer.conversation_id, **values, first_seen=at, last_seen=at
                    )
                )

    def get(self, conversation_id: str, channel: str = "unknown") -> Customer:
        """What is known of this conversation's customer (just the channel, if nothing was reported)."""
        with self._db.engine.connect() as conn:
            row = conn.execute(sa.select(customers).where(customers.c.conversation_id == conversation_id)).first()
        if row is None:
            return Customer(conversation_id, channel)
        data = dict(row._mapping)
        data["first_seen"], data["last_seen"] = aware(data["first_seen"]), aware(data["last_seen"])
        return Customer(**data)

    def conversations_of(self, customer: Customer) -> list[str]:
        """Every conversation of this customer: those with the same verified user id, or just this one."""
        if customer.user_id is None:
            return [customer.conversation_id]
        with self._db.engine.connect() as conn:
            found = list(
                conn.execute(
                    sa.select(customers.c.conversation_id).where(customers.c.user_id == customer.user_id)
                ).scalars()
            )
        return sorted(set(found) | {customer.conversation_id})

    def matching(self, text: str, limit: int = 200) -> list[str]:
        """Conversations whose verified user id or name contains ``text`` (the history's customer search)."""
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self._db.engine.connect() as conn:
            return list(
                conn.execute(
                    sa.select(customers.c.conversation_id)
                    .where(
                        sa.or_(
                            customers.c.user_id.ilike(pattern, escape="\\"),
                            customers.c.user_name.ilike(pattern, escape="\\"),
                        )
                    )
                    .limit(limit)
                ).scalars()
            )
