"""Cross-origin resource sharing, explicitly per kind of route.

Why: Rasa's ``--cors "*"`` made sanic-cors answer *any* Origin with
``Access-Control-Allow-Origin: <that origin>`` plus ``Allow-Credentials: true``,
on every route: a page on another port or a sibling subdomain could read the
console's queue and transcripts with the agent's cookie. Here:

- the console API allows only the origins in ``[console] allowed_origins``
  (its own origin needs no CORS), with credentials, because agents sign in;
- the widget's public routes allow ``[widget] allowed_origins`` (``*`` by
  default) and never credentials: they use no cookies;
- nothing else gets CORS headers (platform webhooks are called by servers).

Preflights (``OPTIONS`` with ``Access-Control-Request-Method``) are answered
here, before routing; a refused one gets 403 without CORS headers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sanic import response
from sanic.request import Request
from sanic.response import BaseHTTPResponse, HTTPResponse

from bot.web import routes
from bot.web.origins import normalise

CONSOLE_HEADERS = "Authorization, Content-Type, Last-Event-ID, X-Faqbot-Console"
WIDGET_HEADERS = "Content-Type"
METHODS = "GET, HEAD, POST, OPTIONS"
MAX_AGE = "600"
CORS_HEADERS = (
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-max-age",
    "access-control-expose-headers",
)


def add_vary(headers: Any, token: str) -> None:
    """Add ``token`` to the ``Vary`` header, keeping what is there."""
    present = [v.strip() for v in headers.get("vary", "").split(",") if v.strip()]
    if token.lower() not in (v.lower() for v in present):
        headers["Vary"] = ", ".join([*present, token])


@dataclass(frozen=True)
class CorsPolicy:
    console_origins: frozenset[str]
    widget_origins: frozenset[str] | None  # None: any site

    def _grant(self, request: Request) -> dict[str, str] | None:
        """The CORS headers this request's Origin gets; None if it gets none."""
        origin = request.headers.get("origin")
        if origin is None:
            return None
        kind = routes.kind(request.path)
        if kind == "console_api" and normalise(origin) in self.console_origins:
            return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true"}
        if kind == "widget":
            if self.widget_origins is None:
                return {"Access-Control-Allow-Origin": "*"}
            if normalise(origin) in self.widget_origins:
                return {"Access-Control-Allow-Origin": origin}
        return None

    def _varies(self, request: Request) -> bool:
        """Whether the answer depends on Origin (caches must keep one per origin)."""
        kind = routes.kind(request.path)
        return kind == "console_api" or (kind == "widget" and self.widget_origins is not None)

    def preflight(self, request: Request) -> HTTPResponse | None:
        """Request middleware: the answer to a CORS preflight, or None for any other request."""
        if request.method != "OPTIONS" or "access-control-request-method" not in request.headers:
            return None
        kind = routes.kind(request.path)
        if kind not in ("console_api", "widget"):
            return None
        grant = self._grant(request)
        if grant is None:
            return response.json(
                {"error": f"cross-origin requests from {request.headers.get('origin')!r} are not allowed here"},
                status=403,
            )
        grant.update(
            {
                "Access-Control-Allow-Methods": METHODS,
                "Access-Control-Max-Age": MAX_AGE,
                "Access-Control-Allow-Headers": CONSOLE_HEADERS if kind == "console_api" else WIDGET_HEADERS,
            }
        )
        return response.empty(status=204, headers=grant)

    def add_headers(self, request: Request, reply: BaseHTTPResponse) -> None:
        """Response middleware: this policy's CORS headers, and nobody else's."""
        if not (request.method == "OPTIONS" and "access-control-allow-methods" in reply.headers):
            for name in CORS_HEADERS:  # a handler's own (webchat used to send "*")
                reply.headers.pop(name, None)
            reply.headers.update(self._grant(request) or {})
        if self._varies(request):
            add_vary(reply.headers, "Origin")
