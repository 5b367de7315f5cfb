"""Fuzz the socket.io channel (the web widget's) over raw Engine.IO polling:
the handshake (opening query, CONNECT payloads, stray packets) and the
widget's events (``session_request`` with any session id, ``user_uttered``
with any message, session id and metadata). Never a 5xx, every request
answered in time, every handshake step answered, every ordinary message in a
fresh session answered (``bot_uttered``, or the channel's ``request_error``),
and afterwards the bot still answers a normal question."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz import strategies as fz
from tests.fuzz.budget import fuzz_settings, run_fuzz
from tests.fuzz.conftest import FuzzBot, assert_still_serving
from tests.fuzz.engineio import PATH, Session, event_packet, events
from tests.fuzz.target import NoAnswer, Target, query

pytestmark = pytest.mark.slow

REPLIES = ('42["bot_uttered"', '42["request_error"')

opening_queries = st.fixed_dictionaries(
    {
        "EIO": fz.sometimes(st.just("4"), st.one_of(st.sampled_from(["3", "5", "", "04", "4.0", "x"]), fz.text), 3),
        "transport": fz.sometimes(st.just("polling"), st.one_of(st.sampled_from(["websocket", "", "xhr"]), fz.text), 3),
    },
    optional={"sid": fz.text, "t": fz.text, "b64": st.sampled_from(["1", "true", ""]), "j": fz.text},
)
packets = st.one_of(
    st.binary(max_size=40),
    st.builds(
        lambda kind, rest: kind + rest,
        st.sampled_from([b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"40", b"41", b"42", b"43", b"45-", b"46"]),
        fz.json_bodies(fz.json_values),
    ),
)
session_ids = fz.sometimes(fz.identifiers, st.one_of(fz.json_values, st.none()), 4)
messages = fz.sometimes(st.sampled_from(["你好", "谢谢"]), st.one_of(fz.text, fz.json_values), 3)


def _is_object(auth: bytes) -> bool:
    """Whether a CONNECT payload is empty or a JSON object (what socket.io clients send)."""
    try:
        return auth == b"" or isinstance(json.loads(auth.decode("utf-8")), dict)
    except (ValueError, RecursionError):  # not UTF-8 (Engine.IO drops it), or nested deeper than json can read
        return False


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_socketio_handshake_is_answered_whatever_is_sent(fuzz_bot: FuzzBot, target: Target) -> None:
    statuses: Counter[int] = Counter()

    @fuzz_settings()
    @given(
        opening=opening_queries,
        auth=st.one_of(st.just(b""), fz.json_bodies(fz.json_values), fz.raw_bodies),
        stray=st.lists(packets, max_size=3),
    )
    @example(opening={"EIO": "4", "transport": "polling"}, auth=b'{"token": "\\ud800"}', stray=[])
    @example(opening={"EIO": "4", "transport": "polling"}, auth=b"", stray=[b"6"])  # a NOOP from the client
    # The client closes its own session, then sends more (not even UTF-8): 400, not a 500.
    @example(opening={"EIO": "4", "transport": "polling"}, auth=b"{", stray=[b"1", b"\xc9\x9a\xfe\xdf", b"2"])
    def one(opening: dict[str, str], auth: bytes, stray: list[bytes]) -> None:
        answer = target.request("GET", f"{PATH}?{query(**opening)}")
        statuses[answer.status] += 1
        assert answer.status < 500, f"HTTP {answer.status}: {answer.body[:300]!r}"
        if not (answer.status == 200 and answer.body.startswith(b"0{")):
            return
        session = Session.opened(target, answer)
        reply = session.send(b"40" + auth)
        statuses[reply.status] += 1
        assert reply.status < 500, f"HTTP {reply.status}: {reply.body[:300]!r}"
        if reply.status == 200 and _is_object(auth):  # a well-formed CONNECT: answered, or the session closed
            try:
                session.until(lambda p: p.startswith(("40", "44")), "a CONNECT or CONNECT_ERROR", timeout=15)
            except NoAnswer as exc:
                assert "was closed" in str(exc), exc
        for packet in stray:
            reply = session.send(packet)
            statuses[reply.status] += 1
            assert reply.status < 500, f"HTTP {reply.status} for packet {packet!r}: {reply.body[:300]!r}"
        session.close()

    run_fuzz(target, one, statuses)
    assert_still_serving(fuzz_bot)


def test_socketio_events_are_answered_whatever_they_hold(fuzz_bot: FuzzBot, target: Target) -> None:
    statuses: Counter[str] = Counter()

    @fuzz_settings()
    @given(
        session_id=session_ids,
        fresh=st.booleans(),
        message=messages,
        extra=st.dictionaries(st.sampled_from(["customData", "metadata", "session_id"]), fz.json_values, max_size=2),
        escaped=st.booleans(),
    )
    @example(session_id="a\ud800", fresh=False, message="hi", extra={}, escaped=True)
    @example(session_id="ok-session", fresh=False, message="hi", extra={"session_id": "b\udfff"}, escaped=True)
    @example(session_id=None, fresh=True, message="提" * 2001, extra={}, escaped=False)
    @example(session_id=None, fresh=True, message="\udfff02", extra={}, escaped=False)  # not UTF-8 on the wire
    def one(session_id: Any, fresh: bool, message: Any, extra: dict[str, Any], escaped: bool) -> None:
        session = Session.open(target)
        session.connect()
        # A fresh session: the reply must come (nothing earlier in that conversation can make the bot wait).
        asked = f"fuzz-{uuid.uuid4().hex}" if fresh else session_id
        request = event_packet("session_request", {"session_id": asked}, escaped)
        reply = session.send(request)
        assert reply.status < 500, f"HTTP {reply.status}: {reply.body[:300]!r}"
        confirmed = None
        if _utf8(request):  # Engine.IO drops (and logs) a payload that is not UTF-8: nothing to answer
            seen = session.until(
                lambda p: p.startswith(('42["session_confirm"', '42["request_error"')),
                "session_confirm or request_error",
            )
            confirmed = next((data for name, data in events(seen) if name == "session_confirm"), None)
        statuses["confirmed" if confirmed is not None else "refused"] += 1
        data = {"message": message, "session_id": confirmed if fresh else session_id, **({} if fresh else extra)}
        uttered = event_packet("user_uttered", data, escaped)
        reply = session.send(uttered)
        assert reply.status < 500, f"HTTP {reply.status}: {reply.body[:300]!r}"
        # A packet that is not UTF-8 (an unescaped lone surrogate) is dropped by Engine.IO: nothing to answer.
        ordinary = isinstance(message, str) and not message.startswith("/") and _utf8(uttered)
        if fresh and confirmed is not None and ordinary:
            seen = session.until(lambda p: p.startswith(REPLIES), f"a reply to {message!r}")
            statuses["answered" if any(p.startswith(REPLIES[0]) for p in seen) else "request_error"] += 1
        session.close()

    run_fuzz(target, one, statuses)
    assert_still_serving(fuzz_bot)
