"""The WeCom (企业微信) channel, ``/webhooks/wecom/webhook``: a self-built app's
messages and 微信客服 (KF, WeChat users talking to the company's service
account), on one callback URL.

- URL verification: ``GET ?msg_signature&timestamp&nonce&echostr``, echostr is
  encrypted: verify, decrypt, return the plaintext exactly.
- Every POST is encrypted; the signature and our CorpID inside are checked.
- App messages: as on WeChat, a passive reply within ``passive_reply_seconds``,
  else ``success`` and ``message/send`` (needs the app's AgentID: from
  ``WECOM_AGENT_ID``, or learnt from the callbacks). enter_agent → ``/greet``;
  menu click → its EventKey.
- KF: the callback only says "there is news" (``kf_msg_or_event`` + a Token):
  answered at once, then ``kf/sync_msg`` is read from the cursor kept in the
  database (``connectors/channel_state.py``: per OpenKfId, survives restarts and is
  shared by several servers; with several, ``[channels] dedup_url`` makes a message
  read by two of them answered once); each new
  customer message (origin 3) goes to the bot as ``kf:<open_kfid>:<external_userid>``
  and every reply goes out through ``kf/send_msg`` (buttons as a ``msgmenu``).

Secrets from the environment: ``WECOM_TOKEN``, ``WECOM_CORP_ID``,
``WECOM_SECRET``, ``WECOM_AES_KEY``; optional ``WECOM_AGENT_ID``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from wechatpy.work.crypto import WeChatCrypto

from connectors.background import in_background
from connectors.base import Refusal
from connectors.channel_state import ChannelStateStore, StateMap
from connectors.dedup import SeenIds
from connectors.guard import Handler
from connectors.one_reader import MemoryOneReader, OneReader, one_reader
from connectors.outbound import SignedOutbound
from connectors.platform_api import PlatformError
from connectors.replies import Choices, numbered, utf8_len
from connectors.wechat_xml import (
    MAX_AGE_SECONDS,
    TEXT_ONLY,
    ApiClient,
    Cipher,
    PassiveReplyChannel,
    PushingOutput,
    check_fresh,
    message_text,
    parse_xml,
    pieces,
)

if TYPE_CHECKING:
    from faqbot.config import Settings

log = logging.getLogger(__name__)

KF_PREFIX = "kf:"
KF_CUSTOMER = 3  # sync_msg "origin": 3 = the WeChat customer, 4 = system, 5 = a servicer
SESSION_ENDED = 3  # session_status_change "change_type": 1 taken from the queue, 2 transferred, 3 ended
MENU_ID_BYTES = 128
MENU_HEAD_BYTES = 1024


def kf_sender(open_kfid: str, external_userid: str) -> str:
    """The bot's sender id for a KF customer; app user ids cannot contain ':'."""
    return f"{KF_PREFIX}{open_kfid}:{external_userid}"


def parse_kf_sender(sender: str) -> tuple[str, str] | None:
    if not sender.startswith(KF_PREFIX) or sender.count(":") < 2:
        return None
    open_kfid, external_userid = sender[len(KF_PREFIX) :].split(":", 1)
    return open_kfid, external_userid


