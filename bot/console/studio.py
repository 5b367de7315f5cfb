"""The editors' studio in the console (the 知识库 tab), for editors and admins: who may
use it (``studio_only``), the entries to review (most 没帮助 first,
``bot/handoff/faq_health.py``) and the 猜你想问 pairs customers' next questions suggest
(``bot/handoff/related_suggestions.py``). The hit test is ``studio_hits.py``."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.console.common import Route, error
from bot.console.kb_lookup import KbLookup
from bot.handoff.agents import Agent
from bot.handoff.desk import HandoffDesk
from bot.handoff.faq_health import faq_health, needs_review
from bot.handoff.related_suggestions import related_suggestions
from bot.handoff.teams import STUDIO_ROLES

log = logging.getLogger(__name__)


def studio_only(desk: HandoffDesk) -> Callable[[Route], Route]:
    """Inside ``signed_in``: the route runs only for editors and admins."""

    def wrap(route: Route) -> Route:
        @functools.wraps(route)
        async def check(request: Request, agent: Agent, *args: Any, **kwargs: Any) -> HTTPResponse | None:
            if await desk.blocking(desk.teams.role_of, agent.name) not in STUDIO_ROLES:
                return error("editors only: ask an admin to make you an editor", 403)
            return await route(request, agent, *args, **kwargs)

        return check

    return wrap


def add_studio_routes(bp: Blueprint, desk: HandoffDesk, signed_in: Callable[[Route], Route], kb: KbLookup) -> None:
    editors = studio_only(desk)

    @bp.get("/console/api/studio/health")
    @signed_in
    @editors
    async def health(request: Request, agent: Agent) -> HTTPResponse:
        """The entries customers said did not help (most 没帮助 first), ``days`` back (30)."""
        try:
            days = max(1, min(int(request.args.get("days", 30)), 366))
        except ValueError:
            return error("days 应该是整数", 400)

        def review() -> list[dict[str, Any]]:
            questions = {e.id: e.question for e in kb.searcher().entries} if kb.available() else {}
            found = needs_review(faq_health(desk.settings.database_url, days))
            return [{**h.to_json(), "question": questions.get(h.faq_id)} for h in found]

        return response.json({"days": days, "review": await desk.blocking(review)})

    @bp.get("/console/api/studio/related-suggestions")
    @signed_in
    @editors
    async def related(request: Request, agent: Agent) -> HTTPResponse:
        """Entries customers were answered with next (same conversation, within minutes),
        not yet in the first one's ``related:``, ``days`` back (30), most frequent first."""
        try:
            days = max(1, min(int(request.args.get("days", 30)), 366))
        except ValueError:
            return error("days 应该是整数", 400)

        def suggest() -> list[dict[str, Any]]:
            entries = {e.id: e for e in kb.searcher().entries} if kb.available() else {}
            current = {faq_id: e.related for faq_id, e in entries.items()}
            found = related_suggestions(desk.settings.database_url, current, days)
            return [
                {
                    **s.to_json(),
                    "question": entries[s.faq_id].question if s.faq_id in entries else None,
                    "next_question": entries[s.next_id].question if s.next_id in entries else None,
                }
                for s in found
            ]

        return response.json({"days": days, "suggestions": await desk.blocking(suggest)})
