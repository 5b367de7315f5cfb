"""Facebook Messenger channel (``/webhooks/messenger/webhook``), replacing
Rasa's ``facebook`` channel.

Rasa's channel ignores ``hub.mode``, checks only the old SHA-1 signature and
answers 200 when it fails, handles only the first event of a batch, has no
dedup and sends through ``fbmessenger`` (blocking, Graph v2.12). Here:

- ``GET`` subscribe handshake: ``hub.mode=subscribe`` and ``hub.verify_token``
  equal to ``MESSENGER_VERIFY_TOKEN`` (constant-time) → the challenge, else 403;
- ``POST`` must carry ``X-Hub-Signature-256: sha256=<HMAC-SHA256(app secret,
  raw body)>`` (constant-time), else 403; ``object`` must be ``page`` (else
  404, as Meta's sample server answers);
- 200 at once, the work in the background (Meta waits 20 s); EVERY entry and
  every messaging item is handled, one user's items in order; retries are
  dropped by ``message.mid`` (postbacks: their ``mid``, else sender +
  timestamp + payload) through ``connectors/dedup.py``;
- text, quick-reply payloads and postback payloads reach the bot;
  ``GET_STARTED`` is the welcome (``/greet``); echoes, deliveries and reads
  are ignored;
- replies: ``POST {messenger_api}/me/messages`` with ``messaging_type:
  RESPONSE``, texts cut at 2,000 characters, buttons as quick replies (at most
  13, titles at most 20 characters; when a title had to be shortened the full
  options are listed in the text as well) on the last piece.

Environment: ``MESSENGER_PAGE_ACCESS_TOKEN``, ``MESSENGER_APP_SECRET``,
``MESSENGER_VERIFY_TOKEN`` (you choose it; enter the same in the app's webhook
settings).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.base import Incoming, PlatformChannel, PlatformOutput, Refusal, json_object
from connectors.guard import Handler
from connectors.outbound import SignedOutbound
from connectors.platform_api import request_json
from connectors.replies import split_text

if TYPE_CHECKING:
    from faqbot.config import Settings

log = logging.getLogger(__name__)

MAX_TEXT = 2000
MAX_QUICK_REPLIES = 13
MAX_TITLE = 20
MAX_PAYLOAD = 1000
GET_STARTED = "GET_STARTED"
UNSUPPORTED = "抱歉，目前只能识别文字消息，请用文字描述您的问题。"


def signature_ok(app_secret: str, body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    # Headers arrive surrogate-escaped where they are not UTF-8: compare the bytes that were sent.
    return hmac.compare_digest(expected.encode("utf-8"), header.strip().lower().encode("utf-8", "surrogateescape"))


def render(text: str, buttons: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """``message`` objects for one bot reply, quick replies on the last one."""
    options: list[dict[str, Any]] = []
    shortened = False
    for b in buttons or []:
        title, payload = str(b.get("title") or b.get("payload")), str(b.get("payload") or b.get("title"))
        if len(payload) > MAX_PAYLOAD:
            log.warning(
                "a button's payload has %d characters (limit %d); button %r left out", len(payload), MAX_PAYLOAD, title
            )
            continue
        if len(options) == MAX_QUICK_REPLIES:
            log.warning("more than %d buttons; the rest left out", MAX_QUICK_REPLIES)
            break
        if len(title) > MAX_TITLE:
            shortened = True
        options.append({"title": title, "payload": payload})
    if shortened:  # the user must be able to read every option in full
        listing = "\n".join(f"{i}. {o['title']}" for i, o in enumerate(options, 1))
        text = f"{text.rstrip()}\n\n{listing}" if text and text.strip() else listing
        for i, option in enumerate(options, 1):
            option["title"] = _short(f"{i}. {option['title']}")
    pieces = split_text(text or "", MAX_TEXT) or (["请选择："] if options else [])
    messages: list[dict[str, Any]] = [{"text": piece} for piece in pieces]
    if options and messages:
        messages[-1]["quick_replies"] = [{"content_type": "text", **o} for o in options]
    return messages


def _short(title: str) -> str:
    return title if len(title) <= MAX_TITLE else title[: MAX_TITLE - 1] + "…"


class MessengerApi:
    """The Send API through ``connectors.platform_api``."""

    def __init__(self, base_url: str, page_token: str) -> None:
        self.base, self.token = base_url.rstrip("/"), page_token

    async def send(self, recipient_id: str, text: str, buttons: list[dict[str, Any]] | None) -> None:
        for message in render(text, buttons):
            await self.call({"recipient": {"id": recipient_id}, "messaging_type": "RESPONSE", "message": message})

    async def call(self, body: dict[str, Any]) -> Any:
        return await request_json(
            "messenger", "POST", f"{self.base}/me/messages", params={"access_token": self.token}, json=body
        )


class MessengerOutput(PlatformOutput):
    """The bot's replies to one person (``recipient_id`` is their page-scoped id)."""

    def __init__(self, api: MessengerApi) -> None:
        self.api = api

    @classmethod
    def name(cls) -> str:
        return "messenger"

    async def post(self, recipient_id: str, text: str, buttons: list[dict[str, Any]] | None) -> None:
        await self.api.send(recipient_id, text, buttons)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self.api.call(
            {
                "recipient": {"id": recipient_id},
                "messaging_type": "RESPONSE",
                "message": {"attachment": {"type": "image", "payload": {"url": image}}},
            }
        )


