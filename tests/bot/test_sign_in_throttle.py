"""Sign-in throttling (``bot/console/throttle.py``) on SQLite and on the local
PostgreSQL: guessing is slowed per client and per account, and nobody can lock
an agent out of the browser they already use."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.console.throttle import PER_ACCOUNT, PER_ACCOUNT_AND_CLIENT, PER_CLIENT, SignInThrottle, attempts
from tests.databases import postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def throttle(request, tmp_path) -> SignInThrottle:
    url = f"sqlite:///{tmp_path / 'throttle.sqlite'}" if request.param == "sqlite" else postgres_url()
    return SignInThrottle(url)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_one_client_guessing_one_account_is_stopped_and_nobody_else_is(throttle):
    bob, attacker, desk = unique("bob"), unique("10.0.0"), unique("10.9.9")
    for _ in range(PER_ACCOUNT_AND_CLIENT.failures):
        assert throttle.refusal(bob, attacker, None) is None
        throttle.failed(bob, attacker)
    wait = throttle.refusal(bob, attacker, None)
    assert wait is not None and 0 < wait <= PER_ACCOUNT_AND_CLIENT.window.total_seconds() + 1
    assert throttle.refusal(bob.upper(), attacker, None) is not None  # names are not case-split
    assert throttle.refusal(bob, desk, None) is None  # bob at his own desk signs in
    assert throttle.refusal(unique("alice"), attacker, None) is None  # other accounts: the client limit


def test_a_client_spraying_names_is_stopped_for_every_name(throttle):
    sprayer = unique("10.1.1")
    for _ in range(PER_CLIENT.failures):
        throttle.failed(unique("name"), sprayer)
    assert throttle.refusal(unique("anyone"), sprayer, None) is not None
    assert throttle.refusal(unique("anyone"), unique("10.2.2"), None) is None


def test_many_clients_guessing_one_account_cannot_lock_out_its_trusted_browser(throttle):
    bob, desk = unique("bob"), unique("10.3.3")
    device = throttle.succeeded(bob, desk)  # bob signed in at his desk before
    for i in range(PER_ACCOUNT.failures):
        throttle.failed(bob, f"{unique('botnet')}-{i}")
    assert throttle.refusal(bob, unique("10.4.4"), None) is not None  # a new client: wait
    assert throttle.refusal(bob, unique("10.4.4"), "forged-device") is not None
    assert throttle.refusal(bob, desk, device) is None  # bob's own browser: never locked out
    assert throttle.refusal(bob, unique("10.5.5"), device) is None  # his laptop moved networks
    assert not throttle.trusted(unique("mallory"), device)  # the cookie is bob's only


def test_windows_end_and_a_success_clears_the_client(throttle):
    bob, client = unique("bob"), unique("10.6.6")
    for _ in range(PER_ACCOUNT_AND_CLIENT.failures):
        throttle.failed(bob, client)
    assert throttle.refusal(bob, client, None) is not None
    long_ago = datetime.now(UTC) - PER_ACCOUNT.window - timedelta(minutes=1)
    with throttle._db.engine.begin() as conn:
        conn.execute(attempts.update().where(attempts.c.key.like(f"%{bob}%")).values(window_start=long_ago))
    assert throttle.refusal(bob, client, None) is None
    throttle.failed(bob, client)  # a new window starts at one failure
    with throttle._db.engine.connect() as conn:
        counts = conn.execute(sa.select(attempts.c.failures).where(attempts.c.key.like(f"pair:{bob}%"))).scalars()
        assert list(counts) == [1]
    throttle.succeeded(bob, client)
    with throttle._db.engine.connect() as conn:
        assert conn.execute(sa.select(attempts).where(attempts.c.key.like(f"pair:{bob}%"))).first() is None


def test_counts_are_shared_by_every_server_on_the_database(throttle, tmp_path):
    other = SignInThrottle(str(throttle._db.engine.url))  # a second server's instance
    bob, client = unique("bob"), unique("10.7.7")
    for i in range(PER_ACCOUNT_AND_CLIENT.failures):
        (throttle if i % 2 else other).failed(bob, client)
    assert other.refusal(bob, client, None) is not None and throttle.refusal(bob, client, None) is not None
