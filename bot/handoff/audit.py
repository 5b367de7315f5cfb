"""The audit log: who did what in the console and the studio (issue #18 item 5).

One append-only table, ``audit_log``: when (UTC), the actor's account and role at the
time, the action (``Action``), what it was done to (a kind and an id), a JSON detail
that never holds what a customer or an agent wrote (a reply's length, not its text),
and the client's address. The store has no update or delete; on PostgreSQL a trigger
rejects ``UPDATE``, ``DELETE`` and ``TRUNCATE`` as well (on SQLite triggers refuse
``UPDATE`` and ``DELETE``), so not even a mistaken script rewrites history. Admins
search it in the console's 管理 → 审计 and with ``faqbot audit list``; the CSV export
is itself audited.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from bot.handoff.db import Database, aware
from bot.handoff.db import now as _now


class Action(StrEnum):
    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_OUT = "sign_out"
    VIEW = "view"  # an admin opened a conversation outside their own groups
    CLAIM = "claim"
    REPLY = "reply"
    NOTE = "note"
    TRANSFER = "transfer"
    CLOSE = "close"
    REOPEN = "reopen"
    TICKET_ANSWER = "ticket_answer"
    TICKET_CLOSE = "ticket_close"
    CANNED_ADD = "canned_add"
    CANNED_REMOVE = "canned_remove"
    ACCOUNT_CREATE = "account_create"
    ACCOUNT_UPDATE = "account_update"  # display name or password
    ROLE_CHANGE = "role_change"
    ACCOUNT_DISABLE = "account_disable"
    GROUP_SAVE = "group_save"  # a group's rules or members (group changes of accounts)
    GROUP_REMOVE = "group_remove"
    EXPORT_CONVERSATIONS = "export_conversations"
    EXPORT_KPIS = "export_kpis"
    EXPORT_AUDIT = "export_audit"
    KB_DRAFT_SAVE = "kb_draft_save"
    KB_REVIEW = "kb_review"
    KB_PUBLISH = "kb_publish"
    KB_ROLLBACK = "kb_rollback"
    KB_SYNONYMS = "kb_synonyms"
    KB_EXPORT = "kb_export"  # the KB as a spreadsheet
    KB_IMPORT = "kb_import"  # a table imported as changes for review
    KB_RECALIBRATE = "kb_recalibrate"
    REGRESSION_EDIT = "regression_edit"
    PRIVACY_PURGE = "privacy_purge"  # retention: rows older than [retention] deleted (or counted)
    PRIVACY_MASK = "privacy_mask"  # personal data masked in rows stored before masking (or counted)
    PRIVACY_EXPORT = "privacy_export"  # a data subject's copy; the target is a hash of their id
    PRIVACY_DELETE = "privacy_delete"  # a data subject's data deleted; the target is a hash of their id


MAX_DETAIL_CHARS = 2000
PAGE = 50
MAX_PAGE = 500
MAX_EXPORT = 100_000

metadata = sa.MetaData()

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("actor", sa.String(200), nullable=False, index=True),  # the account (or the name tried)
    sa.Column("role", sa.String(16), nullable=True),
    sa.Column("action", sa.String(32), nullable=False, index=True),
    sa.Column("target_kind", sa.String(32), nullable=True),
    sa.Column("target_id", sa.String(255), nullable=True, index=True),
    sa.Column("detail", sa.Text, nullable=False),  # JSON: counts, ids, states; no personal data
    sa.Column("ip", sa.String(64), nullable=True),
)

# PostgreSQL: the table refuses to be changed, whoever asks.
_GUARD = sa.DDL(
    """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: %% refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
