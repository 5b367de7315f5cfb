"""What a customer's client asks the Rasa server about a hand-off, without signing in:

- ``/handoff/messages?sender=…&after=…``: what people sent a REST-channel user after
  sequence ``after`` (the channel cannot push, so its clients poll), and answered tickets;
- ``/handoff/status?sender=…``: who has the conversation now, so the web widget can show it;
- ``POST /handoff/tickets/shown`` ``{sender, ticket}``: the widget showed an answered 留言.

The desk answers both (``bot/handoff/desk.py``), in its worker threads.
"""

from __future__ import annotations

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.handoff.desk import HandoffDesk
from connectors.identity import id_problem, parse_json


def _error(message: str, status: int) -> HTTPResponse:
    return response.json({"error": message}, status=status)


def _sender_problem(sender: str) -> str | None:
    return "'sender' is required" if not sender else id_problem(sender)


def customer_blueprint(desk: HandoffDesk) -> Blueprint:
    bp = Blueprint("handoff_customer")

    @bp.get("/handoff/messages")
    async def poll(request: Request) -> HTTPResponse:
        """REST-channel users: what people sent them after sequence ``after``."""
        sender = request.args.get("sender", "")
        if problem := _sender_problem(sender):
            return _error(problem, 400)
        try:
            after = int(request.args.get("after", 0))
        except ValueError:
            return _error("'after' must be a whole number", 400)
        messages, latest = await desk.blocking(desk.messages_for, sender, after)
        answered = await desk.blocking(desk.answered_tickets, sender)
        return response.json({"sender": sender, "messages": messages, "next": latest, "tickets": answered})

    @bp.post("/handoff/tickets/shown")
    async def shown(request: Request) -> HTTPResponse:
        """The web widget showed an answered 留言 when the customer came back."""
        try:
            body = parse_json(request.body)
        except ValueError as exc:
            return _error(str(exc), 400)
        body = body if isinstance(body, dict) else {}
        sender, ticket = str(body.get("sender") or ""), str(body.get("ticket") or "")
        if problem := _sender_problem(sender):
            return _error(problem, 400)
        if not ticket or len(ticket) > 16:
            return _error("'ticket' is required: the 留言's number", 400)
        marked = await desk.blocking(desk.mark_shown, sender, ticket, "网页聊天窗口打开时显示")
        if marked:
            desk.pulse.fire()
        return response.json({"ticket": ticket, "marked": marked})

    @bp.get("/handoff/status")
    async def status(request: Request) -> HTTPResponse:
        """For the web widget: who has the conversation now, so it can show the hand-off state."""
        sender = request.args.get("sender", "")
        if problem := _sender_problem(sender):
            return _error(problem, 400)
        return response.json(await desk.blocking(desk.status_of, sender))

    return bp