class MessengerOutbound(SignedOutbound):
    """Hand-off messages pushed to a person (within Messenger's 24-hour window)."""

    platform = "messenger"

    def __init__(self, api: MessengerApi) -> None:
        self.api = api

    async def push(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]] | None, meta: dict[str, Any] | None
    ) -> bool:
        await self.api.send(recipient_id, text, buttons)
        return True


class MessengerInput(PlatformChannel):
    required_env: ClassVar[tuple[str, ...]] = (
        "MESSENGER_PAGE_ACCESS_TOKEN",
        "MESSENGER_APP_SECRET",
        "MESSENGER_VERIFY_TOKEN",
    )

    @classmethod
    def name(cls) -> str:
        return "messenger"

    @classmethod
    def from_env(cls, env: Mapping[str, str], settings: Settings) -> MessengerInput:
        page_token, app_secret, verify_token = (env.get(name, "").strip() for name in cls.required_env)
        return cls(page_token, app_secret, verify_token, settings)

    def __init__(self, page_token: str, app_secret: str, verify_token: str, settings: Settings | None = None) -> None:
        if not (page_token and app_secret and verify_token):
            raise ValueError("the messenger channel needs " + ", ".join(self.required_env))
        super().__init__(settings)
        self.app_secret, self.verify_token = app_secret, verify_token
        self.api = MessengerApi(self.config.messenger_api, page_token)

    def outbound(self) -> MessengerOutbound:
        return MessengerOutbound(self.api)

    def extend(self, hook: Blueprint, handle: Handler) -> None:
        @hook.route("/webhook", methods=["GET"])
        async def handshake(request: Request) -> HTTPResponse:
            mode, token = request.args.get("hub.mode", ""), request.args.get("hub.verify_token", "")
            challenge = request.args.get("hub.challenge", "")
            if (
                mode == "subscribe"
                and challenge
                and hmac.compare_digest(token.encode("utf-8"), self.verify_token.encode("utf-8"))
            ):
                log.info("webhook subscription verified")
                return response.text(challenge)
            log.warning(
                "refused a webhook handshake from %s (hub.mode=%r, %s verify token)",
                request.ip,
                mode,
                "wrong" if token else "no",
            )
            return response.text("forbidden", status=403)

    def verify(self, request: Request) -> dict[str, Any]:
        header = request.headers.get("X-Hub-Signature-256")
        if not signature_ok(self.app_secret, request.body, header or ""):
            raise Refusal(403, f"{'wrong' if header else 'missing'} X-Hub-Signature-256", "invalid signature")
        body = json_object(request.body, "expected {object, entry: [...]}")
        if not isinstance(body.get("entry"), list):
            raise Refusal(400, "a signed body without an 'entry' list", "expected {object, entry: [...]}")
        if body.get("object") != "page":
            raise Refusal(
                404,
                f"a webhook for object {str(body.get('object'))[:40]!r} (only 'page' is handled)",
                "only page events are handled",
            )
        return body

    async def parse(self, request: Request, body: dict[str, Any]) -> tuple[HTTPResponse, list[Incoming]]:
        """Every messaging item of every entry, each user's in order."""
        items = []
        for entry in body["entry"]:
            for item in (entry.get("messaging") if isinstance(entry, dict) else None) or []:
                parsed = _parse(item) if isinstance(item, dict) else None
                if parsed is not None:
                    sender, kind, text, key = parsed
                    items.append(
                        Incoming([f"messenger:{key}"], self._message(sender, kind, text), group=sender, what=kind)
                    )
        return response.text("EVENT_RECEIVED"), items

    def _message(self, sender: str, kind: str, text: str) -> UserMessage | Callable[[], Awaitable[None]]:
        if kind == "unsupported":
            return lambda: self.api.send(sender, UNSUPPORTED, None)
        return UserMessage(
            text, MessengerOutput(self.api), sender, input_channel=self.name(), metadata={"messenger": {"kind": kind}}
        )


def _parse(item: dict[str, Any]) -> tuple[str, str, str, str] | None:
    """(sender, kind, text for the bot, dedup key) of one messaging item, None to ignore it."""
    who, message, postback = item.get("sender"), item.get("message"), item.get("postback")
    sender = str(who.get("id") or "") if isinstance(who, dict) else ""  # the body is the platform's, not ours
    if not sender:
        return None
    if isinstance(message, dict):
        if message.get("is_echo") or not message.get("mid"):
            return None  # our own messages coming back
        quick_reply = message.get("quick_reply")
        quick = quick_reply.get("payload") if isinstance(quick_reply, dict) else None
        text = quick if isinstance(quick, str) and quick else message.get("text")
        key = f"mid:{message['mid']}"
        if not isinstance(text, str) or not text.strip():
            return sender, "unsupported", "", key  # stickers, images, ...
        kind = "quick_reply" if text is quick else "text"
        return sender, kind, "/greet" if text == GET_STARTED else text, key
    if isinstance(postback, dict):
        payload = postback.get("payload")
        if not isinstance(payload, str) or not payload:
            return None
        key = (
            f"mid:{postback['mid']}"
            if postback.get("mid")
            else f"postback:{sender}:{item.get('timestamp')}:{hashlib.sha256(payload.encode()).hexdigest()[:16]}"
        )
        return sender, "postback", "/greet" if payload == GET_STARTED else payload, key
    return None  # delivery, read, reaction, optin, referral ...
