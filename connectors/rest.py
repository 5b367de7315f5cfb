"""The REST channel (``POST /webhooks/rest/webhook``): Rasa's request and reply
format, with input checked (clear 400 errors for a missing sender, a missing or
oversized message) and the no-silence guard."""

from __future__ import annotations

import logging

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.guard import MAX_MESSAGE_CHARS, Handler, guarded
from connectors.webhook import webhook_blueprint

log = logging.getLogger(__name__)

MAX_SENDER_CHARS = 128


class RestInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Handler) -> Blueprint:  # type: ignore[override]
        handle = guarded(on_new_message)
        hook = webhook_blueprint(self)

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = request.json
            except Exception:
                body = None
            if not isinstance(body, dict):
                return _bad("the body must be a JSON object with 'sender' and 'message'")
            sender, text = body.get("sender"), body.get("message")
            if not isinstance(sender, str) or not sender.strip():
                return _bad("'sender' is required: a non-empty string that identifies the conversation")
            if len(sender) > MAX_SENDER_CHARS:
                return _bad(f"'sender' is longer than {MAX_SENDER_CHARS} characters")
            if not isinstance(text, str) or not text.strip():
                return _bad("'message' is required: a non-empty string")
            if len(text) > MAX_MESSAGE_CHARS:
                return _bad(f"'message' has {len(text)} characters; the limit is {MAX_MESSAGE_CHARS}",
                            status=413)
            metadata = body.get("metadata")
            collector = CollectingOutputChannel()
            await handle(UserMessage(text, collector, sender, input_channel=self.name(),
                                     metadata=metadata if isinstance(metadata, dict) else None))
            return response.json(collector.messages)

        return hook


def _bad(reason: str, status: int = 400) -> HTTPResponse:
    return response.json({"error": reason}, status=status)
