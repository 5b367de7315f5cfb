"""The studio's editing routes (``/console/api/studio/...``): browse the FAQ, edit an entry
with validation as the editor types, drafts → review → publish, versions and rollback.

The domain is ``bot/studio/``; these routes only check the request, call it in a
worker thread and answer JSON. Errors editors read are in Chinese.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.console.auditing import Auditor
from bot.console.common import Route, error, json_body
from bot.console.kb_lookup import KbLookup
from bot.console.studio import studio_only
from bot.handoff.agents import Agent
from bot.handoff.audit import Action
from bot.handoff.desk import HandoffDesk
from bot.handoff.faq_health import faq_health
from bot.handoff.tables import csv_text, xlsx_bytes
from bot.studio.changes import OPEN, SYNONYMS, SYNONYMS_ENTRY, WORDS, WORDS_ENTRY, ChangeError, ChangeStore
from bot.studio.publishing import (
    NeedsConfirmation,
    PublishBusy,
    PublishOutcome,
    PublishRefused,
    check_change,
    entry_data,
    problem_json,
    publish,
    publish_scheduled,
    published_entries,
    rollback,
    synonyms_data,
    words_data,
)
from bot.studio.regression_set import RegressionSet
from faqbot.config import Settings
from indexer.expiry import expiry_status, local_today
from indexer.kb import KBInvalid
from indexer.kb_import import VALID_UNTIL, KBImportError, columns, export_rows, read_entries
from indexer.service import shared_index
from indexer.validate import SENSITIVE_FILE, SYNONYMS_FILE

log = logging.getLogger(__name__)
TEXT_FIELDS = {
    "question": 500,
    "answer": 8000,
    "category": 64,
    "handoff": 16,
    "handoff_notice": 500,
    "valid_until": 32,  # "YYYY-MM-DD" or "" (no end); the validator checks the date
}
LIST_FIELDS = {"similar": (200, 500), "tags": (30, 32), "related": (10, 64)}
FLAGS = ("enabled", "hot")
SCHEDULE_EVERY_S = 30.0
MAX_IMPORT_BYTES = 5_000_000
MAX_SYNONYMS = 20_000  # characters of synonyms.txt
MAX_WORDS = 200_000  # characters of sensitive_words.txt (lists of thousands of words exist)
NOT_IN_TABLE = ("hot", "handoff_notice")  # kept as they are when a row edits an entry
UNSET = {"valid_until": ""}  # what a field absent from an entry's data means (no end date)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def import_changes(settings: Settings, store: ChangeStore, by: str, body: bytes, kind: str) -> dict[str, Any]:
    """The rows of an uploaded table as submitted changes; unchanged rows are skipped."""
    with tempfile.TemporaryDirectory(prefix="faqbot-import-") as tmp:
        path = Path(tmp) / f"上传的表格.{kind}"
        path.write_bytes(body)
        rows = read_entries(path)
        # With the column, an empty 有效期至 cell clears an entry's date; an older table without it keeps them.
        dated = VALID_UNTIL in columns(path)
    current = {e.id: entry_data(e) for e in published_entries(settings)}
    busy = [c for c in (store.open_for(e.id) for e in rows) if c is not None]
    if busy:  # nothing is imported rather than half of it
        names = "、".join(f"{c.entry_id}（{c.author}）" for c in busy)
        raise ChangeError(f"这些条目有未发布的修改，请先发布或撤回：{names}")
    created = edited = unchanged = 0
    ids = []
    for entry in rows:
        data = entry_data(entry)
        if dated:
            data.setdefault("valid_until", "")
        before = current.get(entry.id)
        if before is not None and all(
            before.get(k, UNSET.get(k)) == v for k, v in data.items() if k not in NOT_IN_TABLE
        ):
            unchanged += 1
            continue
        data.pop("id", None)
        if before is not None:  # the table has no columns for these: keep them
            data.update({k: before[k] for k in NOT_IN_TABLE if k in before})
        change = store.save_draft(by, entry.id, "edit" if before is not None else "create", data, before)
        store.submit(change.id, by)
        ids.append(change.id)
        created, edited = created + (before is None), edited + (before is not None)
    return {"created": created, "edited": edited, "unchanged": unchanged, "changes": ids}


def clean_entry(raw: Any) -> dict[str, Any]:
    """The entry fields of a request, type-checked (``ValueError`` in Chinese); content is the validator's job."""
    if not isinstance(raw, dict):
        raise ValueError("data 应该是条目的字段")
    out: dict[str, Any] = {}
    for field, limit in TEXT_FIELDS.items():
        if field in raw:
            value = raw[field]
            if not isinstance(value, str):
                raise ValueError(f"{field} 应该是文字")
            if len(value) > limit:
                raise ValueError(f"{field} 有 {len(value)} 个字，最多 {limit} 个")
            out[field] = value.strip() if field != "answer" else value
    for field, (most, chars) in LIST_FIELDS.items():
        if field in raw:
            value = raw[field]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{field} 应该是文字列表")
            items = [v.strip() for v in value if v.strip()]
            if len(items) > most or any(len(v) > chars for v in items):
                raise ValueError(f"{field} 最多 {most} 项，每项最多 {chars} 个字")
            out[field] = items
    for flag in FLAGS:
        if flag in raw:
            if not isinstance(raw[flag], bool):
                raise ValueError(f"{flag} 只能是 true 或 false")
            out[flag] = raw[flag]
    return out


