"""A socket.io client over raw Engine.IO v4 long-polling requests, as the web
widget's socket.io-client speaks it before any upgrade: ``GET`` opens a
session (``0{"sid": …}``), ``POST`` carries packets (``40`` connect,
``42[event, data]``), ``GET`` returns what the server queued, packets joined by
``\\x1e``. Raw, so a test can send any bytes in any packet; only the event
JSON is built here (lone surrogates as ``\\ud800`` escapes)."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.fuzz.target import Answer, NoAnswer, Target, query

PATH = "/socket.io/"
SEPARATOR = "\x1e"
POST_TIMEOUT = 20.0


def event_packet(event: str, data: Any, escaped: bool = True) -> bytes:
    """``42["event", data]``: a socket.io EVENT on the default namespace."""
    body = json.dumps([event, data], ensure_ascii=escaped)
    return b"42" + body.encode("utf-8", "surrogatepass")


class Session:
    """One Engine.IO session on the polling transport."""

    def __init__(self, target: Target, sid: str, ping_interval: float) -> None:
        self.target, self.sid, self.ping_interval = target, sid, ping_interval

    @classmethod
    def open(cls, target: Target) -> Session:
        return cls.opened(target, target.request("GET", f"{PATH}?{query(EIO='4', transport='polling')}"))

    @classmethod
    def opened(cls, target: Target, answer: Answer) -> Session:
        """The session an opening request's answer (``0{"sid": …}``) started."""
        assert answer.status == 200 and answer.body.startswith(b"0"), (answer.status, answer.body[:200])
        handshake = json.loads(answer.body[1:])
        return cls(target, handshake["sid"], handshake["pingInterval"] / 1000)

    def _url(self) -> str:
        return f"{PATH}?{query(EIO='4', transport='polling', sid=self.sid)}"

    def send(self, *packets: bytes) -> Answer:
        """POST packets; the server takes them at once (its reply is ``ok``), so the wait is short."""
        return self.target.request(
            "POST",
            self._url(),
            b"\x1e".join(packets),
            {"Content-Type": "text/plain;charset=UTF-8"},
            timeout=POST_TIMEOUT,
        )

    def poll(self) -> list[str]:
        """One long-poll: the packets the server has queued (it waits up to its ping interval for one)."""
        answer = self.target.request("GET", self._url(), timeout=self.ping_interval + 30)
        assert answer.status < 500, (answer.status, answer.body[:300])
        if answer.status != 200:
            return []
        return answer.body.decode("utf-8", "surrogateescape").split(SEPARATOR)

    def connect(self, auth: bytes = b"") -> list[str]:
        """Join the default namespace; the packets up to the server's CONNECT (40) or CONNECT_ERROR (44)."""
        assert self.send(b"40" + auth).status < 500
        return self.until(lambda p: p.startswith(("40", "44")), "a CONNECT or CONNECT_ERROR")

    def until(self, done: Any, what: str, timeout: float = 30.0) -> list[str]:
        """Poll until a packet satisfies ``done(packet)``; answer pings meanwhile. All packets seen, in order."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            packets = self.poll()
            if not packets:
                raise NoAnswer(f"the Engine.IO session {self.sid} was closed while waiting for {what}; saw {seen}")
            seen += packets
            if any(p == "2" for p in packets):
                self.send(b"3")
            if any(done(p) for p in packets):
                return seen
        raise NoAnswer(f"no {what} within {timeout:.0f}s on session {self.sid}; saw {seen}")

    def close(self) -> None:
        self.send(b"1")


def events(packets: list[str]) -> list[tuple[str, Any]]:
    """The (event, data) of the EVENT packets among ``packets``."""
    found = []
    for packet in packets:
        if packet.startswith("42"):
            name, *args = json.loads(packet[2:])
            found.append((name, args[0] if args else None))
    return found
