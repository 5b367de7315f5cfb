"""The REST channel (``POST /webhooks/rest/webhook``): Rasa's request and reply
format, with input checked (clear 400 errors for a missing or unacceptable
sender id — ``connectors/identity.py`` —, a missing or oversized message,
metadata that is not an object) and the no-silence guard."""

from __future__ import annotations

import logging

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.gate import gate_lookup
from connectors.guard import MAX_MESSAGE_CHARS, Handler, guarded
from connectors.identity import id_problem, parse_json
from connectors.webhook import webhook_blueprint

log = logging.getLogger(__name__)


class RestInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        hook = webhook_blueprint(self)
        handle = guarded(on_new_message, gate=gate_lookup(hook))

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = parse_json(request.body)
            except ValueError as exc:
                return _bad(f"{exc}; send a JSON object with 'sender' and 'message'")
            if not isinstance(body, dict):
                return _bad("the body must be a JSON object with 'sender' and 'message'")
            sender, text = body.get("sender"), body.get("message")
            if not isinstance(sender, str) or not sender.strip():
                return _bad("'sender' is required: a non-empty string that identifies the conversation")
            problem = id_problem(sender)
            if problem is not None:
                return _bad(problem)
            if not isinstance(text, str) or not text.strip():
                return _bad("'message' is required: a non-empty string")
            if len(text) > MAX_MESSAGE_CHARS:
                return _bad(f"'message' has {len(text)} characters; the limit is {MAX_MESSAGE_CHARS}", status=413)
            metadata = body.get("metadata")
            if metadata is not None and not isinstance(metadata, dict):
                return _bad("'metadata' must be an object")
            collector = CollectingOutputChannel()
            await handle(UserMessage(text, collector, sender, input_channel=self.name(), metadata=metadata))
            return response.json(collector.messages)

        return hook


def _bad(reason: str, status: int = 400) -> HTTPResponse:
    return response.json({"error": reason}, status=status)
