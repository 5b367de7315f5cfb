"""Feishu / Lark (飞书) app bot, event subscription over HTTP (``/webhooks/feishu/webhook``).

- Auth: every request's token (``header.token`` in schema 2.0, ``token`` in
  url_verification and 1.0) must equal FEISHU_VERIFICATION_TOKEN. With
  FEISHU_ENCRYPT_KEY set, bodies are ``{"encrypt": ...}`` (AES-256-CBC, key =
  SHA-256(encrypt key), IV = the first 16 bytes) and events are signed:
  ``X-Lark-Signature`` = sha256hex(timestamp + nonce + encrypt_key + raw body).
  Then plain bodies, and unsigned ones other than the URL check, are refused.
  No timestamp window: Feishu re-pushes a failed event for hours; replays are
  stopped by the event_id dedup instead.
- Feishu wants HTTP 200 within 3 s (the URL check within 1 s): events are
  acknowledged at once and handled in the background; replies go through
  ``im/v1/messages`` with a ``uuid`` derived from the event id and the reply's
  index, so a redelivered event can never post a reply twice.
- Handled events: ``im.message.receive_v1`` (text; p2p and group, "@_user_N"
  removed), ``card.action.trigger`` (a button's ``value.payload`` goes to the
  bot as the user's message) and ``im.chat.access_event.bot_p2p_chat_entered_v1``
  (welcome: "/greet"). Others are acknowledged and ignored.
- ``sender_id`` is the user's open_id. Replies go to the chat the message came
  from; a person's replies during a hand-off go to the user's last chat, or to
  the user directly (receive_id_type=open_id) when none is known.
- Replies: text as ``text``; texts with Markdown, or with buttons, as an
  ``interactive`` card (markdown element; buttons carry ``{"payload": ...}``).
  Limits: text pieces of ``TEXT_LIMIT`` characters (Feishu allows 150 KB),
  card text of ``CARD_LIMIT`` characters (a card may have 30 KB).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from rasa.core.channels.channel import OutputChannel, UserMessage
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.base import Incoming, PlatformChannel, PlatformOutput, Refusal, json_object
from connectors.identity import parse_json
from connectors.outbound import SignedOutbound
from connectors.platform_api import AccessToken, PlatformError, request_json
from connectors.replies import is_markdown, split_text

if TYPE_CHECKING:
    from faqbot.config import Settings

log = logging.getLogger(__name__)

TEXT_LIMIT = 4000
CARD_LIMIT = 3000
MAX_USERS = 100_000
TOKEN_INVALID = {99991661, 99991663, 99991668}
NOT_TEXT = "目前只能处理文字消息，请用文字描述您的问题。"
MESSAGE, CARD_ACTION, P2P_ENTERED = (
    "im.message.receive_v1",
    "card.action.trigger",
    "im.chat.access_event.bot_p2p_chat_entered_v1",
)
_MENTION = re.compile(r"@_user_\d+")
_CODE = re.compile(r'"code"\s*:\s*(\d+)')


def signature(timestamp: str, nonce: str, encrypt_key: str, raw: bytes) -> str:
    # Headers arrive surrogate-escaped where they are not UTF-8: sign the bytes that were sent.
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode("utf-8", "surrogateescape") + raw).hexdigest()


def decrypt(encrypted: str, encrypt_key: str) -> dict[str, Any]:
    """The event inside ``{"encrypt": ...}``; ``ValueError`` when it is not one."""
    data = base64.b64decode(encrypted, validate=True)
    if len(data) < 32 or len(data) % 16:
        raise ValueError(f"{len(data)} bytes is not an IV plus whole AES blocks")
    key = hashlib.sha256(encrypt_key.encode()).digest()
    decryptor = Cipher(algorithms.AES(key), modes.CBC(data[:16])).decryptor()
    padded = decryptor.update(data[16:]) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    plain = unpadder.update(padded) + unpadder.finalize()
    event = parse_json(plain)
    if not isinstance(event, dict):
        raise ValueError("the decrypted event is not a JSON object")
    return event


def card(text: str, buttons: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    elements: list[dict[str, Any]] = [{"tag": "markdown", "content": text}] if text.strip() else []
    if buttons:
        elements.append(
            {
                "tag": "action",
                "actions": [
                    {
                        "tag": "button",
                        "type": "primary" if i == 0 else "default",
                        "text": {"tag": "plain_text", "content": str(b.get("title", ""))},
                        "value": {"payload": str(b.get("payload") or b.get("title", ""))},
                    }
                    for i, b in enumerate(buttons)
                ],
            }
        )
    return {"config": {"wide_screen_mode": True}, "elements": elements}


def messages_for(text: str, buttons: list[dict[str, Any]] | None = None) -> list[tuple[str, dict[str, Any]]]:
    """(msg_type, content) for each message a reply becomes."""
    limit = CARD_LIMIT if buttons or is_markdown(text) else TEXT_LIMIT
    pieces = split_text(text, limit) or [""]
    out: list[tuple[str, dict[str, Any]]] = []
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        if (last and buttons) or is_markdown(piece):
            out.append(("interactive", card(piece, buttons if last else None)))
        elif piece:
            out.append(("text", {"text": piece}))
    return out


class FeishuApi:
    """tenant_access_token (cached) and sending messages."""

    def __init__(self, base: str, app_id: str, app_secret: str) -> None:
        self.base, self.app_id, self.app_secret = base.rstrip("/"), app_id, app_secret
        self.token = AccessToken(self._fetch_token)

    async def _fetch_token(self) -> tuple[str, float]:
        body = await request_json(
            "feishu",
            "POST",
            f"{self.base}/open-apis/auth/v3/tenant_access_token/internal",
            json={"app_id": self.app_id, "app_secret": self.app_secret},
        )
        if not isinstance(body, dict) or body.get("code") != 0 or not body.get("tenant_access_token"):
            raise PlatformError(
                "feishu",
                "tenant_access_token",
                f"{(body or {}).get('msg') or body}",
                code=(body or {}).get("code") if isinstance(body, dict) else None,
            )
        return str(body["tenant_access_token"]), float(body.get("expire") or 7200)

    async def send(
        self, receive_id: str, id_type: str, msg_type: str, content: dict[str, Any], idempotency_key: str
    ) -> None:
        """Raises ``PlatformError`` when Feishu refuses the message."""
        payload = {
            "receive_id": receive_id,
            "msg_type": msg_type,
            "content": json.dumps(content, ensure_ascii=False),
            "uuid": idempotency_key,
        }
        url = f"{self.base}/open-apis/im/v1/messages?receive_id_type={id_type}"
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {await self.token.get()}"}
            try:
                body = await request_json("feishu", "POST", url, json=payload, headers=headers)
                code, reason = (body or {}).get("code", 0), (body or {}).get("msg")
            except PlatformError as exc:  # Feishu answers most errors with HTTP 400 and its code in the body
                found = _CODE.search(exc.reason)
                if not found:
                    raise
                code, reason = int(found.group(1)), exc.reason
            if code == 0:
                return
            if code in TOKEN_INVALID and attempt == 1:
                log.warning("tenant_access_token refused (%s); fetching a new one", code)
                self.token.invalidate()
                continue
            raise PlatformError("feishu", "open-apis/im/v1/messages", str(reason), code=code)


class FeishuOutput(PlatformOutput):
    """Replies to one event, in its chat; uuids ``<event id>:<n>`` make redelivery harmless."""

    def __init__(self, api: FeishuApi, receive_id: str, id_type: str, event_id: str) -> None:
        self.api, self.receive_id, self.id_type, self.event_id = api, receive_id, id_type, event_id
        self.count = 0

    @classmethod
    def name(cls) -> str:
        return "feishu"

    send_custom_json = OutputChannel.send_custom_json  # Rasa's: the JSON as text

    async def post(self, recipient_id: str, text: str, buttons: list[dict[str, Any]] | None) -> None:
        for msg_type, content in messages_for(text, buttons):
            self.count += 1
            key = hashlib.sha256(f"{self.event_id}:{self.count}".encode()).hexdigest()[:40]
            try:
                await self.api.send(self.receive_id, self.id_type, msg_type, content, key)
            except PlatformError as exc:  # logged, not raised: the user cannot be reached this way anyway
                log.error("reply %d to %s (event %s) failed: %s", self.count, recipient_id, self.event_id, exc)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self.post(recipient_id, f"[图片]({image})", None)


class FeishuOutbound(SignedOutbound):
    """A person's replies during a hand-off, to the user's last chat (or the user directly)."""

    platform = "feishu"

    def __init__(self, channel: FeishuInput) -> None:
        self.channel = channel

    async def push(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]] | None, meta: dict[str, Any] | None
    ) -> bool:
        chat_id = self.channel.chats.get(recipient_id)
        receive_id, id_type = (chat_id, "chat_id") if chat_id else (recipient_id, "open_id")
        seq = (meta or {}).get("seq")
        for n, (msg_type, content) in enumerate(messages_for(text, buttons), 1):
            key = (
                hashlib.sha256(f"handoff:{recipient_id}:{seq}:{n}".encode()).hexdigest()[:40]
                if seq is not None
                else uuid.uuid4().hex
            )
            await self.channel.api.send(receive_id, id_type, msg_type, content, key)
        return True


class FeishuInput(PlatformChannel):
    required_env: ClassVar[tuple[str, ...]] = ("FEISHU_APP_ID", "FEISHU_APP_SECRET", "FEISHU_VERIFICATION_TOKEN")

    @classmethod
    def name(cls) -> str:
        return "feishu"

    @classmethod
    def from_env(cls, env: Mapping[str, str], settings: Settings) -> FeishuInput:
        return cls(
            env.get("FEISHU_APP_ID", "").strip(),
            env.get("FEISHU_APP_SECRET", "").strip(),
            env.get("FEISHU_VERIFICATION_TOKEN", "").strip(),
            env.get("FEISHU_ENCRYPT_KEY", "").strip(),
            settings,
        )

    def __init__(
        self,
        app_id: str,
        app_secret: str,
        verification_token: str,
        encrypt_key: str = "",
        settings: Settings | None = None,
    ) -> None:
        super().__init__(settings)
        self.verification_token, self.encrypt_key = verification_token, encrypt_key
        self.api = FeishuApi(self.config.feishu_api, app_id, app_secret)
        self.chats: dict[str, str] = {}  # open_id → the chat of the user's last message

    def outbound(self) -> FeishuOutbound:
        return FeishuOutbound(self)

    def verify(self, request: Request) -> dict[str, Any]:
        return self.authentic_body(request.body or b"", request.headers)

    async def parse(self, request: Request, body: dict[str, Any]) -> tuple[HTTPResponse, list[Incoming]]:
        if body.get("type") == "url_verification":
            return response.json({"challenge": body.get("challenge")}), []
        header, event = body.get("header"), body.get("event")
        if body.get("schema") != "2.0" or not isinstance(header, dict) or not isinstance(event, dict):
            log.info("ignored a request that is not a 2.0 event (type %r)", body.get("type"))
            return response.json({}), []
        event_id, event_type = str(header.get("event_id") or ""), header.get("event_type")
        if not event_id:
            raise Refusal(400, "an event without header.event_id", "header.event_id is missing")
        if event_type not in (MESSAGE, CARD_ACTION, P2P_ENTERED):
            log.info("ignored event %s of type %r", event_id, event_type)
            return response.json({}), []
        return response.json({}), [
            Incoming([f"feishu:{event_id}"], lambda: self._message_of(event_id, event_type, event))
        ]

    def authentic_body(self, raw: bytes, headers: Any) -> dict[str, Any]:
        """The (decrypted) request body, or ``Refusal`` with why."""
        body = json_object(raw)
        if "encrypt" in body:
            if not self.encrypt_key:
                raise Refusal(400, "an encrypted body, but FEISHU_ENCRYPT_KEY is not set")
            timestamp, nonce = headers.get("X-Lark-Request-Timestamp"), headers.get("X-Lark-Request-Nonce")
            signed = headers.get("X-Lark-Signature")
            if signed is not None:
                expected = signature(timestamp or "", nonce or "", self.encrypt_key, raw)
                if not hmac.compare_digest(expected.encode(), signed.encode("utf-8", "surrogateescape")):
                    raise Refusal(401, "X-Lark-Signature does not match sha256(timestamp+nonce+key+body)")
            try:
                body = decrypt(str(body["encrypt"]), self.encrypt_key)
            except (ValueError, TypeError) as exc:
                raise Refusal(400, f"cannot decrypt the body: {exc}") from None
            if signed is None and body.get("type") != "url_verification":
                raise Refusal(401, "an unsigned event while an Encrypt Key is set")
        elif self.encrypt_key:
            raise Refusal(401, "a plain body while an Encrypt Key is set (Feishu encrypts every request)")
        header = body.get("header")
        token = header.get("token") if isinstance(header, dict) else body.get("token")
        if not isinstance(token, str) or not hmac.compare_digest(token.encode(), self.verification_token.encode()):
            raise Refusal(401, "the verification token does not match FEISHU_VERIFICATION_TOKEN")
        return body

    async def _message_of(self, event_id: str, event_type: str, event: dict[str, Any]) -> UserMessage | None:
        """The message for the bot, or None (after replying, where the user needs to hear why)."""
        if event_type == MESSAGE:
            sender, message = event.get("sender") or {}, event.get("message") or {}
            open_id = str((sender.get("sender_id") or {}).get("open_id") or "")
            chat_id, message_id = str(message.get("chat_id") or ""), str(message.get("message_id") or "")
            if sender.get("sender_type", "user") != "user" or not open_id or not chat_id:
                log.info("event %s is not a user's message in a chat; ignored", event_id)
                return None
            if message_id and not await self.seen.first_time(f"feishu:msg:{message_id}"):
                log.info("message %s already handled under another event; ignored", message_id)
                return None
            self._remember(open_id, chat_id)
            output = FeishuOutput(self.api, chat_id, "chat_id", event_id)
            text = _text_of(message)
            if text is None:
                log.info("%s sent a %r message; only text is handled", open_id, message.get("message_type"))
                await output.send_text_message(open_id, NOT_TEXT)
                return None
            if not text:
                return None
            metadata = {"chat_id": chat_id, "chat_type": message.get("chat_type")}
            return UserMessage(
                text, output, open_id, input_channel=self.name(), metadata=metadata, message_id=message_id or event_id
            )
        if event_type == CARD_ACTION:
            open_id = str((event.get("operator") or {}).get("open_id") or "")
            chat_id = str((event.get("context") or {}).get("open_chat_id") or "")
            payload = _payload_of((event.get("action") or {}).get("value"))
            if not open_id or not payload:
                log.warning("card action %s without an operator or a payload; ignored", event_id)
                return None
            if chat_id:
                self._remember(open_id, chat_id)
            output = FeishuOutput(self.api, chat_id or open_id, "chat_id" if chat_id else "open_id", event_id)
            return UserMessage(
                payload,
                output,
                open_id,
                input_channel=self.name(),
                metadata={"chat_id": chat_id, "card_action": True},
                message_id=event_id,
            )
        # P2P_ENTERED: the user opened a chat with the bot
        open_id = str((event.get("operator_id") or {}).get("open_id") or "")
        chat_id = str(event.get("chat_id") or "")
        if not open_id or not chat_id:
            log.warning("p2p-entered event %s without operator_id.open_id or chat_id; ignored", event_id)
            return None
        self._remember(open_id, chat_id)
        return UserMessage(
            "/greet",
            FeishuOutput(self.api, chat_id, "chat_id", event_id),
            open_id,
            input_channel=self.name(),
            metadata={"chat_id": chat_id},
            message_id=event_id,
        )

    def _remember(self, open_id: str, chat_id: str) -> None:
        if len(self.chats) >= MAX_USERS:
            self.chats.pop(next(iter(self.chats)))
        self.chats.pop(open_id, None)
        self.chats[open_id] = chat_id


def _text_of(message: dict[str, Any]) -> str | None:
    """The user's words without @mentions; None for a message that is not text."""
    if message.get("message_type") != "text":
        return None
    try:
        content = json.loads(message.get("content") or "{}")
    except ValueError:
        return None
    text = content.get("text") if isinstance(content, dict) else None
    if not isinstance(text, str):
        return None
    return re.sub(r"\s{2,}", " ", _MENTION.sub("", text)).strip()


def _payload_of(value: Any) -> str:
    if isinstance(value, str):  # some clients send the value as a JSON string
        try:
            value = json.loads(value)
        except ValueError:
            return value.strip()
    if isinstance(value, dict):
        return str(value.get("payload") or "").strip()
    return ""
