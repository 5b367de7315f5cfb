"""The platform API client against a real HTTP server on loopback: retries what
is worth retrying, fails fast and clearly on the rest, fetches a token once."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from connectors import platform_api
from connectors.platform_api import AccessToken, PlatformError, request_json
from tests.connectors.fake_platform import FakePlatform


@pytest.fixture
def fake():
    platform = FakePlatform()
    yield platform
    platform.close()


def run(coro):
    async def wrapped():
        try:
            return await coro
        finally:  # the shared client belongs to this event loop
            await platform_api.client().aclose()

    return asyncio.run(wrapped())


def test_retries_5xx_and_429_then_succeeds(fake: FakePlatform):
    answers = itertools.chain(
        [(503, {"err": "busy"}), (429, {"err": "slow down"}, {"Retry-After": "0"})],
        itertools.repeat((200, {"ok": True})),
    )
    fake.route("POST", "/send", lambda call: next(answers))
    assert run(request_json("demo", "POST", f"{fake.url}/send", json={"a": 1}, backoff=0.01)) == {"ok": True}
    assert len(fake.calls_to("/send")) == 3
    assert fake.calls_to("/send")[0].json == {"a": 1}


def test_a_client_error_fails_at_once_with_the_platform_and_call_named(fake: FakePlatform):
    fake.route("POST", "/cgi-bin/message/send", lambda call: (400, {"errmsg": "invalid touser"}))
    with pytest.raises(PlatformError) as error:
        run(request_json("wecom", "POST", f"{fake.url}/cgi-bin/message/send?access_token=x", json={}))
    assert len(fake.calls_to("/cgi-bin/message/send")) == 1
    assert "wecom" in str(error.value) and "cgi-bin/message/send" in str(error.value)
    assert "invalid touser" in str(error.value) and "access_token" not in str(error.value)


def test_gives_up_after_the_retries_on_a_dead_server():
    with pytest.raises(PlatformError, match="gave up after 3 attempts"):
        run(request_json("demo", "GET", "http://127.0.0.1:1/nothing", retries=2, backoff=0.01))


def test_the_token_is_fetched_once_for_concurrent_callers_and_again_when_invalidated():
    fetched = []

    async def fetch() -> tuple[str, float]:
        fetched.append(1)
        await asyncio.sleep(0.05)
        return f"token-{len(fetched)}", 7200

    async def scenario() -> tuple[list[str], str]:
        token = AccessToken(fetch)
        first = await asyncio.gather(*(token.get() for _ in range(10)))
        token.invalidate()
        return first, await token.get()

    first, second = asyncio.run(scenario())
    assert first == ["token-1"] * 10 and second == "token-2" and len(fetched) == 2


def test_a_token_is_refreshed_before_it_expires():
    count = itertools.count(1)

    async def fetch() -> tuple[str, float]:
        return f"t{next(count)}", 0  # expires at once: the floor keeps it 30 s

    async def scenario() -> list[str]:
        token = AccessToken(fetch, margin=300)
        values = [await token.get(), await token.get()]
        token._expires = 0  # as if the 30 s had passed
        return values + [await token.get()]

    assert asyncio.run(scenario()) == ["t1", "t1", "t2"]
