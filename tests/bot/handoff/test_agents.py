"""Console accounts, sign-ins and presence, on SQLite and on the local PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.handoff.agents import AgentError, AgentStore, agent_sessions, agents, check_password, hash_password
from tests.databases import postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path) -> AgentStore:
    url = f"sqlite:///{tmp_path / 'agents.sqlite'}" if request.param == "sqlite" else postgres_url()
    return AgentStore(url, session_hours=1)


def unique() -> str:
    return f"agent-{uuid.uuid4().hex[:10]}"


def test_passwords_are_salted_hashes_that_verify():
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second and "correct horse" not in first
    assert check_password("correct horse", first) and check_password("correct horse", second)
    assert not check_password("wrong horse", first)
    assert not check_password("correct horse", "garbage")


def test_sign_in_gives_a_token_only_for_the_right_password(store):
    name = unique()
    store.add(name, "s3cret-pass", "小李")
    with pytest.raises(AgentError, match="wrong account name or password"):
        store.sign_in(name, "not-the-pass")
    with pytest.raises(AgentError, match="wrong account name or password"):
        store.sign_in(unique(), "s3cret-pass")
    token = store.sign_in(name, "s3cret-pass")
    agent = store.agent_for(token)
    assert agent.name == name and agent.display_name == "小李"
    assert store.agent_for("forged-token") is None and store.agent_for(None) is None
    with store.engine.connect() as conn:  # only a hash of the token is stored
        stored = conn.execute(sa.select(agent_sessions.c.token_hash).where(agent_sessions.c.agent == name)).scalar()
    assert stored != token and len(stored) == 64


def test_bad_accounts_are_refused_with_the_reason(store):
    with pytest.raises(AgentError, match="account name"):
        store.add("a b", "long-enough")
    with pytest.raises(AgentError, match="at least 8"):
        store.add(unique(), "short")
    name = unique()
    store.add(name, "long-enough")
    with pytest.raises(AgentError, match="already exists"):
        store.add(name, "long-enough")


def test_expired_sessions_and_password_changes_sign_out(store):
    name = unique()
    store.add(name, "first-password")
    token = store.sign_in(name, "first-password")
    with store.engine.begin() as conn:
        conn.execute(
            agent_sessions.update()
            .where(agent_sessions.c.agent == name)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert store.agent_for(token) is None
    token = store.sign_in(name, "first-password")
    store.set_password(name, "second-password")
    assert store.agent_for(token) is None
    assert store.agent_for(store.sign_in(name, "second-password")) is not None
    store.disable(name)
    with pytest.raises(AgentError):
        store.sign_in(name, "second-password")


def test_presence_follows_the_console_and_ends_at_sign_out(store):
    name = unique()
    store.add(name, "long-enough")
    token = store.sign_in(name, "long-enough")
    assert name not in [a.name for a in store.online(60)]
    store.touch(name)
    assert name in [a.name for a in store.online(60)]
    with store.engine.begin() as conn:
        conn.execute(
            agents.update().where(agents.c.name == name).values(last_seen=datetime.now(UTC) - timedelta(seconds=120))
        )
    assert name not in [a.name for a in store.online(60)]
    store.touch(name)
    store.sign_out(token)
    assert name not in [a.name for a in store.online(60)] and store.agent_for(token) is None


def test_only_online_agents_take_new_chats(store):
    from bot.handoff.agents import AWAY, BUSY, ONLINE

    li, wang = unique(), unique()
    store.add(li, "pass-word-123")
    store.add(wang, "pass-word-123")
    store.touch(li)
    store.touch(wang)
    names = lambda found: {a.name for a in found} & {li, wang}  # noqa: E731
    assert names(store.available(60)) == {li, wang}  # no status chosen yet: online
    store.set_status(li, BUSY)
    assert names(store.available(60)) == {wang} and names(store.online(60)) == {li, wang}
    store.set_status(wang, AWAY)
    assert names(store.available(60)) == set()
    store.set_status(li, ONLINE)
    assert names(store.available(60)) == {li} and store.statuses()[wang] == AWAY
    with pytest.raises(AgentError, match="status must be one of"):
        store.set_status(li, "lunch")
