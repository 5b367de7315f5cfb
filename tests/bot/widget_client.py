"""A web-widget user on the real socket.io channel, as the widget talks to it (shared by the
end-to-end tests that need a widget)."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from typing import Any


class Widget:
    """A web-widget user on the real socket.io channel, running in its own thread.
    It rejoins its session after a reconnect, as the widget does."""

    def __init__(self, url: str, session_id: str) -> None:
        self.url, self.session_id = url, session_id
        self.inbox: queue.Queue = queue.Queue()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self._confirmed = threading.Event()
        self._run(self._connect())
        assert self._confirmed.wait(15), "no session_confirm from the socket.io server"

    def _run(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _connect(self) -> None:
        import socketio

        self.client = socketio.AsyncClient(reconnection=True, reconnection_delay=0.5)

        async def on_connect() -> None:
            await self.client.emit("session_request", {"session_id": self.session_id})

        self.client.on("connect", on_connect)
        self.client.on("session_confirm", lambda _: self._confirmed.set())
        self.client.on("bot_uttered", self.inbox.put)
        # As the widget: the session in the query string keeps its polls on one node behind nginx.
        url = f"{self.url}?session={self.session_id}"
        await self.client.connect(url, socketio_path="/socket.io", transports=["polling"])

    def forget_session(self) -> None:
        """Before a server restart, so ``wait_rejoined`` sees the next confirmation."""
        self._confirmed.clear()

    def wait_rejoined(self, timeout: float = 60) -> None:
        """After a server restart: wait for the reconnect and the session to be confirmed again."""
        assert self._confirmed.wait(timeout), "the widget did not rejoin its session after the restart"

    def say(self, text: str) -> None:
        self._run(self.client.emit("user_uttered", {"message": text, "session_id": self.session_id}))

    def expect(self, fragment: str, timeout: float = 30) -> dict[str, Any]:
        """The first message containing ``fragment``; earlier ones are skipped."""
        # A queue read with a deadline, not a poll: each get() blocks until a message or the time left.
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                message = self.inbox.get(timeout=max(0.05, deadline - time.monotonic()))
            except queue.Empty:
                break
            seen.append(message.get("text"))
            if fragment in (message.get("text") or ""):
                return message
        raise AssertionError(f"the widget never received {fragment!r}; it got {seen}")

    def drain(self, seconds: float) -> list[dict[str, Any]]:
        """Everything that arrives within ``seconds``: a queue read with a deadline, not a poll, since
        proving that nothing arrives means waiting the whole time (no condition to wait on)."""
        got, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                got.append(self.inbox.get(timeout=0.1))
            except queue.Empty:
                pass
        return got

    def close(self) -> None:
        try:
            self._run(self.client.disconnect(), timeout=5)
        except TimeoutError:  # a long-poll still open; the loop stops anyway
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
