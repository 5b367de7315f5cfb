"""The agent console's HTTP side, mounted on the Rasa server (``bot/server/app.py``)
so agent replies reach socket.io users through the same process that holds
their connections.

- ``/console/``: the page (``static/``); ``/console/api/*``: JSON for it, every
  route but login requiring a signed-in agent (cookie ``faqbot_console``,
  HttpOnly, SameSite=Strict; or ``Authorization: Bearer <token>``);
- ``/console/api/stream``: Server-Sent Events, every hand-off event by its global
  sequence number, resumable with ``Last-Event-ID``; an open stream is what
  makes an agent count as signed in;
- ``/handoff/messages``: what REST-channel users poll for agent replies.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.console.throttle import DEVICE_COOKIE, DEVICE_DAYS, SignInThrottle
from bot.handoff.agents import Agent, AgentError
from bot.handoff.desk import HandoffDesk
from bot.handoff.handoffs import OPEN_STATES, WAITING, Handoff, HandoffError
from bot.handoff.tickets import OPEN, TicketError
from bot.web.origins import Proxies
from bot.web.static_files import resolve, send_file
from connectors.identity import id_problem, is_storable

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
COOKIE = "faqbot_console"
PING_SECONDS = 15.0
MAX_TEXT = 4000

Route = Callable[..., Awaitable[HTTPResponse]]


def _error(message: str, status: int) -> HTTPResponse:
    return response.json({"error": message}, status=status)


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(COOKIE)


def _body_text(request: Request) -> str:
    try:
        body = request.json
    except Exception:
        body = None
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise ValueError("'text' is required: a non-empty string")
    if len(text) > MAX_TEXT:
        raise ValueError(f"'text' has {len(text)} characters; the limit is {MAX_TEXT}")
    return text


def _set_cookie(reply: HTTPResponse, name: str, value: str, max_age: int) -> None:
    """HttpOnly, SameSite=Strict, whole site (``Secure`` over https: ``bot/web/cookies.py``)."""
    reply.cookies[name] = value
    cookie = reply.cookies[name]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = "/"
    cookie["max-age"] = max_age


def _agent_json(agent: Agent) -> dict[str, str]:
    return {"name": agent.name, "display_name": agent.display_name}


def _handoff_json(desk: HandoffDesk, handoff: Handoff, now: datetime) -> dict[str, Any]:
    data = handoff.to_json()
    end = handoff.claimed_at if handoff.claimed_at else now
    data["waiting_seconds"] = int((end - handoff.created_at).total_seconds())
    users = [e for e in desk.handoffs.events(handoff.id) if e["kind"] == "user_message"]
    data["last_message"] = users[-1]["text"] if users else (
        next((t["text"] for t in reversed(handoff.transcript) if t["role"] == "user"), None))
    return data


def _event_json(event: dict[str, Any]) -> dict[str, Any]:
    at = event["at"]
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return {**event, "at": at.isoformat()}


def console_blueprint(desk: HandoffDesk, suggest: Callable[[str], list[dict[str, Any]]]) -> Blueprint:
    """``suggest(question)`` returns the FAQ answers offered to the agent."""
    bp = Blueprint("agent_console")

    @bp.route("/console/static/<path:path>", methods=["GET", "HEAD"], name="console_static")
    async def static(request: Request, path: str) -> HTTPResponse:
        return send_file(request, resolve(STATIC, path))

    stopping = asyncio.Event()
    throttle = SignInThrottle(desk.settings.database_url)
    proxies = Proxies.parse(desk.settings.console.trusted_proxies)
    # Password hashes (scrypt, ~50 ms of CPU each) one at a time, never on the event loop.
    hashing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sign-in")

    @bp.listener("before_server_stop")
    async def end_streams(*_: Any) -> None:  # so a restart does not wait for open consoles
        stopping.set()
        desk.pulse.fire()
        desk.flush_turns()

    def signed_in(route: Route) -> Route:
        @functools.wraps(route)
        async def check(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            agent = desk.agents.agent_for(_token(request))
            if agent is None:
                return _error("not signed in: sign in at /console/", 401)
            try:
                return await route(request, agent, *args, **kwargs)
            except (HandoffError, TicketError) as exc:
                return _error(str(exc), 409)
            except ValueError as exc:
                return _error(str(exc), 400)
        return check

    @bp.route("/console", methods=["GET", "HEAD"], strict_slashes=False)
    async def page(request: Request) -> HTTPResponse:
        return send_file(request, STATIC / "index.html")

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
            return _error("'name' and 'password' must be valid text (no unpaired surrogates or NUL)", 400)
        client = proxies.forwarded(request, "for") or request.ip or "unknown"
        device = request.cookies.get(DEVICE_COOKIE)
        loop = asyncio.get_running_loop()
        wait = await loop.run_in_executor(None, throttle.refusal, name, client, device)
        if wait is not None:
            log.warning("console sign-in for %r from %s throttled for %d s", name, client, wait)
            reply = _error(f"too many failed sign-ins; try again in {(wait + 59) // 60} minutes", 429)
            reply.headers["Retry-After"] = str(wait)
            return reply
        try:
            token = await loop.run_in_executor(hashing, desk.agents.sign_in, name, password)
        except AgentError as exc:
            await loop.run_in_executor(None, throttle.failed, name, client)
            log.warning("console sign-in refused for %r from %s", name, client)
            return _error(str(exc), 401)
        trusted = await loop.run_in_executor(None, throttle.succeeded, name, client)
        agent = await loop.run_in_executor(None, desk.agents.agent_for, token)
        assert agent is not None
        reply = response.json({"agent": _agent_json(agent), "token": token})
        _set_cookie(reply, COOKIE, token, desk.settings.handoff.session_hours * 3600)
        _set_cookie(reply, DEVICE_COOKIE, trusted, DEVICE_DAYS * 86400)
        return reply

    @bp.post("/console/api/logout")
    @signed_in
    async def logout(request: Request, agent: Agent) -> HTTPResponse:
        desk.agents.sign_out(_token(request) or "")
        reply = response.json({"ok": True})
        del reply.cookies[COOKIE]
        return reply

    @bp.get("/console/api/me")
    @signed_in
    async def me(_: Request, agent: Agent) -> HTTPResponse:
        now = datetime.now(timezone.utc)
        return response.json({"agent": _agent_json(agent),
                              "hours": {"text": desk.hours.describe(), "open": desk.hours.is_open(now)}})

    @bp.get("/console/api/queue")
    @signed_in
    async def queue(_: Request, agent: Agent) -> HTTPResponse:
        now = datetime.now(timezone.utc)
        online = desk.agents.online(desk.settings.handoff.presence_timeout)
        return response.json({
            "now": now.isoformat(),
            "agents_online": [_agent_json(a) for a in online],
            "handoffs": [_handoff_json(desk, h, now) for h in desk.handoffs.in_states(OPEN_STATES)],
            "tickets": [t.to_json() for t in desk.tickets.in_states((OPEN,))],
        })

    @bp.get("/console/api/handoffs/<handoff_id>")
    @signed_in
    async def handoff(_: Request, agent: Agent, handoff_id: str) -> HTTPResponse:
        current = desk.handoffs.get(handoff_id)
        return response.json({"handoff": _handoff_json(desk, current, datetime.now(timezone.utc)),
                              "events": [_event_json(e) for e in desk.handoffs.events(handoff_id)]})

    @bp.post("/console/api/handoffs/<handoff_id>/claim")
    @signed_in
    async def claim(_: Request, agent: Agent, handoff_id: str) -> HTTPResponse:
        claimed = await desk.claim(handoff_id, agent.name, agent.display_name)
        return response.json({"handoff": _handoff_json(desk, claimed, datetime.now(timezone.utc))})

    @bp.post("/console/api/handoffs/<handoff_id>/messages")
    @signed_in
    async def message(request: Request, agent: Agent, handoff_id: str) -> HTTPResponse:
        seq, delivered = await desk.reply(handoff_id, agent.name, _body_text(request), agent.display_name)
        return response.json({"seq": seq, "delivered": delivered})

    @bp.post("/console/api/handoffs/<handoff_id>/notes")
    @signed_in
    async def note(request: Request, agent: Agent, handoff_id: str) -> HTTPResponse:
        desk.handoffs.add_note(handoff_id, agent.name, _body_text(request))
        desk.pulse.fire()
        return response.json({"ok": True})

    @bp.post("/console/api/handoffs/<handoff_id>/close")
    @signed_in
    async def close(_: Request, agent: Agent, handoff_id: str) -> HTTPResponse:
        closed = await desk.close(handoff_id, agent.name)
        return response.json({"handoff": _handoff_json(desk, closed, datetime.now(timezone.utc))})

    @bp.get("/console/api/handoffs/<handoff_id>/suggestions")
    @signed_in
    async def suggestions(_: Request, agent: Agent, handoff_id: str) -> HTTPResponse:
        current = desk.handoffs.get(handoff_id)
        data = _handoff_json(desk, current, datetime.now(timezone.utc))
        question = data["last_message"]
        found = await asyncio.get_running_loop().run_in_executor(None, suggest, question) if question else []
        return response.json({"question": question, "suggestions": found})

    @bp.post("/console/api/tickets/<ticket_id>/answer")
    @signed_in
    async def answer(request: Request, agent: Agent, ticket_id: str) -> HTTPResponse:
        ticket, delivered = await desk.answer_ticket(ticket_id, agent.name, _body_text(request))
        return response.json({"ticket": ticket.to_json(), "delivered": delivered})

    @bp.get("/console/api/kpis")
    @signed_in
    async def kpis(request: Request, agent: Agent) -> HTTPResponse:
        from bot.handoff.kpis import compute_kpis

        try:
            days = max(1, min(int(request.args.get("days", 14)), 366))
        except ValueError:
            return _error("'days' must be a whole number", 400)
        report = await asyncio.get_running_loop().run_in_executor(
            None, functools.partial(compute_kpis, desk.settings.database_url, days, desk.settings.handoff.timezone))
        return response.json(report)

    @bp.get("/console/api/stream")
    @signed_in
    async def stream(request: Request, agent: Agent) -> HTTPResponse | None:
        token = _token(request)
        try:
            after = int(request.headers.get("last-event-id") or request.args.get("after") or -1)
        except ValueError:
            after = -1
        if after < 0:
            after = desk.handoffs.last_seq()
        out = await request.respond(content_type="text/event-stream",
                                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        await out.send("retry: 2000\n\n")
        marker = desk.tickets.marker()
        last_ping = 0.0
        try:
            while not stopping.is_set() and not request.transport.is_closing():
                if time.monotonic() - last_ping >= PING_SECONDS:
                    if desk.agents.agent_for(token) is None:  # signed out or expired meanwhile
                        await out.send("event: signed_out\ndata: {}\n\n")
                        break
                    desk.agents.touch(agent.name)
                    await out.send("event: ping\ndata: {}\n\n")
                    last_ping = time.monotonic()
                for event in desk.handoffs.events_since(after):
                    after = event["seq"]
                    data = json.dumps(_event_json(event), ensure_ascii=False, default=str)
                    await out.send(f"event: handoff\nid: {after}\ndata: {data}\n\n")
                now_marker = desk.tickets.marker()
                if now_marker != marker:
                    marker = now_marker
                    await out.send("event: queue\ndata: {}\n\n")
                await desk.pulse.wait(1.0)
        except Exception as exc:  # the console went away mid-write
            log.debug("console stream of %s ended: %s", agent.name, exc)
            return None
        await out.eof()
        return None

    @bp.get("/handoff/messages")
    async def poll(request: Request) -> HTTPResponse:
        """REST-channel users: what people sent them after sequence ``after``."""
        sender = request.args.get("sender", "")
        if not sender:
            return _error("'sender' is required", 400)
        if problem := id_problem(sender):
            return _error(problem, 400)
        try:
            after = int(request.args.get("after", 0))
        except ValueError:
            return _error("'after' must be a whole number", 400)
        messages, latest = desk.messages_for(sender, after)
        answered = [{"ticket": t.ticket, "question": t.question, "answer": t.answer,
                     "answered_at": t.to_json()["answered_at"]} for t in desk.tickets.answered_for(sender)]
        return response.json({"sender": sender, "messages": messages, "next": latest, "tickets": answered})

    @bp.get("/handoff/status")
    async def status(request: Request) -> HTTPResponse:
        """For the web widget: who has the conversation now, so it can show the hand-off state."""
        sender = request.args.get("sender", "")
        if not sender:
            return _error("'sender' is required", 400)
        if problem := id_problem(sender):
            return _error(problem, 400)
        current = desk.handoffs.open_for(sender)
        if current is None:
            state = "message" if desk.tickets.draft_for(sender) else "bot"
            return response.json({"state": state})
        names = {a.name: a.display_name for a in desk.agents.accounts()}
        ahead = sum(1 for h in desk.handoffs.in_states((WAITING,)) if h.created_at < current.created_at)
        return response.json({"state": current.state, "ticket": current.ticket, "waiting_ahead": ahead,
                              "agent": names.get(current.agent or "", current.agent)})

    return bp
