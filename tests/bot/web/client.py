"""Raw HTTP requests for the policy tests: the path goes out exactly as
written (``%2e%2e``, backslashes, ``//``), nothing is followed or decoded."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def all(self, name: str) -> list[str]:
        return self.headers.get_all(name) or []

    @property
    def json(self) -> Any:
        return json.loads(self.body or b"null")

    @property
    def error(self) -> str:
        data = self.json
        return data.get("error", "") if isinstance(data, dict) else ""


def call(
    base: str,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | str | dict[str, Any] | None = None,
) -> Answer:
    parts = urlsplit(base)
    headers = dict(headers or {})
    if isinstance(body, dict):
        body = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    elif isinstance(body, str):
        body = body.encode()
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        reply = connection.getresponse()
        return Answer(reply.status, reply.headers, reply.read())
    finally:
        connection.close()


def sign_in(base: str, name: str, password: str) -> str:
    """An API client's sign-in (no Origin, no console header): the session token."""
    answer = call(base, "POST", "/console/api/login", body={"name": name, "password": password})
    assert answer.status == 200, (answer.status, answer.body)
    return answer.json["token"]
