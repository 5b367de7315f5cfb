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
import os
import re
from collections import OrderedDict
from typing import Any, ClassVar

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors import outbound
from connectors.background import in_background
from connectors.dedup import seen_ids
from connectors.guard import Handler, guarded
from connectors.identity import parse_json
from connectors.platform_api import PlatformError, request_json
from connectors.replies import split_text
from connectors.webhook import webhook_blueprint

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
        rows = [[{"text": str(b.get("title") or b.get("payload")),
                  "callback_data": keys.data_for(str(b.get("payload") or b.get("title")))}] for b in buttons]
        bodies[-1]["reply_markup"] = {"inline_keyboard": rows}
    return bodies


class TelegramApi:
    """The Bot API methods used here, through ``connectors.platform_api``."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base, self.token = base_url.rstrip("/"), token

    async def call(self, method: str, body: dict[str, Any]) -> Any:
        try:
            reply = await request_json("telegram", "POST", f"{self.base}/bot{self.token}/{method}", json=body,
                                       call=method)  # the path holds the token
        except PlatformError as exc:  # its text contains the URL path, i.e. the token
            raise PlatformError("telegram", method, exc.reason.replace(self.token, "<token>"), exc.code) from None
        if not isinstance(reply, dict) or not reply.get("ok"):
            description = reply.get("description") if isinstance(reply, dict) else reply
            raise PlatformError("telegram", method, f"not ok: {description}",
                                reply.get("error_code") if isinstance(reply, dict) else None)
        return reply.get("result")

    async def send(self, chat_id: str, text: str, buttons: list[dict[str, Any]] | None, keys: CallbackKeys) -> None:
        for body in render(text, buttons, keys):
            await self.call("sendMessage", {"chat_id": chat_id, **body})


class TelegramOutput(OutputChannel):
    """The bot's replies to one chat (``recipient_id`` is the chat id)."""

    def __init__(self, api: TelegramApi, keys: CallbackKeys) -> None:
        self.api, self.keys = api, keys

    @classmethod
    def name(cls) -> str:
        return "telegram"

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.api.send(recipient_id, text, None, self.keys)

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: list[dict[str, Any]],
                                     **kwargs: Any) -> None:
        await self.api.send(recipient_id, text, buttons, self.keys)

    async def send_quick_replies(self, recipient_id: str, text: str, quick_replies: list[dict[str, Any]],
                                 **kwargs: Any) -> None:
        await self.api.send(recipient_id, text, quick_replies, self.keys)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self.api.call("sendPhoto", {"chat_id": recipient_id, "photo": image})

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        log.warning("telegram: custom JSON replies are not supported; dropped one for %s", recipient_id)


class TelegramOutbound:
    """Hand-off messages (a person's replies, notices) pushed to a chat."""

    def __init__(self, api: TelegramApi, keys: CallbackKeys) -> None:
        self.api, self.keys = api, keys

    async def send(self, recipient_id: str, text: str, buttons: list[dict[str, Any]] | None = None,
                   meta: dict[str, Any] | None = None) -> bool:
        text = outbound.signed(text, meta)
        try:
            await self.api.send(recipient_id, text, buttons, self.keys)
        except PlatformError as exc:
            log.warning("telegram: could not push a hand-off message to %s: %s", recipient_id, exc)
            return False
        return True