def clean_synonyms(raw: Any) -> dict[str, Any]:
    """``{"text": ...}``: the whole synonyms list as the editor wrote it."""
    text = raw.get("text") if isinstance(raw, dict) else None
    if not isinstance(text, str):
        raise ValueError("同义词应该是文字：每行一组，用 = 隔开，如 提现 = 提币")
    if len(text) > MAX_SYNONYMS:
        raise ValueError(f"同义词表有 {len(text)} 个字，最多 {MAX_SYNONYMS} 个")
    return synonyms_data(text.replace("\r\n", "\n"))


def clean_words(raw: Any) -> dict[str, Any]:
    """``{"text": ...}``: the whole sensitive-word list as the editor wrote it."""
    text = raw.get("text") if isinstance(raw, dict) else None
    if not isinstance(text, str):
        raise ValueError("敏感词表应该是文字：“[分类名] 处理方式”一行，下面每行一个词")
    if len(text) > MAX_WORDS:
        raise ValueError(f"敏感词表有 {len(text)} 个字，最多 {MAX_WORDS} 个")
    return words_data(text.replace("\r\n", "\n"))


def _draft(body: dict[str, Any]) -> tuple[str, str, dict[str, Any] | None]:
    """The entry id, kind and cleaned data of a draft or check request."""
    kind = str(body.get("kind", "edit"))
    if kind == SYNONYMS:
        return SYNONYMS_ENTRY, kind, clean_synonyms(body.get("data"))
    if kind == WORDS:
        return WORDS_ENTRY, kind, clean_words(body.get("data"))
    entry_id = _entry_id(body.get("entry_id"))
    return entry_id, kind, None if kind == "delete" else clean_entry(body.get("data"))


