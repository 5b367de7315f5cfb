"""DingTalk (钉钉) internal-app robot, HTTP callback mode (``/webhooks/dingtalk/webhook``).

- Auth: headers ``timestamp`` (ms) and ``sign`` = base64(HMAC-SHA256(appSecret,
  timestamp + "\\n" + appSecret)); more than an hour of clock skew is refused.
  The body itself is not signed, so a captured request can be replayed within
  the hour: every ``msgId`` is answered once (``connectors/dedup.py``).
- The webhook is acknowledged at once and the message handled in the
  background; replies go to the message's ``sessionWebhook`` (no auth, valid
  for about 1.5 h). If it has expired by then, or for a person's replies during
  a hand-off, the OpenAPI ``oToMessages/batchSend`` (a private message to the
  user's staffId) is used instead. The sessionWebhook is not covered by the
  signature, so only DingTalk's own origins (``[channels]
  dingtalk_webhook_origins``, https) are accepted: anything else would let one
  signed header pair make the bot POST to any address (SSRF).
- Sender and message ids are checked (``connectors/identity.py``) before
  anything is stored; a bad one is a 400.
- Buttons become an ``actionCard`` whose buttons send their title back as the
  user's message (``dtmd://dingtalkclient/sendMessage``); the titles offered to
  each user are remembered for ``choice_ttl`` and mapped back to payloads.
  Through batchSend (no card template) buttons are a numbered list instead.
- Long texts are split at ``TEXT_LIMIT`` characters (DingTalk accepts about
  20 000 bytes; 3000 Chinese characters stay well under it).
- ``sender_id`` is the user's staffId (``senderId`` for users outside the
  organisation): one conversation per person, also across group chats.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urlsplit

from rasa.core.channels.channel import UserMessage
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.base import Incoming, PlatformChannel, PlatformOutput, Refusal
from connectors.identity import id_problem, parse_json
from connectors.outbound import SignedOutbound
from connectors.platform_api import AccessToken, PlatformError, request_json
from connectors.replies import choices_for, is_markdown, numbered, split_text

if TYPE_CHECKING:
    from faqbot.config import Settings

log = logging.getLogger(__name__)

MAX_SKEW_MS = 3600 * 1000
TEXT_LIMIT = 3000
TITLE_CHARS = 20
MAX_USERS = 100_000  # contacts kept (a reply needs the user's last sessionWebhook)
NOT_TEXT = "目前只能处理文字消息，请用文字描述您的问题。"
_MENTION = re.compile(r"^(?:\s*@\S+)+\s*")


def sign(timestamp: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def check_sign(timestamp: str | None, signature: str | None, secret: str, now_ms: float) -> str | None:
    """Why the request is refused, or None when it is genuine."""
    if not timestamp or not signature:
        return "missing 'timestamp' or 'sign' header"
    if not (timestamp.isascii() and timestamp.isdigit()):  # str.isdigit() alone accepts "²", which int() refuses
        return f"'timestamp' header is not milliseconds: {timestamp[:40]!r}"
    if abs(now_ms - int(timestamp)) > MAX_SKEW_MS:
        return f"'timestamp' is {abs(now_ms - int(timestamp)) / 1000:.0f} s away from now (limit 3600 s)"
    if not hmac.compare_digest(sign(timestamp, secret).encode(), signature.encode("utf-8", "surrogateescape")):
        return "'sign' does not match HmacSHA256(appSecret, timestamp + '\\n' + appSecret)"
    return None


def title_of(text: str) -> str:
    """The notification title DingTalk shows for a markdown message or card."""
    first = next((line for line in text.splitlines() if line.strip()), "消息")
    first = re.sub(r"[*#\[\]`]|\(https?://[^)]*\)", "", first).strip(" -")
    return first[:TITLE_CHARS] or "消息"


@dataclass
class Contact:
    """What a reply to a user needs, from the user's last message."""

    staff_id: str
    robot_code: str
    webhook: str
    webhook_expires_ms: int

    def webhook_valid(self, margin_ms: int = 10_000) -> bool:
        return bool(self.webhook) and time.time() * 1000 + margin_ms < self.webhook_expires_ms


class DingTalkApi:
    """The OpenAPI calls this channel makes: an access token and batchSend."""

    def __init__(self, base: str, app_key: str, app_secret: str) -> None:
        self.base, self.app_key, self.app_secret = base.rstrip("/"), app_key, app_secret
        self.token = AccessToken(self._fetch_token)

    async def _fetch_token(self) -> tuple[str, float]:
        body = await request_json(
            "dingtalk",
            "POST",
            f"{self.base}/v1.0/oauth2/accessToken",
            json={"appKey": self.app_key, "appSecret": self.app_secret},
        )
        if not isinstance(body, dict) or not body.get("accessToken"):
            raise PlatformError("dingtalk", "v1.0/oauth2/accessToken", f"no accessToken in {str(body)[:200]}")
        return str(body["accessToken"]), float(body.get("expireIn") or 7200)

    async def send_private(self, robot_code: str, staff_id: str, text: str) -> bool:
        """A text message to one user; True if DingTalk accepted it for that user."""
        payload = {
            "robotCode": robot_code,
            "userIds": [staff_id],
            "msgKey": "sampleText",
            "msgParam": json.dumps({"content": text}, ensure_ascii=False),
        }
        for attempt in (1, 2):
            headers = {"x-acs-dingtalk-access-token": await self.token.get()}
            try:
                body = await request_json(
                    "dingtalk", "POST", f"{self.base}/v1.0/robot/oToMessages/batchSend", json=payload, headers=headers
                )
            except PlatformError as exc:
                if exc.code in (401, 403) and attempt == 1:  # token revoked or expired early
                    log.warning("access token refused (%s); fetching a new one", exc.reason)
                    self.token.invalidate()
                    continue
                raise
            refused = (body or {}).get("invalidStaffIdList") or (body or {}).get("flowControlledStaffIdList")
            if refused and staff_id in refused:
                log.error("batchSend refused user %s: %s", staff_id, body)
                return False
            return True
        return False


