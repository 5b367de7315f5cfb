"""Every store that holds what customers said or did, for the purge and for data subject
requests: the bot's own tables (one database, ``Settings.database_url``) and Rasa's
conversation store (``[bot] tracker_store``: its own SQLite file under ``data_dir`` by
default, or a PostgreSQL URL; ``bot/process/runner.py`` writes the same into Rasa's
endpoints)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from bot.handoff import customers, handoffs, offers, records, tickets
from bot.handoff.db import Database, engine_for
from bot.studio import gap_report
from faqbot.config import Settings
from faqbot.errors import UserError

# Every metadata whose tables hold a conversation's data (created if missing, as the stores do).
METADATA = (
    records.metadata,
    handoffs.metadata,
    tickets.metadata,
    customers.metadata,
    offers.metadata,
    gap_report.metadata,
)

# Rasa's SQL tracker store table (rasa.core.tracker_store.SQLTrackerStore.SQLEvent), described
# here so that neither the purge nor the command line imports Rasa.
_rasa = sa.MetaData()
tracker_events = sa.Table(
    "events",
    _rasa,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)


class TrackerNotCovered(UserError, ValueError):
    """The conversation store is one this module cannot read (Redis): said, not skipped silently."""


def bot_database(settings: Settings) -> sa.engine.Engine:
    """The bot's database, with every table of ``METADATA`` created."""
    return Database(settings.database_url, *METADATA).engine


def tracker_url(settings: Settings) -> str | None:
    """The SQLAlchemy URL of Rasa's conversation store; ``None`` when it keeps nothing
    (``memory``). ``TrackerNotCovered`` for Redis."""
    store = settings.bot.tracker_store.strip()
    if store == "memory":
        return None
    if store == "sqlite":
        return f"sqlite:///{settings.data_dir / 'rasa' / 'tracker.db'}"
    scheme = store.split(":", 1)[0].split("+", 1)[0]
    if scheme in ("postgresql", "postgres"):
        return "postgresql" + store[len(scheme) :] if scheme == "postgres" else store
    raise TrackerNotCovered(
        f"对话存储 {scheme}（[bot] tracker_store）不是 SQL 数据库，这里无法清理或导出其中的对话；"
        "请用它自己的工具处理（Redis：按 faqbot 前缀的键）"
    )


def tracker_database(settings: Settings) -> sa.engine.Engine | None:
    """Rasa's conversation store, or ``None`` when there is none yet (no SQLite file, no
    ``events`` table: no conversation was ever stored). Never creates it."""
    url = tracker_url(settings)
    if url is None:
        return None
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists():
        return None
    engine = engine_for(url)
    return engine if sa.inspect(engine).has_table("events") else None
