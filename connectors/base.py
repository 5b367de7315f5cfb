"""The one shape of a platform channel (WeChat, WeCom, DingTalk, Feishu,
Telegram, Slack, Messenger), so that a reviewer checks the order of the steps
in one place and a new platform writes only what is its own.

- ``required_env`` declares the variables the channel cannot work without
  (``connectors/mounting.py`` leaves the channel unmounted when one is unset);
- ``from_credentials`` builds every channel the same way: the environment and
  the one settings object (``from_env``); credentials.yml only names classes;
- ``POST /webhook`` runs verify → parse → dedup → (in the background) gate →
  bot → reply: ``verify`` authenticates and decodes (or raises
  :class:`Refusal`), ``parse`` says what the platform is acknowledged with and
  which :class:`Incoming` items it delivered, each claimed once through
  ``connectors/dedup.py``; the guard (``connectors/guard.py``) gives each
  message to the gate and then to the bot, and replies go out through the
  message's output channel. Platforms that answer in the webhook's own reply
  (WeChat, WeCom: ``connectors/wechat_xml.py``) override ``answer``;
- ``outbound()`` is the channel's push for a person's replies during a
  hand-off (``connectors/outbound.py`` looks it up from the app's channels).
"""

from __future__ import annotations

import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.background import in_background
from connectors.dedup import seen_ids
from connectors.gate import gate_lookup
from connectors.guard import Handler, guarded
from connectors.identity import parse_json
from connectors.webhook import webhook_blueprint

if TYPE_CHECKING:
    from connectors.outbound import Outbound
    from faqbot.config import Settings

Channel = TypeVar("Channel", bound="PlatformChannel")


class Refusal(Exception):
    """A request that must not reach the bot: ``status`` is the HTTP answer,
    ``reason`` the log line's why, ``answer`` what the sender is told (the
    reason unless given)."""

    def __init__(self, status: int, reason: str, answer: str | None = None) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason
        self.answer = reason if answer is None else answer


@dataclass
class Incoming:
    """One thing a webhook delivered for the bot: the ``message``, or what builds
    it in the background (it may reply itself, e.g. "text only", and return None);
    ``keys`` are claimed in ``connectors/dedup.py`` first (all must be new);
    items with the same ``group`` (one user's) are handled in order."""

    keys: list[str]
    message: UserMessage | Callable[[], Awaitable[UserMessage | None]]
    group: str = ""
    what: str = "message"


class PlatformChannel(InputChannel, ABC):
    """The base of every platform channel; subclasses write the platform part: ``from_env`` and
    ``verify`` (abstract: a channel missing one fails when it is created, not on its first
    webhook), and ``parse`` (or, for a passive reply, ``answer``)."""

    required_env: ClassVar[tuple[str, ...]] = ()

    def __init__(self, settings: Settings | None = None) -> None:
        from faqbot.config import load_settings

        self.settings = settings or load_settings()
        self.config = self.settings.channels
        self.seen = seen_ids(self.config)
        self.log = logging.getLogger(type(self).__module__)  # the module's name says which platform

    @classmethod
    def from_credentials(cls: type[Channel], credentials: dict[str, Any] | None) -> Channel:
        from faqbot.config import load_settings

        return cls.from_env(os.environ, load_settings())

    @classmethod
    @abstractmethod
    def from_env(cls: type[Channel], env: Mapping[str, str], settings: Settings) -> Channel:
        """The channel from its environment variables and the settings."""

    def outbound(self) -> Outbound | None:
        """How a person's replies reach this platform's users outside a turn (None: they poll)."""
        return None

    # ------------------------------------------------------------ the webhook

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        hook = webhook_blueprint(self)
        handle = guarded(on_new_message, gate=gate_lookup(hook))
        self.extend(hook, handle)

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = self.verify(request)
            except Refusal as refusal:
                return self.refuse(request, refusal)
            return await self.answer(request, body, handle)

        return hook

    def extend(self, hook: Blueprint, handle: Handler) -> None:
        """Routes and listeners of the platform's own (a GET handshake, a start-up call)."""

    @abstractmethod
    def verify(self, request: Request) -> Any:
        """The authentic, decoded body; :class:`Refusal` when it is not."""

    async def parse(self, request: Request, body: Any) -> tuple[HTTPResponse, list[Incoming]]:
        """The acknowledgement and what the request delivered; :class:`Refusal` when malformed.
        Every channel that keeps ``answer`` writes this; the passive-reply ones (WeChat, WeCom)
        replace ``answer`` itself, so it is not abstract."""
        raise NotImplementedError(f"{type(self).__name__} must override parse() or answer()")

    def duplicate(self, ack: HTTPResponse) -> HTTPResponse:
        """The answer to a request whose every item was seen before."""
        return ack

    async def answer(self, request: Request, body: Any, handle: Handler) -> HTTPResponse:
        """Acknowledge at once; the bot answers each new item in the background."""
        try:
            ack, items = await self.parse(request, body)
        except Refusal as refusal:
            return self.refuse(request, refusal)
        fresh: dict[str, list[Incoming]] = {}
        for item in items:
            if all([await self.seen.first_time(key) for key in item.keys]):
                fresh.setdefault(item.group, []).append(item)
            else:
                self.log.info("%s was already received (a retry or replay); not handled again", item.keys[-1])
        if items and not fresh:
            return self.duplicate(ack)
        for group in fresh.values():
            in_background(self._handle_in_order(group, handle), f"{self.name()} {group[0].what}")
        return ack

    async def _handle_in_order(self, items: list[Incoming], handle: Handler) -> None:
        for item in items:
            try:  # one item's failure must not lose the user's next ones
                message = item.message if isinstance(item.message, UserMessage) else await item.message()
                if message is not None:
                    await handle(message)
            except Exception:
                self.log.exception("handling %s failed", item.keys[-1] if item.keys else item.what)

    def refuse(self, request: Request | None, refusal: Refusal, what: str = "request") -> HTTPResponse:
        """The one log line and the answer a refused request gets."""
        source = f" from {request.ip}" if request is not None else ""
        self.log.warning("refused a %s%s (HTTP %d): %s", what, source, refusal.status, refusal.reason)
        return self.refusal_response(refusal)

    def refusal_response(self, refusal: Refusal) -> HTTPResponse:
        return response.json({"error": refusal.answer}, status=refusal.status)


def json_object(raw: bytes | str | None, answer: str | None = None) -> dict[str, Any]:
    """A body as a JSON object (``connectors.identity.parse_json``), else a 400
    :class:`Refusal` saying why (``answer``: what the sender is told instead)."""
    try:
        body = parse_json(raw)
    except ValueError as exc:
        raise Refusal(400, str(exc), answer) from None
    if not isinstance(body, dict):
        raise Refusal(400, "the body is not a JSON object", answer)
    return body


class PlatformOutput(OutputChannel, ABC):
    """The bot's replies to one user: Rasa's three text kinds go to one
    ``post`` (buttons and quick replies alike become the platform's buttons);
    custom JSON, which no platform here renders, is logged and dropped."""

    @abstractmethod
    async def post(self, recipient_id: str, text: str, buttons: list[dict[str, Any]] | None) -> None:
        """Send one message (``buttons`` as the platform's own) to ``recipient_id``."""

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.post(recipient_id, text, None)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.post(recipient_id, text, buttons)

    async def send_quick_replies(
        self, recipient_id: str, text: str, quick_replies: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.post(recipient_id, text, quick_replies)

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        logging.getLogger(type(self).__module__).warning(
            "custom JSON replies are not supported; dropped one for %s", recipient_id
        )
