"""Calling a platform's HTTP API from a connector: one shared async client,
retries with backoff on the failures worth retrying, errors that say which
platform, which call and why, and an access-token cache.

Every Chinese platform (and none of the others) authenticates API calls with a
short-lived token fetched from the app's id and secret and valid for about two
hours; fetching one per message would hit the platforms' rate limits, so each
connector keeps one ``AccessToken`` and calls ``get()``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

log = logging.getLogger(__name__)
# httpx logs every request URL at INFO; Bot API paths and ?access_token= carry secrets.
logging.getLogger("httpx").setLevel(logging.WARNING)

RETRY_STATUSES = {429, 500, 502, 503, 504}


class PlatformError(RuntimeError):
    """A platform API call failed for good (after retries, or with an error not worth retrying)."""

    def __init__(self, platform: str, call: str, reason: str, code: Any = None) -> None:
        super().__init__(f"{platform} {call}: {reason}")
        self.platform, self.call, self.reason, self.code = platform, call, reason, code


_client: httpx.AsyncClient | None = None


def client() -> httpx.AsyncClient:
    """One connection pool for every platform (created in the running event loop)."""
    global _client
    if _client is None or _client.is_closed:
        _client = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))
    return _client


async def request_json(
    platform: str,
    method: str,
    url: str,
    *,
    retries: int = 3,
    backoff: float = 0.5,
    call: str | None = None,
    **kwargs: Any,
) -> Any:
    """Send one request and return its JSON body.

    Connection errors, timeouts, 429 and 5xx are retried ``retries`` times with
    exponential backoff (0.5 s, 1 s, 2 s; a 429's ``Retry-After`` is honoured up
    to 10 s); any other failure raises ``PlatformError`` at once.
    """
    # Named in logs and errors; never the query (access_token=…). Callers whose path holds a secret
    # (Telegram's /bot<token>/…) pass ``call``.
    call = call or url.split("?", 1)[0].split("/", 3)[-1]
    for attempt in range(retries + 1):
        delay = backoff * (2**attempt)
        try:
            reply = await client().request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        else:
            if reply.status_code < 400:
                try:
                    return reply.json() if reply.content else {}
                except ValueError:
                    raise PlatformError(
                        platform, call, f"HTTP {reply.status_code} with a non-JSON body: {reply.text[:200]!r}"
                    ) from None
            reason = f"HTTP {reply.status_code}: {reply.text[:300]}"
            if reply.status_code not in RETRY_STATUSES:
                raise PlatformError(platform, call, reason, code=reply.status_code)
            retry_after = reply.headers.get("retry-after", "")
            if retry_after.isdigit():
                delay = min(float(retry_after), 10.0)
        if attempt < retries:
            log.warning("%s %s failed (%s); retry %d/%d in %.1fs", platform, call, reason, attempt + 1, retries, delay)
            await asyncio.sleep(delay)
    raise PlatformError(platform, call, f"gave up after {retries + 1} attempts: {reason}")


class AccessToken:
    """A cached platform token, refreshed a few minutes before it expires or
    when the platform says it is no longer valid (``invalidate()``)."""

    def __init__(self, fetch: Callable[[], Awaitable[tuple[str, float]]], margin: float = 300) -> None:
        """``fetch`` returns ``(token, seconds_valid)``."""
        self._fetch, self.margin = fetch, margin
        self._token, self._expires = "", 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        if self._token and time.monotonic() < self._expires:
            return self._token
        async with self._lock:  # one fetch for all the messages waiting on it
            if not self._token or time.monotonic() >= self._expires:
                token, valid = await self._fetch()
                self._token = token
                self._expires = time.monotonic() + max(float(valid) - self.margin, 30.0)
            return self._token

    def invalidate(self) -> None:
        self._token, self._expires = "", 0.0
