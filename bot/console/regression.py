"""The regression set in the editors' studio (``/console/api/studio/regression*``): the cases
(questions with the FAQ that should answer each, ``bot/studio/regression_set.py``), a run
against the served index with the precision/coverage curve, and recalibration, which can
write ``decision.yml`` and publish a new index version carrying it (``indexer/regression.py``).

The work is in ``RegressionDesk`` (blocking: searches, database, builds), which the routes
call in worker threads; the publish flow calls ``indexer.regression.gate``.
"""

from __future__ import annotations

import asyncio
import logging
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
from bot.studio.changes import ChangeStore
from bot.studio.publishing import PublishBusy, PublishRefused, problem_json, publish_texts
from bot.studio.regression_set import RegressionSet, RegressionSetError
from faqbot.config import Settings
from indexer.manifest import IndexMissing
from indexer.regression import DEFAULT_TARGET, compare, curve, gate, recalibrate, run_cases
from indexer.validate import DECISION_FILE, thresholds_text

__all__ = ["RegressionDesk", "add_regression_routes", "gate"]

log = logging.getLogger(__name__)


class RegressionDesk:
    """What the routes do, without HTTP (each call blocks)."""

    def __init__(self, settings: Settings, kb: KbLookup, store: RegressionSet | None = None) -> None:
        self.settings = settings
        self.kb = kb
        self.store = store or RegressionSet(settings.database_url)
        self.changes = ChangeStore(settings.database_url)  # a recalibration is recorded as a KB version

    def cases(self) -> dict[str, Any]:
        return {"cases": [c.to_json() for c in self.store.cases()]}

    def add(self, body: dict[str, Any], added_by: str) -> tuple[dict[str, Any], bool]:
        """The case and whether it is new; ``faq_id`` must be an entry of the served index."""
        faq_id = body.get("faq_id")
        if isinstance(faq_id, str) and faq_id.strip() not in self.kb.searcher().by_id:
            raise RegressionSetError(f"已发布的知识库里没有条目 {faq_id.strip()}")
        case, new = self.store.add(body.get("question"), faq_id, body.get("source", "manual"), added_by)
        return case.to_json(), new

    def delete(self, case_id: int) -> bool:
        return self.store.delete(case_id)

    def run(self) -> dict[str, Any]:
        """The set against the served index, with its thresholds: every result and the curve."""
        searcher = self.kb.searcher()
        results = run_cases(searcher, self.store.as_cases())
        report = compare(None, results)
        return {
            "index_version": searcher.directory.name,
            "answer_threshold": searcher.decision.answer_threshold,
            "clarify_threshold": searcher.decision.clarify_threshold,
            **report.to_json(),
            "curve": [p.to_json() for p in curve(results)],
        }

    def recalibrate(self, target: float, write: bool, by: str = "") -> dict[str, Any]:
        """The thresholds for ``target`` precision on the set (served index); with ``write``,
        written to decision.yml and published when they change — a KB version like any
        publish (``by``, in 发布历史, and rolled back the same way)."""
        searcher = self.kb.searcher()
        cases = self.store.as_cases()
        if not cases:
            raise RegressionSetError("回归测试集还是空的：先从命中测试或待补充的问题里加入问题")
        chosen = recalibrate(run_cases(searcher, cases), searcher.decision, target)
        out: dict[str, Any] = {"index_version": searcher.directory.name, **chosen.to_json(), "published": None}
        if write and chosen.reached and chosen.changed:
            text = thresholds_text(chosen.answer_after, chosen.clarify_after)
            answer = f"直接回答 {chosen.answer_before:.2f} → {chosen.answer_after:.2f}"
            clarify = f"反问 {chosen.clarify_before:.2f} → {chosen.clarify_after:.2f}"
            note = f"重新校准阈值（目标准确率 {target:.0%}）：{answer}，{clarify}"
            wait = self.settings.console.studio_publish_wait_seconds
            texts = {DECISION_FILE: text}
            published = publish_texts(self.settings, self.changes, by, note, texts, searcher.embedder, wait)
            self.kb.refresh()
            out["published"] = published.index_version
            out["version"] = published.version.to_json() if published.version else None
            log.info("recalibrated thresholds published in index %s", published.index_version)
        return out


def add_regression_routes(bp: Blueprint, desk: HandoffDesk, signed_in: Callable[[Route], Route], kb: KbLookup) -> None:
    editors = studio_only(desk)
    work = RegressionDesk(desk.settings, kb)
    auditor = Auditor(desk)

    async def in_thread(call: Callable[..., Any], *args: Any) -> Any:
        """Searches and builds: CPU work in the default pool, never on the event loop."""
        return await asyncio.get_running_loop().run_in_executor(None, call, *args)

    def no_index(exc: IndexMissing) -> HTTPResponse:
        log.warning("regression set without an index: %s", exc)
        return error("还没有已发布的知识库索引：请先发布（或运行 faqbot index build）", 503)

    @bp.get("/console/api/studio/regression")
    @signed_in
    @editors
    async def cases(request: Request, agent: Agent) -> HTTPResponse:
        return response.json(await desk.blocking(work.cases))

    @bp.post("/console/api/studio/regression")
    @signed_in
    @editors
    async def add(request: Request, agent: Agent) -> HTTPResponse:
        """``{question, faq_id, source}``: 201 with the case, or 200 with the one already there."""
        try:
            case, new = await desk.blocking(work.add, json_body(request), agent.name)
        except IndexMissing as exc:
            return no_index(exc)
        if new:
            await auditor.record(request, agent, Action.REGRESSION_EDIT, "regression_case", case.get("id"), step="add")
        return response.json({"case": case, "added": new}, status=201 if new else 200)

    @bp.delete("/console/api/studio/regression/<case_id:int>")
    @signed_in
    @editors
    async def delete(request: Request, agent: Agent, case_id: int) -> HTTPResponse:
        if not await desk.blocking(work.delete, case_id):
            return error(f"no regression case {case_id}", 404)
        await auditor.record(request, agent, Action.REGRESSION_EDIT, "regression_case", case_id, step="delete")
        return response.json({"deleted": case_id})

    @bp.get("/console/api/studio/regression/run")
    @signed_in
    @editors
    async def run(request: Request, agent: Agent) -> HTTPResponse:
        try:
            return response.json(await in_thread(work.run))
        except IndexMissing as exc:
            return no_index(exc)

    @bp.post("/console/api/studio/recalibrate")
    @signed_in
    @editors
    async def recalibrate_route(request: Request, agent: Agent) -> HTTPResponse:
        """``{"target": 0.9, "write": false}``: the thresholds before and after; ``write``
        publishes a new index version carrying them (``published``: its version)."""
        body = json_body(request)
        target = body.get("target", DEFAULT_TARGET)
        if isinstance(target, bool) or not isinstance(target, int | float) or not 0 < target <= 1:
            return error("目标准确率应该是 0 到 1 之间的数，如 0.9", 400)
        try:
            done = await in_thread(work.recalibrate, float(target), body.get("write") is True, agent.name)
            detail = {"target": float(target), "write": body.get("write") is True, "published": done.get("published")}
            await auditor.record(request, agent, Action.KB_RECALIBRATE, "kb_thresholds", None, **detail)
            return response.json(done)
        except IndexMissing as exc:
            return no_index(exc)
        except PublishBusy as exc:
            return error(str(exc), 409)
        except PublishRefused as exc:
            return response.json({"error": str(exc), "problems": [problem_json(p) for p in exc.problems]}, status=422)
