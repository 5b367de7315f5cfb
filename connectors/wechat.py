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

import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

from connectors.base import Refusal
from connectors.guard import Handler
from connectors.outbound import SignedOutbound
from connectors.platform_api import PlatformError, request_json
from connectors.replies import Choices, numbered
from connectors.wechat_xml import ApiClient, Cipher, PassiveReplyChannel, check_fresh, parse_xml, pieces

if TYPE_CHECKING:
    from faqbot.config import Settings

log = logging.getLogger(__name__)


class WeChatApi(ApiClient):
    """The customer-service message API (客服消息), used after the 5 s window and for agents.

    The token comes from the stable-token API (``/cgi-bin/stable_token``): with several
    servers each fetching one, ``/cgi-bin/token`` would invalidate the others' tokens on
    every fetch; the stable token is the same for all of them until it expires. Only
    after WeChat rejected it is a new one forced (``force_refresh``, limited per day)."""

    TOKEN_PATH = "/cgi-bin/stable_token"

    def __init__(self, base: str, app_id: str, secret: str) -> None:
        super().__init__("wechat", base, self.TOKEN_PATH, {"appid": app_id, "secret": secret})
        self._force_refresh = False

    def token_rejected(self) -> None:
        self._force_refresh = True
        super().token_rejected()

    async def _fetch_token(self) -> tuple[str, float]:
        body = {"grant_type": "client_credential", **self._token_query, "force_refresh": self._force_refresh}
        data = await request_json(
            "wechat",
            "POST",
            self.base + self.TOKEN_PATH,
            content=json.dumps(body).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        if not isinstance(data, dict) or data.get("errcode") or not data.get("access_token"):
            reason = data.get("errmsg", data) if isinstance(data, dict) else data
            code = data.get("errcode") if isinstance(data, dict) else None
            raise PlatformError("wechat", self.TOKEN_PATH, f"no access token: {reason}", code=code)
        self._force_refresh = False
        return str(data["access_token"]), float(data.get("expires_in") or 7200)

    async def send_text(self, openid: str, text: str) -> None:
        await self.post(
            "/cgi-bin/message/custom/send", {"touser": openid, "msgtype": "text", "text": {"content": text}}
        )

    async def send_texts(self, openid: str, texts: list[str]) -> None:
        for text in texts:
            await self.send_text(openid, text)


class WeChatOutbound(SignedOutbound):
    """Agent replies and hand-off notices during a hand-off, through the API."""

    platform = "wechat"

    def __init__(self, api: WeChatApi, choices: Choices) -> None:
        self.api, self.choices = api, choices

    async def push(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]] | None, meta: dict[str, Any] | None
    ) -> bool:
        if buttons:
            await self.choices.offer(recipient_id, buttons)
            text = numbered(text, buttons)
        await self.api.send_texts(recipient_id, pieces(text))
        return True


def _cipher(token: str, key: str, app_id: str, name: str) -> Cipher:
    try:
        crypto = WeChatCrypto(token, key, app_id)
    except Exception:
        raise ValueError(f"{name} must be the 43-character EncodingAESKey from the WeChat admin console") from None
    return Cipher(crypto, f"AppID {app_id}")


class WeChatInput(PassiveReplyChannel):
    required_env: ClassVar[tuple[str, ...]] = ("WECHAT_TOKEN", "WECHAT_APP_ID", "WECHAT_APP_SECRET")
    welcome_event = "subscribe"

    @classmethod
    def name(cls) -> str:
        return "wechat"

    @classmethod
    def from_env(cls, env: Mapping[str, str], settings: Settings) -> WeChatInput:
        names = ("WECHAT_AES_KEY", "WECHAT_AES_KEY_OLD")
        keys = {name: env[name].strip() for name in names if env.get(name, "").strip()}
        return cls(
            env["WECHAT_TOKEN"].strip(), env["WECHAT_APP_ID"].strip(), env["WECHAT_APP_SECRET"].strip(), keys, settings
        )

    def __init__(
        self,
        token: str,
        app_id: str,
        app_secret: str,
        aes_keys: Mapping[str, str] | None = None,
        settings: Settings | None = None,
    ) -> None:
        """``aes_keys``: variable name → EncodingAESKey, the current key first, then the
        previous one (safe mode; none: plaintext)."""
        super().__init__(settings)
        self.token, self.app_id = token, app_id
        self.ciphers = [_cipher(token, key, app_id, name) for name, key in (aes_keys or {}).items()]
        self.api = WeChatApi(self.config.wechat_api, app_id, app_secret)

    def outbound(self) -> WeChatOutbound:
        return WeChatOutbound(self.api, self.choices)

    def extend(self, hook: Blueprint, handle: Handler) -> None:
        @hook.route("/webhook", methods=["GET"])
        async def url_verification(request: Request) -> HTTPResponse:
            try:
                self._check_plain_signature(request)
            except Refusal as refusal:
                return self.refuse(request, refusal, "URL verification")
            return response.text(request.args.get("echostr", ""))

    # ------------------------------------------------------------ auth

    def _check_plain_signature(self, request: Request) -> None:
        args = request.args
        check_fresh(args.get("timestamp", ""))
        try:
            check_signature(self.token, args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", ""))
        except InvalidSignatureException:
            raise Refusal(403, "signature does not match (forged, or WECHAT_TOKEN is wrong)") from None

    def verify(self, request: Request) -> tuple[dict[str, str], Cipher | None]:
        """The message's fields, and the cipher its reply must be encrypted with (None: plaintext)."""
        args = request.args
        mode = args.get("encrypt_type", "raw") or "raw"
        if mode == "raw":
            if self.ciphers:
                raise Refusal(403, "a plaintext message, but safe mode is configured (WECHAT_AES_KEY): refused")
            self._check_plain_signature(request)
            return parse_xml(request.body), None
        if mode != "aes":
            raise Refusal(400, f"unknown encrypt_type {mode[:20]!r}")
        if not self.ciphers:
            raise Refusal(400, "an encrypted message (encrypt_type=aes), but WECHAT_AES_KEY is not set")
        timestamp = args.get("timestamp", "")
        check_fresh(timestamp)
        encrypt = parse_xml(request.body).get("Encrypt", "")
        first: Refusal | None = None
        for cipher in self.ciphers:  # the current key, then the previous one
            try:
                xml = cipher.decrypt_body(encrypt, args.get("msg_signature", ""), timestamp, args.get("nonce", ""))
                return parse_xml(xml), cipher
            except Refusal as exc:
                first = first or exc
        assert first is not None
        raise first

    # ------------------------------------------------------------ messages

    async def answer(
        self, request: Request, body: tuple[dict[str, str], Cipher | None], handle: Handler
    ) -> HTTPResponse:
        fields, cipher = body
        user = fields.get("FromUserName", "")
        kind = fields.get("MsgType", "").lower()
        if not user or not kind:
            return self.refuse(None, Refusal(400, "the message has no FromUserName or MsgType"), "message")
        return await self.passive_answer(
            handle,
            fields,
            {"wechat": {"msg_type": kind, "account": fields.get("ToUserName", "")}},
            lambda texts: self.api.send_texts(user, texts),
            cipher.encrypt if cipher else lambda xml: xml,
        )
