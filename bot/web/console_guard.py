"""The console API only does what the console's own page asked for.

Why: the session cookie is SameSite=Strict, which keeps other *sites* out but
not other origins of the same site (another port, a sibling subdomain): such a
page could read the queue and post replies under the agent's name, and a
``text/plain`` body (which needs no CORS preflight) was parsed as JSON. Every
``/console/api/*`` request, sign-in included, passes this check before its route:

1. an ``Origin`` that is not the console's own (or in ``[console]
   allowed_origins``) is refused with 403; for state-changing methods so is a
   foreign ``Referer`` when there is no Origin, and ``Origin: null``;
2. a state-changing request with a body that is not JSON gets 415;
3. a state-changing request that a browser could have sent on an agent's
   behalf (it carries the session cookie, an Origin, a Referer or a
   Sec-Fetch-Site header) must carry ``X-Faqbot-Console: 1``, which no other
   page can add without a preflight that CORS refuses. API clients that
   authenticate with ``Authorization: Bearer`` need not: a browser never adds
   that header by itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.web import routes
from bot.web.origins import Proxies, own_origin, request_origin

HEADER = "X-Faqbot-Console"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BROWSER_SIGNS = ("origin", "referer", "sec-fetch-site")


def _refuse(message: str, status: int) -> HTTPResponse:
    return response.json({"error": message}, status=status)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


@dataclass(frozen=True)
class ConsoleGuard:
    allowed_origins: frozenset[str]
    proxies: Proxies
    cookie: str

    def _allowed(self, origin: str, request: Request) -> bool:
        return bool(origin) and (origin == own_origin(request, self.proxies) or origin in self.allowed_origins)

    def check(self, request: Request) -> HTTPResponse | None:
        """Request middleware: a refusal, or None to let the request through."""
        if routes.kind(request.path) != "console_api" or request.method == "OPTIONS":
            return None  # preflights are the CORS policy's
        changes = request.method not in SAFE_METHODS
        origin = request_origin(request, use_referer=changes)
        if origin is not None and not self._allowed(origin, request):
            return _refuse(
                f"cross-origin request refused: {origin or 'an opaque origin'} may not call the console API", 403
            )
        if not changes:
            return None
        if request.body and not _is_json(request.headers.get("content-type", "")):
            return _refuse("the request body must be JSON (Content-Type: application/json)", 415)
        bearer = request.headers.get("authorization", "").lower().startswith("bearer ")
        from_browser = self.cookie in request.cookies or any(h in request.headers for h in BROWSER_SIGNS)
        if from_browser and not bearer and request.headers.get(HEADER) != "1":
            return _refuse(
                f"the {HEADER}: 1 header is required (the console sends it; API clients "
                "authenticate with Authorization: Bearer)",
                403,
            )
        return None
