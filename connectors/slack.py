"""Slack app channel (``/webhooks/slack/webhook``), replacing Rasa's.

Rasa's built-in channel verifies signatures correctly, but re-processes any
retry whose reason is not ``http_timeout`` (two answers), answers a forged
request with 400, refuses more than five buttons and posts through a blocking
client per message. Here:

- every request (Events API JSON and interactivity forms alike) must carry a
  valid ``X-Slack-Signature`` (v0 HMAC-SHA256 of ``v0:<timestamp>:<raw body>``
  with ``SLACK_SIGNING_SECRET``, timestamp within 5 minutes), else 401;
- ``url_verification`` is answered with its challenge;
- the webhook acks at once (Slack waits 3 s) and the bot works in the
  background; an event is handled once: ``event_id`` and ``client_msg_id``
  go through ``connectors/dedup.py``, so a retry of an event already taken
  gets 200 and is dropped while a retry of one never seen is handled;
- only people's direct messages (``channel_type: im``) and ``app_mention``s
  reach the bot (mentions stripped, answered in the thread); bot messages and
  any message with a subtype are ignored, so the bot never answers itself;
- buttons are Block Kit ``actions`` blocks (25 buttons a block), a click
  (``block_actions``) sends the button's value to the bot;
- replies go out with ``chat.postMessage``; texts are cut at 3,000 characters
  a message (Slack's limit for a section block, well under the 40,000 of a
  message's text), buttons attached to the last piece.

Environment: ``SLACK_BOT_TOKEN`` (xoxb-…) and ``SLACK_SIGNING_SECRET``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rasa.core.channels.channel import UserMessage
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.base import Incoming, PlatformChannel, PlatformOutput, Refusal, json_object
from connectors.outbound import SignedOutbound
from connectors.platform_api import PlatformError, request_json
from connectors.replies import split_text

if TYPE_CHECKING:
    from faqbot.config import Settings

log = logging.getLogger(__name__)

MAX_TEXT = 3000  # per message: a section block's limit
MAX_BUTTONS_PER_BLOCK = 25
MAX_BUTTON_TITLE = 75
MAX_BUTTON_VALUE = 2000
MAX_SKEW_SECONDS = 300
_MENTION = re.compile(r"<@[UWB][A-Z0-9]+(?:\|[^>]*)?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")


def signature_ok(secret: str, timestamp: str, body: bytes, signature: str, now: float | None = None) -> bool:
    """Slack's v0 request signature, with the 5-minute replay window."""
    try:
        if abs((time.time() if now is None else now) - int(timestamp)) > MAX_SKEW_SECONDS:
            return False
    except ValueError:
        return False
    base = b"v0:" + timestamp.encode("ascii", "replace") + b":" + body
    expected = "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    # Headers arrive surrogate-escaped where they are not UTF-8: compare the bytes that were sent.
    return hmac.compare_digest(expected.encode("utf-8"), signature.encode("utf-8", "surrogateescape"))


