"""The website chat's files, served by the Rasa server next to its socket.io
channel: ``/widget/widget.js`` (the embeddable widget), ``/widget/socket.io.min.js``
(the socket.io client, installed by ``make setup`` from ``widget/package.json``),
and ``/demo/`` (a sample company page with the widget, printed by ``faqbot run``)."""

from __future__ import annotations

from pathlib import Path

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from faqbot.config import PROJECT_ROOT

WIDGET_DIR = PROJECT_ROOT / "widget"
SOCKET_IO_CLIENT = WIDGET_DIR / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"


def _file(path: Path, content_type: str) -> HTTPResponse:
    headers = {"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"}
    return response.raw(path.read_bytes(), content_type=content_type, headers=headers)


def webchat_blueprint() -> Blueprint:
    bp = Blueprint("webchat")

    @bp.get("/widget/widget.js")
    async def widget(_: Request) -> HTTPResponse:
        return _file(WIDGET_DIR / "widget.js", "application/javascript; charset=utf-8")

    @bp.get("/widget/socket.io.min.js")
    async def socket_io(_: Request) -> HTTPResponse:
        if not SOCKET_IO_CLIENT.exists():
            return response.text("socket.io client not installed: run `make setup` (needs Node.js and npm)", status=503)
        return _file(SOCKET_IO_CLIENT, "application/javascript; charset=utf-8")

    @bp.get("/demo", strict_slashes=False)
    async def demo(_: Request) -> HTTPResponse:
        return _file(WIDGET_DIR / "demo" / "index.html", "text/html; charset=utf-8")

    return bp
