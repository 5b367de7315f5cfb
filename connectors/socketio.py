"""Rasa's socket.io channel (the web widget) with the no-silence guard."""

from __future__ import annotations

from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from sanic import Blueprint

from connectors.guard import Handler, guarded


class SocketIOInput(RasaSocketIOInput):
    @classmethod
    def name(cls) -> str:
        return "socketio"

    def blueprint(self, on_new_message: Handler) -> Blueprint:  # type: ignore[override]
        return super().blueprint(guarded(on_new_message))
