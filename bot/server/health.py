"""Liveness and readiness of one node, for load balancers, process managers and rolls.

- ``GET /health``: 200 while this server's event loop answers (restart it when not).
- ``GET /ready``: 200 when this node can answer a customer: the model is loaded, its
  action server answers, the database answers. 503 with the failed checks otherwise
  (take it out of the load balancer; a node being rolled is not ready until all pass).
"""

from __future__ import annotations

import asyncio
import urllib.request
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.handoff.desk import HandoffDesk

CHECK_TIMEOUT = 3.0


def _action_server_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=CHECK_TIMEOUT) as reply:
            return reply.status == 200
    except OSError:
        return False


def health_blueprint(desk: HandoffDesk, node: str, action_health_url: str) -> Blueprint:
    bp = Blueprint("node_health")

    @bp.get("/health")
    async def health(request: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    @bp.get("/ready")
    async def ready(request: Request) -> HTTPResponse:
        agent: Any = getattr(request.app.ctx, "agent", None)
        checks: dict[str, bool] = {"model": bool(agent is not None and agent.is_ready())}
        try:
            checks["actions"] = await asyncio.wait_for(
                desk.blocking(_action_server_answers, action_health_url), CHECK_TIMEOUT + 1
            )
        except TimeoutError:
            checks["actions"] = False
        try:
            await asyncio.wait_for(desk.blocking(desk.handoffs.last_seq), CHECK_TIMEOUT)
            checks["database"] = True
        except Exception:  # any failure to read is "not ready", whatever the driver raised
            checks["database"] = False
        ok = all(checks.values())
        return response.json(
            {"status": "ready" if ok else "not ready", "checks": checks, "node": node}, status=200 if ok else 503
        )

    return bp
