"""Two Rasa defaults replaced by this project's HTTP policy.

- ``rasa.server.configure_cors`` installed sanic-cors, which with ``--cors "*"``
  reflected any Origin *with credentials* on every route (the console
  included). Here it installs nothing: ``bot/web/cors.py`` is the policy. A
  ``--cors`` given anyway is ignored with a warning naming the config keys.
- ``rasa.server.add_root_route`` answered ``GET /`` with "Hello from Rasa:
  3.6.21", telling anyone which version (and its known bugs) runs here. Here
  ``GET /`` answers "ok".
"""

from __future__ import annotations

import logging
from typing import Any

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

log = logging.getLogger(__name__)


def _configure_cors(app: Sanic, cors_origins: Any = "") -> None:
    if cors_origins:
        log.warning(
            "--cors %r is ignored: CORS is set by [widget] allowed_origins and [console] allowed_origins", cors_origins
        )


def _add_root_route(app: Sanic) -> None:
    @app.route("/", methods=["GET", "HEAD"])
    async def hello(_: Request) -> HTTPResponse:
        return response.text("ok")


def replace() -> None:
    """Before Rasa builds its app."""
    import rasa.server

    rasa.server.configure_cors = _configure_cors
    rasa.server.add_root_route = _add_root_route
