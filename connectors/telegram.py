"""Telegram bot channel (``/webhooks/telegram/webhook``), replacing Rasa's.

Rasa's built-in channel sets the webhook without a secret token, "checks" each
update by calling ``getMe`` (which anyone can pass), handles updates while
Telegram waits and has no dedup. Here:

- every update must carry ``X-Telegram-Bot-Api-Secret-Token`` equal to
  ``TELEGRAM_SECRET_TOKEN`` (constant-time compare), else 403 and nothing else;
- ``setWebhook`` is called with that secret when the server starts, if
  ``[channels] public_url`` is set (a failure is logged; the server still runs);
- the webhook answers 200 at once and the bot works in the background, so a
  slow answer never makes Telegram redeliver; redeliveries (same
  ``update_id``) are dropped through ``connectors/dedup.py``;
- buttons are inline keyboards; a button's payload is its ``callback_data``
  when it fits Telegram's 64 bytes, else a short key kept in memory;
  ``answerCallbackQuery`` is always called so the client stops spinning;
- ``/start`` is the welcome (``/greet``); texts are split at 4096 UTF-16 units.

Environment: ``TELEGRAM_BOT_TOKEN`` (from BotFather) and
``TELEGRAM_SECRET_TOKEN`` (1–256 characters of ``A-Z a-z 0-9 _ -``; you
choose it; it is sent to Telegram by ``setWebhook``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.background import in_background
from connectors.base import Incoming, PlatformChannel, PlatformOutput, Refusal, json_object
from connectors.guard import Handler
from connectors.outbound import SignedOutbound
from connectors.platform_api import PlatformError, request_json
from connectors.replies import split_text

if TYPE_CHECKING:
    from faqbot.config import Settings

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_TEXT = 4096
MAX_CALLBACK_BYTES = 64
ALLOWED_UPDATES = ["message", "callback_query"]
UNSUPPORTED = "抱歉，目前只能识别文字消息，请用文字描述您的问题。"
EXPIRED = "该选项已失效，请重新发送您的问题。"
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_BOT_TOKEN = re.compile(r"^(\d+):[A-Za-z0-9_-]+$")
_START = re.compile(r"^/start(?:@\w+)?(?:\s.*)?$", re.S)


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units (an emoji is two)."""
    return len(text.encode("utf-16-le")) // 2


class CallbackKeys:
    """``callback_data`` for a payload: ``p:<payload>`` when it fits in 64 bytes,
    else ``k:<hash>`` with the payload remembered here (bounded, in this process)."""

    def __init__(self, max_items: int = 100_000) -> None:
        self.max_items = max_items
        self._payloads: OrderedDict[str, str] = OrderedDict()

    def data_for(self, payload: str) -> str:
        direct = "p:" + payload
        if len(direct.encode("utf-8")) <= MAX_CALLBACK_BYTES:
            return direct
        key = "k:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]
        self._payloads[key] = payload
        self._payloads.move_to_end(key)
        while len(self._payloads) > self.max_items:
            self._payloads.popitem(last=False)
        return key

    def payload_for(self, data: str) -> str | None:
        """The payload of a button press, or None for data we did not make (or forgot)."""
        if data.startswith("p:"):
            return data[2:] or None
        return self._payloads.get(data)


def render(text: str, buttons: list[dict[str, Any]] | None, keys: CallbackKeys) -> list[dict[str, Any]]:
    """``sendMessage`` bodies (without ``chat_id``): the text in pieces of at most
    4096 UTF-16 units, the inline keyboard (one button a row) on the last one."""
    pieces = split_text(text or "", MAX_TEXT, utf16_len) or (["请选择："] if buttons else [])
    bodies: list[dict[str, Any]] = [{"text": piece} for piece in pieces]
    if buttons and bodies:
        rows = [
            [
                {
                    "text": str(b.get("title") or b.get("payload")),
                    "callback_data": keys.data_for(str(b.get("payload") or b.get("title"))),
                }
            ]
            for b in buttons
        ]
        bodies[-1]["reply_markup"] = {"inline_keyboard": rows}
    return bodies


