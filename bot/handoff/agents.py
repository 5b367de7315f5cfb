"""Agent accounts for the console: created by ``faqbot agent add``, passwords
hashed with scrypt (stdlib, salted, memory-hard), sign-ins as random tokens of
which only a hash is stored, and presence ("signed in" = the console was
connected recently), which decides whether a hand-off can queue for a person.

Same database as the hand-off store, so every process sees the same agents.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from bot.handoff.db import Database
from bot.handoff.db import aware as _aware
from bot.handoff.db import now as _now

metadata = sa.MetaData()

agents = sa.Table(
    "agents",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("display_name", sa.String(128), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
)

agent_sessions = sa.Table(
    "agent_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("agent", sa.String(64), sa.ForeignKey("agents.name"), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

# What an agent says about taking new chats (the console's status menu). Only "online"
# agents count as someone who can answer: busy and away agents keep their chats but get
# no new ones, and with nobody online a 留言 is taken instead.
ONLINE, BUSY, AWAY = "online", "busy", "away"
STATUSES = (ONLINE, BUSY, AWAY)

agent_status = sa.Table(
    "agent_status",
    metadata,
    sa.Column("name", sa.String(64), sa.ForeignKey("agents.name"), primary_key=True),
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")
MIN_PASSWORD = 8
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


class AgentError(ValueError):
    """A bad account name or password, or a sign-in that failed (the message says which)."""


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    computed = hashlib.scrypt(
        password.encode("utf-8", "surrogatepass"),
        salt=bytes.fromhex(salt),
        n=int(n),
        r=int(r),
        p=int(p),
        dklen=len(digest) // 2,
    )
    return hmac.compare_digest(computed.hex(), digest)


@functools.lru_cache(maxsize=1)
def _unknown_account_hash() -> str:
    return hash_password(secrets.token_hex(16))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Agent:
    name: str
    display_name: str
    last_seen: datetime | None


class AgentStore:
    def __init__(self, url: str, session_hours: int = 12) -> None:
        self._db = Database(url, metadata)
        self.session_hours = session_hours

    @property
    def engine(self) -> sa.engine.Engine:
        return self._db.engine

    def add(self, name: str, password: str, display_name: str | None = None) -> Agent:
        if not NAME_PATTERN.match(name):
            raise AgentError(f"account name {name!r}: use 2–64 letters, digits, '_', '.' or '-'")
        if len(password) < MIN_PASSWORD:
            raise AgentError(f"the password must have at least {MIN_PASSWORD} characters")
        with self.engine.begin() as conn:
            if conn.execute(sa.select(agents.c.name).where(agents.c.name == name)).first():
                raise AgentError(f"an account named {name!r} already exists (use `faqbot agent passwd`)")
            conn.execute(
                agents.insert().values(
                    name=name,
                    display_name=display_name or name,
                    password_hash=hash_password(password),
                    created_at=_now(),
                    last_seen=None,
                    disabled=False,
                )
            )
        return Agent(name, display_name or name, None)

    def set_password(self, name: str, password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise AgentError(f"the password must have at least {MIN_PASSWORD} characters")
        with self.engine.begin() as conn:
            done = conn.execute(
                agents.update().where(agents.c.name == name).values(password_hash=hash_password(password))
            )
            if done.rowcount != 1:
                raise AgentError(f"no account named {name!r}")
            conn.execute(agent_sessions.delete().where(agent_sessions.c.agent == name))

    def rename(self, name: str, display_name: str) -> None:
        """The name customers and colleagues see."""
        display_name = display_name.strip()
        if not display_name or len(display_name) > 128:
            raise AgentError("a display name is 1 to 128 characters")
        with self.engine.begin() as conn:
            done = conn.execute(agents.update().where(agents.c.name == name).values(display_name=display_name))
        if done.rowcount != 1:
            raise AgentError(f"no account named {name!r}")

    def disable(self, name: str) -> None:
        with self.engine.begin() as conn:
            done = conn.execute(agents.update().where(agents.c.name == name).values(disabled=True))
            if done.rowcount != 1:
                raise AgentError(f"no account named {name!r}")
            conn.execute(agent_sessions.delete().where(agent_sessions.c.agent == name))

    def accounts(self) -> list[Agent]:
        """Every enabled account, by name."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(agents).where(agents.c.disabled.is_(False)).order_by(agents.c.name)).all()
        return [Agent(r.name, r.display_name, _aware(r.last_seen)) for r in rows]

    def sign_in(self, name: str, password: str) -> str:
        """A new session token for a correct name and password."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(agents).where(agents.c.name == name)).first()
        # Hash even for unknown names so timing does not tell which names exist
        # (once: a second hash per unknown name doubled the cost of a flood).
        stored = row.password_hash if row is not None else _unknown_account_hash()
        if not check_password(password, stored) or row is None or row.disabled:
            raise AgentError("wrong account name or password")
        token = secrets.token_urlsafe(32)
        now = _now()
        with self.engine.begin() as conn:
            conn.execute(
                agent_sessions.insert().values(
                    token_hash=_token_hash(token),
                    agent=name,
                    created_at=now,
                    expires_at=now + timedelta(hours=self.session_hours),
                )
            )
        return token

    def agent_for(self, token: str | None) -> Agent | None:
        """The agent a token belongs to, if it is valid and unexpired."""
        if not token:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(agents, agent_sessions.c.expires_at)
                .join(agent_sessions, agent_sessions.c.agent == agents.c.name)
                .where(agent_sessions.c.token_hash == _token_hash(token))
            ).first()
        if row is None or row.disabled or _aware(row.expires_at) <= _now():
            return None
        return Agent(row.name, row.display_name, _aware(row.last_seen))

    def sign_out(self, token: str) -> None:
        """End the session; the agent no longer counts as signed in."""
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(agent_sessions.c.agent).where(agent_sessions.c.token_hash == _token_hash(token))
            ).first()
            conn.execute(agent_sessions.delete().where(agent_sessions.c.token_hash == _token_hash(token)))
            if row is not None:
                conn.execute(agents.update().where(agents.c.name == row.agent).values(last_seen=None))

    def touch(self, name: str) -> None:
        """The agent's console is connected now."""
        with self.engine.begin() as conn:
            conn.execute(agents.update().where(agents.c.name == name).values(last_seen=_now()))

    def away_unless_seen_since(self, name: str, since: datetime) -> bool:
        """The agent's console closed at ``since``: unless any console of theirs (on any
        server) has been seen since, they no longer count as signed in. True if so."""
        with self.engine.begin() as conn:
            done = conn.execute(
                agents.update()
                .where(agents.c.name == name, agents.c.last_seen.is_not(None), agents.c.last_seen <= since)
                .values(last_seen=None)
            )
        return done.rowcount == 1

    def online(self, within_seconds: int) -> list[Agent]:
        """Signed in: a console of theirs was connected within ``within_seconds``."""
        cutoff = _now() - timedelta(seconds=within_seconds)
        return [a for a in self.accounts() if a.last_seen is not None and a.last_seen >= cutoff]

    def available(self, within_seconds: int) -> list[Agent]:
        """Signed in and taking new chats (status online)."""
        statuses = self.statuses()
        return [a for a in self.online(within_seconds) if statuses.get(a.name, ONLINE) == ONLINE]

    def statuses(self) -> dict[str, str]:
        """Each agent's status; an agent who never chose one is online."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(agent_status.c.name, agent_status.c.status)).all()
        return {r.name: r.status for r in rows}

    def set_status(self, name: str, status: str) -> None:
        if status not in STATUSES:
            raise AgentError(f"status must be one of {', '.join(STATUSES)}")
        with self.engine.begin() as conn:
            done = conn.execute(
                agent_status.update().where(agent_status.c.name == name).values(status=status, updated_at=_now())
            )
            if done.rowcount == 0:
                conn.execute(agent_status.insert().values(name=name, status=status, updated_at=_now()))
