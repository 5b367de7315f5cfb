"""The WeChat Official Account (公众号) channel: ``/webhooks/wechat/webhook``.

- URL verification: ``GET ?signature&timestamp&nonce&echostr`` → echostr as is.
- Messages: ``POST`` XML, plaintext (``signature``) or, with ``WECHAT_AES_KEY``
  set, safe mode only (``encrypt_type=aes``, ``msg_signature``, AES; the AppID
  inside must be ours). A plaintext POST is refused once a key is configured:
  anyone who knows the token could otherwise bypass the encryption.
- WeChat waits 5 s for the answer, then retries (3 tries): the bot gets
  ``passive_reply_seconds``; a quick one-message answer is the passive reply
  XML, anything else is ``success`` now and the customer-service API later.
- Text → bot (a reply "1" picks the first numbered option); subscribe →
  ``/greet``; menu CLICK → its EventKey; images, voice… → a polite text-only
  notice without the bot; other events → ``success``.

Secrets come from the environment only: ``WECHAT_TOKEN``, ``WECHAT_APP_ID``,
``WECHAT_APP_SECRET``, optional ``WECHAT_AES_KEY`` (and ``WECHAT_AES_KEY_OLD``,
the previous key, still accepted while WeChat switches over).
"""

from __future__ import annotations

import logging
import os
from typing import Any, ClassVar, Mapping

from rasa.core.channels.channel import InputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

from connectors import outbound
from connectors.dedup import seen_ids
from connectors.guard import Handler, guarded
from connectors.platform_api import PlatformError
from connectors.replies import Choices, numbered
from connectors.webhook import webhook_blueprint
from connectors.wechat_xml import (
    SUCCESS,
    ApiClient,
    Cipher,
    Deliveries,
    Rejected,
    Turn,
    check_fresh,
    parse_xml,
    passive_or_push,
    pieces,
    refuse,
    text_reply_xml,
    what_to_do,
)
from faqbot.config import ChannelsConfig, load_settings

log = logging.getLogger(__name__)


class WeChatApi(ApiClient):
    """The customer-service message API (客服消息), used after the 5 s window and for agents."""

    def __init__(self, base: str, app_id: str, secret: str) -> None:
        super().__init__("wechat", base, "/cgi-bin/token",
                         {"grant_type": "client_credential", "appid": app_id, "secret": secret})

    async def send_text(self, openid: str, text: str) -> None:
        await self.post("/cgi-bin/message/custom/send",
                        {"touser": openid, "msgtype": "text", "text": {"content": text}})

    async def send_texts(self, openid: str, texts: list[str]) -> None:
        for text in texts:
            await self.send_text(openid, text)


class WeChatOutbound:
    """Agent replies and hand-off notices during a hand-off, through the API."""

    def __init__(self, api: WeChatApi, choices: Choices) -> None:
        self.api, self.choices = api, choices

    async def send(self, recipient_id: str, text: str, buttons: list[dict[str, Any]] | None = None,
                   meta: dict[str, Any] | None = None) -> bool:
        text = outbound.signed(text, meta)
        if buttons:
            self.choices.offer(recipient_id, buttons)
            text = numbered(text, buttons)
        try:
            await self.api.send_texts(recipient_id, pieces(text))
        except PlatformError as exc:
            log.warning("wechat: could not push to %s: %s", recipient_id, exc)
            return False
        return True


def _cipher(token: str, key: str, app_id: str, name: str) -> Cipher:
    try:
        crypto = WeChatCrypto(token, key, app_id)
    except Exception:
        raise ValueError(f"{name} must be the 43-character EncodingAESKey from the WeChat admin console") from None
    return Cipher(crypto, f"AppID {app_id}")


