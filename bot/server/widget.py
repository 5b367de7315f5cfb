"""The website chat's files, served by the Rasa server next to its socket.io
channel: ``/widget/widget.js`` (the embeddable widget), ``/widget/markdown.js``
(its Markdown renderer, which the agent console loads too), ``/widget/socket.io.min.js``
(the socket.io client, installed by ``make setup`` from ``widget/package.json``),
and ``/demo/`` (a sample company page with the widget, printed by ``faqbot run``).

The widget and the console render answers with one renderer, ``widget/markdown.js``,
the only copy of it. ``/widget/widget.js`` is that file followed by
``widget/widget.js``, joined here when served: host sites keep their one
``<script>`` tag and one request, the widget needs no build step and does not
wait for a second script before drawing its history (as it would if widget.js
loaded markdown.js itself), and the console (same origin, ``script-src 'self'``)
loads ``/widget/markdown.js`` on its own instead of widget.js, which would start
a chat bubble there.

Only these files are served (``/widget/*`` is an allow-list: the folder also
holds ``package.json`` and ``node_modules``); anything else is 404 or 400
(``bot/web/static_files.py``). CORS for them is ``[widget] allowed_origins``
(``bot/web/cors.py``)."""

from __future__ import annotations

from sanic import Blueprint, response
from sanic.exceptions import NotFound
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.web.static_files import REVALIDATE, parts, resolve, send_file, send_files
from faqbot.config import PROJECT_ROOT

WIDGET_DIR = PROJECT_ROOT / "widget"
MARKDOWN = WIDGET_DIR / "markdown.js"
# What /widget/widget.js is: the renderer first, as the widget uses it when it starts.
WIDGET_PARTS = (MARKDOWN, WIDGET_DIR / "widget.js")
DEMO_DIR = WIDGET_DIR / "demo"
SOCKET_IO_CLIENT = WIDGET_DIR / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
# Embedding sites load widget.js on every page view: cached briefly, then revalidated.
WIDGET_CACHE = "public, max-age=300"
# The socket.io client is pinned by widget/package-lock.json.
CLIENT_CACHE = "public, max-age=86400"
# markdown.js alone is the console's (whose files are revalidated, so an upgrade shows at once).
MARKDOWN_CACHE = REVALIDATE


def webchat_blueprint() -> Blueprint:
    bp = Blueprint("webchat")

    @bp.route("/widget/<name:path>", methods=["GET", "HEAD"])
    async def widget_file(request: Request, name: str) -> HTTPResponse:
        name = "/".join(parts(name))  # 400 for a malformed path, like every static route
        if name == "widget.js":
            return send_files(request, WIDGET_PARTS, WIDGET_CACHE)
        if name == "markdown.js":
            return send_file(request, MARKDOWN, MARKDOWN_CACHE)
        if name == "socket.io.min.js":
            if not SOCKET_IO_CLIENT.exists():
                return response.text(
                    "socket.io client not installed: run `make setup` (needs Node.js and npm)", status=503
                )
            return send_file(request, SOCKET_IO_CLIENT, CLIENT_CACHE)
        raise NotFound("not found")

    @bp.route("/demo", methods=["GET", "HEAD"], strict_slashes=False)
    async def demo(request: Request) -> HTTPResponse:
        return send_file(request, DEMO_DIR / "index.html", REVALIDATE)

    @bp.route("/demo/<name:path>", methods=["GET", "HEAD"])
    async def demo_file(request: Request, name: str) -> HTTPResponse:
        if not name:  # "/demo/" itself
            return send_file(request, DEMO_DIR / "index.html", REVALIDATE)
        return send_file(request, resolve(DEMO_DIR, name), REVALIDATE)

    return bp
