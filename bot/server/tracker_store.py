"""The conversation store the Rasa server runs with: Rasa's own SQL store (same
table, same rows: any server, and Rasa's stock store, reads what this one
wrote), made cheap enough for the per-message path.

Rasa's store reloads and re-parses a conversation's whole session from the
database for every message and, to save, counts the stored events again to
find the new ones; both run on the event loop. Here:

- the database work runs in a thread, off the event loop;
- the tracker a message ended with is kept in memory, stamped with the id of
  its last stored event. The next retrieve checks that stamp against the
  database (one indexed lookup) and reuses the tracker only when nothing was
  written since, by this server or any other: the database stays the truth
  and the memory is only a cache. When another server wrote since (several
  servers, round-robin), only its newer rows are read and applied. A kept
  tracker is handed out once (whoever retrieves it owns it), so two readers
  never share one object;
- a save appends the events after the ones it knows are stored, without
  counting them again, in one statement;
- a SQLite file keeps a pool of WAL connections (``bot/handoff/db.py``) and
  this server's saves take turns on a lock instead of SQLite's busy polling.

``faqbot run`` configures it for the ``sqlite`` and SQL URL conversation stores
(``bot/process/runner.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import weakref
from collections import OrderedDict
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from bot.handoff.db import sqlite_pool, sqlite_pragmas

# Conversations whose latest tracker is kept; older ones are read from the database again.
MAX_KEPT = 2000


@dataclass(frozen=True)
class _Stored:
    """How much of a tracker is in the database: its first ``events`` events,
    the last of them with row id ``last_id`` (``None``: nothing stored yet)."""

    events: int
    last_id: int | None


class CachedSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        engine: sa.engine.Engine = self.engine  # type: ignore[has-type]  # set by Rasa's __init__
        pool = sqlite_pool(str(engine.url))
        if pool:
            engine.dispose()
            self.engine = sa.create_engine(engine.url, **pool)
            sa.event.listen(self.engine, "connect", sqlite_pragmas)
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        self._kept: OrderedDict[str, tuple[DialogueStateTracker, _Stored]] = OrderedDict()
        self._stored: dict[int, tuple[weakref.ref[DialogueStateTracker], _Stored]] = {}
        self._lock = threading.Lock()
        self._writing: AbstractContextManager[Any] = threading.Lock() if pool else contextlib.nullcontext()

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        return await asyncio.get_running_loop().run_in_executor(None, self._retrieve_now, sender_id)

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        await asyncio.get_running_loop().run_in_executor(None, self._save_now, tracker)

    def _retrieve_now(self, sender_id: str) -> DialogueStateTracker | None:
        with self._lock:
            kept = self._kept.pop(sender_id, None)
        with self.session_scope() as session:
            if kept is not None:
                tracker, stored = kept
                last = self._last_id(session, sender_id)
                if stored.last_id == last:
                    self._mark(tracker, stored)
                    return tracker
                if self._catch_up(session, tracker, stored, last):
                    return tracker
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).all()
        if not self.domain or not rows:
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, [json.loads(row.data) for row in rows], self.domain.slots)
        self._mark(tracker, _Stored(len(rows), rows[-1].id))
        return tracker

    def _catch_up(self, session: Any, tracker: DialogueStateTracker, stored: _Stored, last: int | None) -> bool:
        """Another server continued the conversation (several servers, round-robin): apply
        the events it stored after ours to the kept tracker, instead of reading and parsing
        the whole session again. ``False`` (read it all) when that is not plainly safe: our
        events are gone, or a new session started."""
        if stored.last_id is None or last is None or last < stored.last_id:
            return False
        query = (
            sa.select(self.SQLEvent.id, self.SQLEvent.type_name, self.SQLEvent.data)
            .where(self.SQLEvent.sender_id == tracker.sender_id, self.SQLEvent.id > stored.last_id)
            .order_by(self.SQLEvent.id)
        )
        newer = session.execute(query).all()
        if not newer or any(row.type_name == SessionStarted.type_name for row in newer):
            return False
        for row in newer:
            tracker.update(Event.from_parameters(json.loads(row.data)))
        self._mark(tracker, _Stored(len(tracker.events), newer[-1].id))
        return True

    def _save_now(self, tracker: DialogueStateTracker) -> None:
        stored = self._stored_of(tracker)
        # SQLite has one writer at a time and makes the others poll with sleeps of up to
        # 100 ms; waiting on a lock here instead costs nothing.
        with self._writing, self.session_scope() as session:
            if stored is None:
                new = list(self._additional_events(session, tracker))
            else:
                new = list(itertools.islice(tracker.events, stored.events, None))
            if new:  # one executemany, not one ORM insert per event
                session.execute(self.SQLEvent.__table__.insert(), [self._row(tracker.sender_id, e) for e in new])
            last_id = self._last_id(session, tracker.sender_id) if new or stored is None else stored.last_id
            session.commit()
        after = _Stored(len(tracker.events), last_id)
        self._mark(tracker, after)
        with self._lock:
            self._kept[tracker.sender_id] = (tracker, after)
            self._kept.move_to_end(tracker.sender_id)
            while len(self._kept) > MAX_KEPT:
                self._kept.popitem(last=False)

    @staticmethod
    def _row(sender_id: str, event: Any) -> dict[str, Any]:
        """One ``events`` row, exactly as Rasa's store writes it."""
        data = event.as_dict()
        return {
            "sender_id": sender_id,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"),
            "data": json.dumps(data),
        }

    def _last_id(self, session: Any, sender_id: str) -> int | None:
        query = sa.select(sa.func.max(self.SQLEvent.id)).where(self.SQLEvent.sender_id == sender_id)
        return session.execute(query).scalar()

    def _mark(self, tracker: DialogueStateTracker, stored: _Stored) -> None:
        """Remember how much of this tracker object is stored, for as long as it lives."""
        key = id(tracker)
        with self._lock:
            known = self._stored.get(key)
            self._stored[key] = (weakref.ref(tracker), stored)
        if known is None or known[0]() is not tracker:
            weakref.finalize(tracker, self._forget, key)

    def _forget(self, key: int) -> None:
        with self._lock:
            known = self._stored.get(key)
            if known is not None and known[0]() is None:
                del self._stored[key]

    def _stored_of(self, tracker: DialogueStateTracker) -> _Stored | None:
        with self._lock:
            known = self._stored.get(id(tracker))
        return known[1] if known is not None and known[0]() is tracker else None
