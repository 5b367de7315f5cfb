"""The conversations and 留言 a history search finds, as one table for a manager's
spreadsheet (the console's 导出 in 历史记录, ``faqbot report conversations``): one row
each, with what the KPIs count them by — channel, state, why a person was needed,
the agent, the FAQ, the wrap-up reason and tags, the rating — and the customer's
question. Times are local (``[handoff] timezone``).

The spreadsheet leaves the console's access by need, so the question and the answer are
masked (``faqbot/masking.py``): the stores keep them as written for the agent handling them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot.handoff.db import Database, aware
from bot.handoff.handoffs import handoff_events, handoffs
from bot.handoff.handoffs import metadata as handoff_metadata
from bot.handoff.history import History, Query
from bot.handoff.tickets import metadata as ticket_metadata
from bot.handoff.tickets import tickets
from faqbot.masking import Masker

MAX_ROWS = 10_000
Keep = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]

HEADER = [
    "类型",
    "编号",
    "用户",
    "渠道",
    "状态",
    "原因",
    "客服",
    "FAQ",
    "开始时间",
    "结束/回复时间",
    "结束原因",
    "标签",
    "评价",
    "用户问题",
    "回复",
]
WRAPUP_NAMES = {"resolved": "问题已解决", "unresolved": "未能解决", "no_reply": "用户无回应", "other": "其他"}
RATING_NAMES = {"good": "满意", "bad": "不满意"}


class ConversationExport:
    def __init__(self, url: str, timezone: str, mask: Masker | None = None) -> None:
        """``mask``: the configured masker (``masker_for(settings.masking)``); default the built-in rules."""
        self.mask = mask if mask is not None else Masker()
        self.history = History(url, timezone)
        self._db = Database(url, handoff_metadata, ticket_metadata)
        self.zone = ZoneInfo(timezone)

    def _local(self, value: datetime | str | None) -> str:
        if value is None:
            return ""
        at = datetime.fromisoformat(value) if isinstance(value, str) else aware(value)
        return at.astimezone(self.zone).strftime("%Y-%m-%d %H:%M:%S")

    def rows(self, query: Query, limit: int = MAX_ROWS, keep: Keep | None = None) -> list[list[Any]]:
        """The header, then one row per conversation or 留言 the query finds, newest first;
        ``keep``: of the search's results, those to export (``Teams.visible`` for an agent)."""
        found = self.history.search(query, limit)
        if keep is not None:
            found = keep(found)
        handoff_ids = [r["id"] for r in found if r["type"] == "handoff"]
        ticket_ids = [r["id"] for r in found if r["type"] == "ticket"]
        with self._db.engine.connect() as conn:
            chats = {r.id: r for r in conn.execute(sa.select(handoffs).where(handoffs.c.id.in_(handoff_ids)))}
            events = conn.execute(
                sa.select(handoff_events.c.handoff_id, handoff_events.c.kind, handoff_events.c.text)
                .where(handoff_events.c.handoff_id.in_(handoff_ids), handoff_events.c.kind.in_(("wrapup", "rating")))
                .order_by(handoff_events.c.seq)
            ).all()
            notes = {r.id: r for r in conn.execute(sa.select(tickets).where(tickets.c.id.in_(ticket_ids)))}
        wrapups: dict[str, dict[str, Any]] = {}
        ratings: dict[str, str] = {}
        for e in events:
            if e.kind == "wrapup":
                try:
                    wrapups[e.handoff_id] = json.loads(e.text or "{}")
                except ValueError:
                    wrapups[e.handoff_id] = {"reason": e.text}
            else:
                ratings[e.handoff_id] = RATING_NAMES.get(e.text or "", e.text or "")
        out: list[list[Any]] = [HEADER]
        for r in found:
            if r["type"] == "handoff" and r["id"] in chats:
                chat = chats[r["id"]]
                asked = next((t["text"] for t in json.loads(chat.transcript) if t.get("role") == "user"), "")
                wrapup = wrapups.get(chat.id, {})
                out.append(
                    [
                        "会话",
                        r["ref"],
                        chat.conversation_id,
                        chat.channel,
                        chat.state,
                        chat.reason,
                        chat.agent or "",
                        chat.faq_id or "",
                        self._local(chat.created_at),
                        self._local(chat.closed_at),
                        WRAPUP_NAMES.get(wrapup.get("reason", ""), wrapup.get("reason", "")),
                        "、".join(wrapup.get("tags", [])),
                        ratings.get(chat.id, ""),
                        self.mask(asked),
                        "",
                    ]
                )
            elif r["type"] == "ticket" and r["id"] in notes:
                note = notes[r["id"]]
                out.append(
                    [
                        "留言",
                        r["ref"],
                        note.conversation_id,
                        note.channel,
                        note.state,
                        note.reason,
                        note.agent or "",
                        "",
                        self._local(note.submitted_at or note.created_at),
                        self._local(note.answered_at),
                        "",
                        "",
                        "",
                        self.mask(note.question or ""),
                        self.mask(note.answer or ""),
                    ]
                )
        return out