"""
)
sa.event.listen(audit_log, "after_create", _GUARD.execute_if(dialect="postgresql"))
# SQLite: the same refusal, one statement per DDL as SQLite runs them.
for _op in ("UPDATE", "DELETE"):
    sa.event.listen(
        audit_log,
        "after_create",
        sa.DDL(
            f"CREATE TRIGGER audit_log_no_{_op.lower()} BEFORE {_op} ON audit_log "
            f"BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: {_op} refused'); END"
        ).execute_if(dialect="sqlite"),
    )


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    actor: str
    role: str | None
    action: str
    target_kind: str | None
    target_id: str | None
    detail: dict[str, Any]
    ip: str | None

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "at": self.at.isoformat()}

    @classmethod
    def from_row(cls, row: Any) -> Entry:
        data = dict(row._mapping)
        data["at"] = aware(data["at"])
        data["detail"] = json.loads(data["detail"] or "{}")
        return cls(**data)


@dataclass(frozen=True)
class Filter:
    actor: str = ""  # exactly this account
    action: str = ""  # one Action's value
    target: str = ""  # the target's id contains this
    since: datetime | None = None  # both included
    until: datetime | None = None

    def __post_init__(self) -> None:
        if self.action and self.action not in Action.__members__.values():
            raise ValueError(f"'action' must be one of {', '.join(a.value for a in Action)}")


CSV_HEADER = ("时间(UTC)", "账号", "角色", "操作", "对象类型", "对象", "详情", "IP")


class AuditLog:
    """Append and read; there is deliberately no update or delete."""

    def __init__(self, url: str) -> None:
        self._db = Database(url, metadata)

    @property
    def engine(self) -> sa.engine.Engine:
        return self._db.engine

    def record(
        self,
        actor: str,
        action: Action,
        target_kind: str | None = None,
        target_id: str | None = None,
        detail: dict[str, Any] | None = None,
        role: str | None = None,
        ip: str | None = None,
    ) -> int:
        text = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str)
        if len(text) > MAX_DETAIL_CHARS:
            text = json.dumps({"truncated": True})
        values = {
            "at": _now(),
            "actor": actor[:200],
            "role": role,
            "action": Action(action).value,
            "target_kind": target_kind,
            "target_id": None if target_id is None else str(target_id)[:255],
            "detail": text,
            "ip": (ip or None) and ip[:64],
        }
        with self.engine.begin() as conn:
            return int(conn.execute(audit_log.insert().values(**values)).inserted_primary_key[0])

    @staticmethod
    def _where(found: Filter) -> list[Any]:
        where: list[Any] = []
        if found.actor:
            where.append(audit_log.c.actor == found.actor)
        if found.action:
            where.append(audit_log.c.action == found.action)
        if found.target:
            escaped = found.target.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append(audit_log.c.target_id.ilike(f"%{escaped}%", escape="\\"))
        if found.since:
            where.append(audit_log.c.at >= found.since)
        if found.until:
            where.append(audit_log.c.at <= found.until)
        return where

    def search(self, found: Filter = Filter(), limit: int = PAGE, offset: int = 0) -> tuple[list[Entry], int]:
        """One page, newest first, and how many match in all."""
        limit, offset = max(1, min(limit, MAX_EXPORT)), max(0, offset)
        where = self._where(found)
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(audit_log).where(*where).order_by(audit_log.c.id.desc()).limit(limit).offset(offset)
            ).all()
            total = conn.execute(sa.select(sa.func.count()).select_from(audit_log).where(*where)).scalar_one()
        return [Entry.from_row(r) for r in rows], int(total)

    def rows(self, found: Filter = Filter()) -> list[tuple[Any, ...]]:
        """The table for the CSV export (header first), newest first."""
        entries, _ = self.search(found, MAX_EXPORT)
        return [CSV_HEADER] + [
            (
                e.at.strftime("%Y-%m-%d %H:%M:%S"),
                e.actor,
                e.role or "",
                e.action,
                e.target_kind or "",
                e.target_id or "",
                json.dumps(e.detail, ensure_ascii=False, sort_keys=True) if e.detail else "",
                e.ip or "",
            )
            for e in entries
        ]
