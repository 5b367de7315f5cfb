"""One way for tests to send an HTTP request and read the answer, whatever the status: a 4xx or 5xx is an
answer to check, not an exception (``urllib`` raises ``HTTPError`` for them). Each platform test builds its
request exactly as the platform does and sends it through :func:`send`."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: Message
    seconds: float  # from sending to the end of the body

    def json(self) -> Any:
        """The body as JSON (None for an empty body)."""
        return json.loads(self.body or b"null")

    @property
    def text(self) -> str:
        return self.body.decode()


def send(
    url: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    method: str | None = None,
    timeout: float = 30.0,
) -> Reply:
    """``method`` (POST when there is a body, else GET) ``url`` with exactly these headers."""
    request = urllib.request.Request(url, data=body, headers=dict(headers or {}), method=method)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return Reply(answer.status, answer.read(), answer.headers, time.monotonic() - started)
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.read(), error.headers, time.monotonic() - started)


def post_json(url: str, value: Any, headers: Mapping[str, str] | None = None, timeout: float = 30.0) -> Reply:
    """POST ``value`` as a JSON body."""
    return send(
        url,
        json.dumps(value, ensure_ascii=False).encode(),
        {"Content-Type": "application/json", **(headers or {})},
        timeout=timeout,
    )
