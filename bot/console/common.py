"""What every console route shares: the session cookie, JSON errors, request text and
the JSON shapes of agents, hand-offs and events."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.handoff.agents import Agent
from bot.handoff.db import aware
from bot.handoff.desk import HandoffDesk
from bot.handoff.handoffs import Handoff
from bot.handoff.questions import latest_question
from connectors.identity import parse_json

COOKIE = "faqbot_console"
MAX_TEXT = 4000

Route = Callable[..., Coroutine[Any, Any, HTTPResponse | None]]


def error(message: str, status: int) -> HTTPResponse:
    return response.json({"error": message}, status=status)


def token_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(COOKIE)


def body_text(request: Request) -> str:
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


def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object (no body: ``{}``); ``ValueError`` (400) saying what is wrong."""
    if not request.body:
        return {}
    body = parse_json(request.body)
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def set_cookie(reply: HTTPResponse, name: str, value: str, max_age: int) -> None:
    """HttpOnly, SameSite=Strict, whole site (``Secure`` over https: ``bot/web/cookies.py``)."""
    reply.cookies[name] = value
    cookie = reply.cookies[name]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = "/"
    cookie["max-age"] = max_age


def agent_json(agent: Agent) -> dict[str, str]:
    return {"name": agent.name, "display_name": agent.display_name}


def handoff_json(desk: HandoffDesk, handoff: Handoff, now: datetime) -> dict[str, Any]:
    """A hand-off for the console, with its waiting time and the user's latest words (reads the database)."""
    data = handoff.to_json()
    end = handoff.claimed_at if handoff.claimed_at else now
    events = desk.handoffs.events(handoff.id)
    if handoff.state == "waiting":  # since it (re)entered the queue: a transfer requeues it
        moved = [aware(e["at"]) for e in events if e["kind"] == "transferred"]
        start, end = (moved[-1] if moved else handoff.created_at), now
    else:
        start = handoff.created_at
    data["waiting_seconds"] = int((end - start).total_seconds())
    data["waiting_since"] = start.isoformat()
    group = desk.teams.routes_of([handoff.id]).get(handoff.id)
    data["group"] = {"id": group.id, "name": group.name, "members": list(group.members)} if group else None
    data["reply_window"] = (
        desk.reply_window(handoff.channel, handoff.conversation_id) if handoff.state != "closed" else None
    )
    users = [e for e in events if e["kind"] == "user_message"]
    data["last_message"] = (
        users[-1]["text"]
        if users
        else (next((t["text"] for t in reversed(handoff.transcript) if t["role"] == "user"), None))
    )
    return data


def customer_question(desk: HandoffDesk, handoff: Handoff) -> str | None:
    """What the customer actually asked, for the suggested answers: their latest words
    that are a question, not a 转人工 request, a button or a nudge ("请快一点"); the
    messages to the agent first, then the bot part before the hand-off."""
    said = [t["text"] for t in handoff.transcript if t["role"] == "user" and t.get("text")]
    said += [e["text"] for e in desk.handoffs.events(handoff.id) if e["kind"] == "user_message" and e["text"]]
    return latest_question(said)


def event_json(event: dict[str, Any]) -> dict[str, Any]:
    return {**event, "at": aware(event["at"]).isoformat()}
