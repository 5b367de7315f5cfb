"""Which kind of route a path is, for the HTTP policy (one place, so CORS, the
console's request check and the security headers agree).

- ``console_api``: ``/console/api/*``, an agent's session (cookie or bearer token);
- ``console_page``: the console's page and its files (``/console``, ``/console/static/*``);
- ``widget``: what a website that embeds the chat widget calls from the
  browser, without credentials: socket.io, the REST webhook, the hand-off
  status and message poll, and the widget's files;
- ``demo``: the sample company page (``/demo/``);
- ``other``: everything else (platform webhooks, health checks, ``/``).
"""

from __future__ import annotations

from typing import Literal

Kind = Literal["console_api", "console_page", "widget", "demo", "other"]

WIDGET_EXACT = frozenset({"/webhooks/rest/webhook", "/handoff/status", "/handoff/messages", "/socket.io", "/widget"})
WIDGET_PREFIXES = ("/socket.io/", "/widget/")


def kind(path: str) -> Kind:
    if path == "/console/api" or path.startswith("/console/api/"):
        return "console_api"
    if path == "/console" or path.startswith("/console/"):
        return "console_page"
    if path in WIDGET_EXACT or path.startswith(WIDGET_PREFIXES):
        return "widget"
    if path == "/demo" or path.startswith("/demo/"):
        return "demo"
    return "other"