class WeChatInput(InputChannel):
    required_env: ClassVar[tuple[str, ...]] = ("WECHAT_TOKEN", "WECHAT_APP_ID", "WECHAT_APP_SECRET")

    @classmethod
    def name(cls) -> str:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> "WeChatInput":
        return cls()

    def __init__(self, env: Mapping[str, str] | None = None, channels: ChannelsConfig | None = None) -> None:
        env = os.environ if env is None else env
        channels = channels or load_settings().channels
        self.token, self.app_id = env["WECHAT_TOKEN"].strip(), env["WECHAT_APP_ID"].strip()
        self.ciphers = [_cipher(self.token, env[name].strip(), self.app_id, name)
                        for name in ("WECHAT_AES_KEY", "WECHAT_AES_KEY_OLD") if env.get(name, "").strip()]
        self.api = WeChatApi(channels.wechat_api, self.app_id, env["WECHAT_APP_SECRET"].strip())
        self.choices = Choices(channels.choice_ttl)
        self.passive_seconds = channels.passive_reply_seconds
        self.deliveries = Deliveries(seen_ids(channels))

    def blueprint(self, on_new_message: Handler) -> Blueprint:  # type: ignore[override]
        handle = guarded(on_new_message)
        hook = webhook_blueprint(self)
        outbound.register(self.name(), WeChatOutbound(self.api, self.choices))

        @hook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            try:
                self._check_plain_signature(request)
            except Rejected as exc:
                return refuse("wechat", request, exc, "URL verification")
            return response.text(request.args.get("echostr", ""))

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                fields, cipher = self._open(request)
            except Rejected as exc:
                return refuse("wechat", request, exc, "message")
            return await self._answer(handle, fields, cipher)

        return hook

    # ------------------------------------------------------------ auth

    def _check_plain_signature(self, request: Request) -> None:
        args = request.args
        check_fresh(args.get("timestamp", ""))
        try:
            check_signature(self.token, args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", ""))
        except InvalidSignatureException:
            raise Rejected(403, "signature does not match (forged, or WECHAT_TOKEN is wrong)") from None

    def _open(self, request: Request) -> tuple[dict[str, str], Cipher | None]:
        """The message's fields, and the cipher its reply must be encrypted with (None: plaintext)."""
        args = request.args
        mode = args.get("encrypt_type", "raw") or "raw"
        if mode == "raw":
            if self.ciphers:
                raise Rejected(403, "a plaintext message, but safe mode is configured (WECHAT_AES_KEY): refused")
            self._check_plain_signature(request)
            return parse_xml(request.body), None
        if mode != "aes":
            raise Rejected(400, f"unknown encrypt_type {mode[:20]!r}")
        if not self.ciphers:
            raise Rejected(400, "an encrypted message (encrypt_type=aes), but WECHAT_AES_KEY is not set")
        timestamp = args.get("timestamp", "")
        check_fresh(timestamp)
        encrypt = parse_xml(request.body).get("Encrypt", "")
        first: Rejected | None = None
        for cipher in self.ciphers:  # the current key, then the previous one
            try:
                xml = cipher.decrypt_body(encrypt, args.get("msg_signature", ""), timestamp, args.get("nonce", ""))
                return parse_xml(xml), cipher
            except Rejected as exc:
                first = first or exc
        assert first is not None
        raise first

    # ------------------------------------------------------------ messages

    async def _answer(self, handle: Handler, fields: dict[str, str], cipher: Cipher | None) -> HTTPResponse:
        user, account = fields.get("FromUserName", ""), fields.get("ToUserName", "")
        kind = fields.get("MsgType", "").lower()
        if not user or not kind:
            return refuse("wechat", None, Rejected(400, "the message has no FromUserName or MsgType"), "message")
        key = "wechat:" + (fields.get("MsgId") or f"{user}:{fields.get('CreateTime', '')}:{fields.get('Event', '')}")

        async def produce() -> str:
            text, direct = what_to_do("wechat", self.choices, user, kind, fields, "subscribe")
            if text:
                turn = Turn(text, user, self.name(), key, {"wechat": {"msg_type": kind, "account": account}})
                direct = await passive_or_push(handle, turn, self.passive_seconds, self.choices,
                                               lambda texts: self.api.send_texts(user, texts))
            if not direct:
                return SUCCESS
            xml = text_reply_xml(user, account, direct)
            return cipher.encrypt(xml) if cipher else xml

        body, _ = await self.deliveries.answer_once(key, produce, self.passive_seconds + 0.5)
        if body == SUCCESS:
            return response.text(SUCCESS)
        return response.text(body, content_type="application/xml; charset=utf-8")
