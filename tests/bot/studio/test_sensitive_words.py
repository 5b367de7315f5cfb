"""The sensitive-word list in the studio: a change of its own (``kind: words``, entry
``@words``) checked as the editor types, refused when it would make an answer invalid (with
the answer's file:line), reviewed and published, its text kept with the KB version (the audit
trail: who published which list when), and served by the new index version at once."""

from __future__ import annotations

import pytest

from bot.studio.changes import WORDS, WORDS_ENTRY, ChangeStore
from bot.studio.publishing import PublishRefused, check_change, publish, words_data
from indexer.service import build_and_publish, open_current
from indexer.validate import SENSITIVE_FILE


@pytest.fixture
def store(tiny_kb):
    return ChangeStore(f"sqlite:///{tiny_kb.data_dir / 'studio.sqlite'}")


def _approve(store, author: str, data, before):
    change = store.save_draft(author, WORDS_ENTRY, WORDS, data, before)
    store.submit(change.id, author)
    return store.approve(change.id, "reviewer")


def test_the_word_list_is_a_change_checked_reviewed_published_and_audited(tiny_kb, store, embedder):
    build_and_publish(tiny_kb, embedder=embedder)
    bad = check_change(tiny_kb.kb_dir, WORDS_ENTRY, WORDS, words_data("博彩\n[赌博] 拒收\n"))
    assert [(p.file, p.line) for p in bad] == [(SENSITIVE_FILE, 1), (SENSITIVE_FILE, 2)]
    # A word an answer of the KB uses: the answer's line is named, before anything is published.
    clash = check_change(tiny_kb.kb_dir, WORDS_ENTRY, WORDS, words_data("[竞品] 只记录\n银行卡\n"))
    assert [(p.file, p.line, p.field) for p in clash] == [("tiny.yml", 35, "answer")]

    text = "[赌博] 转人工\n博彩   # 客户问到时交给人工\n[允许]\n反博彩宣传\n"
    data = words_data(text)
    assert check_change(tiny_kb.kb_dir, WORDS_ENTRY, WORDS, data) == []
    change = _approve(store, "ann", data, words_data(""))
    assert change.to_json()["diff"][0] == "+ 敏感词：[赌博] 转人工"
    outcome = publish(tiny_kb, store, "bob")
    assert outcome.published == [change.id]
    assert (tiny_kb.kb_dir / SENSITIVE_FILE).read_text(encoding="utf-8") == text
    assert store.version_files(outcome.version.id)[SENSITIVE_FILE] == text  # kept with the version
    assert outcome.version.by == "bob"
    served = open_current(tiny_kb, embedder)
    assert [h.word for h in served.sensitive.find("博 彩")] == ["博彩"]
    assert served.sensitive.find("反博彩宣传") == []


def test_a_published_list_that_an_answer_breaks_is_refused_whole(tiny_kb, store, embedder):
    build_and_publish(tiny_kb, embedder=embedder)
    _approve(store, "ann", words_data("[竞品] 只记录\n银行卡\n"), words_data(""))
    with pytest.raises(PublishRefused) as refused:
        publish(tiny_kb, store, "bob")
    assert [(p.file, p.field) for p in refused.value.problems] == [("tiny.yml", "answer")]
    assert not (tiny_kb.kb_dir / SENSITIVE_FILE).exists()  # nothing written