class TelegramInput(InputChannel):
    required_env: ClassVar[tuple[str, ...]] = ("TELEGRAM_BOT_TOKEN", "TELEGRAM_SECRET_TOKEN")

    @classmethod
    def name(cls) -> str:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> "TelegramInput":
        return cls(os.environ.get("TELEGRAM_BOT_TOKEN", "").strip(), os.environ.get("TELEGRAM_SECRET_TOKEN", ""))

    def __init__(self, bot_token: str, secret_token: str) -> None:
        match = _BOT_TOKEN.match(bot_token)
        if not match:
            raise ValueError("TELEGRAM_BOT_TOKEN must look like '123456789:AA…' (the token BotFather gave you)")
        if not _SECRET.match(secret_token):
            why = ("it is empty" if not secret_token else f"it has {len(secret_token)} characters"
                   if len(secret_token) > 256 else "it contains other characters")
            raise ValueError("TELEGRAM_SECRET_TOKEN must be 1–256 characters, each A–Z, a–z, 0–9, '_' or '-' "
                             f"(Telegram's rule for secret_token); {why}")
        self.bot_token, self.secret = bot_token, secret_token
        self.bot_id = match.group(1)
        self.keys = CallbackKeys()


    def blueprint(self, on_new_message: Handler) -> Blueprint:  # type: ignore[override]
        from faqbot.config import load_settings

        channels = load_settings().channels
        api = TelegramApi(channels.telegram_api, self.bot_token)
        seen = seen_ids(channels)
        handle = guarded(on_new_message)
        outbound.register(self.name(), TelegramOutbound(api, self.keys))
        hook = webhook_blueprint(self)

        @hook.listener("after_server_start")
        async def set_webhook(*_: Any) -> None:
            if channels.public_url:
                in_background(self.set_webhook(api, channels.public_url), "telegram setWebhook")
            else:
                log.info("telegram: [channels] public_url is not set; not calling setWebhook (set the webhook "
                         "yourself, with secret_token = TELEGRAM_SECRET_TOKEN)")

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            given = request.headers.get(SECRET_HEADER, "")
            # surrogateescape: a header that is not UTF-8 is compared as the bytes that were sent
            if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self.secret.encode("utf-8")):
                log.warning("telegram: rejected an update from %s: %s %s header", request.ip,
                            "wrong" if given else "missing", SECRET_HEADER)
                return response.json({"error": "forbidden"}, status=403)
            update = _json_object(request)
            if update is None or not isinstance(update.get("update_id"), int):
                log.warning("telegram: rejected a malformed update from %s (not a JSON object with an integer "
                            "update_id)", request.ip)
                return response.json({"error": "expected a Telegram Update object"}, status=400)
            if not await seen.first_time(f"telegram:{self.bot_id}:{update['update_id']}"):
                log.info("telegram: update %s was already received; not handled again", update["update_id"])
                return response.json({"ok": True})
            in_background(self.process(update, api, handle), "telegram update")
            return response.json({"ok": True})

        return hook

    async def set_webhook(self, api: TelegramApi, public_url: str) -> None:
        url = public_url.rstrip("/") + "/webhooks/telegram/webhook"
        try:
            await api.call("setWebhook", {"url": url, "secret_token": self.secret,
                                          "allowed_updates": ALLOWED_UPDATES})
        except Exception as exc:
            log.error("telegram: setWebhook(%s) failed: %s; updates will not arrive until the webhook is set",
                      url, exc)
        else:
            log.info("telegram: webhook set to %s", url)

    async def process(self, update: dict[str, Any], api: TelegramApi, handle: Handler) -> None:
        """One update, in the background: a text message or a button press."""
        try:
            if isinstance(update.get("message"), dict):
                await self._message(update, update["message"], api, handle)
            elif isinstance(update.get("callback_query"), dict):
                await self._callback(update, update["callback_query"], api, handle)
            else:
                log.debug("telegram: ignored update %s of kinds %s", update["update_id"], sorted(update))
        except Exception:
            log.exception("telegram: handling update %s failed", update.get("update_id"))

    async def _message(self, update: dict[str, Any], message: dict[str, Any], api: TelegramApi,
                       handle: Handler) -> None:
        chat_id = (message.get("chat") or {}).get("id")
        sender = message.get("from") or {}
        if chat_id is None or sender.get("is_bot"):
            return
        text = message.get("text")
        if not isinstance(text, str) or not text.strip():
            await api.send(str(chat_id), UNSUPPORTED, None, self.keys)
            return
        if _START.match(text.strip()):
            text = "/greet"
        await handle(self._user_message(text, chat_id, sender, update, api))

    async def _callback(self, update: dict[str, Any], query: dict[str, Any], api: TelegramApi,
                        handle: Handler) -> None:
        payload = self.keys.payload_for(str(query.get("data") or ""))
        try:  # first, so the button stops spinning even if the bot is slow
            answer = {"callback_query_id": query.get("id")}
            if payload is None:
                answer["text"] = EXPIRED
            await api.call("answerCallbackQuery", answer)
        except PlatformError as exc:
            log.warning("telegram: answerCallbackQuery failed: %s", exc)
        sender = query.get("from") or {}
        chat_id = ((query.get("message") or {}).get("chat") or {}).get("id", sender.get("id"))
        if payload is None or chat_id is None:
            log.info("telegram: button data %r from %s is not one of ours (or expired)", query.get("data"),
                     sender.get("id"))
            return
        await handle(self._user_message(payload, chat_id, sender, update, api))

    def _user_message(self, text: str, chat_id: Any, sender: dict[str, Any], update: dict[str, Any],
                      api: TelegramApi) -> UserMessage:
        return UserMessage(text, TelegramOutput(api, self.keys), str(chat_id), input_channel=self.name(),
                           metadata={"telegram": {"chat_id": chat_id, "user_id": sender.get("id"),
                                                  "update_id": update["update_id"]}},
                           message_id=f"telegram-{self.bot_id}-{update['update_id']}")


def _json_object(request: Request) -> dict[str, Any] | None:
    try:
        body = parse_json(request.body)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