class TelegramApi:
    """The Bot API methods used here, through ``connectors.platform_api``."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base, self.token = base_url.rstrip("/"), token

    async def call(self, method: str, body: dict[str, Any]) -> Any:
        try:
            reply = await request_json(
                "telegram", "POST", f"{self.base}/bot{self.token}/{method}", json=body, call=method
            )  # the path holds the token
        except PlatformError as exc:  # its text contains the URL path, i.e. the token
            raise PlatformError("telegram", method, exc.reason.replace(self.token, "<token>"), exc.code) from None
        if not isinstance(reply, dict) or not reply.get("ok"):
            description = reply.get("description") if isinstance(reply, dict) else reply
            raise PlatformError(
                "telegram",
                method,
                f"not ok: {description}",
                reply.get("error_code") if isinstance(reply, dict) else None,
            )
        return reply.get("result")

    async def send(self, chat_id: str, text: str, buttons: list[dict[str, Any]] | None, keys: CallbackKeys) -> None:
        for body in render(text, buttons, keys):
            await self.call("sendMessage", {"chat_id": chat_id, **body})


class TelegramOutput(PlatformOutput):
    """The bot's replies to one chat (``recipient_id`` is the chat id)."""

    def __init__(self, api: TelegramApi, keys: CallbackKeys) -> None:
        self.api, self.keys = api, keys

    @classmethod
    def name(cls) -> str:
        return "telegram"

    async def post(self, recipient_id: str, text: str, buttons: list[dict[str, Any]] | None) -> None:
        await self.api.send(recipient_id, text, buttons, self.keys)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self.api.call("sendPhoto", {"chat_id": recipient_id, "photo": image})


class TelegramOutbound(SignedOutbound):
    """Hand-off messages (a person's replies, notices) pushed to a chat."""

    platform = "telegram"

    def __init__(self, api: TelegramApi, keys: CallbackKeys) -> None:
        self.api, self.keys = api, keys

    async def push(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]] | None, meta: dict[str, Any] | None
    ) -> bool:
        await self.api.send(recipient_id, text, buttons, self.keys)
        return True


