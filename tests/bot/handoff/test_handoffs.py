"""The hand-off state machine, on SQLite and on the local PostgreSQL."""

from __future__ import annotations

import threading
import uuid

import pytest

from bot.handoff.handoffs import CLOSED, WAITING, WITH_AGENT, HandoffError, HandoffRequest, HandoffStore
from tests.databases import postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path) -> HandoffStore:
    if request.param == "sqlite":
        return HandoffStore(f"sqlite:///{tmp_path / 'handoff.sqlite'}")
    return HandoffStore(postgres_url())


def new_request(reason: str = "user_request") -> HandoffRequest:
    return HandoffRequest(
        conversation_id=f"c-{uuid.uuid4()}",
        channel="socketio",
        reason=reason,
        transcript=[
            {"role": "user", "text": "提现没到账", "time": 1.0},
            {"role": "bot", "text": "抱歉，没有找到", "time": 1.1},
        ],
    )


def test_full_life_cycle_keeps_every_transition_and_message_in_order(store):
    handoff, created = store.create(new_request())
    assert created and handoff.state == WAITING and handoff.transcript[0]["text"] == "提现没到账"
    assert store.open_for(handoff.conversation_id).id == handoff.id
    store.user_message(handoff.id, "有人吗")
    claimed = store.claim(handoff.id, "agent-li")
    assert claimed.state == WITH_AGENT and claimed.agent == "agent-li" and claimed.claimed_at
    store.agent_message(handoff.id, "agent-li", "您好，我是客服小李")
    store.user_message(handoff.id, "我的提现三天没到")
    store.add_note(handoff.id, "agent-li", "已查链上记录")
    closed = store.close(handoff.id, "agent-li")
    assert closed.state == CLOSED and closed.closed_at >= closed.claimed_at >= closed.created_at
    assert closed.note == "已查链上记录"
    events = store.events(handoff.id)
    assert [e["kind"] for e in events] == [
        "created",
        "user_message",
        "claimed",
        "agent_message",
        "user_message",
        "note",
        "closed",
    ]
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    assert store.events(handoff.id, after=events[3]["seq"])[0]["text"] == "我的提现三天没到"
    assert store.open_for(handoff.conversation_id) is None


def test_asking_again_while_open_returns_the_same_handoff(store):
    request = new_request()
    first, _ = store.create(request)
    again, created = store.create(
        HandoffRequest(
            conversation_id=request.conversation_id, channel="socketio", reason="repeated_fallback", transcript=[]
        )
    )
    assert not created and again.id == first.id


def test_invalid_transitions_are_rejected_with_reasons(store):
    handoff, _ = store.create(new_request("faq_policy"))
    with pytest.raises(HandoffError, match="has not been claimed"):
        store.agent_message(handoff.id, "agent-li", "你好")
    store.claim(handoff.id, "agent-li")
    with pytest.raises(HandoffError, match="already with agent-li"):
        store.claim(handoff.id, "agent-wang")
    with pytest.raises(HandoffError, match="is with agent-li, not agent-wang"):
        store.agent_message(handoff.id, "agent-wang", "你好")
    with pytest.raises(HandoffError, match="cannot be empty"):
        store.agent_message(handoff.id, "agent-li", "  ")
    store.close(handoff.id, "agent-li")
    with pytest.raises(HandoffError, match="closed; it cannot be replied to"):
        store.agent_message(handoff.id, "agent-li", "还在吗")
    with pytest.raises(HandoffError, match="closed; the bot answers"):
        store.user_message(handoff.id, "你好")
    with pytest.raises(HandoffError, match="already closed"):
        store.close(handoff.id, "agent-li")
    with pytest.raises(HandoffError, match="is closed"):
        store.claim(handoff.id, "agent-li")
    with pytest.raises(HandoffError, match="no hand-off"):
        store.get("nope")
    with pytest.raises(ValueError, match="unknown hand-off reason"):
        new_request("bored")


def test_two_agents_claiming_at_once_get_one_winner(store):
    handoff, _ = store.create(new_request())
    outcomes: list[str] = []

    def claim(agent: str) -> None:
        try:
            store.claim(handoff.id, agent)
            outcomes.append("ok")
        except HandoffError:
            outcomes.append("rejected")

    threads = [threading.Thread(target=claim, args=(f"agent-{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok", "rejected", "rejected", "rejected"]
    assert [e["kind"] for e in store.events(handoff.id)].count("claimed") == 1


def test_concurrent_writers_each_get_the_sequence_of_their_own_message():
    """The seq a write returns is its own event's, even when other writers commit right after it
    (the widget fetches what it missed from that seq, so a wrong one skips a message)."""
    store = HandoffStore(postgres_url())
    handoff, _ = store.create(new_request())
    store.claim(handoff.id, "agent-li")
    writers, per_writer = 8, 10
    returned: dict[int, str] = {}
    lock = threading.Lock()
    start = threading.Barrier(writers)

    def write(writer: int) -> None:
        start.wait()
        for n in range(per_writer):
            text = f"w{writer}-{n}"
            if writer % 3 == 0:
                seq = store.user_message(handoff.id, text)
            elif writer % 3 == 1:
                seq = store.agent_message(handoff.id, "agent-li", text)
            else:
                seq = store.bot_message(handoff.id, text)
            with lock:
                returned[seq] = text

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    written = {e["seq"]: e["text"] for e in store.events(handoff.id) if e["text"] and e["text"].startswith("w")}
    assert len(returned) == writers * per_writer  # no two writes were told the same seq
    assert returned == written


def test_an_agent_closes_with_a_wrap_up_reason_and_tags(tmp_path):
    import json

    from bot.handoff.handoffs import HandoffRequest, HandoffStore, WrapUp

    store = HandoffStore(f"sqlite:///{tmp_path / 'w.sqlite'}")
    handoff, _ = store.create(HandoffRequest("w-1", "rest", "user_request", []))
    store.claim(handoff.id, "li")
    store.close(handoff.id, "li", wrapup=WrapUp.parse("resolved", [" 提现 ", "提现", "加急"]))
    [event] = [e for e in store.events(handoff.id) if e["kind"] == "wrapup"]
    assert json.loads(event["text"]) == {"reason": "resolved", "tags": ["提现", "加急"]} and event["actor"] == "li"
    for reason, tags, problem in (
        ("done", [], "reason must be one of"),
        ("resolved", "提现", "list of strings"),
        ("resolved", ["a"] * 6 + [str(i) for i in range(6)], "at most 5 tags"),
        ("resolved", ["长" * 21], "at most 5 tags of at most 20"),
    ):
        with pytest.raises(ValueError, match=problem):
            WrapUp.parse(reason, tags)


def test_agents_of_says_who_has_each_hand_off_in_one_query(store):
    waiting, _ = store.create(new_request())
    claimed, _ = store.create(new_request())
    store.claim(claimed.id, "li")
    found = store.agents_of([waiting.id, claimed.id, claimed.id, "no-such-id"])
    assert found == {waiting.id: None, claimed.id: "li"}
    assert store.agents_of([]) == {}