class WeComApi(ApiClient):
    def __init__(self, base: str, corp_id: str, secret: str) -> None:
        super().__init__("wecom", base, "/cgi-bin/gettoken", {"corpid": corp_id, "corpsecret": secret})

    async def send_app_text(self, userid: str, agent_id: str, text: str) -> None:
        data = await self.post(
            "/cgi-bin/message/send",
            {
                "touser": userid,
                "msgtype": "text",
                "agentid": int(agent_id) if agent_id.isdigit() else agent_id,
                "text": {"content": text},
            },
        )
        if data.get("invaliduser"):
            raise PlatformError("wecom", "message/send", f"invalid user {data['invaliduser']}")

    async def sync_msg(self, open_kfid: str, token: str, cursor: str) -> dict[str, Any]:
        body = {"cursor": cursor, "token": token, "limit": 1000, "open_kfid": open_kfid}
        return await self.post("/cgi-bin/kf/sync_msg", body)

    async def send_kf(self, open_kfid: str, external_userid: str, msgtype: str, content: dict[str, Any]) -> None:
        await self.post(
            "/cgi-bin/kf/send_msg",
            {"touser": external_userid, "open_kfid": open_kfid, "msgtype": msgtype, msgtype: content},
        )

    async def send_kf_on_event(self, code: str, msgtype: str, content: dict[str, Any]) -> None:
        """The welcome message (``welcome_code`` from enter_session, valid 20 s, once)."""
        await self.post("/cgi-bin/kf/send_msg_on_event", {"code": code, "msgtype": msgtype, msgtype: content})

    async def trans_service_state(
        self, open_kfid: str, external_userid: str, service_state: int, servicer_userid: str = ""
    ) -> dict[str, Any]:
        """Move a KF session: 1 bot, 2 queue for a person, 3 a named servicer, 4 ended."""
        body: dict[str, Any] = {
            "open_kfid": open_kfid,
            "external_userid": external_userid,
            "service_state": service_state,
        }
        if servicer_userid:
            body["servicer_userid"] = servicer_userid
        return await self.post("/cgi-bin/kf/service_state/trans", body)


class WeComSender:
    """Everything the bot or an agent says to a WeCom user: app users through
    message/send, KF customers through kf/send_msg (buttons → msgmenu)."""

    def __init__(self, api: WeComApi, choices: Choices, agent_id: str) -> None:
        self.api, self.choices, self.agent_id = api, choices, agent_id

    async def to_app_user(self, userid: str, texts: list[str]) -> None:
        if not self.agent_id:
            raise PlatformError("wecom", "message/send", "the app's AgentID is unknown (set WECOM_AGENT_ID)")
        for text in texts:
            await self.api.send_app_text(userid, self.agent_id, text)

    async def to_kf_customer(
        self, sender: str, text: str, buttons: list[dict[str, Any]] | None = None, welcome_code: str = ""
    ) -> None:
        parsed = parse_kf_sender(sender)
        if parsed is None:
            raise PlatformError("wecom", "kf/send_msg", f"{sender!r} is not a KF sender id")
        open_kfid, external_userid = parsed
        sends: list[tuple[str, dict[str, Any]]] = [("text", {"content": p}) for p in pieces(text)]
        if buttons:
            await self.choices.offer(sender, buttons)  # typing "1" works too
            head = "请选择："  # the menu's heading is the last piece of text when it fits
            if sends and utf8_len(sends[-1][1]["content"]) <= MENU_HEAD_BYTES:
                head = sends.pop()[1]["content"]
            sends.append(("msgmenu", {"head_content": head, "list": _menu_items(buttons)}))
        for msgtype, content in sends:
            if welcome_code:
                await self.api.send_kf_on_event(welcome_code, msgtype, content)
                welcome_code = ""
            else:
                await self.api.send_kf(open_kfid, external_userid, msgtype, content)

    async def menu_choice(self, sender: str, menu_id: str, content: str) -> str:
        """What a click on one of our menus means: its payload (or, by number, the offered button's)."""
        if menu_id.isdigit():
            picked = await self.choices.resolve(sender, menu_id)
            return picked if picked != menu_id else content
        return menu_id


