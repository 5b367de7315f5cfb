"""The blueprint every channel starts from: Rasa mounts it at
``/webhooks/<name>/``, and ``GET /`` answers a health check (load balancers
and the runner probe it) before any channel-specific route is added."""

from __future__ import annotations

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse


def webhook_blueprint(channel: object) -> Blueprint:
    hook = Blueprint(f"custom_webhook_{type(channel).__name__}", __name__)

    @hook.route("/", methods=["GET"])
    async def health(_: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    return hook
