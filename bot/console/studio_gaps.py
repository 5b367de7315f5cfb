"""The studio's gaps page (``/console/api/studio/gaps``): the questions the bot did not answer
well, grouped, with what an editor can do about each group, and the groups handled
before with how many of their questions are answered now (``bot/studio/gap_report.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.console.auditing import Auditor
from bot.console.common import Route, error, json_body
from bot.console.kb_lookup import KbLookup
from bot.console.studio import studio_only
from bot.handoff.agents import Agent
from bot.handoff.audit import Action
from bot.handoff.desk import HandoffDesk
from bot.studio.gap_report import ACTIONS, GapActions, collect, rerun
from bot.studio.regression_set import RegressionSet, RegressionSetError

MAX_GROUPS = 100


def add_studio_gap_routes(bp: Blueprint, desk: HandoffDesk, signed_in: Callable[[Route], Route], kb: KbLookup) -> None:
    editors = studio_only(desk)
    auditor = Auditor(desk)
    actions = GapActions(desk.settings.database_url)
    regression = RegressionSet(desk.settings.database_url)

    @bp.get("/console/api/studio/gaps")
    @signed_in
    @editors
    async def gaps(request: Request, agent: Agent) -> HTTPResponse:
        """``days`` back (30): the open groups, most customers first, and the handled ones re-run."""
        try:
            days = max(1, min(int(request.args.get("days", 30)), 366))
        except ValueError:
            return error("days 应该是整数", 400)

        def report() -> dict[str, Any]:
            searcher = kb.searcher() if kb.available() else None
            found = collect(desk.settings, days, searcher, actions)[:MAX_GROUPS]
            handled = []
            for h in actions.handled(50):
                row = h.to_json()
                if searcher is not None and h.action != "out_of_scope":
                    row["now"] = rerun(searcher, h)
                handled.append(row)
            return {
                "days": days,
                "gaps": [g.to_json() for g in found],
                "handled": handled,
                "index_version": searcher.directory.name if searcher else None,
            }

        return response.json(await desk.blocking(report))

    @bp.post("/console/api/studio/gaps/<gap_id:int>/regression")
    @signed_in
    @editors
    async def to_regression(request: Request, agent: Agent, gap_id: int) -> HTTPResponse:
        """``{faq_id}``: a handled group's questions join the regression set as cases of that FAQ,
        so later publishes keep them answered."""
        try:
            faq_id = json_body(request).get("faq_id")
            if not isinstance(faq_id, str) or not faq_id.strip():
                raise ValueError("请填写应该回答这组问题的条目 id")

            def add() -> dict[str, Any]:
                if not kb.available() or faq_id.strip() not in {e.id for e in kb.searcher().entries}:
                    raise ValueError(f"已发布的知识库里没有条目 {faq_id.strip()}：先发布它")
                handled = actions.get(gap_id)
                added = [regression.add(q, faq_id.strip(), "gap", agent.name)[1] for q in handled.questions]
                return {"added": sum(added), "already": len(added) - sum(added)}

            added = await desk.blocking(add)
            await auditor.record(request, agent, Action.REGRESSION_EDIT, "gap", gap_id, step="from_gap", **added)
            return response.json(added)
        except (ValueError, RegressionSetError) as exc:
            return error(str(exc), 400)

    @bp.post("/console/api/studio/gaps/actions")
    @signed_in
    @editors
    async def handle(request: Request, agent: Agent) -> HTTPResponse:
        """``{action: similar|draft|out_of_scope, questions: [...], typical, faq_id}``: the group is
        handled (left out of later reports); the editor makes the draft itself in the editor."""
        try:
            body = json_body(request)
            action, questions = body.get("action"), body.get("questions")
            typical, faq_id = body.get("typical") or "", body.get("faq_id")
            if action not in ACTIONS:
                raise ValueError(f"action 只能是 {'、'.join(ACTIONS)}")
            if not isinstance(questions, list) or not all(isinstance(q, str) and len(q) <= 500 for q in questions):
                raise ValueError("questions 应该是问题列表")
            if not isinstance(typical, str) or (faq_id is not None and not isinstance(faq_id, str)):
                raise ValueError("typical 和 faq_id 应该是文字")
            if action == "similar" and not faq_id:
                raise ValueError("加为相似问题时要指定条目 faq_id")
            handled = await desk.blocking(actions.record, action, faq_id, typical, questions, agent.name)
        except ValueError as exc:
            return error(str(exc), 400)
        return response.json(handled.to_json())
