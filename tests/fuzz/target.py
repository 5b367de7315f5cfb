"""The running bot as the fuzz suite sees it: raw HTTP requests (exact bytes
and headers, a client timeout on every one), and a watch on both server
processes so that a request that takes a server down is named as such
instead of every later request failing with "connection refused"."""

from __future__ import annotations

import contextlib
import http.client
import json
import time
import urllib.parse
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.process.runner import RunningBot
from tests.polling import wait_until

# Generous: a 2000-character message takes a few seconds on a busy CI machine.
TIMEOUT = 60.0
QUESTION, ANSWER_ID = "提现手续费是多少", "ex-withdraw-fee"


def query(**params: str) -> str:
    """A query string; values are UTF-8 (lone surrogates as their 3 raw bytes) and percent-encoded."""
    return "&".join(
        f"{urllib.parse.quote(k, safe='')}={urllib.parse.quote(v.encode('utf-8', 'surrogatepass'), safe='')}"
        for k, v in params.items()
    )


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body)


class NoAnswer(AssertionError):
    """The server did not answer a request in time, or dropped the connection (but is still running)."""


class ServerDown(AssertionError):
    """A server process exited; the message names the requests sent just before and the log's tail."""


@dataclass
class Target:
    bot: RunningBot
    recent: deque[str] = field(default_factory=lambda: deque(maxlen=50))  # background work can die late
    down: str | None = None  # why the bot is down, once it is
    sent: int = 0
    slowest: tuple[float, str] = (0.0, "")  # (seconds, request) of the slowest answer since reset
    log_start: int = 0  # where this bot's output starts in the (appended) rasa.log

    def __post_init__(self) -> None:
        path = self.bot.logs.get("rasa")
        self.log_start = path.stat().st_size if path is not None and path.exists() else 0

    @property
    def host(self) -> str:
        return self.bot.settings.bot.host

    @property
    def port(self) -> int:
        return self.bot.settings.bot.rasa_port

    def exited(self) -> dict[str, int]:
        """The server processes that have exited, with their exit codes."""
        return {name: code for name, proc in self.bot.processes.items() if (code := proc.poll()) is not None}

    def log_tail(self, lines: int = 25) -> str:
        """This bot's Rasa log, last lines, without traceback frames (exception lines and log records stay)."""
        path: Path | None = self.bot.logs.get("rasa")
        if path is None or not path.exists():
            return "(no log)"
        with path.open("rb") as log:
            log.seek(self.log_start)
            recent = log.read().decode("utf-8", "replace").splitlines()[-600:]
        return "\n".join([line for line in recent if line and not line[0].isspace()][-lines:])

    def check_alive(self) -> None:
        """Raise ``ServerDown`` (with what was sent last) if either server process has exited."""
        if self.down is None and (gone := self.exited()):
            suspects = "\n".join(f"  {r}" for r in self.recent) or "  (none)"
            self.down = (
                f"server process(es) exited {gone}. The last requests sent before, oldest first "
                f"(the last one, or for a platform answering in the background one of these, "
                f"killed it):\n{suspects}\n--- rasa.log tail ---\n{self.log_tail()}"
            )
        if self.down is not None:
            raise ServerDown(self.down)

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: Mapping[str, str | bytes] | None = None,
        timeout: float = TIMEOUT,
    ) -> Answer:
        """Send exactly ``body`` with exactly ``headers`` (plus Host and Content-Length) and return the answer."""
        self.check_alive()
        summary = f"{method} {path} headers={dict(headers or {})!r} body={body[:300]!r}" + (
            f"… ({len(body)} bytes)" if len(body) > 300 else ""
        )
        self.recent.append(summary)
        self.sent += 1
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        started = time.monotonic()
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for name, value in (headers or {}).items():
                conn.putheader(name, value)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body if body or method != "GET" else None)
            reply = conn.getresponse()
            data = reply.read()
            seconds = time.monotonic() - started
            self.slowest = max(self.slowest, (seconds, summary[:200]))
            return Answer(reply.status, data, {k.lower(): v for k, v in reply.getheaders()}, seconds)
        except TimeoutError:
            self.check_alive()
            raise NoAnswer(f"no answer within {timeout:.0f}s to {summary}") from None
        except (ConnectionError, http.client.HTTPException) as exc:
            self._wait_for_exit()
            self.check_alive()
            raise NoAnswer(f"connection dropped ({type(exc).__name__}: {exc}) for {summary}") from None
        finally:
            conn.close()

    def _wait_for_exit(self, seconds: float = 5.0) -> None:
        """A dropped connection often means the server is going down: give it a moment to show it."""
        with contextlib.suppress(AssertionError):  # still running: the drop was this request's alone
            wait_until(self.exited, seconds, "a server to exit")

    def post_json(self, path: str, value: Any, headers: Mapping[str, str] | None = None) -> Answer:
        return self.request(
            "POST",
            path,
            json.dumps(value, ensure_ascii=False).encode(),
            {"Content-Type": "application/json", **(headers or {})},
        )
