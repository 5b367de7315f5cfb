"""The two buttons under an answer to a 留言 — 问题已解决 and 还有问题 — and reading a
click on one back. The gate checks that the ticket is the clicking customer's own,
so a typed payload can act on nobody else's ticket."""

from __future__ import annotations

import json

RESOLVED_PAYLOAD = "/ticket_resolved"
MORE_PAYLOAD = "/ticket_more"
RESOLVED, MORE = "resolved", "more"


def ticket_buttons(ticket_ref: str) -> list[dict[str, str]]:
    """``ticket_ref``: the 8-character number the customer sees."""
    body = json.dumps({"ticket": ticket_ref})
    return [
        {"title": "问题已解决", "payload": RESOLVED_PAYLOAD + body},
        {"title": "还有问题，继续留言", "payload": MORE_PAYLOAD + body},
    ]


def parse_ticket_button(text: str) -> tuple[str, str] | None:
    """(resolved | more, ticket number) from one of the buttons' payloads, or None."""
    for payload, action in ((RESOLVED_PAYLOAD, RESOLVED), (MORE_PAYLOAD, MORE)):
        if text.startswith(payload + "{"):
            try:
                ref = json.loads(text[len(payload) :])["ticket"]
            except (ValueError, KeyError, TypeError):
                return None
            return (action, ref) if isinstance(ref, str) and ref.isalnum() and len(ref) <= 16 else None
    return None
