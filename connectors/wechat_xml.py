"""What the WeChat Official Account (``connectors/wechat.py``) and WeCom
(``connectors/wecom.py``) channels share: the callback's XML and crypto, the
"passive reply within 5 s, else the API" rule, retries answered once, and an
API client that renews its access token when the platform says it expired.

Why one module: both platforms speak the same callback protocol (sha1
signatures over sorted strings, AES-256-CBC with the EncodingAESKey, one XML
reply per request), and both retry a callback they think failed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import xmltodict
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from sanic import response
from sanic.response import HTTPResponse
from wechatpy.exceptions import InvalidSignatureException

from connectors.background import in_background
from connectors.base import PlatformChannel, Refusal
from connectors.dedup import SeenIds
from connectors.guard import Handler
from connectors.platform_api import AccessToken, PlatformError, request_json
from connectors.replies import Choices, choices_for, numbered, split_text, utf8_len

if TYPE_CHECKING:
    from faqbot.config import Settings

log = logging.getLogger(__name__)

SUCCESS = "success"
TEXT_LIMIT_BYTES = 2048
# Neither platform documents a freshness window; a callback signed more than an
# hour ago (or from the future) is a replay. An hour also lets real retries of
# a slow delivery (3 tries within ~15 s) through with plenty of clock skew.
MAX_AGE_SECONDS = 3600
TEXT_ONLY = "抱歉，目前只能处理文字消息，请用文字描述您的问题。"
# The platform's codes for an access token that is invalid or expired.
TOKEN_ERRORS = {40001, 40014, 42001}


def check_fresh(timestamp: str, max_age: float = MAX_AGE_SECONDS) -> None:
    if not (timestamp.isascii() and timestamp.isdigit()):  # str.isdigit() alone accepts "²", which int() refuses
        raise Refusal(400, f"timestamp {timestamp[:20]!r} is not a number of seconds")
    skew = abs(time.time() - int(timestamp))
    if skew > max_age:
        raise Refusal(403, f"timestamp is {skew:.0f}s away from now (limit {max_age:.0f}s): a replay or a bad clock")


def parse_xml(raw: bytes | str) -> dict[str, str]:
    """The fields of a callback's ``<xml>`` as strings (nested elements are dropped)."""
    try:
        root = xmltodict.parse(raw, disable_entities=True)
    except Exception as exc:  # expat errors, bad encodings
        raise Refusal(400, f"the body is not well-formed XML ({type(exc).__name__}: {exc})") from None
    xml = root.get("xml") if isinstance(root, dict) else None
    if not isinstance(xml, dict):
        raise Refusal(400, "the body's root element is not <xml> with fields")
    return {k: (v if isinstance(v, str) else "") for k, v in xml.items()}


def cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply_xml(to_user: str, from_user: str, content: str) -> str:
    """The passive text reply (the same format on WeChat and WeCom)."""
    return (
        f"<xml><ToUserName>{cdata(to_user)}</ToUserName><FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType>{cdata('text')}</MsgType>"
        f"<Content>{cdata(content)}</Content></xml>"
    )


class Cipher:
    """A wechatpy ``WeChatCrypto`` (public-account or WeCom flavour) with the
    errors turned into a ``Refusal``: bad signature or wrong AppID/CorpID → 403,
    undecryptable data → 400."""

    def __init__(self, crypto: Any, receiver: str) -> None:
        self.crypto, self.receiver = crypto, receiver

    def _guard(self, call: Callable[[], str], what: str) -> str:
        try:
            return call()
        except InvalidSignatureException:
            raise Refusal(403, f"{what}: msg_signature does not match (forged, or the token is wrong)") from None
        except Exception as exc:
            if type(exc).__name__ in ("InvalidAppIdException", "InvalidCorpIdException"):
                raise Refusal(403, f"{what}: decrypted, but not addressed to {self.receiver}") from None
            raise Refusal(400, f"{what}: cannot decrypt ({type(exc).__name__}; wrong EncodingAESKey?)") from None

    def decrypt_body(self, encrypt: str, msg_signature: str, timestamp: str, nonce: str) -> str:
        if not encrypt:
            raise Refusal(400, "the body has no <Encrypt> field")
        return self._guard(
            lambda: self.crypto.decrypt_message({"Encrypt": encrypt}, msg_signature, timestamp, nonce), "message"
        )

    def decrypt_echo(self, echostr: str, msg_signature: str, timestamp: str, nonce: str) -> str:
        return self._guard(
            lambda: self.crypto.check_signature(msg_signature, timestamp, nonce, echostr), "URL verification"
        )

    def encrypt(self, xml: str) -> str:
        return self.crypto.encrypt_message(xml, secrets.token_hex(8), str(int(time.time())))


# ---------------------------------------------------------------- replies