def escape(text: str) -> str:
    """Slack's three control characters in message text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def user_text(text: str) -> str:
    """What the person typed: mentions removed, links and entities back to plain text."""
    text = _MENTION.sub(" ", text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def render(text: str, buttons: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """``chat.postMessage`` arguments (without ``channel``) for one bot reply."""
    # Measured escaped: "&" becomes "&amp;" and must still fit.
    pieces = split_text(text or "", MAX_TEXT, lambda piece: len(escape(piece))) or (["请选择："] if buttons else [])
    messages: list[dict[str, Any]] = [{"text": escape(piece)} for piece in pieces]
    if buttons and messages:
        elements = []
        for i, b in enumerate(buttons):
            title, value = str(b.get("title") or b.get("payload")), str(b.get("payload") or b.get("title"))
            if len(value) > MAX_BUTTON_VALUE:
                log.warning(
                    "a button's payload has %d characters (limit %d); button %r left out",
                    len(value),
                    MAX_BUTTON_VALUE,
                    title,
                )
                continue
            if len(title) > MAX_BUTTON_TITLE:
                title = title[: MAX_BUTTON_TITLE - 1] + "…"
            elements.append(
                {
                    "type": "button",
                    "action_id": f"faqbot_button_{i}",
                    "text": {"type": "plain_text", "text": title, "emoji": True},
                    "value": value,
                }
            )
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "plain_text", "text": pieces[-1], "emoji": True}}
        ]
        for start in range(0, len(elements), MAX_BUTTONS_PER_BLOCK):
            blocks.append(
                {
                    "type": "actions",
                    "block_id": f"faqbot_choices_{start // MAX_BUTTONS_PER_BLOCK}",
                    "elements": elements[start : start + MAX_BUTTONS_PER_BLOCK],
                }
            )
        messages[-1]["blocks"] = blocks
    return messages


class SlackApi:
    """``chat.postMessage`` through ``connectors.platform_api``, with the bot token."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base, self.token = base_url.rstrip("/"), token

    async def call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        reply = await request_json(
            "slack",
            "POST",
            f"{self.base}/{method}",
            json=body,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json; charset=utf-8"},
        )
        if not isinstance(reply, dict) or not reply.get("ok"):  # Slack says no with HTTP 200
            raise PlatformError("slack", method, f"not ok: {reply.get('error') if isinstance(reply, dict) else reply}")
        return reply

    async def post(
        self, channel: str, text: str, buttons: list[dict[str, Any]] | None, thread_ts: str | None = None
    ) -> None:
        for message in render(text, buttons):
            body = {"channel": channel, **message}
            if thread_ts:
                body["thread_ts"] = thread_ts
            await self.call("chat.postMessage", body)


class SlackOutput(PlatformOutput):
    """Replies to the conversation the message came from (a DM, or a mention's thread)."""

    def __init__(self, api: SlackApi, channel: str, thread_ts: str | None = None) -> None:
        self.api, self.channel, self.thread_ts = api, channel, thread_ts

    @classmethod
    def name(cls) -> str:
        return "slack"

    async def post(self, recipient_id: str, text: str, buttons: list[dict[str, Any]] | None) -> None:
        await self.api.post(self.channel, text, buttons, self.thread_ts)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        body = {
            "channel": self.channel,
            "text": image,
            "blocks": [{"type": "image", "image_url": image, "alt_text": "image"}],
        }
        if self.thread_ts:
            body["thread_ts"] = self.thread_ts
        await self.api.call("chat.postMessage", body)


class SlackOutbound(SignedOutbound):
    """Hand-off messages, posted to the user's DM with the app (channel = user id)."""

    platform = "slack"

    def __init__(self, api: SlackApi) -> None:
        self.api = api

    async def push(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]] | None, meta: dict[str, Any] | None
    ) -> bool:
        await self.api.post(recipient_id, text, buttons)
        return True


