"""Security headers on every response: pages, files, JSON, errors.

Why: a Content-Security-Policy without inline script means that even if some
text reached a page as markup, no script of an attacker could run; ``nosniff``
stops a JSON or text answer being run as script; the console must not be
framed (clickjacking of claim/reply buttons); the console's address (which
names hand-offs) should not leak to other sites in ``Referer``.

- the console (``/console``, its files): scripts and styles from this origin
  only (its scripts are ``/console/static/app.js`` and the widget's Markdown
  renderer ``/widget/markdown.js``, both same-origin; alerts use WebAudio and
  the Notification API, which CSP does not govern), no framing,
  ``Referrer-Policy: same-origin`` (not ``no-referrer``: Chromium then sends
  ``Origin: null`` on the console's own POSTs);
- the demo page: the same, except that styles may be inline (the widget draws
  its ``<style>`` inside a shadow root, and the page has its own) and images
  may come from https (the widget's avatar option); it may be framed by itself;
- everything else (JSON, the widget's scripts, socket.io, errors):
  ``default-src 'none'``, as nothing of it is a page. The console API is
  never cached (transcripts).
"""

from __future__ import annotations

from sanic.request import Request
from sanic.response import BaseHTTPResponse

from bot.web import routes

CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
DEMO_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; "
    "connect-src 'self'; object-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'"
)
OTHER_CSP = "default-src 'none'; base-uri 'none'; frame-ancestors 'none'"


def security_headers(path: str) -> dict[str, str]:
    """The headers for a response to ``path``."""
    kind = routes.kind(path)
    if kind == "console_page":
        return {
            "Content-Security-Policy": CONSOLE_CSP,
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "same-origin",
            "Cross-Origin-Opener-Policy": "same-origin",
            "X-Content-Type-Options": "nosniff",
        }
    if kind == "demo":
        return {
            "Content-Security-Policy": DEMO_CSP,
            "X-Frame-Options": "SAMEORIGIN",
            "Referrer-Policy": "strict-origin-when-cross-origin",
            "X-Content-Type-Options": "nosniff",
        }
    headers = {
        "Content-Security-Policy": OTHER_CSP,
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin" if kind == "console_api" else "strict-origin-when-cross-origin",
        "X-Content-Type-Options": "nosniff",
    }
    return headers


def add_security_headers(request: Request, reply: BaseHTTPResponse) -> None:
    """Response middleware."""
    reply.headers.update(security_headers(request.path))
    if routes.kind(request.path) == "console_api" and "cache-control" not in reply.headers:
        reply.headers["Cache-Control"] = "no-store"
