"""The 满意/不满意 buttons after a hand-off closes, and reading a click on one back."""

from __future__ import annotations

import json

RATE_PAYLOAD = "/rate_service"


def rating_buttons(handoff_id: str) -> list[dict[str, str]]:
    def payload(rating: str) -> str:
        return RATE_PAYLOAD + json.dumps({"handoff_id": handoff_id, "rating": rating})

    return [{"title": "满意", "payload": payload("good")}, {"title": "不满意", "payload": payload("bad")}]


def parse_rating(text: str) -> tuple[str, str] | None:
    """(handoff_id, rating) from a rating button's payload, or None."""
    if not text.startswith(RATE_PAYLOAD + "{"):
        return None
    try:
        data = json.loads(text[len(RATE_PAYLOAD) :])
        return str(data["handoff_id"]), str(data["rating"])
    except (ValueError, KeyError, TypeError):
        return None
