"""The agent console's HTTP side, mounted on the Rasa server (``bot/server/app.py``)
so agent replies reach socket.io users through the same process that holds
their connections.

- ``/console/``: the page (``static/``);
- ``/console/api/login|logout|me``: signing in and out (``auth.py``); every other
  ``/console/api/*`` route requires a signed-in agent;
- ``/console/api/*``: JSON for the page (``api.py``);
- ``/console/api/admin/*``: accounts, groups and team replies, for admins (``admin.py``);
  retention and data subject requests (``privacy.py``);
- ``/console/api/studio/*``: the editors' studio, for editors and admins: hit test and
  health (``studio.py``), editing, review, publishing and rollback (``studio_edit.py``),
  the questions to add to the FAQ (``studio_gaps.py``),
  and the regression set (``regression.py``);
- ``/console/api/stream``: Server-Sent Events (``streams.py``).

What customers' clients ask (``/handoff/messages``, ``/handoff/status``) is not the
console's: ``bot/server/customer_routes.py``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.console.admin import add_admin_routes
from bot.console.api import add_api_routes
from bot.console.auth import add_auth_routes, signed_in_check
from bot.console.common import COOKIE
from bot.console.kb_lookup import KbLookup
from bot.console.privacy import add_privacy_routes
from bot.console.regression import add_regression_routes
from bot.console.streams import add_stream_routes
from bot.console.studio import add_studio_routes
from bot.console.studio_edit import add_studio_edit_routes
from bot.console.studio_gaps import add_studio_gap_routes
from bot.console.studio_hits import add_studio_hit_routes
from bot.handoff.desk import HandoffDesk
from bot.web.static_files import resolve, send_file

__all__ = ["COOKIE", "console_blueprint"]  # COOKIE: the session cookie bot/web/ checks

STATIC = Path(__file__).parent / "static"


def console_blueprint(desk: HandoffDesk, kb: KbLookup) -> Blueprint:
    """``kb``: the published index, for agents' suggested answers and editors' hit test."""
    bp = Blueprint("agent_console")
    stopping = asyncio.Event()
    signed_in = signed_in_check(desk)

    @bp.route("/console/static/<path:path>", methods=["GET", "HEAD"], name="console_static")
    async def static(request: Request, path: str) -> HTTPResponse:
        return send_file(request, resolve(STATIC, path))

    @bp.route("/console", methods=["GET", "HEAD"], strict_slashes=False)
    async def page(request: Request) -> HTTPResponse:
        return send_file(request, STATIC / "index.html")

    @bp.listener("before_server_stop")
    async def end_streams(*_: Any) -> None:  # so a restart does not wait for open consoles
        stopping.set()
        desk.pulse.fire()
        desk.flush_turns()

    add_auth_routes(bp, desk, signed_in)
    add_api_routes(bp, desk, signed_in, kb)
    add_admin_routes(bp, desk, signed_in)
    add_privacy_routes(bp, desk, signed_in)
    add_studio_routes(bp, desk, signed_in, kb)
    changes = add_studio_edit_routes(bp, desk, signed_in, kb)
    add_studio_hit_routes(bp, desk, signed_in, kb, changes)
    add_studio_gap_routes(bp, desk, signed_in, kb)
    add_regression_routes(bp, desk, signed_in, kb)
    add_stream_routes(bp, desk, signed_in, stopping)
    return bp
