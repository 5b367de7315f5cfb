"""相似问法 suggestions from a known log, written by the project's own record writers (the
outcomes the bot records, hand-offs and agents' messages as the console stores them), on
SQLite and the local PostgreSQL: counts, what is left out, personal data, dismissals."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.handoff.handoffs import HandoffRequest, HandoffStore, handoff_events
from bot.handoff.records import Records, outcomes
from bot.handoff.similar_suggestions import AnswerMatcher, key_of, similar_suggestions
from bot.studio.suggestion_dismissals import Dismissals
from tests.databases import scratch_database

NOW = datetime.now(UTC)
KNOWN = {
    "fee": ["提现手续费是多少", "提现要手续费吗"],
    "arrival": ["提现多久到账"],
    "limit": ["最低提现多少"],
}
ANSWERS = {
    "fee": "提现手续费为每笔 1 USDT，以提现页面显示为准。",
    "arrival": "提现一般在 30 分钟内到账，高峰期可能延迟。",
    "limit": "最低提现数量为 10 USDT。",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    with scratch_database(request.param, tmp_path) as found:
        yield found


def clarified(
    records: Records, conversation: str, question: str, then: str | None, minutes: float = 1, hours: float = 2
) -> None:
    """``hours`` ago the bot asked 您是想问 for ``question``; ``minutes`` later the customer picked ``then``."""
    start = NOW - timedelta(hours=hours)
    records.log_outcome(conversation, "rest", "clarify", None, None, question)
    restamp(records.engine, outcomes, outcomes.c.id, start)
    if then is not None:
        records.log_outcome(conversation, "rest", "answer", then, None, "（选择）")
        restamp(records.engine, outcomes, outcomes.c.id, start + timedelta(minutes=minutes))


def restamp(engine: sa.engine.Engine, table: sa.Table, key: sa.Column, at: datetime) -> None:
    last = sa.select(sa.func.max(key)).scalar_subquery()
    with engine.begin() as conn:
        conn.execute(table.update().where(key == last).values(at=at))


def handed_off(store: HandoffStore, said: list[str]) -> str:
    request = HandoffRequest(
        f"h-{uuid.uuid4().hex[:8]}",
        "rest",
        "user_request",
        [{"role": "user", "text": text, "time": 0} for text in said],
    )
    handoff, _ = store.create(request)
    store.claim(handoff.id, "li")
    return handoff.id


def test_clarify_picks_and_agents_answers_become_counted_suggestions(url):
    records, store = Records(url), HandoffStore(url)
    clarified(records, "a", "你好，提币要钱吗", "fee")  # the greeting is not part of the wording
    clarified(records, "b", "提币要钱吗？", "fee")  # the same wording, normalised
    clarified(records, "b", "提币要钱吗", "fee", hours=1)  # the same conversation again: counted once
    clarified(records, "c", "提现要手续费吗", "fee")  # already a similar question of fee
    clarified(records, "g", "提现多久到账", "fee")  # another entry's standard question
    clarified(records, "d", "多久能到", "arrival", minutes=30)  # too late to be a pick
    clarified(records, "e", "我的手机13812345678提现要钱吗", "fee")  # personal data: dropped
    clarified(records, "f", "啊", "fee")  # not a question
    clarified(records, "j", "充值地址在哪", "gone")  # no such entry any more
    clarified(records, "i", "到账要多久呀", "arrival")
    clarified(records, "h", "钱什么时候到", None)
    records.log_outcome("h", "rest", "fallback", None, None, "都不是")  # not picked: something else came first
    records.log_outcome("h", "rest", "answer", "arrival", None, "x")
    clarified(records, "old", "提币多少钱", "fee")
    with records.engine.begin() as conn:  # forty days ago: outside the 30 days
        conn.execute(outcomes.update().where(outcomes.c.conversation_id == "old").values(at=NOW - timedelta(days=40)))

    # The agent inserted arrival's suggested answer and added a greeting: counted for the
    # question that started the hand-off (not the 转人工 request after it).
    h1 = handed_off(store, ["提现三天了还没到账怎么办", "转人工"])
    store.agent_message(h1, "li", "您好")
    store.agent_message(h1, "li", "您好！" + ANSWERS["arrival"], faq_id="arrival")
    # Nothing recorded, but the message is fee's answer (pasted): the question asked to the agent.
    h2 = handed_off(store, ["转人工"])
    store.user_message(h2, "提币要钱吗")
    store.agent_message(h2, "li", ANSWERS["fee"].replace("，", ", "))
    # Inserted, then rewritten in the agent's own words: not fee's answer any more.
    h3 = handed_off(store, ["提现怎么收费呀"])
    store.agent_message(h3, "li", "稍等，我帮您查一下", faq_id="fee")
    # fee's answer inside a much longer message: not "essentially" the answer.
    h4 = handed_off(store, ["能不能快点到账"])
    store.agent_message(
        h4, "li", "您好，关于到账时间我们需要核实您的订单号以及链上的确认情况，请您耐心等待。另外" + ANSWERS["fee"]
    )
    # An answer sent forty days ago.
    h5 = handed_off(store, ["提现有限额吗"])
    store.agent_message(h5, "li", ANSWERS["limit"], faq_id="limit")
    restamp(store.engine, handoff_events, handoff_events.c.seq, NOW - timedelta(days=40))

    found = [s.to_json() for s in similar_suggestions(url, KNOWN, ANSWERS, 30)]
    assert found == [
        {
            "faq_id": "fee",
            "question": "提币要钱吗",
            "count": 3,
            "sources": ["clarify", "agent"],
            "examples": ["提币要钱吗", "提币要钱吗？"],
        },
        {
            "faq_id": "arrival",
            "question": "到账要多久呀",
            "count": 1,
            "sources": ["clarify"],
            "examples": ["到账要多久呀"],
        },
        {
            "faq_id": "arrival",
            "question": "提现三天了还没到账怎么办",
            "count": 1,
            "sources": ["agent"],
            "examples": ["提现三天了还没到账怎么办"],
        },
    ]
    assert all("138" not in s["question"] for s in found)
    # 60 days back the old pick and the old agent answer count too.
    older = {(s.faq_id, s.question) for s in similar_suggestions(url, KNOWN, ANSWERS, 60)}
    assert {("fee", "提币多少钱"), ("limit", "提现有限额吗")} <= older
    # Once the wording is an entry's (or in an open change, which the console adds to KNOWN) it is gone.
    added = {**KNOWN, "arrival": [*KNOWN["arrival"], "到账要多久呀"]}
    assert [s.question for s in similar_suggestions(url, added, ANSWERS, 30)] == [
        "提币要钱吗",
        "提现三天了还没到账怎么办",
    ]

    dismissals = Dismissals(url)
    assert dismissals.dismiss("similar", "fee", "提币要钱吗？", "zhou")  # any punctuation: the same wording
    assert not dismissals.dismiss("similar", "fee", "提币要钱吗", "wang")  # already dismissed
    assert dismissals.dismiss("related", "fee", "arrival", "zhou")
    assert dismissals.dismissed("similar") == {("fee", key_of("提币要钱吗"))}
    assert dismissals.dismissed("related") == {("fee", "arrival")}
    left = similar_suggestions(url, KNOWN, ANSWERS, 30, dismissals.dismissed("similar"))
    assert [(s.faq_id, s.question) for s in left] == [
        ("arrival", "到账要多久呀"),
        ("arrival", "提现三天了还没到账怎么办"),
    ]
    with pytest.raises(ValueError):
        dismissals.dismiss("other", "fee", "x", "zhou")
    with pytest.raises(ValueError):
        similar_suggestions(url, KNOWN, ANSWERS, 0)


def test_a_message_is_one_answer_only_when_it_is_essentially_that_answer():
    matcher = AnswerMatcher({**ANSWERS, "short": "好的"})
    assert matcher.same_as(ANSWERS["fee"]) == "fee"
    assert matcher.same_as("您好，" + ANSWERS["arrival"] + "谢谢") == "arrival"  # a greeting around it
    assert matcher.same_as("好的") is None  # too short an answer to match by its text
    assert matcher.same_as("稍等，我帮您查一下") is None
    assert matcher.kept("fee", "提现手续费为每笔 2 USDT，以页面为准") >= 0.6  # lightly edited
    assert matcher.kept("fee", "稍等") == 0.0
    assert matcher.kept("no-such", ANSWERS["fee"]) == 0.0
