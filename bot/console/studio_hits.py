"""The studio's hit test (``/console/api/studio/hit-test``): a question as a customer would
ask it → the ranked FAQs with every score, the decision and why, so an editor sees why
the bot answers what it answers — against the published index (``against=published``,
the default) or against the draft (``against=draft``: the KB as it would be with every
open change, ``bot/studio/draft_index.py``), before anything is reviewed or published."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.console.common import Route, error
from bot.console.kb_lookup import KbLookup
from bot.console.studio import studio_only
from bot.handoff.agents import Agent
from bot.handoff.desk import HandoffDesk
from bot.studio.changes import OPEN, ChangeStore
from bot.studio.draft_index import DraftIndex
from bot.studio.publishing import PublishRefused, draft_texts, problem_json
from indexer.manifest import IndexMissing

log = logging.getLogger(__name__)
MAX_QUESTION = 500
AGAINST = ("published", "draft")


def add_studio_hit_routes(
    bp: Blueprint, desk: HandoffDesk, signed_in: Callable[[Route], Route], kb: KbLookup, store: ChangeStore
) -> None:
    editors = studio_only(desk)
    drafts = DraftIndex(desk.settings)

    def against_draft(question: str) -> dict[str, Any]:
        draft = draft_texts(desk.settings.kb_dir, store.changes(OPEN))
        served = kb.searcher() if kb.available() else None
        searcher = served if not draft.texts and served is not None else None
        if searcher is None:
            searcher = drafts.searcher(draft, served.embedder if served is not None else None)
        found = kb.hit_test(question, searcher)
        return {**found, "against": "draft", "draft_changes": draft.changes, "skipped": draft.skipped}

    @bp.get("/console/api/studio/hit-test")
    @signed_in
    @editors
    async def hit_test(request: Request, agent: Agent) -> HTTPResponse:
        """``q``: the question; ``against``: ``published`` (default) or ``draft``."""
        question = (request.args.get("q") or "").strip()
        against = request.args.get("against") or "published"
        if not question:
            return error("请输入要测试的问题", 400)
        if len(question) > MAX_QUESTION:
            return error(f"问题有 {len(question)} 个字，最多 {MAX_QUESTION} 个", 400)
        if against not in AGAINST:
            return error("against 只能是 published（已发布）或 draft（草稿）", 400)
        test = against_draft if against == "draft" else kb.hit_test
        try:  # searching (and building the draft) is CPU work: the default pool, not the desk's database threads
            found = await asyncio.get_running_loop().run_in_executor(None, test, question)
        except IndexMissing as exc:
            log.warning("hit test without an index: %s", exc)
            return error("还没有已发布的知识库索引：请先发布（或运行 faqbot index build）", 503)
        except PublishRefused as exc:
            body = {
                "error": f"草稿里有错误，先修正才能测试：{exc}",
                "problems": [problem_json(p) for p in exc.problems],
            }
            return response.json(body, status=422)
        return response.json({"against": against, **found})

    @bp.listener("before_server_stop")
    async def drop_draft(*_: Any) -> None:
        drafts.close()
