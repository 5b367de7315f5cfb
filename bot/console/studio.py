"""The editors' studio in the console (the 知识库 tab), for editors and admins: who may
use it (``studio_only``), the entries to review (most 没帮助 first,
``bot/handoff/faq_health.py``), the 猜你想问 pairs customers' next questions suggest
(``bot/handoff/related_suggestions.py``) and the 相似问法 their clarify picks and agents'
answers suggest (``bot/handoff/similar_suggestions.py``), each without what an editor
dismissed (``bot/studio/suggestion_dismissals.py``) or already put in an open change.
The hit test is ``studio_hits.py``."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.console.common import Route, error, json_body
from bot.console.kb_lookup import KbLookup
from bot.handoff.agents import Agent
from bot.handoff.desk import HandoffDesk
from bot.handoff.faq_health import faq_health, needs_review
from bot.handoff.related_suggestions import related_suggestions
from bot.handoff.similar_suggestions import similar_suggestions
from bot.handoff.teams import STUDIO_ROLES
from bot.studio.changes import OPEN, ChangeStore
from bot.studio.publishing import published_entries
from bot.studio.suggestion_dismissals import Dismissals
from indexer.kb import KBInvalid
from indexer.model import FaqEntry

log = logging.getLogger(__name__)
MAX_QUESTION = 500
MAX_SUGGESTIONS = 100


def days_of(request: Request) -> int:
    """``days`` back (30, at most 366); ``ValueError`` when it is not a whole number."""
    return max(1, min(int(request.args.get("days", 30)), 366))


def _text(body: dict[str, Any], key: str, most: int) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > most:
        raise ValueError(f"缺少 {key}：应该是 {most} 字以内的文字")
    return value.strip()


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
    changes = ChangeStore(desk.settings.database_url)
    dismissals = Dismissals(desk.settings.database_url)

    def kb_entries() -> list[FaqEntry]:
        """The entries in the KB files (what the studio edits), or the served ones while the files are invalid."""
        try:
            return published_entries(desk.settings)
        except KBInvalid:
            return list(kb.searcher().entries) if kb.available() else []

    @bp.get("/console/api/studio/health")
    @signed_in
    @editors
    async def health(request: Request, agent: Agent) -> HTTPResponse:
        """The entries customers said did not help (most 没帮助 first), ``days`` back (30)."""
        try:
            days = days_of(request)
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
            days = days_of(request)
        except ValueError:
            return error("days 应该是整数", 400)

        def suggest() -> list[dict[str, Any]]:
            entries = {e.id: e for e in kb.searcher().entries} if kb.available() else {}
            current = {faq_id: list(e.related) for faq_id, e in entries.items()}
            for change in changes.changes(OPEN):  # what an open change adds is not suggested again
                current.setdefault(change.entry_id, []).extend((change.data or {}).get("related") or [])
            for faq_id, next_id in dismissals.dismissed("related"):
                current.setdefault(faq_id, []).append(next_id)
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

    @bp.post("/console/api/studio/related-suggestions/dismiss")
    @signed_in
    @editors
    async def dismiss_related(request: Request, agent: Agent) -> HTTPResponse:
        """``{faq_id, next_id}``: this pair is not suggested again."""
        try:
            body = json_body(request)
            faq_id, next_id = _text(body, "faq_id", 128), _text(body, "next_id", 128)
            done = await desk.blocking(dismissals.dismiss, "related", faq_id, next_id, agent.name)
        except ValueError as exc:
            return error(str(exc), 400)
        return response.json({"dismissed": done})

    @bp.get("/console/api/studio/similar-suggestions")
    @signed_in
    @editors
    async def similar(request: Request, agent: Agent) -> HTTPResponse:
        """Wordings customers used for an entry that it does not list yet (clarify picks, agents'
        answers), not dismissed nor in an open change, ``days`` back (30), most conversations first."""
        try:
            days = days_of(request)
        except ValueError:
            return error("days 应该是整数", 400)

        def suggest() -> list[dict[str, Any]]:
            entries = {e.id: e for e in kb_entries()}
            known = {faq_id: list(e.questions) for faq_id, e in entries.items()}
            for change in changes.changes(OPEN):
                data = change.data or {}
                if change.entry_id in known:
                    known[change.entry_id] += [data.get("question") or "", *(data.get("similar") or [])]
            answers = {faq_id: e.answer for faq_id, e in entries.items()}
            found = similar_suggestions(
                desk.settings.database_url, known, answers, days, dismissals.dismissed("similar")
            )
            return [{**s.to_json(), "faq_question": entries[s.faq_id].question} for s in found[:MAX_SUGGESTIONS]]

        return response.json({"days": days, "suggestions": await desk.blocking(suggest)})

    @bp.post("/console/api/studio/similar-suggestions/dismiss")
    @signed_in
    @editors
    async def dismiss_similar(request: Request, agent: Agent) -> HTTPResponse:
        """``{faq_id, question}``: this wording is not suggested for this entry again."""
        try:
            body = json_body(request)
            faq_id, question = _text(body, "faq_id", 128), _text(body, "question", MAX_QUESTION)
            done = await desk.blocking(dismissals.dismiss, "similar", faq_id, question, agent.name)
        except ValueError as exc:
            return error(str(exc), 400)
        return response.json({"dismissed": done})