async def post_to_webhook(url: str, message: dict[str, Any]) -> bool:
    body = await request_json("dingtalk", "POST", url, json=message)
    if isinstance(body, dict) and body.get("errcode") not in (None, 0):
        log.error("sessionWebhook refused a %s message: %s", message.get("msgtype"), body)
        return False
    return True


class DingTalkOutput(PlatformOutput):
    """Replies to one inbound message: its sessionWebhook, or batchSend once that expired."""

    def __init__(self, channel: DingTalkInput, contact: Contact) -> None:
        self.channel, self.contact = channel, contact

    @classmethod
    def name(cls) -> str:
        return "dingtalk"

    async def _deliver(self, recipient_id: str, message: dict[str, Any], plain: str) -> None:
        try:
            if self.contact.webhook_valid():
                await post_to_webhook(self.contact.webhook, message)
            elif self.contact.staff_id:
                log.info("the sessionWebhook of %s expired; replying through batchSend", recipient_id)
                await self.channel.api.send_private(self.contact.robot_code, self.contact.staff_id, plain)
            else:
                log.error("no way to reply to %s (sessionWebhook expired, no staffId)", recipient_id)
        except PlatformError as exc:  # logged, not raised: the user cannot be reached this way anyway
            log.error("reply to %s failed: %s", recipient_id, exc)

    async def post(self, recipient_id: str, text: str, buttons: list[dict[str, Any]] | None) -> None:
        pieces = split_text(text, TEXT_LIMIT) or ([""] if buttons else [])
        for piece in pieces[:-1] if buttons else pieces:
            if is_markdown(piece):
                message = {"msgtype": "markdown", "markdown": {"title": title_of(piece), "text": piece}}
            else:
                message = {"msgtype": "text", "text": {"content": piece}}
            await self._deliver(recipient_id, message, piece)
        if not buttons:
            return
        last = pieces[-1]
        # The card's titles come back as text; through batchSend (no card) numbers do.
        await self.channel.choices.offer(recipient_id, buttons)
        card = {
            "title": title_of(last or str(buttons[0].get("title", ""))),
            "text": last or "请选择：",
            "btnOrientation": "1",
            "btns": [
                {
                    "title": str(b.get("title", "")),
                    "actionURL": "dtmd://dingtalkclient/sendMessage?content=" + quote(str(b.get("title", "")), safe=""),
                }
                for b in buttons
            ],
        }
        await self._deliver(recipient_id, {"msgtype": "actionCard", "actionCard": card}, numbered(last, buttons))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._deliver(
            recipient_id, {"msgtype": "markdown", "markdown": {"title": "图片", "text": f"![图片]({image})"}}, image
        )

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        if "msgtype" in json_message:  # a native DingTalk message from a custom response
            await self._deliver(recipient_id, json_message, json.dumps(json_message, ensure_ascii=False))
        else:
            log.warning(
                "dropped a custom message without 'msgtype' for %s: %.200s",
                recipient_id,
                json.dumps(json_message, ensure_ascii=False),
            )


class DingTalkOutbound(SignedOutbound):
    """A person's replies during a hand-off: batchSend (the sessionWebhook may have expired)."""

    platform = "dingtalk"

    def __init__(self, channel: DingTalkInput) -> None:
        self.channel = channel

    async def push(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]] | None, meta: dict[str, Any] | None
    ) -> bool:
        if buttons:
            await self.channel.choices.offer(recipient_id, buttons)
            text = numbered(text, buttons)
        contact = self.channel.contacts.get(recipient_id)
        staff_id = contact.staff_id if contact else recipient_id
        robot_code = contact.robot_code if contact else self.channel.app_key
        pieces = split_text(text, TEXT_LIMIT)
        try:
            if staff_id and not staff_id.startswith("$:"):
                for piece in pieces:
                    if not await self.channel.api.send_private(robot_code, staff_id, piece):
                        return False
                return True
        except PlatformError as exc:  # the sessionWebhook may still reach the user
            log.error("batchSend to %s failed: %s", recipient_id, exc)
        if contact and contact.webhook_valid():
            return all(
                [await post_to_webhook(contact.webhook, {"msgtype": "text", "text": {"content": p}}) for p in pieces]
            )
        return False


