"""The console's 管理 tab for admins: agent accounts (add, rename, role, new
password, disable), groups (技能组) with their routing rules and members, the
team's canned replies (the list and deleting; adding is in the chat view), and the
audit log (审计: search and CSV export, ``bot/handoff/audit.py``).

Every route needs a signed-in agent whose role is admin (``bot/handoff/teams.py``);
others get 403. The last admin cannot be demoted or disabled, and nobody
disables their own account, so the console always has someone who can manage it.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.console.auditing import Auditor
from bot.console.common import Route, error, json_body
from bot.handoff.agents import ONLINE, Agent, AgentError
from bot.handoff.audit import MAX_PAGE, PAGE, Action, Filter
from bot.handoff.db import now
from bot.handoff.desk import HandoffDesk
from bot.handoff.tables import csv_text
from bot.handoff.teams import ADMIN, AGENT, ROLES, TeamError
from indexer.kb import load_kb

# The channels a group can be given; the names bot/server/ mounts them under.
CHANNELS = ("socketio", "rest", "wechat", "wecom", "dingtalk", "feishu", "telegram", "slack", "messenger")


def admin_only(desk: HandoffDesk) -> Callable[[Route], Route]:
    """Inside ``signed_in``: the route runs only for admins."""

    def wrap(route: Route) -> Route:
        @functools.wraps(route)
        async def check(request: Request, agent: Agent, *args: Any, **kwargs: Any) -> HTTPResponse | None:
            if await desk.blocking(desk.teams.role_of, agent.name) != ADMIN:
                return error("admins only: ask an admin of this console", 403)
            try:
                return await route(request, agent, *args, **kwargs)
            except (AgentError, TeamError) as exc:
                return error(str(exc), 400)

        return check

    return wrap


def _accounts(desk: HandoffDesk) -> list[dict[str, Any]]:
    roles, statuses = desk.teams.roles(), desk.agents.statuses()
    online = {a.name for a in desk.agents.online(desk.settings.handoff.presence_timeout)}
    groups = desk.teams.groups()
    return [
        {
            "name": a.name,
            "display_name": a.display_name,
            "role": roles.get(a.name, AGENT),
            "status": statuses.get(a.name, ONLINE),
            "signed_in": a.name in online,
            "last_seen": a.last_seen.isoformat() if a.last_seen else None,
            "groups": [g.name for g in groups if a.name in g.members],
        }
        for a in desk.agents.accounts()
    ]


def _admins(desk: HandoffDesk) -> set[str]:
    roles = desk.teams.roles()
    return {a.name for a in desk.agents.accounts() if roles.get(a.name) == ADMIN}


def _update_account(desk: HandoffDesk, name: str, body: dict[str, Any]) -> None:
    if not any(a.name == name for a in desk.agents.accounts()):
        raise AgentError(f"no account named {name!r}")
    role, display_name, password = body.get("role"), body.get("display_name"), body.get("password")
    if role is not None:
        if role != ADMIN and _admins(desk) == {name}:
            raise TeamError("the last admin cannot stop being one: make another admin first")
        desk.teams.set_role(name, str(role))
    if display_name is not None:
        desk.agents.rename(name, str(display_name))
    if password is not None:
        desk.agents.set_password(name, str(password))


def _disable(desk: HandoffDesk, me: str, name: str) -> None:
    if name == me:
        raise AgentError("you cannot disable your own account")
    if _admins(desk) == {name}:
        raise TeamError("the last admin cannot be disabled")
    desk.agents.disable(name)


def _categories(desk: HandoffDesk) -> list[str]:
    try:
        return sorted({e.category for e in load_kb(desk.settings.kb_dir).entries if e.category})
    except Exception:  # an unreadable KB only loses the picker; rules are free text
        return []


def add_admin_routes(bp: Blueprint, desk: HandoffDesk, signed_in: Callable[[Route], Route]) -> None:
    admin = admin_only(desk)
    auditor = Auditor(desk)

    @bp.get("/console/api/admin/agents")
    @signed_in
    @admin
    async def accounts(_: Request, agent: Agent) -> HTTPResponse:
        return response.json({"agents": await desk.blocking(_accounts, desk)})

    @bp.post("/console/api/admin/agents")
    @signed_in
    @admin
    async def add_account(request: Request, agent: Agent) -> HTTPResponse:
        """``{"name", "password", "display_name"?, "role"?}``."""
        body = json_body(request)
        name, password = body.get("name"), body.get("password")
        if not isinstance(name, str) or not isinstance(password, str):
            return error("'name' and 'password' are required strings", 400)
        display_name = body.get("display_name") if isinstance(body.get("display_name"), str) else None
        role = str(body.get("role") or AGENT)
        if role not in ROLES:
            return error(f"role must be one of {', '.join(ROLES)}", 400)

        def add() -> None:
            desk.agents.add(name, password, (display_name or "").strip() or None)
            desk.teams.set_role(name, role)

        await asyncio.get_running_loop().run_in_executor(None, add)  # scrypt: not in the desk's pool
        await auditor.record(request, agent, Action.ACCOUNT_CREATE, "account", name, new_role=role)
        return response.json({"agents": await desk.blocking(_accounts, desk)})

    @bp.post("/console/api/admin/agents/<name>")
    @signed_in
    @admin
    async def update_account(request: Request, agent: Agent, name: str) -> HTTPResponse:
        """Any of ``{"display_name", "role", "password"}``; a new password signs them out."""
        body = json_body(request)
        before = await desk.blocking(desk.teams.role_of, name)
        await asyncio.get_running_loop().run_in_executor(None, _update_account, desk, name, body)
        if body.get("role") is not None:
            await auditor.record(request, agent, Action.ROLE_CHANGE, "account", name, old=before, new=body["role"])
        if body.get("display_name") is not None or body.get("password") is not None:
            changed = sorted(k for k in ("display_name", "password") if body.get(k) is not None)
            await auditor.record(request, agent, Action.ACCOUNT_UPDATE, "account", name, changed=changed)
        return response.json({"agents": await desk.blocking(_accounts, desk)})

    @bp.post("/console/api/admin/agents/<name>/disable")
    @signed_in
    @admin
    async def disable(request: Request, agent: Agent, name: str) -> HTTPResponse:
        await desk.blocking(_disable, desk, agent.name, name)
        await auditor.record(request, agent, Action.ACCOUNT_DISABLE, "account", name)
        desk.pulse.fire()
        return response.json({"agents": await desk.blocking(_accounts, desk)})

    @bp.get("/console/api/admin/groups")
    @signed_in
    @admin
    async def groups(_: Request, agent: Agent) -> HTTPResponse:
        """The groups, and what their rules can name: the KB's categories and the channels."""
        found = await desk.blocking(desk.teams.groups)
        categories = await asyncio.get_running_loop().run_in_executor(None, _categories, desk)
        return response.json(
            {"groups": [g.to_json() for g in found], "categories": categories, "channels": list(CHANNELS)}
        )

    async def save(request: Request, agent: Agent, group_id: int | None) -> HTTPResponse:
        body = json_body(request)
        members = body.get("members")
        known = {a.name for a in await desk.blocking(desk.agents.accounts)}
        if isinstance(members, list) and (unknown := [m for m in members if m not in known]):
            return error(f"no account named {unknown[0]!r}", 400)
        saved = await desk.blocking(
            desk.teams.save_group,
            body.get("name"),
            body.get("categories"),
            body.get("channels"),
            members,
            group_id,
        )
        desk.pulse.fire()
        detail = {"name": saved.name, "members": list(saved.members), "new": group_id is None}
        await auditor.record(request, agent, Action.GROUP_SAVE, "group", saved.id, **detail)
        return response.json({"group": saved.to_json()})

    @bp.post("/console/api/admin/groups")
    @signed_in
    @admin
    async def add_group(request: Request, agent: Agent) -> HTTPResponse:
        """``{"name", "categories": [...], "channels": [...], "members": [...]}``."""
        return await save(request, agent, None)

    @bp.post("/console/api/admin/groups/<group_id:int>")
    @signed_in
    @admin
    async def update_group(request: Request, agent: Agent, group_id: int) -> HTTPResponse:
        return await save(request, agent, group_id)

    @bp.post("/console/api/admin/groups/<group_id:int>/delete")
    @signed_in
    @admin
    async def remove_group(request: Request, agent: Agent, group_id: int) -> HTTPResponse:
        await desk.blocking(desk.teams.remove_group, group_id)
        await auditor.record(request, agent, Action.GROUP_REMOVE, "group", group_id)
        desk.pulse.fire()
        return response.json({"removed": group_id})

    @bp.get("/console/api/admin/audit")
    @signed_in
    @admin
    async def audit(request: Request, agent: Agent) -> HTTPResponse:
        """The audit log, newest first: ``actor``, ``action``, ``target`` (part of its id),
        ``since`` / ``until`` (ISO times, UTC unless they say), ``page`` (from 1), ``per_page``."""
        found, page, per_page = audit_filter(request), _int(request, "page", 1), _int(request, "per_page", PAGE)
        per_page = max(1, min(per_page, MAX_PAGE))
        entries, total = await desk.blocking(desk.audit.search, found, per_page, (max(page, 1) - 1) * per_page)
        return response.json(
            {
                "entries": [e.to_json() for e in entries],
                "total": total,
                "page": max(page, 1),
                "per_page": per_page,
                "actions": [a.value for a in Action],
            }
        )

    @bp.get("/console/api/admin/audit/export")
    @signed_in
    @admin
    async def audit_export(request: Request, agent: Agent) -> HTTPResponse:
        """What the same filters find, as CSV (the export is itself recorded)."""
        found = audit_filter(request)
        rows = await desk.blocking(desk.audit.rows, found)
        await auditor.record(request, agent, Action.EXPORT_AUDIT, "export", "csv", rows=len(rows) - 1)
        return response.raw(
            csv_text(rows).encode("utf-8"),
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="audit-{now():%Y%m%d-%H%M}.csv"'},
        )


def _int(request: Request, key: str, default: int) -> int:
    try:
        return int(request.args.get(key, default))
    except ValueError:
        raise ValueError(f"'{key}' must be a whole number") from None


def _time(request: Request, key: str) -> datetime | None:
    value = (request.args.get(key) or "").strip()
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"'{key}' must be an ISO time like 2026-12-07T08:00") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def audit_filter(request: Request) -> Filter:
    """The audit search's filters from the query string (``ValueError``: 400, saying which)."""
    args = request.args
    return Filter(
        actor=(args.get("actor") or "").strip()[:200],
        action=(args.get("action") or "").strip()[:32],
        target=(args.get("target") or "").strip()[:255],
        since=_time(request, "since"),
        until=_time(request, "until"),
    )
