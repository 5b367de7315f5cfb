"""Every change an editor makes to the FAQ, from draft to published, and the KB versions.

A change is one entry created, edited or deleted: the editor saves it as a
draft (saving again updates the draft), submits it for review, a second
editor approves or rejects it (``[console] studio_self_publish`` lets the
author approve their own), and publishing applies every approved change at
once (``publishing.py``). ``before`` keeps the entry as published when the
draft began, for the diff the reviewer reads and to notice that the entry
changed underneath. One entry has at most one open change, so two editors
never overwrite each other silently.

A version is what one publish (or rollback) made live: the text of every
KB file, so any version can be restored from the studio and any server can
rebuild it; the YAML files stay the readable form (``yaml_edit.py``).
Both live in the shared database (``kb_changes``, ``kb_versions``).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.handoff.db import Database, aware
from bot.handoff.db import now as _now

DRAFT, REVIEW, APPROVED, PUBLISHED, REJECTED, WITHDRAWN = (
    "draft",
    "review",
    "approved",
    "published",
    "rejected",
    "withdrawn",
)
OPEN = (DRAFT, REVIEW, APPROVED)
SYNONYMS = "synonyms"  # a change of the whole synonyms list (同义词), not of one entry
SYNONYMS_ENTRY = "@synonyms"  # its entry_id: not a valid FAQ id, so it cannot collide with one
WORDS = "words"  # a change of the whole sensitive-word list (敏感词, sensitive_words.txt)
WORDS_ENTRY = "@words"
KINDS = ("create", "edit", "delete", SYNONYMS, WORDS)
STATUS_LABELS = {
    DRAFT: "草稿",
    REVIEW: "待审核",
    APPROVED: "已批准",
    PUBLISHED: "已发布",
    REJECTED: "已退回",
    WITHDRAWN: "已撤回",
}

metadata = sa.MetaData()

kb_changes = sa.Table(
    "kb_changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("entry_id", sa.String(64), nullable=False, index=True),
    sa.Column("kind", sa.String(8), nullable=False),
    # JSON: the entry's fields and its category as the editor wrote them (null for a delete)...
    sa.Column("data", sa.Text, nullable=True),
    # ...and as published when the draft began (null for a new entry).
    sa.Column("before", sa.Text, nullable=True),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("author", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("reviewer", sa.String(64), nullable=True),
    sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("review_note", sa.Text, nullable=True),
    # Publish no earlier than this (scheduled publishing); null: with the next publish.
    sa.Column("publish_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("version_id", sa.Integer, nullable=True),
)

kb_versions = sa.Table(
    "kb_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("index_version", sa.String(128), nullable=False),
    sa.Column("by", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    # JSON {file name: text} of every KB file this version was built from.
    sa.Column("files", sa.Text, nullable=False),
)


class ChangeError(ValueError):
    """A change that cannot be made (in Chinese: the console shows it to the editor)."""


@dataclass(frozen=True)
class Change:
    id: int
    entry_id: str
    kind: str
    data: dict[str, Any] | None
    before: dict[str, Any] | None
    status: str
    author: str
    created_at: datetime
    updated_at: datetime
    reviewer: str | None
    reviewed_at: datetime | None
    review_note: str | None
    publish_at: datetime | None
    version_id: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "entry_id": self.entry_id,
            "kind": self.kind,
            "data": self.data,
            "before": self.before,
            "status": self.status,
            "status_label": STATUS_LABELS.get(self.status, self.status),
            "author": self.author,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "reviewer": self.reviewer,
            "reviewed_at": self.reviewed_at.isoformat() if self.reviewed_at else None,
            "review_note": self.review_note,
            "publish_at": self.publish_at.isoformat() if self.publish_at else None,
            "version_id": self.version_id,
            "diff": diff_lines(self.before, self.data),
        }


@dataclass(frozen=True)
class Version:
    id: int
    index_version: str
    by: str
    at: datetime
    note: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "index_version": self.index_version,
            "by": self.by,
            "at": self.at.isoformat(),
            "note": self.note,
        }


FIELD_LABELS = {
    "synonyms": "同义词",  # a synonyms change: one line of synonyms.txt per item
    "words": "敏感词",  # a sensitive-word list change: one line of sensitive_words.txt per item
    "question": "标准问题",
    "similar": "相似问题",
    "answer": "答案",
    "category": "分类",
    "tags": "标签",
    "related": "相关问题",
    "handoff": "转人工",
    "handoff_notice": "转人工提示",
    "enabled": "启用",
    "hot": "热门问题",
    "valid_until": "有效期至",
}


def _render(data: dict[str, Any] | None) -> list[str]:
    if not data:
        return []
    lines = []
    for field, label in FIELD_LABELS.items():
        value = data.get(field)
        if value in (None, "", []) and (field != "enabled" or "question" not in data):
            continue  # "启用：否" is shown even when false, on an entry
        if isinstance(value, list):
            lines += [f"{label}：{v}" for v in value]
        elif isinstance(value, bool):
            lines.append(f"{label}：{'是' if value else '否'}")
        else:
            text = str(value).strip().splitlines()
            lines += [f"{label}：{text[0]}", *(f"    {line}" for line in text[1:])]
    return lines


def diff_lines(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """A readable diff of an entry: lines prefixed "+ " (added), "- " (removed) or "  " (kept)."""
    out = []
    for line in difflib.ndiff(_render(before), _render(after)):
        if line[:1] in "+- ":
            out.append(line)
    return out


def _loads(text: str | None) -> dict[str, Any] | None:
    return json.loads(text) if text else None


def _change(row: Any) -> Change:
    return Change(
        id=row.id,
        entry_id=row.entry_id,
        kind=row.kind,
        data=_loads(row.data),
        before=_loads(row.before),
        status=row.status,
        author=row.author,
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
        reviewer=row.reviewer,
        reviewed_at=aware(row.reviewed_at),
        review_note=row.review_note,
        publish_at=aware(row.publish_at),
        version_id=row.version_id,
    )


class ChangeStore:
    def __init__(self, url: str) -> None:
        self.db = Database(url, metadata)

    # -- changes -----------------------------------------------------------------
    def get(self, change_id: int) -> Change:
        with self.db.engine.connect() as conn:
            row = conn.execute(sa.select(kb_changes).where(kb_changes.c.id == change_id)).first()
        if row is None:
            raise ChangeError(f"找不到修改 #{change_id}")
        return _change(row)

    def open_for(self, entry_id: str) -> Change | None:
        with self.db.engine.connect() as conn:
            row = conn.execute(
                sa.select(kb_changes).where(kb_changes.c.entry_id == entry_id, kb_changes.c.status.in_(OPEN))
            ).first()
        return _change(row) if row else None

    def changes(self, statuses: tuple[str, ...] = OPEN, entry_id: str | None = None, limit: int = 200) -> list[Change]:
        query = sa.select(kb_changes).where(kb_changes.c.status.in_(statuses))
        if entry_id:
            query = query.where(kb_changes.c.entry_id == entry_id)
        with self.db.engine.connect() as conn:
            rows = conn.execute(query.order_by(kb_changes.c.updated_at.desc()).limit(limit)).all()
        return [_change(r) for r in rows]

    def save_draft(
        self, author: str, entry_id: str, kind: str, data: dict[str, Any] | None, before: dict[str, Any] | None
    ) -> Change:
        """Save ``author``'s draft of this entry: a new draft, or the same author's open draft updated."""
        if kind not in KINDS:
            raise ChangeError(f"未知的修改类型 {kind}")
        now = _now()
        with self.db.engine.begin() as conn:
            row = conn.execute(
                sa.select(kb_changes).where(kb_changes.c.entry_id == entry_id, kb_changes.c.status.in_(OPEN))
            ).first()
            values = {
                "kind": kind,
                "data": json.dumps(data, ensure_ascii=False) if data is not None else None,
                "updated_at": now,
            }
            if row is not None:
                if row.author != author:
                    status = STATUS_LABELS[row.status]
                    raise ChangeError(f"{row.author} 正在修改这个条目（#{row.id}，{status}），请等它发布或撤回")
                if row.status != DRAFT:
                    raise ChangeError(f"修改 #{row.id} 已提交审核，要再改请先撤回")
                conn.execute(sa.update(kb_changes).where(kb_changes.c.id == row.id).values(**values))
                change_id = row.id
            else:
                change_id = conn.execute(
                    sa.insert(kb_changes).values(
                        entry_id=entry_id,
                        before=json.dumps(before, ensure_ascii=False) if before is not None else None,
                        status=DRAFT,
                        author=author,
                        created_at=now,
                        **values,
                    )
                ).inserted_primary_key[0]
        return self.get(int(change_id))

    def _move(self, change_id: int, from_: tuple[str, ...], to: str, **values: Any) -> Change:
        with self.db.engine.begin() as conn:
            done = conn.execute(
                sa.update(kb_changes)
                .where(kb_changes.c.id == change_id, kb_changes.c.status.in_(from_))
                .values(status=to, updated_at=_now(), **values)
            ).rowcount
        if not done:
            status = self.get(change_id).status
            raise ChangeError(f"修改 #{change_id} 现在是“{STATUS_LABELS.get(status, status)}”，不能这样操作")
        return self.get(change_id)

    def submit(self, change_id: int, by: str, publish_at: datetime | None = None) -> Change:
        if self.get(change_id).author != by:
            raise ChangeError("只有作者可以提交自己的修改")
        return self._move(change_id, (DRAFT,), REVIEW, publish_at=publish_at)

    def approve(self, change_id: int, by: str, self_publish: bool = False, note: str = "") -> Change:
        change = self.get(change_id)
        if change.author == by and not self_publish:
            raise ChangeError("不能批准自己的修改：请另一位编辑审核（或由管理员开启“允许自己发布”）")
        return self._move(change_id, (REVIEW,), APPROVED, reviewer=by, reviewed_at=_now(), review_note=note or None)

    def reject(self, change_id: int, by: str, note: str) -> Change:
        if not note.strip():
            raise ChangeError("退回时请写明原因，作者才知道要改什么")
        return self._move(change_id, (REVIEW, APPROVED), REJECTED, reviewer=by, reviewed_at=_now(), review_note=note)

    def withdraw(self, change_id: int, by: str) -> Change:
        if self.get(change_id).author != by:
            raise ChangeError("只有作者可以撤回自己的修改")
        return self._move(change_id, OPEN, WITHDRAWN)

    def reopen_as_draft(self, change_id: int, by: str) -> Change:
        """The author takes a change back from review (or approval) to edit it again."""
        if self.get(change_id).author != by:
            raise ChangeError("只有作者可以改回草稿")
        return self._move(change_id, (REVIEW, APPROVED), DRAFT, reviewer=None, reviewed_at=None)

    def due(self, at: datetime | None = None) -> list[Change]:
        """Approved changes whose publish time has come (or that have none)."""
        at = at or _now()
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(kb_changes)
                .where(
                    kb_changes.c.status == APPROVED,
                    sa.or_(kb_changes.c.publish_at.is_(None), kb_changes.c.publish_at <= at),
                )
                .order_by(kb_changes.c.id)
            ).all()
        return [_change(r) for r in rows]

    def scheduled(self, at: datetime | None = None) -> list[Change]:
        """Approved changes waiting for a publish time still to come."""
        at = at or _now()
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(kb_changes).where(kb_changes.c.status == APPROVED, kb_changes.c.publish_at > at)
            ).all()
        return [_change(r) for r in rows]

    # -- versions ----------------------------------------------------------------
    def record_version(
        self,
        index_version: str,
        by: str,
        note: str,
        files: dict[str, str],
        published: tuple[int, ...] = (),
    ) -> Version:
        """A version made live, with the changes it published (marked published by it, in one transaction)."""
        now = _now()
        with self.db.engine.begin() as conn:
            version_id = conn.execute(
                sa.insert(kb_versions).values(
                    index_version=index_version,
                    by=by,
                    at=now,
                    note=note,
                    files=json.dumps(files, ensure_ascii=False),
                )
            ).inserted_primary_key[0]
            if published:
                conn.execute(
                    sa.update(kb_changes)
                    .where(kb_changes.c.id.in_(published))
                    .values(status=PUBLISHED, version_id=version_id, updated_at=now)
                )
        return Version(int(version_id), index_version, by, now, note)

    def versions(self, limit: int = 50) -> list[Version]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    kb_versions.c.id,
                    kb_versions.c.index_version,
                    kb_versions.c.by,
                    kb_versions.c.at,
                    kb_versions.c.note,
                )
                .order_by(kb_versions.c.id.desc())
                .limit(limit)
            ).all()
        return [Version(r.id, r.index_version, r.by, aware(r.at), r.note) for r in rows]

    def latest_files(self) -> dict[str, str] | None:
        with self.db.engine.connect() as conn:
            text = conn.execute(sa.select(kb_versions.c.files).order_by(kb_versions.c.id.desc()).limit(1)).scalar()
        return json.loads(text) if text else None

    def version_files(self, version_id: int) -> dict[str, str]:
        with self.db.engine.connect() as conn:
            text = conn.execute(sa.select(kb_versions.c.files).where(kb_versions.c.id == version_id)).scalar()
        if text is None:
            raise ChangeError(f"找不到版本 #{version_id}")
        return dict(json.loads(text))
