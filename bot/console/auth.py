"""Signing agents in and out of the console, and the ``signed_in`` check every other
``/console/api/*`` route passes (cookie ``faqbot_console``, HttpOnly, SameSite=Strict;
or ``Authorization: Bearer <token>``)."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.console.auditing import Auditor, Refused
from bot.console.common import COOKIE, Route, agent_json, error, json_body, set_cookie, token_of
from bot.console.throttle import DEVICE_COOKIE, DEVICE_DAYS, SignInThrottle
from bot.handoff.agents import ONLINE, Agent, AgentError
from bot.handoff.audit import Action
from bot.handoff.db import now
from bot.handoff.desk import HandoffDesk
from bot.handoff.handoffs import HandoffError
from bot.handoff.tickets import TicketError
from bot.web.origins import Proxies
from connectors.identity import is_storable

log = logging.getLogger(__name__)

UNKNOWN_ACCOUNT = "(unknown)"  # the audit log's actor for a failed sign-in with no such account


def signed_in_check(desk: HandoffDesk) -> Callable[[Route], Route]:
    """A decorator: the route runs with the signed-in ``Agent`` after the request, or the
    client gets 401; what is not theirs to see (``Refused``) is 403, a refused transition
    409 and a bad request 400, with the reason."""

    def signed_in(route: Route) -> Route:
        @functools.wraps(route)
        async def check(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse | None:
            agent = await desk.blocking(desk.agents.agent_for, token_of(request))
            if agent is None:
                return error("not signed in: sign in at /console/", 401)
            try:
                return await route(request, agent, *args, **kwargs)
            except Refused as exc:
                return error(str(exc), 403)
            except (HandoffError, TicketError) as exc:
                return error(str(exc), 409)
            except ValueError as exc:
                return error(str(exc), 400)

        return check

    return signed_in


def add_auth_routes(bp: Blueprint, desk: HandoffDesk, signed_in: Callable[[Route], Route]) -> None:
    throttle = SignInThrottle(desk.settings.database_url)
    proxies = Proxies.parse(desk.settings.console.trusted_proxies)
    auditor = Auditor(desk)
    # Password hashes (scrypt, ~50 ms of CPU each) one at a time, never on the event loop.
    hashing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sign-in")

    @bp.post("/console/api/login")
    async def login(request: Request) -> HTTPResponse:
        """Throttled (``bot/console/throttle.py``) and hashed off the event loop, one
        hash at a time: sign-ins never slow down the customers' answers."""
        try:
            body = request.json
        except Exception:
            body = None
        body = body if isinstance(body, dict) else {}
        name, password = str(body.get("name") or "")[:200], str(body.get("password") or "")[:1000]
        if not (is_storable(name) and is_storable(password)):
            return error("'name' and 'password' must be valid text (no unpaired surrogates or NUL)", 400)
        client = proxies.forwarded(request, "for") or request.ip or "unknown"
        device = request.cookies.get(DEVICE_COOKIE)
        loop = asyncio.get_running_loop()
        wait = await desk.blocking(throttle.refusal, name, client, device)
        if wait is not None:
            log.warning("console sign-in for %r from %s throttled for %d s", name, client, wait)
            reply = error(f"too many failed sign-ins; try again in {(wait + 59) // 60} minutes", 429)
            reply.headers["Retry-After"] = str(wait)
            return reply
        try:
            token = await loop.run_in_executor(hashing, desk.agents.sign_in, name, password)
        except AgentError as exc:
            await desk.blocking(throttle.failed, name, client)
            log.warning("console sign-in refused for %r from %s", name, client)
            # A name that is no account (a typo, or a password typed in the wrong box) is not kept.
            known = await desk.blocking(lambda: any(a.name == name for a in desk.agents.accounts()))
            tried = name if known else UNKNOWN_ACCOUNT
            await auditor.record(request, tried, Action.SIGN_IN_FAILED, "account", tried, known=known)
            return error(str(exc), 401)
        trusted = await desk.blocking(throttle.succeeded, name, client)
        agent = await desk.blocking(desk.agents.agent_for, token)
        assert agent is not None
        await auditor.record(request, agent, Action.SIGN_IN, "account", agent.name)
        reply = response.json({"agent": agent_json(agent), "token": token})
        set_cookie(reply, COOKIE, token, desk.settings.handoff.session_hours * 3600)
        set_cookie(reply, DEVICE_COOKIE, trusted, DEVICE_DAYS * 86400)
        return reply

    @bp.post("/console/api/logout")
    @signed_in
    async def logout(request: Request, agent: Agent) -> HTTPResponse:
        await desk.blocking(desk.agents.sign_out, token_of(request) or "")
        await auditor.record(request, agent, Action.SIGN_OUT, "account", agent.name)
        reply = response.json({"ok": True})
        del reply.cookies[COOKIE]
        return reply

    @bp.get("/console/api/me")
    @signed_in
    async def me(_: Request, agent: Agent) -> HTTPResponse:
        statuses = await desk.blocking(desk.agents.statuses)
        role = await desk.blocking(desk.teams.role_of, agent.name)
        return response.json(
            {
                "agent": {**agent_json(agent), "status": statuses.get(agent.name, ONLINE), "role": role},
                "hours": {"text": desk.hours.describe(), "open": desk.hours.is_open(now())},
                "max_chats": desk.settings.handoff.max_chats_per_agent,
            }
        )

    @bp.post("/console/api/status")
    @signed_in
    async def status(request: Request, agent: Agent) -> HTTPResponse:
        """``{"status": "online" | "busy" | "away"}``: whether this agent takes new chats."""
        chosen = json_body(request).get("status")
        await desk.blocking(desk.agents.set_status, agent.name, str(chosen))
        desk.pulse.fire()
        return response.json({"status": chosen})
