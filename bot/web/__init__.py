"""The HTTP policy of the Rasa server: who may call what from which origin,
what every response carries, and how files are served.

One job per module: ``routes`` (which kind of route a path is), ``origins``
(own and request origins, trusted proxies), ``cors`` (cross-origin sharing
per kind of route), ``console_guard`` (the console API's cross-site request
check), ``cookies`` (``Secure`` over https), ``headers`` (CSP and friends),
``static_files`` (files with validators and gzip) and ``rasa_defaults`` (Rasa's
blanket CORS and version banner replaced). ``install`` puts them on the app
that ``bot/server/app.py`` configures.
"""

from __future__ import annotations

from typing import Any

from sanic import Sanic
from sanic.request import Request
from sanic.response import BaseHTTPResponse, HTTPResponse


def check_settings(settings: Any) -> None:
    """Raise ValueError naming the key for a bad origin list or proxy address
    (``faqbot run`` says so before it starts anything)."""
    from bot.web.origins import Proxies, parse_origins

    parse_origins(settings.console.allowed_origins, "console.allowed_origins")
    parse_origins(settings.widget.allowed_origins, "widget.allowed_origins", wildcard=True)
    Proxies.parse(settings.console.trusted_proxies)


def install(app: Sanic, settings: Any) -> None:
    """Register the policy's middleware on ``app``."""
    from bot.console.app import COOKIE
    from bot.web.console_guard import ConsoleGuard
    from bot.web.cookies import SecureCookies
    from bot.web.cors import CorsPolicy
    from bot.web.headers import add_security_headers
    from bot.web.origins import Proxies, parse_origins

    check_settings(settings)
    proxies = Proxies.parse(settings.console.trusted_proxies)
    console_origins = parse_origins(settings.console.allowed_origins, "console.allowed_origins") or frozenset()
    cors = CorsPolicy(
        console_origins, parse_origins(settings.widget.allowed_origins, "widget.allowed_origins", wildcard=True)
    )
    guard = ConsoleGuard(console_origins, proxies, COOKIE)
    cookies = SecureCookies(proxies)

    async def before(request: Request) -> HTTPResponse | None:
        return cors.preflight(request) or guard.check(request)

    async def after(request: Request, reply: BaseHTTPResponse) -> None:
        cors.add_headers(request, reply)
        add_security_headers(request, reply)
        cookies.mark(request, reply)

    app.register_middleware(before, "request")
    app.register_middleware(after, "response")
