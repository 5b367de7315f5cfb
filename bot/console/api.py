"""The console's JSON API for signed-in agents: the queue, a hand-off (claim, reply,
note, close, suggested answers), answering tickets, and the KPIs. Every database
read runs in the desk's worker threads, off the event loop."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.console.auditing import Auditor
from bot.console.common import (
    MAX_TEXT,
    Route,
    agent_json,
    body_text,
    customer_question,
    error,
    event_json,
    handoff_json,
    json_body,
)
from bot.console.kb_lookup import KbLookup
from bot.handoff.agents import ONLINE, Agent
from bot.handoff.audit import Action
from bot.handoff.conversation_export import ConversationExport
from bot.handoff.db import now
from bot.handoff.desk import HandoffDesk
from bot.handoff.handoffs import OPEN_STATES, WITH_AGENT, Handoff, WrapUp
from bot.handoff.history import History, Query
from bot.handoff.kpis import TABLES, compute_kpis, to_csv, to_xlsx
from bot.handoff.tables import csv_text, xlsx_bytes
from bot.handoff.teams import ADMIN
from bot.handoff.tickets import FOLLOWUP, OPEN, REOPENED, TO_ANSWER, Ticket
from faqbot.masking import masker_for
from indexer.manifest import IndexMissing
from indexer.sensitive import describe

log = logging.getLogger(__name__)


def _queue(desk: HandoffDesk) -> dict[str, Any]:
    at = now()
    online = desk.agents.online(desk.settings.handoff.presence_timeout)
    statuses = desk.agents.statuses()
    found = [handoff_json(desk, h, at) for h in desk.handoffs.in_states(OPEN_STATES)]
    chats = Counter(h["agent"] for h in found if h["state"] == WITH_AGENT)
    groups = desk.teams.groups()
    return {
        "now": at.isoformat(),
        "agents_online": [
            {
                **agent_json(a),
                "status": statuses.get(a.name, ONLINE),
                "chats": chats[a.name],
                "groups": [g.id for g in groups if a.name in g.members],
            }
            for a in online
        ],
        "groups": [{"id": g.id, "name": g.name, "members": list(g.members)} for g in groups],
        "handoffs": found,
        # Waiting for an answer: open, or reopened with the customer's follow-up in.
        "tickets": [t.to_json() for t in desk.tickets.in_states(TO_ANSWER) if t.step != FOLLOWUP],
        "answered": _with_deliveries(desk, desk.tickets.recently_answered()),
    }


def _with_deliveries(desk: HandoffDesk, found: list[Ticket]) -> list[dict[str, Any]]:
    """Tickets with how their answer went out on each route (the console shows it)."""
    routes = desk.tickets.deliveries_of([t.id for t in found])
    return [
        {
            **t.to_json(),
            "deliveries": [d.to_json() for d in routes[t.id]],
            "reply_window": desk.reply_window(t.channel, t.conversation_id) if t.state in (OPEN, REOPENED) else None,
            "events": desk.tickets.events(t.id),
        }
        for t in found
    ]


MAX_PREVIOUS = 20


def _customer(
    desk: HandoffDesk, history: History, conversation_id: str, channel: str, current: str, viewer: str
) -> dict[str, Any]:
    """The customer panel: what their client reported, and their other conversations and
    留言 (this conversation's, and every one with the same verified user id) that ``viewer`` may see."""
    customer = desk.customers.get(conversation_id, channel)
    mine = tuple(desk.customers.conversations_of(customer))
    found = desk.teams.visible(viewer, history.search(Query(conversations=mine), MAX_PREVIOUS + 1))
    previous = [r for r in found if r["id"] != current]
    return {**customer.to_json(), "previous": previous[:MAX_PREVIOUS]}


def _handoff(desk: HandoffDesk, history: History, handoff_id: str, viewer: str) -> dict[str, Any]:
    current = desk.handoffs.get(handoff_id)
    return {
        "handoff": handoff_json(desk, current, now()),
        "events": [event_json(e) for e in desk.handoffs.events(handoff_id)],
        "customer": _customer(desk, history, current.conversation_id, current.channel, current.id, viewer),
    }


def history_query(request: Request) -> Query:
    """The history search's filters from the query string (``ValueError``: 400, saying which)."""
    args = request.args
    try:
        since = date.fromisoformat(args["from"][0]) if args.get("from") else None
        until = date.fromisoformat(args["to"][0]) if args.get("to") else None
    except ValueError:
        raise ValueError("'from' and 'to' must be dates like 2026-12-01") from None
    return Query(
        text=(args.get("q") or "").strip()[:200],
        customer=(args.get("customer") or "").strip()[:128],
        agent=(args.get("agent") or "").strip()[:64],
        channel=(args.get("channel") or "").strip()[:64],
        faq=(args.get("faq") or "").strip()[:128],
        tag=(args.get("tag") or "").strip()[:20],
        since=since,
        until=until,
    )


def add_api_routes(bp: Blueprint, desk: HandoffDesk, signed_in: Callable[[Route], Route], kb: KbLookup) -> None:
    """``kb.suggest(question)`` returns the FAQ answers offered to the agent."""
    history = History(desk.settings.database_url, desk.settings.handoff.timezone)
    conversations = ConversationExport(
        desk.settings.database_url, desk.settings.handoff.timezone, masker_for(desk.settings.masking)
    )
    auditor = Auditor(desk)  # access by need and the audit log (bot/console/auditing.py)

    async def suggested(question: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """The FAQ answers for ``question``, or why there are none to offer now (no index yet)."""
        if not question:
            return [], None
        try:
            return await asyncio.get_running_loop().run_in_executor(None, kb.suggest, question), None
        except IndexMissing as exc:  # IndexUnusable too: the console says so instead of a 500
            log.warning("no suggested answers: %s", exc)
            return [], "the FAQ index is not available: suggested answers are off until it is"

    async def held(request: Request, text: str, conversation_id: str, channel: str) -> HTTPResponse | None:
        """An agent's reply with a sensitive word is held (422, the words named) unless the
        request confirms it (``"confirm_sensitive": true``); either way the words are counted."""
        hits = await asyncio.get_running_loop().run_in_executor(None, kb.sensitive, text)
        if not hits:
            return None
        may_confirm = desk.settings.sensitive.agents_may_confirm
        confirmed = may_confirm and json_body(request).get("confirm_sensitive") is True
        await desk.blocking(
            desk.records.log_sensitive, conversation_id, channel, "agent", hits, "confirmed" if confirmed else "held"
        )
        if confirmed:
            log.info("an agent sent a reply with sensitive words %s to %s", describe(hits), conversation_id)
            return None
        then = "或确认后照常发送" if may_confirm else "这类内容不能发送"
        warning = f"回复里有敏感词 {describe(hits)}：消息没有发出。请修改后再发送，{then}。"
        return response.json(
            {
                "error": warning,
                "sensitive": [h.to_json() for h in hits],
            },
            status=422,
        )

    async def as_json(handoff: Handoff) -> HTTPResponse:
        return response.json({"handoff": await desk.blocking(handoff_json, desk, handoff, now())})

    @bp.get("/console/api/queue")
    @signed_in
    async def queue(_: Request, agent: Agent) -> HTTPResponse:
        found = await desk.blocking(_queue, desk)
        found["handoffs"] = await auditor.visible(agent, found["handoffs"])
        return response.json(found)

    @bp.get("/console/api/handoffs/<handoff_id>")
    @signed_in
    async def handoff(request: Request, agent: Agent, handoff_id: str) -> HTTPResponse:
        await auditor.need(request, agent, handoff_id, viewing=True)
        return response.json(await desk.blocking(_handoff, desk, history, handoff_id, agent.name))

    @bp.post("/console/api/handoffs/<handoff_id>/claim")
    @signed_in
    async def claim(request: Request, agent: Agent, handoff_id: str) -> HTTPResponse:
        await auditor.need(request, agent, handoff_id)
        claimed = await desk.claim(handoff_id, agent.name, agent.display_name)
        await auditor.record(request, agent, Action.CLAIM, "handoff", handoff_id)
        return await as_json(claimed)

    @bp.post("/console/api/handoffs/<handoff_id>/reopen")
    @signed_in
    async def reopen(request: Request, agent: Agent, handoff_id: str) -> HTTPResponse:
        """A closed conversation again, with this agent: returns the new hand-off."""
        await auditor.need(request, agent, handoff_id)
        reopened = await desk.reopen(handoff_id, agent.name, agent.display_name)
        await auditor.record(request, agent, Action.REOPEN, "handoff", handoff_id, new_handoff=reopened.id)
        return await as_json(reopened)

    @bp.post("/console/api/handoffs/<handoff_id>/messages")
    @signed_in
    async def message(request: Request, agent: Agent, handoff_id: str) -> HTTPResponse:
        """``{text, faq_id?}``: ``faq_id`` names the suggested answer the agent inserted, if any."""
        text, faq_id = body_text(request), json_body(request).get("faq_id")
        if faq_id is not None and (not isinstance(faq_id, str) or not 0 < len(faq_id) <= 128):
            return error("'faq_id' must be an FAQ id", 400)
        await auditor.need(request, agent, handoff_id)
        current = await desk.blocking(desk.handoffs.get, handoff_id)
        refused = await held(request, text, current.conversation_id, current.channel)
        if refused is not None:
            return refused
        seq, delivered = await desk.reply(handoff_id, agent.name, text, agent.display_name, faq_id)
        await auditor.record(request, agent, Action.REPLY, "handoff", handoff_id, length=len(text), faq_id=faq_id)
        return response.json({"seq": seq, "delivered": str(delivered)})

    @bp.post("/console/api/handoffs/<handoff_id>/typing")
    @signed_in
    async def typing(request: Request, agent: Agent, handoff_id: str) -> HTTPResponse:
        await auditor.need(request, agent, handoff_id)
        return response.json({"shown": await desk.typing(handoff_id, agent.name)})

    @bp.post("/console/api/handoffs/<handoff_id>/notes")
    @signed_in
    async def note(request: Request, agent: Agent, handoff_id: str) -> HTTPResponse:
        text = body_text(request)
        await auditor.need(request, agent, handoff_id)
        await desk.add_note(handoff_id, agent.name, text)
        await auditor.record(request, agent, Action.NOTE, "handoff", handoff_id, length=len(text))
        return response.json({"ok": True})

    @bp.post("/console/api/handoffs/<handoff_id>/close")
    @signed_in
    async def close(request: Request, agent: Agent, handoff_id: str) -> HTTPResponse:
        """Close; the body may carry the wrap-up: ``{"reason": …, "tags": [...]}`` (WRAPUP_REASONS)."""
        body = json_body(request)
        wrapup = WrapUp.parse(body["reason"], body.get("tags")) if body.get("reason") is not None else None
        await auditor.need(request, agent, handoff_id)
        closed = await desk.close(handoff_id, agent.name, wrapup=wrapup)
        await auditor.record(request, agent, Action.CLOSE, "handoff", handoff_id, reason=wrapup and wrapup.reason)
        return await as_json(closed)

    @bp.post("/console/api/handoffs/<handoff_id>/transfer")
    @signed_in
    async def transfer(request: Request, agent: Agent, handoff_id: str) -> HTTPResponse:
        """``{"agent": name}`` (stays live, with them) or ``{"group": id}`` (back to the
        queue for that group's members); ``"note"``: an internal note for whoever takes it."""
        body = json_body(request)
        to_agent, to_group, note = body.get("agent"), body.get("group"), body.get("note")
        if to_agent is not None and not isinstance(to_agent, str):
            return error("'agent' must be an account name", 400)
        if to_group is not None and (not isinstance(to_group, int) or isinstance(to_group, bool)):
            return error("'group' must be a group id", 400)
        if note is not None and (not isinstance(note, str) or len(note) > MAX_TEXT):
            return error(f"'note' must be text of at most {MAX_TEXT} characters", 400)
        await auditor.need(request, agent, handoff_id)
        moved = await desk.transfer(handoff_id, agent.name, to_agent, to_group, note)
        detail = {"to_agent": to_agent, "to_group": to_group, "note_length": len(note or "")}
        await auditor.record(request, agent, Action.TRANSFER, "handoff", handoff_id, **detail)
        return await as_json(moved)

    @bp.get("/console/api/handoffs/<handoff_id>/suggestions")
    @signed_in
    async def suggestions(request: Request, agent: Agent, handoff_id: str) -> HTTPResponse:
        await auditor.need(request, agent, handoff_id)
        current = await desk.blocking(desk.handoffs.get, handoff_id)
        question = await desk.blocking(customer_question, desk, current)
        found, unavailable = await suggested(question)
        if unavailable:
            return error(unavailable, 503)
        return response.json({"question": question, "suggestions": found})

    @bp.get("/console/api/tickets/<ticket_id>")
    @signed_in
    async def ticket(_: Request, agent: Agent, ticket_id: str) -> HTTPResponse:
        """A 留言 with how it was delivered, the conversation before it, and suggested answers
        for its question."""
        found = await desk.blocking(desk.tickets.get, ticket_id)
        (data,) = await desk.blocking(_with_deliveries, desk, [found])
        transcript = await desk.blocking(desk.tickets.transcript, ticket_id)
        customer = await desk.blocking(
            _customer, desk, history, found.conversation_id, found.channel, found.id, agent.name
        )
        question = found.question or found.last_question
        suggestions, unavailable = await suggested(question)
        return response.json(
            {
                "ticket": data,
                "transcript": transcript,
                "question": question,
                "suggestions": suggestions,
                "suggestions_unavailable": unavailable,
                "customer": customer,
            }
        )

    @bp.post("/console/api/tickets/<ticket_id>/answer")
    @signed_in
    async def answer(request: Request, agent: Agent, ticket_id: str) -> HTTPResponse:
        text = body_text(request)
        found = await desk.blocking(desk.tickets.get, ticket_id)
        refused = await held(request, text, found.conversation_id, found.channel)
        if refused is not None:
            return refused
        ticket, delivered = await desk.answer_ticket(ticket_id, agent.name, text, agent.display_name)
        await auditor.record(request, agent, Action.TICKET_ANSWER, "ticket", ticket_id, length=len(text))
        (answered,) = await desk.blocking(_with_deliveries, desk, [ticket])
        return response.json({"ticket": answered, "delivered": str(delivered)})

    @bp.post("/console/api/tickets/<ticket_id>/close")
    @signed_in
    async def close_ticket(request: Request, agent: Agent, ticket_id: str) -> HTTPResponse:
        """Done with a 留言 (answered, or settled by phone): ``{"why": "…"}`` optional, kept with it."""
        why = json_body(request).get("why")
        if why is not None and (not isinstance(why, str) or len(why) > 200):
            return error("'why' must be text of at most 200 characters", 400)
        closed = await desk.close_ticket(ticket_id, agent.name, (why or "").strip() or None)
        await auditor.record(request, agent, Action.TICKET_CLOSE, "ticket", ticket_id, why_length=len(why or ""))
        (data,) = await desk.blocking(_with_deliveries, desk, [closed])
        return response.json({"ticket": data})

    @bp.get("/console/api/canned")
    @signed_in
    async def canned_list(_: Request, agent: Agent) -> HTTPResponse:
        """The team's canned replies and the agent's own."""
        replies = await desk.blocking(desk.canned.for_agent, agent.name)
        return response.json({"replies": [r.to_json() for r in replies]})

    @bp.post("/console/api/canned")
    @signed_in
    async def canned_add(request: Request, agent: Agent) -> HTTPResponse:
        """``{"shortcut": "退款", "text": "…", "team": false}``; team replies are the admins' to add."""
        body = json_body(request)
        if not all(isinstance(body.get(k), str) for k in ("shortcut", "text")):
            return error("'shortcut' and 'text' are required strings", 400)
        shortcut, text, team = body["shortcut"], body["text"], bool(body.get("team"))
        if team and await desk.blocking(desk.teams.role_of, agent.name) != ADMIN:
            return error("only an admin adds team replies; this one can be your own", 403)
        added = await desk.blocking(desk.canned.add, agent.name, shortcut, text, team)
        await auditor.record(request, agent, Action.CANNED_ADD, "canned", added.id, team=team, length=len(text))
        return response.json({"reply": added.to_json()})

    @bp.post("/console/api/canned/<reply_id:int>/delete")
    @signed_in
    async def canned_remove(request: Request, agent: Agent, reply_id: int) -> HTTPResponse:
        """An agent removes their own replies; a team reply only an admin removes."""
        admin = await desk.blocking(desk.teams.role_of, agent.name) == ADMIN
        await desk.blocking(desk.canned.remove, agent.name, reply_id, admin)
        await auditor.record(request, agent, Action.CANNED_REMOVE, "canned", reply_id)
        return response.json({"removed": reply_id})

    @bp.get("/console/api/history")
    @signed_in
    async def search_history(request: Request, agent: Agent) -> HTTPResponse:
        """Past conversations and 留言: ``q`` (a word in them), ``customer``, ``agent``,
        ``channel``, ``faq`` (an FAQ id), ``tag`` (a wrap-up tag), ``from`` / ``to`` (local
        dates, YYYY-MM-DD, both included). Only the hand-offs the agent may see (access by need)."""
        found = await desk.blocking(history.search, history_query(request))
        return response.json({"results": await auditor.visible(agent, found)})

    @bp.get("/console/api/history/export")
    @signed_in
    async def export_history(request: Request, agent: Agent) -> HTTPResponse:
        """What the same search finds, as a table: ``format=csv`` or ``xlsx``."""
        kind = request.args.get("format", "csv")
        if kind not in ("csv", "xlsx"):
            return error("'format' must be csv or xlsx", 400)
        keep = functools.partial(desk.teams.visible, agent.name)
        rows = await desk.blocking(conversations.rows, history_query(request), keep=keep)
        await auditor.record(request, agent, Action.EXPORT_CONVERSATIONS, "export", kind, rows=len(rows) - 1)
        name = f"conversations-{now().astimezone(history.zone):%Y%m%d-%H%M}"
        if kind == "xlsx":
            body = await asyncio.get_running_loop().run_in_executor(None, xlsx_bytes, {"会话与留言": rows})
            return response.raw(
                body,
                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
            )
        return response.raw(
            csv_text(rows).encode("utf-8"),
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )

    async def report_of(request: Request) -> dict[str, Any]:
        days = max(1, min(int(request.args.get("days", 14)), 366))  # ValueError: the caller says so
        return await asyncio.get_running_loop().run_in_executor(
            None, functools.partial(compute_kpis, desk.settings.database_url, days, desk.settings.handoff.timezone)
        )

    @bp.get("/console/api/kpis")
    @signed_in
    async def kpis(request: Request, agent: Agent) -> HTTPResponse:
        try:
            return response.json(await report_of(request))
        except ValueError:
            return error("'days' must be a whole number", 400)

    @bp.get("/console/api/kpis/export")
    @signed_in
    async def export(request: Request, agent: Agent) -> HTTPResponse:
        """The KPI tables as a download: ``format=csv`` (one ``table``) or ``xlsx`` (all of them)."""
        kind, table = request.args.get("format", "csv"), request.args.get("table", "by_day")
        if kind not in ("csv", "xlsx"):
            return error("'format' must be csv or xlsx", 400)
        if kind == "csv" and table not in TABLES:
            return error(f"'table' must be one of {', '.join(TABLES)}", 400)
        try:
            report = await report_of(request)
        except ValueError:
            return error("'days' must be a whole number", 400)
        name = f"kpis-{report['from']}-{report['to']}"
        await auditor.record(request, agent, Action.EXPORT_KPIS, "export", kind, table=table, period=name)
        if kind == "xlsx":
            body = await asyncio.get_running_loop().run_in_executor(None, to_xlsx, report)
            return response.raw(
                body,
                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
            )
        return response.raw(
            to_csv(report, table).encode("utf-8"),
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}-{table}.csv"'},
        )