def _menu_items(buttons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Click items whose id is the button's payload (returned as ``menu_id`` on a click),
    or its number when the payload is too long for an id."""
    items = []
    for i, b in enumerate(buttons, 1):
        payload = str(b.get("payload") or b.get("title") or "")
        menu_id = payload if 0 < utf8_len(payload) <= MENU_ID_BYTES and not payload.isdigit() else str(i)
        items.append({"type": "click", "click": {"id": menu_id, "content": str(b.get("title", ""))[:40]}})
    return items


class WeComOutbound(SignedOutbound):
    """Agent replies and hand-off notices, routed by the sender id's form; with
    ``WECOM_KF_HANDOFF_TO`` set, 微信客服 hand-offs go to WeCom's own servicers."""

    platform = "wecom"

    def __init__(self, sender: WeComSender, api: WeComApi, humans: StateMap, handoff_to: str = "") -> None:
        self.sender, self.api, self.humans, self.handoff_to = sender, api, humans, handoff_to

    async def take_over(self, recipient_id: str) -> bool:
        """Move a KF customer who asked for a person into WeCom's queue ("queue",
        service_state 2) or to a named servicer (service_state 3). The bot then
        stays out of the session until WeCom reports it ended."""
        kf = parse_kf_sender(recipient_id)
        if not kf or not self.handoff_to:
            return False
        open_kfid, user = kf
        to_queue = self.handoff_to == "queue"
        try:
            await self.api.trans_service_state(
                open_kfid, user, 2 if to_queue else 3, "" if to_queue else self.handoff_to
            )
        except PlatformError as exc:
            log.warning("could not hand %s to WeCom's servicers (%s); it stays in the console queue", recipient_id, exc)
            return False
        await self.humans.put(recipient_id, str(int(time.time())))
        log.info("%s handed to WeCom's %s", recipient_id, "queue" if to_queue else self.handoff_to)
        return True

    async def push(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]] | None, meta: dict[str, Any] | None
    ) -> bool:
        if parse_kf_sender(recipient_id):
            await self.sender.to_kf_customer(recipient_id, text, buttons)
            return True
        if buttons:
            await self.sender.choices.offer(recipient_id, buttons)
            text = numbered(text, buttons)
        await self.sender.to_app_user(recipient_id, pieces(text))
        return True


