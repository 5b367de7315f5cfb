"""Origins: where a browser says a request comes from, and this server's own origin.

Why: the console's cross-site request check and the CORS policy both compare
a request's ``Origin`` (or ``Referer``) with the origin the browser used to
reach this server. Behind a reverse proxy that origin (https, the public host
name) is only known from ``X-Forwarded-Proto`` / ``X-Forwarded-Host``, which
anyone can send; they are believed only from the proxies named in
``[console] trusted_proxies``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from sanic.request import Request

DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise(url: str) -> str | None:
    """``scheme://host[:port]`` of an origin or URL, lower-case, default port dropped;
    None for anything that is not an http(s) origin (``null``, ``file:``, garbage)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.username or parts.password:
        return None
    host = parts.hostname.lower()
    if ":" in host:  # IPv6
        host = f"[{host}]"
    return f"{scheme}://{host}" if port in (None, DEFAULT_PORTS[scheme]) else f"{scheme}://{host}:{port}"


def parse_origins(text: str, key: str, wildcard: bool = False) -> frozenset[str] | None:
    """A comma-separated list of origins from the config; None means any origin
    (``*``, only where ``wildcard`` is allowed). A bad entry is a ValueError naming ``key``."""
    entries = [entry.strip() for entry in text.split(",") if entry.strip()]
    if "*" in entries:
        if not wildcard:
            raise ValueError(f"{key}: '*' is not allowed here; list the origins (scheme://host[:port])")
        if len(entries) > 1:
            raise ValueError(f"{key}: '*' means any origin; do not list others with it")
        return None
    found = set()
    for entry in entries:
        origin = normalise(entry)
        if origin is None or urlsplit(entry).path not in ("", "/") or urlsplit(entry).query:
            raise ValueError(
                f"{key}: {entry!r} is not an origin; write scheme://host[:port], e.g. https://www.example.com"
            )
        found.add(origin)
    return frozenset(found)


def _ip(text: str) -> str:
    return str(ipaddress.ip_address(text.strip().strip("[]")))


@dataclass(frozen=True)
class Proxies:
    """The reverse proxies whose ``X-Forwarded-*`` headers are believed."""

    trusted: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str, key: str = "console.trusted_proxies") -> Proxies:
        try:
            return cls(frozenset(_ip(entry) for entry in text.split(",") if entry.strip()))
        except ValueError:
            raise ValueError(f"{key}: expected comma-separated IP addresses, got {text!r}") from None

    def believes(self, request: Request) -> bool:
        if not self.trusted:
            return False
        try:
            return _ip(request.ip) in self.trusted
        except ValueError:  # a UNIX socket or no peer address
            return False

    def forwarded(self, request: Request, name: str) -> str | None:
        """The first value of ``X-Forwarded-<name>`` if the peer is a trusted proxy."""
        if not self.believes(request):
            return None
        value = request.headers.get(f"x-forwarded-{name}", "").split(",")[0].strip()
        return value or None


def scheme(request: Request, proxies: Proxies) -> str:
    """``https`` when the browser used TLS: to this server, or to a trusted proxy in front of it."""
    forwarded = (proxies.forwarded(request, "proto") or "").lower()
    if forwarded in DEFAULT_PORTS:
        return forwarded
    return "https" if request.conn_info is not None and request.conn_info.ssl else "http"


def own_origin(request: Request, proxies: Proxies) -> str | None:
    """The origin the browser used to reach this server (scheme and ``Host``)."""
    host = proxies.forwarded(request, "host") or request.headers.get("host", "")
    return normalise(f"{scheme(request, proxies)}://{host}") if host else None


def request_origin(request: Request, use_referer: bool) -> str | None:
    """What the browser says the request comes from: ``Origin``, or (for
    ``use_referer``) the origin of ``Referer`` when there is no Origin. ``""``
    when the browser sent ``Origin: null`` or an unparseable value; None when
    it said nothing (not a browser, or a same-origin GET)."""
    origin = request.headers.get("origin")
    if origin is None and use_referer:
        origin = request.headers.get("referer")
    if origin is None:
        return None
    return normalise(origin) or ""
