"""Sign-in throttling that slows guessing without letting anyone lock an agent out.

The old lockout counted failures per account name in process memory: five wrong
passwords from anyone locked the real agent out for ten minutes, and a restart
forgot it. Here failures are counted in the bot's database (shared by every
server, kept across restarts) under three keys, each in its own window:

- per account *and* client address (5 per 10 min): one client guessing one
  account is stopped, and nobody else is affected;
- per client address (30 per 10 min, any accounts): one client spraying names;
- per account from all addresses (50 per hour): many clients guessing one
  account. Then that account accepts sign-ins only from browsers it has
  signed in on before (a *trusted device* cookie, issued at each successful
  sign-in, stored hashed): an attacker can slow guessing down but cannot lock
  out the agent at their own desk.

A refused attempt costs no password hash, so a flood is answered cheaply.
Client addresses are Sanic's ``request.remote_addr`` (from X-Forwarded-For only
when Sanic is told to trust a proxy, e.g. ``SANIC_PROXIES_COUNT=1``) or the peer.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from bot.handoff.db import Database
from bot.handoff.db import aware as _aware
from bot.handoff.db import now as _now

metadata = sa.MetaData()

attempts = sa.Table(
    "sign_in_failures",
    metadata,
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
    sa.Column("failures", sa.Integer, nullable=False),
)

devices = sa.Table(
    "trusted_devices",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("agent", sa.String(64), nullable=False, index=True),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class Limit:
    failures: int
    window: timedelta


PER_ACCOUNT_AND_CLIENT = Limit(5, timedelta(minutes=10))
PER_CLIENT = Limit(30, timedelta(minutes=10))
PER_ACCOUNT = Limit(50, timedelta(hours=1))
DEVICE_DAYS = 90
DEVICE_COOKIE = "faqbot_device"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _keys(name: str, client: str) -> dict[str, tuple[str, Limit]]:
    account = name.strip().lower()[:100]
    return {
        "pair": (f"pair:{account}|{client[:100]}", PER_ACCOUNT_AND_CLIENT),
        "client": (f"client:{client[:100]}", PER_CLIENT),
        "account": (f"account:{account}", PER_ACCOUNT),
    }


class SignInThrottle:
    def __init__(self, url: str) -> None:
        self._db = Database(url, metadata)

    def refusal(self, name: str, client: str, device: str | None) -> int | None:
        """Seconds to wait before this client may try this account again, or None when it may try now."""
        now = _now()
        keys = _keys(name, client)
        with self._db.engine.connect() as conn:
            rows = {
                r.key: r
                for r in conn.execute(sa.select(attempts).where(attempts.c.key.in_([key for key, _ in keys.values()])))
            }
        waits = []
        for what, (key, limit) in keys.items():
            row = rows.get(key)
            if row is None or row.failures < limit.failures:
                continue
            ends = _aware(row.window_start) + limit.window
            if ends <= now:
                continue
            if what == "account" and self.trusted(name, device):
                continue  # the agent's own browser is never locked out by strangers
            waits.append(int((ends - now).total_seconds()) + 1)
        return max(waits) if waits else None

    def failed(self, name: str, client: str) -> None:
        now = _now()
        for key, limit in _keys(name, client).values():
            with self._db.engine.begin() as conn:
                row = conn.execute(sa.select(attempts.c.window_start).where(attempts.c.key == key)).first()
                if row is not None:
                    if _aware(row.window_start) + limit.window <= now:  # a new window
                        values: dict[str, object] = {"window_start": now, "failures": 1}
                    else:  # atomic, so concurrent failures on several servers all count
                        values = {"failures": attempts.c.failures + 1}
                    conn.execute(attempts.update().where(attempts.c.key == key).values(**values))
                    continue
            try:
                with self._db.engine.begin() as conn:
                    conn.execute(attempts.insert().values(key=key, window_start=now, failures=1))
            except sa.exc.IntegrityError:  # another server counted the first failure at the same moment
                with self._db.engine.begin() as conn:
                    conn.execute(
                        attempts.update().where(attempts.c.key == key).values(failures=attempts.c.failures + 1)
                    )

    def succeeded(self, name: str, client: str) -> str:
        """Forget this client's failures for the account; a new trusted-device token for the browser."""
        keys = _keys(name, client)
        token = secrets.token_urlsafe(32)
        with self._db.engine.begin() as conn:
            conn.execute(attempts.delete().where(attempts.c.key == keys["pair"][0]))
            conn.execute(devices.delete().where(devices.c.expires_at < _now()))
            conn.execute(
                devices.insert().values(
                    token_hash=_hash(token), agent=name, expires_at=_now() + timedelta(days=DEVICE_DAYS)
                )
            )
        return token

    def trusted(self, name: str, device: str | None) -> bool:
        if not device:
            return False
        with self._db.engine.connect() as conn:
            row = conn.execute(
                sa.select(devices.c.agent, devices.c.expires_at).where(devices.c.token_hash == _hash(device))
            ).first()
        return row is not None and row.agent == name and _aware(row.expires_at) > _now()