class KfInbox:
    """Reads 微信客服 messages after each callback and hands new customer messages to the bot."""

    def __init__(
        self,
        api: WeComApi,
        sender: WeComSender,
        cursors: StateMap,
        seen: SeenIds,
        humans: StateMap,
        reader: OneReader | None = None,
    ) -> None:
        self.api, self.sender, self.cursors, self.seen, self.humans = api, sender, cursors, seen, humans
        self.reader = reader or MemoryOneReader()

    async def sync(self, handle: Handler, open_kfid: str, token: str) -> None:
        # One reader per account, on every server: two callbacks must not read from the same cursor.
        await self.reader.run(f"wecom-kf:{open_kfid}", lambda: self._read_pages(handle, open_kfid, token))

    async def _read_pages(self, handle: Handler, open_kfid: str, token: str) -> None:
        while True:
            cursor = await self.cursors.get(open_kfid)
            page = await self.api.sync_msg(open_kfid, token, cursor)
            by_customer: dict[str, list[dict[str, Any]]] = {}
            for msg in page.get("msg_list") or []:
                if (
                    isinstance(msg, dict)
                    and msg.get("msgid")
                    and await self.seen.first_time(f"wecom:kf:{msg['msgid']}")
                ):
                    by_customer.setdefault(_customer_of(msg), []).append(msg)
            for customer, messages in by_customer.items():  # customers in parallel, each in order
                in_background(self._dispatch_in_order(handle, messages), f"KF messages of {customer}")
            next_cursor = page.get("next_cursor") or ""
            if next_cursor:
                await self.cursors.put(open_kfid, next_cursor)
            if not page.get("has_more") or not next_cursor or next_cursor == cursor:
                return

    async def _dispatch_in_order(self, handle: Handler, messages: list[dict[str, Any]]) -> None:
        for msg in messages:
            try:
                await self._dispatch(handle, msg)
            except Exception:
                log.exception("handling the KF message %s failed", msg.get("msgid"))

    async def _dispatch(self, handle: Handler, msg: dict[str, Any]) -> None:
        open_kfid, user = str(msg.get("open_kfid") or ""), str(msg.get("external_userid") or "")
        kind = msg.get("msgtype")
        sent = msg.get("send_time")
        if isinstance(sent, int) and time.time() - sent > MAX_AGE_SECONDS:
            # Without a cursor (first start, lost file) sync_msg returns up to 3 days of history.
            log.info("KF message %s is %.0f min old; not answered", msg.get("msgid"), (time.time() - sent) / 60)
            return
        welcome_code = ""
        if kind == "event":
            event = msg.get("event") or {}
            if event.get("event_type") == "session_status_change" and event.get("change_type") == SESSION_ENDED:
                ended = kf_sender(str(event.get("open_kfid") or open_kfid), str(event.get("external_userid") or user))
                if await self.humans.delete(ended):
                    log.info("WeCom's servicer ended the session of %s; the bot answers again", ended)
                return
            if event.get("event_type") != "enter_session":
                log.info("KF event %s ignored", event.get("event_type"))
                return
            open_kfid = str(event.get("open_kfid") or open_kfid)
            user = str(event.get("external_userid") or user)
            text, welcome_code = "/greet", str(event.get("welcome_code") or "")
        elif msg.get("origin") != KF_CUSTOMER:
            return  # our own or a servicer's messages, system notices
        elif await self.humans.get(kf_sender(open_kfid, user)):
            log.debug("%s is with WeCom's servicer; message %s left to them", user, msg.get("msgid"))
            return
        elif kind == "text":
            body = msg.get("text") or {}
            sender = kf_sender(open_kfid, user)
            content = str(body.get("content") or "").strip()
            text = (
                await self.sender.menu_choice(sender, str(body["menu_id"]), content)
                if body.get("menu_id")
                else await self.sender.choices.resolve(sender, content)
            )
        else:
            log.info("a KF %s message from %s; only text is handled", kind, user)
            await self.sender.to_kf_customer(kf_sender(open_kfid, user), TEXT_ONLY)
            return
        if not open_kfid or not user or not text:
            log.warning("a KF message without open_kfid/external_userid/text ignored: %s", msg.get("msgid"))
            return
        sender = kf_sender(open_kfid, user)

        async def push(message: dict[str, Any]) -> None:
            nonlocal welcome_code
            code, welcome_code = welcome_code, ""
            try:
                await self.sender.to_kf_customer(sender, message_text(message), message.get("buttons"), code)
            except PlatformError as exc:  # e.g. the session is with a person now: the bot's turn still ends
                log.warning("a reply to %s was not delivered: %s", sender, exc)

        await handle(
            UserMessage(
                text,
                PushingOutput(push),
                sender,
                input_channel="wecom",
                metadata={"wecom": {"kf": open_kfid}},
                message_id=str(msg.get("msgid")),
            )
        )


def _customer_of(msg: dict[str, Any]) -> str:
    """Whose message it is (events name the customer inside ``event``)."""
    event: dict[str, Any] = msg["event"] if isinstance(msg.get("event"), dict) else {}
    open_kfid = msg.get("open_kfid") or event.get("open_kfid")
    return f"{open_kfid}:{msg.get('external_userid') or event.get('external_userid')}"


