"""The 管理 → 隐私 panel's routes, for admins only (checked here, on the server): the retention
purge (a dry run first, then for real), one person's data as a JSON download, and its deletion,
which needs the person's id sent twice (``user`` and ``confirm``) so a slip of the mouse deletes
nothing. The work is ``bot/privacy/``, in the desk's executor (never on the event loop); each
action is one audit line, naming the person by a hash of their id."""

from __future__ import annotations

import json
from collections.abc import Callable

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.console.admin import admin_only
from bot.console.auditing import Auditor
from bot.console.common import Route, error, json_body
from bot.handoff.agents import Agent
from bot.handoff.audit import Action
from bot.handoff.db import now
from bot.handoff.desk import HandoffDesk
from bot.privacy import retention, subject
from faqbot.errors import UserError


def add_privacy_routes(bp: Blueprint, desk: HandoffDesk, signed_in: Callable[[Route], Route]) -> None:
    admin = admin_only(desk)
    auditor = Auditor(desk)
    settings = desk.settings

    @bp.get("/console/api/admin/privacy")
    @signed_in
    @admin
    async def overview(_: Request, agent: Agent) -> HTTPResponse:
        """How long each kind is kept, and how often the scheduled purge runs."""
        days = settings.retention.days()
        kinds = [{"kind": k, "name": retention.KIND_NAMES[k], "days": d} for k, d in days.items()]
        return response.json({"kinds": kinds, "purge_every_hours": settings.retention.purge_every_hours})

    @bp.post("/console/api/admin/privacy/purge")
    @signed_in
    @admin
    async def purge(request: Request, agent: Agent) -> HTTPResponse:
        """``{"dry_run": true|false}``: what is older than its retention, counted or deleted."""
        try:
            dry_run = json_body(request).get("dry_run", True)
        except ValueError as exc:
            return error(str(exc), 400)
        if not isinstance(dry_run, bool):
            return error("'dry_run' must be true or false", 400)
        found = await desk.blocking(retention.purge, settings, dry_run)
        rows = {p.kind: p.total for p in found}
        kind = "dry_run" if dry_run else "purge"
        await auditor.record(request, agent, Action.PRIVACY_PURGE, "retention", kind, dry_run=dry_run, rows=rows)
        return response.json({"dry_run": dry_run, "kinds": [p.to_json() for p in found]})

    @bp.get("/console/api/admin/privacy/export")
    @signed_in
    @admin
    async def export(request: Request, agent: Agent) -> HTTPResponse:
        """``?user=ID``: everything stored about them, as a JSON file."""
        try:
            data = await desk.blocking(subject.export, settings, request.args.get("user", ""))
        except UserError as exc:
            return error(str(exc), 400)
        rows = {name: len(found) for name, found in data["stores"].items()}
        await auditor.record(
            request,
            agent,
            Action.PRIVACY_EXPORT,
            "data_subject",
            subject.subject_hash(data["user"]),
            conversations=len(data["conversations"]),
            rows=rows,
        )
        return response.raw(
            json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"),
            content_type="application/json; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="personal-data-{now():%Y%m%d-%H%M}.json"'},
        )

    @bp.post("/console/api/admin/privacy/delete")
    @signed_in
    @admin
    async def delete(request: Request, agent: Agent) -> HTTPResponse:
        """``{"user", "confirm"?, "dry_run"?}``: ``dry_run`` counts what would go; deleting needs
        ``confirm`` equal to ``user``."""
        try:
            body = json_body(request)
        except ValueError as exc:
            return error(str(exc), 400)
        user, dry_run = body.get("user"), body.get("dry_run", False)
        if not isinstance(user, str) or not isinstance(dry_run, bool):
            return error("'user' must be a string and 'dry_run' true or false", 400)
        if not dry_run and body.get("confirm") != user:
            return error("请再输入一次同样的用户 ID 确认删除：删除后无法恢复", 400)
        try:
            done = await desk.blocking(subject.delete, settings, user, dry_run)
        except UserError as exc:
            return error(str(exc), 400)
        if not dry_run:
            await auditor.record(
                request,
                agent,
                Action.PRIVACY_DELETE,
                "data_subject",
                subject.subject_hash(user.strip()),
                conversations=len(done.conversations),
                rows=done.tables,
            )
        return response.json(
            {"dry_run": dry_run, "conversations": done.conversations, "total": done.total, "tables": done.tables}
        )
