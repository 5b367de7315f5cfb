"""Cookies set over https are marked ``Secure``.

Why: the console's session cookie must never travel over plain http once the
console is served over https (a network attacker could downgrade one request
and read it). Whether the browser used https is known from the connection, or
from ``X-Forwarded-Proto`` sent by a proxy in ``[console] trusted_proxies``
(``bot/web/origins.py``). Plain http (a laptop, loopback tests) keeps working.
"""

from __future__ import annotations

from dataclasses import dataclass

from sanic.request import Request
from sanic.response import BaseHTTPResponse

from bot.web.origins import Proxies, scheme


@dataclass(frozen=True)
class SecureCookies:
    proxies: Proxies

    def mark(self, request: Request, reply: BaseHTTPResponse) -> None:
        """Response middleware: every cookie of an https response gets ``Secure``."""
        cookies = getattr(reply, "_cookies", None)  # not created unless a route set one
        if cookies and scheme(request, self.proxies) == "https":
            for cookie in cookies.values():
                cookie["secure"] = True
