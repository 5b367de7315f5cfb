"""The console's live feed: Server-Sent Events with every hand-off event the agent may see
(access by need: another group's chat only nudges the queue) by its global
sequence number (resumable with ``Last-Event-ID``) and a nudge when the ticket queue
changes. An open stream is what makes an agent count as signed in: it touches the
agent's presence every ``PING_SECONDS``, and when it ends without a new one taking
over within ``AWAY_GRACE_SECONDS`` (a reload reconnects well within it), the agent
is away and users waiting for nobody are told so at once."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.console.auditing import Auditor
from bot.console.common import Route, event_json, token_of
from bot.handoff.agents import Agent
from bot.handoff.desk import HandoffDesk

log = logging.getLogger(__name__)

PING_SECONDS = 5.0
AWAY_GRACE_SECONDS = PING_SECONDS + 3.0


def add_stream_routes(
    bp: Blueprint, desk: HandoffDesk, signed_in: Callable[[Route], Route], stopping: asyncio.Event
) -> None:
    """``stopping``: set when the server stops, so open streams end instead of holding the restart."""
    checks: set[asyncio.Task[None]] = set()  # presence checks after a stream ended, kept until done
    auditor = Auditor(desk)

    def closed(agent: Agent) -> None:
        if stopping.is_set():  # a restart, not an agent going away
            return
        task = asyncio.get_running_loop().create_task(desk.console_closed(agent.name, AWAY_GRACE_SECONDS))
        checks.add(task)
        task.add_done_callback(checks.discard)

    @bp.get("/console/api/stream")
    @signed_in
    async def stream(request: Request, agent: Agent) -> HTTPResponse | None:
        token = token_of(request)
        try:
            after = int(request.headers.get("last-event-id") or request.args.get("after") or -1)
        except ValueError:
            after = -1
        if after < 0:
            after = await desk.blocking(desk.handoffs.last_seq)
        out = await request.respond(
            content_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )
        await out.send("retry: 2000\n\n")
        marker = await desk.blocking(desk.tickets.marker)
        last_ping = 0.0
        try:
            while not stopping.is_set() and not request.transport.is_closing():  # type: ignore[attr-defined]
                if time.monotonic() - last_ping >= PING_SECONDS:
                    if await desk.blocking(desk.agents.agent_for, token) is None:  # signed out or expired meanwhile
                        await out.send("event: signed_out\ndata: {}\n\n")
                        break
                    await desk.blocking(desk.agents.touch, agent.name)
                    await out.send("event: ping\ndata: {}\n\n")
                    last_ping = time.monotonic()
                events = await desk.blocking(desk.handoffs.events_since, after)
                refused = await auditor.refused_events(agent, events)
                for event in events:
                    after = event["seq"]
                    if event["handoff_id"] in refused:  # another group's chat: only that the queue moved
                        await out.send(f"event: queue\nid: {after}\ndata: {{}}\n\n")
                        continue
                    data = json.dumps(event_json(event), ensure_ascii=False, default=str)
                    await out.send(f"event: handoff\nid: {after}\ndata: {data}\n\n")
                now_marker = await desk.blocking(desk.tickets.marker)
                if now_marker != marker:
                    marker = now_marker
                    await out.send("event: queue\ndata: {}\n\n")
                await desk.pulse.wait(1.0)
        except Exception as exc:  # the console went away mid-write
            log.debug("console stream of %s ended: %s", agent.name, exc)
            return None
        finally:  # also when Sanic cancels the handler because the client disconnected
            closed(agent)
        await out.eof()
        return None
