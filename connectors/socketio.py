"""Rasa's socket.io channel (the web widget), fixed and guarded.

- No silence: replies go through ``connectors.guard``.
- Pushes: ``outbound()`` is the ``socketio`` push (``connectors/outbound.py``),
  so a person's replies reach the widget live, in the session's room; with
  ``[channels] socketio_url`` on whichever server the widget is connected to
  (``connectors/socketio_shared.py``).
- Identifiers and bodies are checked (``connectors/identity.py``): a session
  id that no store may see, a message that is not text, or metadata that is
  not an object is refused with a ``request_error`` event to that socket, and
  nothing else happens (Rasa's handlers crashed or passed them on).
- Session persistence works again: Rasa 3.6 calls ``AsyncServer.enter_room``
  without ``await``; in python-socketio 5.x it is a coroutine, so the client
  never joined its session's room and never received a reply. The
  ``session_request`` handler is re-registered here with the await.
- A protocol error closes the session at once: python-engineio answers a
  packet a client must not send on polling (``0``, ``2``, ``6``) by closing
  the session and waiting until a poll collects the CLOSE; with no poll
  waiting, the POST hung for a minute and ended in a 503. The wait is
  bounded (:class:`PromptCloseEngineIO`), and the POST gets its 400; so does a
  request for a session the client closed itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

import engineio
from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from rasa.core.channels.socketio import SocketIOOutput
from sanic import Blueprint
from socketio import AsyncServer

from connectors.gate import GateLookup, gate_lookup
from connectors.guard import Handler, guarded
from connectors.identity import id_problem
from connectors.socketio_shared import Presence, share
from faqbot.config import load_settings

ERROR_EVENT = "request_error"
CLOSE_DRAIN_SECONDS = 2.0

log = logging.getLogger(__name__)


# Sent to a widget while an agent types; nothing else makes it show "对方正在输入…".
TYPING_EVENT = "agent_typing"


class PromptCloseEngineIO(engineio.AsyncServer):
    """Engine.IO's server, closing a session without waiting more than
    :data:`CLOSE_DRAIN_SECONDS` for a poll to collect what is queued for it."""

    async def handle_request(self, *args: Any, **kwargs: Any) -> Any:
        """A request for a session the client itself closed (a ``1`` packet) gets
        Engine.IO's 400 "Invalid session": python-engineio keeps the closed socket
        until its next lookup, which then raised ``KeyError`` out of the handler (500)."""
        query = getattr(args[0], "args", None) if args else None
        sid = query.get("sid") if query is not None else None
        socket = self.sockets.get(sid) if isinstance(sid, str) else None
        if socket is not None and socket.closed:
            self.sockets.pop(sid, None)
        return await super().handle_request(*args, **kwargs)

    async def disconnect(self, sid: str | None = None) -> None:
        if sid is None:
            await super().disconnect()
            return
        socket = self.sockets.get(sid)
        if socket is None:
            return
        await socket.close(wait=False, reason=self.reason.SERVER_DISCONNECT)
        try:
            await asyncio.wait_for(socket.queue.join(), CLOSE_DRAIN_SECONDS)
        except TimeoutError:
            log.info("socket.io: closed session %s before a poll collected its last packets", sid)
        self.sockets.pop(sid, None)


class SocketIOInput(RasaSocketIOInput):
    @classmethod
    def name(cls) -> str:
        return "socketio"

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        gate: list[GateLookup] = []  # the blueprint, and so the app's gate, exists only after super()
        handle = guarded(on_new_message, gate=lambda: gate[0]() if gate else None)
        blueprint = super().blueprint(handle)
        gate.append(gate_lookup(blueprint))
        sio = blueprint.ctx.sio
        assert type(sio.eio) is engineio.AsyncServer, type(sio.eio)
        sio.eio.__class__ = PromptCloseEngineIO  # Rasa builds the server itself; only the close changes
        namespace = self.namespace or "/"
        presence = share(sio, load_settings().channels.socketio_url, namespace)

        async def refuse(sid: str, reason: str) -> None:
            log.warning("socket.io: refused an event from %s: %s", sid, reason)
            await sio.emit(ERROR_EVENT, {"error": reason}, room=sid, namespace=self.namespace)

        async def session_request(sid: str, *args: Any) -> None:
            data = args[0] if args and isinstance(args[0], dict) else {}
            session_id = data.get("session_id") or uuid.uuid4().hex
            problem = id_problem(session_id, "session_id")
            if problem is not None:
                await refuse(sid, problem)
                return
            if self.session_persistence:
                await sio.enter_room(sid, session_id, namespace=self.namespace)
                await presence.joined(session_id, sid)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)
            log.debug("socket %s joined session %s", sid, session_id)

        async def user_message(sid: str, *args: Any) -> None:
            data = args[0] if args else None
            if not isinstance(data, dict):
                await refuse(sid, "a message must be an object with 'message' and 'session_id'")
                return
            sender = data.get("session_id") if self.session_persistence else sid
            problem = id_problem(sender, "session_id")
            text = data.get("message", "")
            metadata = data.get(self.metadata_key) or {}
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = None
            if problem is None and not isinstance(text, str):
                problem = "'message' must be a string"
            if problem is None and not isinstance(metadata, dict):
                problem = f"'{self.metadata_key}' must be an object"
            if problem is not None:
                await refuse(sid, problem)
                return
            await handle(
                UserMessage(
                    text,
                    SocketIOOutput(sio, self.bot_message_evt),
                    sender,
                    input_channel=self.name(),
                    metadata=metadata,
                )
            )

        async def disconnect(sid: str, *args: Any) -> None:
            await presence.left(sid)

        sio.on("session_request", session_request, namespace=self.namespace)
        sio.on(self.user_message_evt, user_message, namespace=self.namespace)
        sio.on("disconnect", disconnect, namespace=self.namespace)
        self._outbound = SocketIOOutbound(sio, self.bot_message_evt, namespace, presence)
        return blueprint

    def outbound(self) -> SocketIOOutbound | None:
        """The widget's push (``connectors/outbound.py``); there is one once the blueprint is built."""
        return getattr(self, "_outbound", None)


class SocketIOOutbound:
    """Pushes to the widget's session room, in the same format as the bot's replies."""

    def __init__(self, sio: AsyncServer, bot_message_evt: str, namespace: str, presence: Presence) -> None:
        self.output = SocketIOOutput(sio, bot_message_evt)
        self.sio, self.namespace, self.presence = sio, namespace, presence

    async def send(
        self,
        recipient_id: str,
        text: str,
        buttons: list[dict[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> bool:
        connected = await self.presence.connected(recipient_id)  # on any server (connectors/socketio_shared.py)
        if meta is None:
            if buttons:
                await self.output.send_text_with_buttons(recipient_id, text, buttons)
            else:
                await self.output.send_text_message(recipient_id, text)
            return connected
        # One message (not one per paragraph) so the widget can show who wrote it and de-duplicate by seq.
        message: dict[str, Any] = {"text": text, "metadata": meta}
        if buttons:
            message["quick_replies"] = [
                {"content_type": "text", "title": b["title"], "payload": b["payload"]} for b in buttons
            ]
        await self.sio.emit(self.output.bot_message_evt, message, room=recipient_id, namespace=self.namespace)
        return connected

    async def typing(self, recipient_id: str) -> None:
        """An agent is typing a reply to this widget user (the widget shows 对方正在输入… for a few seconds)."""
        await self.sio.emit(TYPING_EVENT, {}, room=recipient_id, namespace=self.namespace)