class WeComInput(PassiveReplyChannel):
    required_env: ClassVar[tuple[str, ...]] = ("WECOM_TOKEN", "WECOM_CORP_ID", "WECOM_SECRET", "WECOM_AES_KEY")
    welcome_event = "enter_agent"
    no_reply = ""  # an empty body: "received, no passive reply"

    @classmethod
    def name(cls) -> str:
        return "wecom"

    @classmethod
    def from_env(cls, env: Mapping[str, str], settings: Settings) -> WeComInput:
        return cls(
            env["WECOM_TOKEN"].strip(),
            env["WECOM_CORP_ID"].strip(),
            env["WECOM_SECRET"].strip(),
            env["WECOM_AES_KEY"].strip(),
            env.get("WECOM_AGENT_ID", "").strip(),
            env.get("WECOM_KF_HANDOFF_TO", "").strip(),
            settings,
        )

    def __init__(
        self,
        token: str,
        corp_id: str,
        secret: str,
        aes_key: str,
        agent_id: str = "",
        handoff_to: str = "",
        settings: Settings | None = None,
    ) -> None:
        super().__init__(settings)
        try:
            crypto = WeChatCrypto(token, aes_key, corp_id)
        except Exception:
            raise ValueError("WECOM_AES_KEY must be the 43-character EncodingAESKey of the callback") from None
        self.cipher = Cipher(crypto, f"CorpID {corp_id}")
        self.api = WeComApi(self.config.wecom_api, corp_id, secret)
        self.sender = WeComSender(self.api, self.choices, agent_id)
        self.agent_id_fixed = bool(agent_id)
        state = ChannelStateStore(self.settings.database_url)
        for name, file in (("wecom_kf_humans", "wecom_kf_humans.json"), ("wecom_kf_cursor", "wecom_kf_cursor.json")):
            state.import_json(name, self.settings.data_dir / file)  # where earlier versions kept them
        self.humans = state.map("wecom_kf_humans")
        self.handoff_to = handoff_to
        reader = one_reader(self.config)  # with several servers, one reads the account's messages at a time
        self.kf = KfInbox(self.api, self.sender, state.map("wecom_kf_cursor"), self.seen, self.humans, reader)

    def outbound(self) -> WeComOutbound:
        return WeComOutbound(self.sender, self.api, self.humans, self.handoff_to)

    def extend(self, hook: Blueprint, handle: Handler) -> None:
        @hook.route("/webhook", methods=["GET"])
        async def url_verification(request: Request) -> HTTPResponse:
            args = request.args
            try:
                check_fresh(args.get("timestamp", ""))
                plain = self.cipher.decrypt_echo(
                    args.get("echostr", ""),
                    args.get("msg_signature", ""),
                    args.get("timestamp", ""),
                    args.get("nonce", ""),
                )
            except Refusal as refusal:
                return self.refuse(request, refusal, "URL verification")
            return response.text(plain)

    def verify(self, request: Request) -> dict[str, str]:
        args = request.args
        check_fresh(args.get("timestamp", ""))
        xml = self.cipher.decrypt_body(
            parse_xml(request.body).get("Encrypt", ""),
            args.get("msg_signature", ""),
            args.get("timestamp", ""),
            args.get("nonce", ""),
        )
        fields = parse_xml(xml)
        if not fields.get("MsgType"):
            raise Refusal(400, "the message has no MsgType")
        return fields

    async def answer(self, request: Request, fields: dict[str, str], handle: Handler) -> HTTPResponse:
        if fields.get("Event", "").lower() == "kf_msg_or_event":
            return self._kf_news(handle, fields)
        user = fields.get("FromUserName", "")
        if not user:
            return self.refuse(None, Refusal(400, "the message has no FromUserName"), "message")
        if fields.get("AgentID", "").strip() and not self.agent_id_fixed:
            self.sender.agent_id = fields["AgentID"].strip()
        return await self.passive_answer(
            handle,
            fields,
            {"wecom": {"agent_id": fields.get("AgentID", "")}},
            lambda texts: self.sender.to_app_user(user, texts),
            self.cipher.encrypt,
        )

    def _kf_news(self, handle: Handler, fields: dict[str, str]) -> HTTPResponse:
        open_kfid, token = fields.get("OpenKfId", ""), fields.get("Token", "")
        if not open_kfid or not token:
            return self.refuse(None, Refusal(400, "kf_msg_or_event without OpenKfId or Token"), "KF callback")
        in_background(self.kf.sync(handle, open_kfid, token), f"reading KF messages of {open_kfid}")
        return response.text("")
