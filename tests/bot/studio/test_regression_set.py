"""The regression set's store, on SQLite and on the real PostgreSQL the servers share."""

from __future__ import annotations

import uuid

import pytest

from bot.studio.regression_set import RegressionSet, RegressionSetError, read_jsonl
from indexer.regression import Case
from tests.databases import postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        return RegressionSet(f"sqlite:///{tmp_path / 'records.sqlite'}")
    found = RegressionSet(postgres_url())
    for case in found.cases():  # the shared database: start from an empty set
        found.delete(case.id)
    return found


def test_cases_are_added_once_listed_and_deleted(store):
    tag = uuid.uuid4().hex[:6]
    first, new = store.add(f"提现手续费是多少？{tag}", "withdraw-fee", "hit_test", "zhou")
    assert new and first.source == "hit_test" and first.added_by == "zhou" and first.added_at.tzinfo
    # The same question, written differently, for the same FAQ: the case already there.
    again, new = store.add(f"  提现手续费是多少?{tag} ", "withdraw-fee", "manual", "li")
    assert not new and again.id == first.id
    other, new = store.add(f"提现手续费是多少？{tag}", "withdraw-limit", "gap")
    assert new and other.id != first.id
    assert [(c.faq_id, c.source) for c in store.cases()] == [("withdraw-fee", "hit_test"), ("withdraw-limit", "gap")]
    assert store.as_cases()[0] == Case(f"提现手续费是多少？{tag}", "withdraw-fee")
    assert store.cases()[0].to_json()["added_by"] == "zhou"
    assert store.delete(first.id) and not store.delete(first.id)
    assert [c.id for c in store.cases()] == [other.id]


def test_bad_cases_are_refused_with_the_reason(store):
    with pytest.raises(RegressionSetError, match="需要问题（question）"):
        store.add("  ", "withdraw-fee")
    with pytest.raises(RegressionSetError, match="需要条目 id（faq_id）"):
        store.add("提现手续费", "")
    with pytest.raises(RegressionSetError, match="来源（source）只能是"):
        store.add("提现手续费", "withdraw-fee", "web")
    with pytest.raises(RegressionSetError, match="最多 500 个"):
        store.add("问" * 501, "withdraw-fee")
    assert store.cases() == []


def test_import_and_export_json_lines(store):
    text = (
        '{"question": "提现手续费是多少", "faq_id": "withdraw-fee"}\n\n'
        '{"question": "账户被冻结了", "faq_id": "account-frozen"}\n'
        '{"question": "提现手续费是多少？", "faq_id": "withdraw-fee"}\n'
    )
    assert store.import_jsonl(text, "zhou") == (2, 1)
    assert {c.source for c in store.cases()} == {"import"}
    exported = store.export_jsonl()
    assert exported.splitlines() == [
        '{"question": "提现手续费是多少", "faq_id": "withdraw-fee"}',
        '{"question": "账户被冻结了", "faq_id": "account-frozen"}',
    ]
    assert store.import_jsonl(exported) == (0, 2)
    assert read_jsonl(exported) == store.as_cases()
    with pytest.raises(RegressionSetError, match="第 2 行不是有效的 JSON"):
        store.import_jsonl('{"question": "a", "faq_id": "b"}\n{oops\n')
    with pytest.raises(RegressionSetError, match="第 1 行：需要条目 id"):
        read_jsonl('{"question": "a"}')
    assert len(store.cases()) == 2  # a bad file adds nothing