def message_text(message: dict[str, Any]) -> str:
    """A collected bot message as text (an image or attachment as its URL)."""
    text = message.get("text") or message.get("image") or message.get("attachment") or ""
    custom = message.get("custom")
    if not text and isinstance(custom, dict):
        text = custom.get("text") or ""
    return text.strip() if isinstance(text, str) else ""


async def render(messages: list[dict[str, Any]], choices: Choices, user: str) -> str:
    """The bot's messages of one turn as one text; buttons become a numbered
    list at the end (remembered so "1" maps back to the payload)."""
    parts, buttons = [], []
    for m in messages:
        text = message_text(m)
        if text:
            parts.append(text)
        buttons += [b for b in m.get("buttons") or [] if isinstance(b, dict)]
    body = "\n\n".join(parts)
    if buttons:
        await choices.offer(user, buttons)
        body = numbered(body, buttons)
    return body


def pieces(text: str) -> list[str]:
    return split_text(text, TEXT_LIMIT_BYTES, utf8_len)


class PushingOutput(CollectingOutputChannel):
    """Collects like Rasa's collector and hands each message on at once
    (channels with no passive reply: WeCom 微信客服)."""

    def __init__(self, push: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        super().__init__()
        self._push = push

    async def _persist_message(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        await self._push(message)


# ---------------------------------------------------------------- delivery


class Deliveries:
    """Each platform message id is answered once.

    The first delivery claims the id (``connectors.dedup``, shared between
    servers when Redis is configured) and produces the HTTP body. A retry that
    reaches this process meanwhile (the platform gave up waiting) gets the SAME
    body: the platform shows only the answer to its latest try, so the user
    sees one answer even if the first response was lost. A retry of an id this
    process does not know (another server, or long ago) gets ``success``.
    """

    def __init__(self, seen: SeenIds, keep_seconds: float = 300) -> None:
        self.seen, self.keep = seen, keep_seconds
        self._bodies: dict[str, tuple[float, asyncio.Future[str]]] = {}

    async def answer_once(self, key: str, produce: Callable[[], Awaitable[str]], wait: float) -> tuple[str, bool]:
        """(HTTP body, whether this call produced it)."""
        now = time.monotonic()
        if len(self._bodies) > 1000:  # forget finished deliveries past their retry window
            self._bodies = {k: v for k, v in self._bodies.items() if now - v[0] < self.keep}
        known = self._bodies.get(key)
        if known is not None and now - known[0] < self.keep:
            log.info("platform retry of %s: answered with the first delivery's reply", key)
            try:
                return await asyncio.wait_for(asyncio.shield(known[1]), wait), False
            except TimeoutError:
                return SUCCESS, False
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._bodies[key] = (now, future)
        if not await self.seen.first_time(key):
            log.info("platform retry of %s (seen before): answered 'success'", key)
            future.set_result(SUCCESS)
            return SUCCESS, False
        try:
            body = await produce()
        except BaseException:
            future.set_result(SUCCESS)
            raise
        future.set_result(body)
        return body, True


@dataclass
class Turn:
    """One message for the bot on a passive-reply platform."""

    text: str
    sender: str
    channel: str
    message_id: str
    metadata: dict[str, Any]


async def passive_or_push(
    handle: Callable[[UserMessage], Awaitable[Any]],
    turn: Turn,
    seconds: float,
    choices: Choices,
    push: Callable[[list[str]], Awaitable[None]],
) -> str | None:
    """Give the bot ``seconds``. If it finished and its answer fits in one
    message, return that text (the caller sends it as the passive reply).
    Otherwise return None at once and ``push`` the pieces in order when the bot
    is done (several messages go all through the API, so they cannot arrive
    out of order)."""
    collector = CollectingOutputChannel()
    message = UserMessage(
        turn.text,
        collector,
        turn.sender,
        input_channel=turn.channel,
        metadata=turn.metadata,
        message_id=turn.message_id,
    )
    task = asyncio.ensure_future(handle(message))
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if done:
        task.result()
        texts = pieces(await render(collector.messages, choices, turn.sender))
        if len(texts) <= 1:
            return texts[0] if texts else ""
        in_background(push(texts), f"sending a {len(texts)}-part answer to {turn.sender}")
        return None

    async def later() -> None:
        await task
        texts = pieces(await render(collector.messages, choices, turn.sender))
        log.info("the bot took over %.2fs for %s: %d message(s) sent through the API", seconds, turn.sender, len(texts))
        await push(texts)

    in_background(later(), f"the late answer to {turn.sender}")
    return None


# ---------------------------------------------------------------- API


class ApiClient:
    """A WeChat-family API: JSON bodies with ``errcode``/``errmsg``, an access
    token in the query, renewed once when the platform rejects it."""

    def __init__(self, platform: str, base: str, token_path: str, token_query: dict[str, str]) -> None:
        self.platform, self.base = platform, base.rstrip("/")
        self.token = AccessToken(self._fetch_token)
        self._token_path, self._token_query = token_path, token_query

    async def _fetch_token(self) -> tuple[str, float]:
        data = await request_json(self.platform, "GET", self.base + self._token_path, params=self._token_query)
        if not isinstance(data, dict) or data.get("errcode") or not data.get("access_token"):
            reason = data.get("errmsg", data) if isinstance(data, dict) else data
            raise PlatformError(
                self.platform,
                self._token_path,
                f"no access token: {reason}",
                code=data.get("errcode") if isinstance(data, dict) else None,
            )
        return str(data["access_token"]), float(data.get("expires_in") or 7200)

    def token_rejected(self) -> None:
        """The platform said the token is no longer valid: the next call fetches another."""
        self.token.invalidate()

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``body``; the reply's JSON, or PlatformError with the platform's errmsg."""
        for attempt in (1, 2):
            token = await self.token.get()
            data = await request_json(
                self.platform,
                "POST",
                self.base + path,
                params={"access_token": token},
                content=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                headers={"Content-Type": "application/json; charset=utf-8"},
            )
            data = data if isinstance(data, dict) else {}
            code = data.get("errcode") or 0
            if code in TOKEN_ERRORS and attempt == 1:
                log.warning(
                    "%s %s: access token rejected (%s %s); fetching a new one",
                    self.platform,
                    path,
                    code,
                    data.get("errmsg"),
                )
                self.token_rejected()
                continue
            if code:
                raise PlatformError(self.platform, path, f"errcode {code}: {data.get('errmsg', '')}", code=code)
            return data
        raise AssertionError("unreachable")


async def what_to_do(
    channel: str, choices: Choices, user: str, kind: str, fields: dict[str, str], welcome_event: str
) -> tuple[str, str]:
    """(text for the bot, or a reply given without the bot); both empty: nothing to say.

    Text goes to the bot (a number picks one of the options last shown); the
    welcome event (subscribe, enter_agent) greets; a menu click sends its key."""
    if kind == "text":
        content = fields.get("Content", "").strip()
        return (await choices.resolve(user, content), "") if content else ("", "")
    if kind == "event":
        event = fields.get("Event", "").lower()
        if event == welcome_event:
            return "/greet", ""
        if event == "click" and fields.get("EventKey", "").strip():
            return fields["EventKey"].strip(), ""
        log.info("%s: %s event from %s ignored", channel, event or "unnamed", user)
        return "", ""
    log.info("%s: a %s message from %s; only text is handled", channel, kind, user)
    return "", TEXT_ONLY


class PassiveReplyChannel(PlatformChannel):
    """A platform that takes the answer in the webhook's own reply (WeChat,
    WeCom apps): verify → parse → one answer per message id
    (:class:`Deliveries`) → the bot, given ``passive_reply_seconds`` → the
    passive reply, else the API. Subclasses say how a reply is sealed
    (encrypted or not) and pushed, and answer with :meth:`passive_answer`."""

    welcome_event: ClassVar[str] = "subscribe"  # the event that greets
    no_reply: ClassVar[str] = SUCCESS  # the body that says "received, nothing to reply"

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__(settings)
        self.choices = choices_for(self.config, self.name())
        self.passive_seconds = self.config.passive_reply_seconds
        self.deliveries = Deliveries(self.seen)

    def refusal_response(self, refusal: Refusal) -> HTTPResponse:
        return response.text(refusal.answer, status=refusal.status)

    async def passive_answer(
        self,
        handle: Handler,
        fields: dict[str, str],
        metadata: dict[str, Any],
        push: Callable[[list[str]], Awaitable[None]],
        seal: Callable[[str], str],
    ) -> HTTPResponse:
        """The webhook's reply to one message (``fields``); ``push`` sends what does not fit
        in it later, ``seal`` makes the reply XML what the platform accepts."""
        user, account = fields.get("FromUserName", ""), fields.get("ToUserName", "")
        kind = fields.get("MsgType", "").lower()
        key = f"{self.name()}:" + (
            fields.get("MsgId") or f"{user}:{fields.get('CreateTime', '')}:{fields.get('Event', '')}"
        )

        async def produce() -> str:
            text, reply = await what_to_do(self.name(), self.choices, user, kind, fields, self.welcome_event)
            direct = (
                await passive_or_push(
                    handle,
                    turn=Turn(text, user, self.name(), key, metadata),
                    seconds=self.passive_seconds,
                    choices=self.choices,
                    push=push,
                )
                if text
                else reply
            )
            return seal(text_reply_xml(user, account, direct)) if direct else SUCCESS

        body, _ = await self.deliveries.answer_once(key, produce, self.passive_seconds + 0.5)
        if body == SUCCESS:
            return response.text(self.no_reply)
        return response.text(body, content_type="application/xml; charset=utf-8")