class TelegramInput(PlatformChannel):
    required_env: ClassVar[tuple[str, ...]] = ("TELEGRAM_BOT_TOKEN", "TELEGRAM_SECRET_TOKEN")

    @classmethod
    def name(cls) -> str:
        return "telegram"

    @classmethod
    def from_env(cls, env: Mapping[str, str], settings: Settings) -> TelegramInput:
        return cls(env.get("TELEGRAM_BOT_TOKEN", "").strip(), env.get("TELEGRAM_SECRET_TOKEN", ""), settings)

    def __init__(self, bot_token: str, secret_token: str, settings: Settings | None = None) -> None:
        match = _BOT_TOKEN.match(bot_token)
        if not match:
            raise ValueError("TELEGRAM_BOT_TOKEN must look like '123456789:AA…' (the token BotFather gave you)")
        if not _SECRET.match(secret_token):
            why = (
                "it is empty"
                if not secret_token
                else f"it has {len(secret_token)} characters"
                if len(secret_token) > 256
                else "it contains other characters"
            )
            raise ValueError(
                "TELEGRAM_SECRET_TOKEN must be 1–256 characters, each A–Z, a–z, 0–9, '_' or '-' "
                f"(Telegram's rule for secret_token); {why}"
            )
        super().__init__(settings)
        self.secret = secret_token
        self.bot_id = match.group(1)
        self.keys = CallbackKeys()
        self.api = TelegramApi(self.config.telegram_api, bot_token)

    def outbound(self) -> TelegramOutbound:
        return TelegramOutbound(self.api, self.keys)

    def extend(self, hook: Blueprint, handle: Handler) -> None:
        @hook.listener("after_server_start")
        async def set_webhook(*_: Any) -> None:
            if self.config.public_url:
                in_background(self.set_webhook(self.config.public_url), "telegram setWebhook")
            else:
                log.info(
                    "[channels] public_url is not set; not calling setWebhook (set the webhook "
                    "yourself, with secret_token = TELEGRAM_SECRET_TOKEN)"
                )

    def verify(self, request: Request) -> dict[str, Any]:
        given = request.headers.get(SECRET_HEADER, "")
        # surrogateescape: a header that is not UTF-8 is compared as the bytes that were sent
        if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self.secret.encode("utf-8")):
            raise Refusal(403, f"{'wrong' if given else 'missing'} {SECRET_HEADER} header", "forbidden")
        update = json_object(request.body, "expected a Telegram Update object")
        if not isinstance(update.get("update_id"), int):
            raise Refusal(400, "not a Telegram Update: no integer update_id", "expected a Telegram Update object")
        return update

    async def parse(self, request: Request, update: dict[str, Any]) -> tuple[HTTPResponse, list[Incoming]]:
        return response.json({"ok": True}), [
            Incoming([f"telegram:{self.bot_id}:{update['update_id']}"], lambda: self.message_of(update), what="update")
        ]

    async def set_webhook(self, public_url: str) -> None:
        url = public_url.rstrip("/") + "/webhooks/telegram/webhook"
        try:
            await self.api.call(
                "setWebhook", {"url": url, "secret_token": self.secret, "allowed_updates": ALLOWED_UPDATES}
            )
        except Exception as exc:
            log.error("setWebhook(%s) failed: %s; updates will not arrive until the webhook is set", url, exc)
        else:
            log.info("webhook set to %s", url)

    async def message_of(self, update: dict[str, Any]) -> UserMessage | None:
        """The bot's message in an update: a text message or a button press."""
        if isinstance(update.get("message"), dict):
            return await self._message(update, update["message"])
        if isinstance(update.get("callback_query"), dict):
            return await self._callback(update, update["callback_query"])
        log.debug("ignored update %s of kinds %s", update["update_id"], sorted(update))
        return None

    async def _message(self, update: dict[str, Any], message: dict[str, Any]) -> UserMessage | None:
        chat_id = (message.get("chat") or {}).get("id")
        sender = message.get("from") or {}
        if chat_id is None or sender.get("is_bot"):
            return None
        text = message.get("text")
        if not isinstance(text, str) or not text.strip():
            await self.api.send(str(chat_id), UNSUPPORTED, None, self.keys)
            return None
        if _START.match(text.strip()):
            text = "/greet"
        return self._user_message(text, chat_id, sender, update)

    async def _callback(self, update: dict[str, Any], query: dict[str, Any]) -> UserMessage | None:
        payload = self.keys.payload_for(str(query.get("data") or ""))
        try:  # first, so the button stops spinning even if the bot is slow
            answer = {"callback_query_id": query.get("id")}
            if payload is None:
                answer["text"] = EXPIRED
            await self.api.call("answerCallbackQuery", answer)
        except PlatformError as exc:
            log.warning("answerCallbackQuery failed: %s", exc)
        sender = query.get("from") or {}
        chat_id = ((query.get("message") or {}).get("chat") or {}).get("id", sender.get("id"))
        if payload is None or chat_id is None:
            log.info("button data %r from %s is not one of ours (or expired)", query.get("data"), sender.get("id"))
            return None
        return self._user_message(payload, chat_id, sender, update)

    def _user_message(self, text: str, chat_id: Any, sender: dict[str, Any], update: dict[str, Any]) -> UserMessage:
        return UserMessage(
            text,
            TelegramOutput(self.api, self.keys),
            str(chat_id),
            input_channel=self.name(),
            metadata={"telegram": {"chat_id": chat_id, "user_id": sender.get("id"), "update_id": update["update_id"]}},
            message_id=f"telegram-{self.bot_id}-{update['update_id']}",
        )
