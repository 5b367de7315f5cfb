"""What the console's routes share for the audit log (``bot/handoff/audit.py``) and for
access by need (``Teams.access``): every route that changes something adds one line,
``await auditor.record(request, agent, Action.X, "kind", target_id, detail=…)``, and every
route on one hand-off first passes ``await auditor.need(request, agent, handoff_id)``.

The audit row is written after the action succeeded (a refused action raised before
it). ``detail`` carries counts, ids and states, never what anyone wrote.
"""

from __future__ import annotations

from typing import Any

from sanic.request import Request

from bot.handoff.agents import Agent
from bot.handoff.audit import Action
from bot.handoff.desk import HandoffDesk
from bot.handoff.teams import OUTSIDE, REFUSED
from bot.web.origins import Proxies

NOT_YOURS = "这个会话不属于您的分组，无权查看"


class Refused(Exception):
    """A signed-in agent asked for what is not theirs to see: 403 with this message."""


class Auditor:
    def __init__(self, desk: HandoffDesk) -> None:
        self.desk = desk
        self.proxies = Proxies.parse(desk.settings.console.trusted_proxies)

    def client(self, request: Request) -> str:
        return self.proxies.forwarded(request, "for") or request.ip or "unknown"

    def _record(
        self, actor: str, action: Action, kind: str | None, target: Any, detail: dict[str, Any], ip: str
    ) -> None:
        role = self.desk.teams.role_of(actor) if action != Action.SIGN_IN_FAILED else None
        self.desk.audit.record(actor, action, kind, None if target is None else str(target), detail, role, ip)

    async def record(
        self,
        request: Request,
        agent: Agent | str,
        action: Action,
        kind: str | None = None,
        target: Any = None,
        /,
        **detail: Any,
    ) -> None:
        actor = agent if isinstance(agent, str) else agent.name
        await self.desk.blocking(self._record, actor, action, kind, target, detail, self.client(request))

    async def need(self, request: Request, agent: Agent, handoff_id: str, viewing: bool = False) -> None:
        """Raise ``Refused`` unless the agent may see this hand-off; an admin opening
        (``viewing``) one outside their groups is recorded as ``Action.VIEW``."""
        handoff = await self.desk.blocking(self.desk.handoffs.get, handoff_id)
        verdict = (await self.desk.blocking(self.desk.teams.access, agent.name, [(handoff.id, handoff.agent)]))[
            handoff.id
        ]
        if verdict == REFUSED:
            raise Refused(NOT_YOURS)
        if verdict == OUTSIDE and viewing:
            await self.record(request, agent, Action.VIEW, "handoff", handoff.id)

    def _refused_events(self, agent: str, events: list[dict[str, Any]]) -> set[str]:
        ids = list({e["handoff_id"] for e in events})
        return self.desk.teams.refused_of(agent, self.desk.handoffs.agents_of(ids)) if ids else set()

    async def refused_events(self, agent: Agent, events: list[dict[str, Any]]) -> set[str]:
        """The hand-offs of these live-feed events that are not the agent's to see."""
        return await self.desk.blocking(self._refused_events, agent.name, events)

    async def visible(self, agent: Agent, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Those of ``found`` (hand-offs as JSON, history results) the agent may see."""
        return await self.desk.blocking(self.desk.teams.visible, agent.name, found)