class DingTalkInput(PlatformChannel):
    required_env: ClassVar[tuple[str, ...]] = ("DINGTALK_APP_KEY", "DINGTALK_APP_SECRET")

    @classmethod
    def name(cls) -> str:
        return "dingtalk"

    @classmethod
    def from_env(cls, env: Mapping[str, str], settings: Settings) -> DingTalkInput:
        return cls(env.get("DINGTALK_APP_KEY", "").strip(), env.get("DINGTALK_APP_SECRET", "").strip(), settings)

    def __init__(self, app_key: str, app_secret: str, settings: Settings | None = None) -> None:
        super().__init__(settings)
        self.app_key, self.app_secret = app_key, app_secret
        self.api = DingTalkApi(self.config.dingtalk_api, self.app_key, self.app_secret)
        self.choices = choices_for(self.config, self.name())
        self.contacts: dict[str, Contact] = {}
        self.webhook_origins = allowed_origins(self.config.dingtalk_webhook_origins)

    def outbound(self) -> DingTalkOutbound:
        return DingTalkOutbound(self)

    def remember(self, user: str, contact: Contact) -> None:
        if len(self.contacts) >= MAX_USERS:
            self.contacts.pop(next(iter(self.contacts)))
        self.contacts.pop(user, None)
        self.contacts[user] = contact

    def verify(self, request: Request) -> Any:
        refused = check_sign(
            request.headers.get("timestamp"), request.headers.get("sign"), self.app_secret, time.time() * 1000
        )
        if refused:
            raise Refusal(401 if "missing" in refused else 403, refused)
        try:
            body = parse_json(request.body)
        except ValueError as exc:
            raise Refusal(400, f"malformed message: {exc}", str(exc)) from None
        return body

    async def parse(self, request: Request, body: Any) -> tuple[HTTPResponse, list[Incoming]]:
        problem = _malformed(body, self.webhook_origins)
        if problem:
            raise Refusal(400, f"malformed message: {problem}", problem)
        return response.json({}), [Incoming([f"dingtalk:{body['msgId']}"], lambda: self._message_of(body))]

    async def _message_of(self, body: dict[str, Any]) -> UserMessage | None:
        staff_id = str(body.get("senderStaffId") or "")
        sender = staff_id or str(body["senderId"])
        contact = Contact(
            staff_id,
            str(body.get("robotCode") or self.app_key),
            str(body.get("sessionWebhook") or ""),
            _int(body.get("sessionWebhookExpiredTime")),
        )
        self.remember(sender, contact)
        output = DingTalkOutput(self, contact)
        if body.get("msgtype") != "text":
            log.info("%s sent a %r message; only text is handled", sender, body.get("msgtype"))
            await output.send_text_message(sender, NOT_TEXT)
            return None
        text = str((body.get("text") or {}).get("content") or "")
        group = str(body.get("conversationType")) == "2"
        if group:
            text = _MENTION.sub("", text)
        text = text.strip()
        if not text:
            return None
        metadata = {
            "conversation_id": body.get("conversationId"),
            "group": group,
            "sender_nick": body.get("senderNick"),
        }
        return UserMessage(
            await self.choices.resolve(sender, text, titles=True),
            output,
            sender,
            input_channel=self.name(),
            metadata=metadata,
            message_id=str(body["msgId"]),
        )


def allowed_origins(setting: str) -> frozenset[tuple[str, str, int]]:
    """``"https://oapi.dingtalk.com, …"`` as (scheme, host, port) triples."""
    found = set()
    for item in filter(None, (part.strip() for part in setting.split(","))):
        origin = _origin(item)
        if origin is None:
            raise ValueError(f"[channels] dingtalk_webhook_origins: {item!r} is not scheme://host[:port]")
        found.add(origin)
    return frozenset(found)


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) URL without user info, or None."""
    if any(c in url for c in "\\ \t\r\n") or any(ord(c) < 32 or ord(c) == 127 for c in url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.password:
        return None
    return parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


def webhook_problem(url: Any, allowed: frozenset[tuple[str, str, int]]) -> str | None:
    """Why a sessionWebhook must not be posted to, or None when it is DingTalk's own."""
    if url in (None, ""):
        return None  # replies go through batchSend
    if not isinstance(url, str) or _origin(url) not in allowed:
        return "'sessionWebhook' is not a DingTalk address (see [channels] dingtalk_webhook_origins)"
    return None


def _malformed(body: Any, webhook_origins: frozenset[tuple[str, str, int]]) -> str | None:
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    if not isinstance(body.get("msgId"), str) or not body["msgId"]:
        return "'msgId' is missing"
    if not (body.get("senderStaffId") or body.get("senderId")):
        return "'senderStaffId'/'senderId' is missing"
    for field in ("msgId", "senderStaffId", "senderId"):
        if body.get(field) not in (None, "") and (problem := id_problem(body[field], field)):
            return problem
    if problem := webhook_problem(body.get("sessionWebhook"), webhook_origins):
        return problem
    if body.get("msgtype") == "text" and not isinstance(body.get("text"), dict):
        return "a text message without a 'text' object"
    return None


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