class SlackInput(PlatformChannel):
    required_env: ClassVar[tuple[str, ...]] = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")

    @classmethod
    def name(cls) -> str:
        return "slack"

    @classmethod
    def from_env(cls, env: Mapping[str, str], settings: Settings) -> SlackInput:
        return cls(env.get("SLACK_BOT_TOKEN", "").strip(), env.get("SLACK_SIGNING_SECRET", "").strip(), settings)

    def __init__(self, bot_token: str, signing_secret: str, settings: Settings | None = None) -> None:
        if not bot_token or not signing_secret:
            raise ValueError("the slack channel needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET")
        super().__init__(settings)
        self.signing_secret = signing_secret
        self.api = SlackApi(self.config.slack_api, bot_token)

    def outbound(self) -> SlackOutbound:
        return SlackOutbound(self.api)

    def verify(self, request: Request) -> dict[str, Any] | Interaction:
        """Events API JSON, or an interactivity form's payload (``{"type": "block_actions", ...}``)."""
        if not signature_ok(
            self.signing_secret,
            request.headers.get("X-Slack-Request-Timestamp", ""),
            request.body,
            request.headers.get("X-Slack-Signature", ""),
        ):
            raise Refusal(
                401,
                f"missing, wrong or expired X-Slack-Signature (retry {request.headers.get('X-Slack-Retry-Num', '-')})",
                "invalid signature",
            )
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "application/x-www-form-urlencoded":
            answer = "expected a form field 'payload' with a JSON object"
            try:
                raw = request.form.get("payload")
            except (ValueError, TypeError):
                raw = None
            if not raw:
                raise Refusal(400, "an interactivity request without a JSON 'payload' field", answer)
            return Interaction(json_object(raw, answer))
        return json_object(request.body, "expected a JSON object")

    def duplicate(self, ack: HTTPResponse) -> HTTPResponse:
        return response.empty(status=200, headers={"X-Slack-No-Retry": "1"})

    async def parse(self, request: Request, body: dict[str, Any] | Interaction) -> tuple[HTTPResponse, list[Incoming]]:
        ack = response.empty(status=200)
        if isinstance(body, Interaction):
            return ack, self._interaction(body.payload)
        if body.get("type") == "url_verification":
            return response.json({"challenge": str(body.get("challenge", ""))}), []
        if body.get("type") != "event_callback" or not isinstance(body.get("event"), dict):
            log.debug("ignored a request of type %r", body.get("type"))
            return ack, []
        return ack, self._event(body)

    def _event(self, body: dict[str, Any]) -> list[Incoming]:
        event = body["event"]
        kind, text = event.get("type"), event.get("text")
        if (
            event.get("bot_id")
            or event.get("subtype")
            or not event.get("user")
            or not isinstance(text, str)
            or kind not in ("message", "app_mention")
            or (kind == "message" and event.get("channel_type") != "im")
        ):
            return []  # not a person writing to the bot: no loops, no channel chatter
        event_id = str(body.get("event_id") or "")
        keys = [f"slack:event:{event_id}"] if event_id else []
        if event.get("client_msg_id"):
            keys.append(f"slack:msg:{event['client_msg_id']}")
        if not keys:
            log.warning("an event without event_id or client_msg_id; handled without dedup")
        text = user_text(text) or "/greet"
        thread_ts = (event.get("thread_ts") or event.get("ts")) if kind == "app_mention" else event.get("thread_ts")
        channel = str(event.get("channel") or event["user"])
        message = UserMessage(
            text,
            SlackOutput(self.api, channel, thread_ts),
            str(event["user"]),
            input_channel=self.name(),
            metadata={
                "slack": {
                    "channel": channel,
                    "thread_ts": thread_ts,
                    "event_id": event_id,
                    "team_id": body.get("team_id"),
                }
            },
            message_id=event_id or None,
        )
        return [Incoming(keys, message, what="update")]

    def _interaction(self, payload: dict[str, Any]) -> list[Incoming]:
        def part(key: str) -> dict[str, Any]:  # the payload is the sender's JSON: any part may be any type
            value = payload.get(key)
            return value if isinstance(value, dict) else {}

        user = part("user").get("id")
        actions = payload.get("actions")
        if payload.get("type") != "block_actions" or not user or not isinstance(actions, list) or not actions:
            log.debug("ignored an interaction of type %r", payload.get("type"))
            return []
        action = actions[0] if isinstance(actions[0], dict) else {}
        value = action.get("value")
        if action.get("type") != "button" or not isinstance(value, str) or not value:
            return []  # link buttons and other widgets carry nothing for the bot
        key = payload.get("trigger_id") or f"{user}:{action.get('action_ts')}:{value}"
        channel = str(part("channel").get("id") or user)
        thread_ts = part("container").get("thread_ts") or part("message").get("thread_ts")
        message = UserMessage(
            value,
            SlackOutput(self.api, channel, thread_ts),
            str(user),
            input_channel=self.name(),
            metadata={"slack": {"channel": channel, "thread_ts": thread_ts, "action": True}},
        )
        return [Incoming([f"slack:action:{key}"], message, what="button click")]


@dataclass
class Interaction:
    """An interactivity form's ``payload`` (a button click), apart from Events API bodies."""

    payload: dict[str, Any]