def current_synonyms(settings: Settings) -> str:
    path = settings.kb_dir / SYNONYMS_FILE
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def current_words(settings: Settings) -> str:
    path = settings.kb_dir / SENSITIVE_FILE
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def _entry_id(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 64:
        raise ValueError("需要条目 id（最长 64 个字符）")
    return raw.strip()


def _when(raw: Any) -> datetime | None:
    if raw in (None, ""):
        return None
    if not isinstance(raw, str):
        raise ValueError("publish_at 应该是时间，如 2026-12-31T09:00:00+08:00")
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError("publish_at 应该是时间，如 2026-12-31T09:00:00+08:00") from None
    if at.tzinfo is None:
        raise ValueError("publish_at 要带时区，如 2026-12-31T09:00:00+08:00")
    return at.astimezone(UTC)


def add_studio_edit_routes(
    bp: Blueprint, desk: HandoffDesk, signed_in: Callable[[Route], Route], kb: KbLookup
) -> ChangeStore:
    editors = studio_only(desk)
    settings = desk.settings
    store = ChangeStore(settings.database_url)
    regression = RegressionSet(settings.database_url)
    auditor = Auditor(desk)
    # Which version each server serves (the console's list of servers); only with a shared index.
    shared = shared_index(settings) if settings.index.shared else None
    wait = settings.console.studio_publish_wait_seconds  # for another server's publish to end

    async def run(call: Callable[..., Any], *args: Any) -> Any:
        return await desk.blocking(call, *args)

    @bp.get("/console/api/studio/entries")
    @signed_in
    @editors
    async def entries(request: Request, agent: Agent) -> HTTPResponse:
        """Every entry in the KB files with its open change and its last 30 days' health."""

        def listing() -> dict[str, Any]:
            health = {h.faq_id: h.to_json() for h in faq_health(settings.database_url, 30)}
            changes = {c.entry_id: c.to_json() for c in store.changes(OPEN)}
            try:
                found = published_entries(settings)
            except KBInvalid as exc:
                return {"entries": [], "changes": list(changes.values()), "problems": [str(p) for p in exc.problems]}
            today = local_today(settings.handoff.timezone)  # the day the bot compares valid_until with
            rows = [
                {
                    **entry_data(e),
                    "source": e.source,
                    "health": health.get(e.id),
                    "change": changes.pop(e.id, None),
                    "expiry": expiry_status(e, today),  # "expired", "soon" (within 7 days) or ""
                }
                for e in found
            ]
            # Changes to entries not in the files yet (new entries) come after the published ones.
            return {"entries": rows, "changes": list(changes.values()), "problems": []}

        return response.json(await run(listing))

    @bp.post("/console/api/studio/check")
    @signed_in
    @editors
    async def check(request: Request, agent: Agent) -> HTTPResponse:
        """The problems this draft would cause, as the editor types."""
        try:
            entry_id, kind, data = _draft(json_body(request))
            today = local_today(settings.handoff.timezone)
            problems = await run(check_change, settings.kb_dir, entry_id, kind, data, today)
        except (ValueError, ChangeError) as exc:
            return error(str(exc), 400)
        return response.json({"problems": [problem_json(p) for p in problems]})

    @bp.get("/console/api/studio/changes")
    @signed_in
    @editors
    async def changes(request: Request, agent: Agent) -> HTTPResponse:
        """Open changes (``?all=1``: also published, rejected and withdrawn ones; ``entry``: one entry's)."""
        statuses = None if request.args.get("all") else OPEN
        entry = request.args.get("entry") or None

        def listing() -> list[dict[str, Any]]:
            if statuses is None:
                from bot.studio.changes import STATUS_LABELS

                return [c.to_json() for c in store.changes(tuple(STATUS_LABELS), entry)]
            return [c.to_json() for c in store.changes(statuses, entry)]

        return response.json({"changes": await run(listing), "self_publish": settings.console.studio_self_publish})

    @bp.post("/console/api/studio/changes")
    @signed_in
    @editors
    async def save(request: Request, agent: Agent) -> HTTPResponse:
        """Save a draft: ``{entry_id, kind: create|edit|delete, data}``, or the synonyms list:
        ``{kind: synonyms, data: {text}}``, or the sensitive-word list: ``{kind: words, data: {text}}``."""
        try:
            entry_id, kind, data = _draft(json_body(request))

            def draft() -> dict[str, Any]:
                if kind == SYNONYMS:
                    before = synonyms_data(current_synonyms(settings))
                    return store.save_draft(agent.name, entry_id, kind, data, before).to_json()
                if kind == WORDS:
                    before = words_data(current_words(settings))
                    return store.save_draft(agent.name, entry_id, kind, data, before).to_json()
                current = next((e for e in published_entries(settings) if e.id == entry_id), None)
                if kind == "create" and current is not None:
                    raise ChangeError(f"已经有 id 为 {entry_id} 的条目了，请换一个 id")
                if kind != "create" and current is None:
                    raise ChangeError(f"知识库里没有条目 {entry_id}")
                old = entry_data(current) if current is not None else None
                return store.save_draft(agent.name, entry_id, kind, data, old).to_json()

            saved = await run(draft)
            action = Action.KB_SYNONYMS if kind == SYNONYMS else Action.KB_DRAFT_SAVE
            await auditor.record(request, agent, action, "kb_change", saved.get("id"), entry=entry_id, kind=kind)
            return response.json(saved)
        except (ValueError, ChangeError) as exc:
            return error(str(exc), 400)
        except KBInvalid as exc:
            return error(f"知识库文件现在有错误，先修正它们：{exc}", 409)

    @bp.get("/console/api/studio/synonyms")
    @signed_in
    @editors
    async def synonyms(request: Request, agent: Agent) -> HTTPResponse:
        """The synonyms list as published (``text``) and its open change, if any."""

        def read() -> dict[str, Any]:
            change = store.open_for(SYNONYMS_ENTRY)
            return {"text": current_synonyms(settings), "change": change.to_json() if change else None}

        return response.json(await run(read))

    @bp.get("/console/api/studio/words")
    @signed_in
    @editors
    async def words(request: Request, agent: Agent) -> HTTPResponse:
        """The sensitive-word list as published (``text``) and its open change, if any."""

        def read() -> dict[str, Any]:
            change = store.open_for(WORDS_ENTRY)
            return {"text": current_words(settings), "change": change.to_json() if change else None}

        return response.json(await run(read))

    @bp.post("/console/api/studio/changes/<change_id:int>/<action:str>")
    @signed_in
    @editors
    async def move(request: Request, agent: Agent, change_id: int, action: str) -> HTTPResponse:
        """``submit`` (``publish_at`` optional), ``approve``, ``reject`` (``note``), ``withdraw``, ``redraft``."""
        try:
            body = json_body(request)
            note = body.get("note") or ""
            if not isinstance(note, str) or len(note) > 500:
                raise ValueError("note 应该是 500 字以内的文字")
            calls: dict[str, Callable[[], Any]] = {
                "submit": lambda: store.submit(change_id, agent.name, _when(body.get("publish_at"))),
                "approve": lambda: store.approve(change_id, agent.name, settings.console.studio_self_publish, note),
                "reject": lambda: store.reject(change_id, agent.name, note),
                "withdraw": lambda: store.withdraw(change_id, agent.name),
                "redraft": lambda: store.reopen_as_draft(change_id, agent.name),
            }
            if action not in calls:
                return error(f"未知的操作 {action}", 404)
            if action == "submit":
                _when(body.get("publish_at"))  # a bad time is a 400 before anything moves
            moved = (await run(calls[action])).to_json()
            await auditor.record(request, agent, Action.KB_REVIEW, "kb_change", change_id, step=action)
            return response.json(moved)
        except (ValueError, ChangeError) as exc:
            return error(str(exc), 400)

    @bp.post("/console/api/studio/publish")
    @signed_in
    @editors
    async def publish_now(request: Request, agent: Agent) -> HTTPResponse:
        """Publish every approved change that is due (``ids``: only these)."""
        try:
            body = json_body(request)
            ids, confirm = body.get("ids"), body.get("confirm", False)
            if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, int) for i in ids)):
                raise ValueError("ids 应该是修改编号的列表")
            if not isinstance(confirm, bool):
                raise ValueError("confirm 只能是 true 或 false")

            def gated() -> PublishOutcome:
                cases = [c.case for c in regression.cases()]
                served = kb.searcher() if kb.available() else None
                return publish(settings, store, agent.name, ids, cases, served, confirm, wait)

            outcome = await run(gated)
            await run(kb.refresh)  # the studio's next reads (hit test, gaps) see what was just published
        except PublishBusy as exc:  # another server's publish outlasted the wait
            return error(str(exc), 409)
        except PublishRefused as exc:
            return response.json({"error": str(exc), "problems": [problem_json(p) for p in exc.problems]}, status=422)
        except NeedsConfirmation as exc:
            return response.json({"error": str(exc), "regression": exc.report.to_json()}, status=409)
        except (ValueError, ChangeError) as exc:
            return error(str(exc), 400)
        log.info("studio: %s published %s as index %s", agent.name, outcome.published, outcome.index_version)
        detail = {"changes": list(outcome.published), "index": outcome.index_version, "confirmed": confirm}
        await auditor.record(request, agent, Action.KB_PUBLISH, "kb_version", outcome.index_version, **detail)
        return response.json(outcome.to_json())

    @bp.get("/console/api/studio/versions")
    @signed_in
    @editors
    async def versions(request: Request, agent: Agent) -> HTTPResponse:
        """The studio's versions, the one this server serves, and (``[index] shared``) every
        server's with when it last reported; ``now`` is this server's clock, so the page
        judges a silent server by the servers' time rather than the browser's."""
        served = kb.searcher().directory.name if kb.available() else None
        found = await run(store.versions)
        nodes = await run(shared.nodes) if shared is not None else []
        return response.json(
            {
                "versions": [v.to_json() for v in found],
                "serving": served,
                "nodes": nodes,
                "now": datetime.now(UTC).isoformat(),
            }
        )

    @bp.post("/console/api/studio/versions/<version_id:int>/rollback")
    @signed_in
    @editors
    async def roll_back(request: Request, agent: Agent, version_id: int) -> HTTPResponse:
        try:
            outcome = await run(rollback, settings, store, version_id, agent.name, wait)
            await run(kb.refresh)
        except PublishBusy as exc:
            return error(str(exc), 409)
        except PublishRefused as exc:
            return response.json({"error": str(exc), "problems": [problem_json(p) for p in exc.problems]}, status=422)
        except ChangeError as exc:
            return error(str(exc), 400)
        log.info("studio: %s rolled back to version %s (index %s)", agent.name, version_id, outcome.index_version)
        await auditor.record(request, agent, Action.KB_ROLLBACK, "kb_version", version_id, index=outcome.index_version)
        return response.json(outcome.to_json())

    @bp.get("/console/api/studio/export")
    @signed_in
    @editors
    async def export(request: Request, agent: Agent) -> HTTPResponse:
        """Every entry as a table the importer reads back: ``format=csv`` or ``xlsx``."""
        kind = request.args.get("format", "xlsx")
        if kind not in ("csv", "xlsx"):
            return error("format 只能是 csv 或 xlsx", 400)
        try:
            rows = export_rows(await run(published_entries, settings))
        except KBInvalid as exc:
            return error(f"知识库文件现在有错误，先修正它们：{exc}", 409)
        await auditor.record(request, agent, Action.KB_EXPORT, "export", kind, rows=len(rows) - 1)
        if kind == "xlsx":
            body = await run(xlsx_bytes, {"知识库": rows})
            disposition = {"Content-Disposition": 'attachment; filename="faq.xlsx"'}
            return response.raw(body, content_type=XLSX, headers=disposition)
        return response.raw(
            csv_text(rows).encode("utf-8"),
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="faq.csv"'},
        )

    @bp.post("/console/api/studio/import")
    @signed_in
    @editors
    async def import_table(request: Request, agent: Agent) -> HTTPResponse:
        """``{format: csv|xlsx, data: base64}`` (JSON, as every console request: bot/web/console_guard.py):
        every row that differs from the KB becomes a change submitted for review by this editor."""
        try:
            body = json_body(request)
            kind = body.get("format")
            if kind not in ("csv", "xlsx"):
                raise ValueError("format 只能是 csv 或 xlsx")
            try:
                data = base64.b64decode(str(body.get("data") or ""), validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("data 应该是 base64 编码的文件内容") from None
            if not data or len(data) > MAX_IMPORT_BYTES:
                raise ValueError(f"文件是空的或超过 {MAX_IMPORT_BYTES // 1_000_000} MB")
            found = await run(import_changes, settings, store, agent.name, data, kind)
        except (ValueError, KBImportError, ChangeError) as exc:
            return error(str(exc), 400)
        except KBInvalid as exc:
            return error(f"知识库文件现在有错误，先修正它们：{exc}", 409)
        await auditor.record(request, agent, Action.KB_IMPORT, "kb_import", kind, bytes=len(data))
        return response.json(found)

    @bp.listener("after_server_start")
    async def scheduled_publishing(app: Any, _loop: Any) -> None:
        app.add_task(_publish_when_due(desk, store), name="studio_scheduled_publishing")

    return store


async def _publish_when_due(desk: HandoffDesk, store: ChangeStore) -> None:
    """Scheduled publishing: approved changes with a publish time are published when it comes.
    Every server looks; the one that takes the publish lease publishes them (once)."""
    while True:
        await asyncio.sleep(SCHEDULE_EVERY_S)
        try:
            outcome = await desk.blocking(publish_scheduled, desk.settings, store, "定时发布")
            if outcome is not None:
                log.info("studio: scheduled publish of %s as index %s", outcome.published, outcome.index_version)
        except Exception:  # logged; the next round tries again
            log.exception("studio: scheduled publishing failed")
