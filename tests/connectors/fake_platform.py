"""A platform's API on loopback: a real HTTP server that connectors call for
tokens and outbound messages. Tests register routes that check the request's
shape and token and answer as the platform does; every request is recorded."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.polling import wait_until


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


# A route answers (status, JSON body) or (status, JSON body, extra headers).
Route = Callable[[Call], tuple]


class FakePlatform:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.routes: dict[tuple[str, str], Route] = {}
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                call = Call(
                    self.command,
                    parts.path,
                    {k: v[-1] for k, v in parse_qs(parts.query).items()},
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                with owner._lock:
                    owner.calls.append(call)
                    route = owner.routes.get((self.command, parts.path))
                if route is None:
                    answer: tuple = (404, {"error": f"no fake route for {self.command} {parts.path}"})
                else:
                    try:
                        answer = route(call)
                    except AssertionError as exc:  # a malformed request: the test sees it in the reply
                        answer = (400, {"error": f"bad request: {exc}"})
                status, body = answer[0], answer[1]
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (answer[2] if len(answer) > 2 else {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def route(self, method: str, path: str, answer: Route) -> None:
        with self._lock:
            self.routes[(method, path)] = answer

    def calls_to(self, path: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.path == path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 30.0) -> list[Call]:
        """The calls to ``path`` once there are at least ``count`` (fails after ``timeout`` s)."""
        found: list[Call] = wait_until(
            lambda: len(self.calls_to(path)) >= count and self.calls_to(path),
            timeout,
            f"{count} call(s) to {path} (all calls: {[c.path for c in self.calls]})",
        )
        return found

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
