"""Drafts → review → publish → rollback on a tiny real KB and index, on SQLite."""

from __future__ import annotations

import pytest

from bot.studio.changes import APPROVED, PUBLISHED, ChangeError, ChangeStore
from bot.studio.publishing import PublishRefused, check_change, entry_data, publish, rollback, snapshot
from bot.studio.yaml_edit import KbFiles
from indexer.kb import load_kb
from indexer.service import build_and_publish, open_current


@pytest.fixture
def store(tiny_kb):
    return ChangeStore(f"sqlite:///{tiny_kb.data_dir / 'studio.sqlite'}")


def _entry(settings, entry_id: str) -> dict:
    return entry_data(next(e for e in load_kb(settings.kb_dir).entries if e.id == entry_id))


def _approve(store, author: str, entry_id: str, kind: str, data, before=None):
    change = store.save_draft(author, entry_id, kind, data, before)
    store.submit(change.id, author)
    return store.approve(change.id, "reviewer")


def test_an_edit_keeps_every_other_line_of_the_file(tiny_kb):
    original = (tiny_kb.kb_dir / "tiny.yml").read_text(encoding="utf-8")
    files = KbFiles.read(tiny_kb.kb_dir)
    assert files.changed() == {}  # read and written back byte for byte
    data = _entry(tiny_kb, "withdraw-fee") | {"answer": "提现手续费为每笔 1 USDT。\n\n以页面为准。"}
    files.put(data)
    changed = files.changed()["tiny.yml"]
    removed = [line for line in original.splitlines() if line not in changed.splitlines()]
    assert removed == ["      提现手续费按币种和网络收取，以提现页面显示为准。"]
    assert "    answer: |\n      提现手续费为每笔 1 USDT。\n\n      以页面为准。\n" in changed
    assert "    tags: [提现, 手续费]" in changed  # a flow list stays a flow list


def test_a_change_to_another_category_moves_the_entry_to_a_new_file(tiny_kb):
    files = KbFiles.read(tiny_kb.kb_dir)
    files.put(_entry(tiny_kb, "pos-apply") | {"category": "POS机/申请"})
    texts = files.changed()
    assert set(texts) == {"tiny.yml", "pos.yml"}
    assert "pos-apply" not in texts["tiny.yml"] and texts["pos.yml"].startswith("category: POS机/申请\nentries:\n")


def test_review_needs_a_second_editor_unless_self_publishing_is_allowed(store):
    change = store.save_draft("ann", "withdraw-fee", "edit", {"question": "x"}, None)
    with pytest.raises(ChangeError, match="正在修改"):
        store.save_draft("bob", "withdraw-fee", "edit", {"question": "y"}, None)
    assert store.save_draft("ann", "withdraw-fee", "edit", {"question": "z"}, None).id == change.id
    store.submit(change.id, "ann")
    with pytest.raises(ChangeError, match="不能批准自己的修改"):
        store.approve(change.id, "ann")
    assert store.approve(change.id, "ann", self_publish=True).status == APPROVED
    with pytest.raises(ChangeError, match="写明原因"):
        store.reject(change.id, "bob", " ")


def test_publish_makes_the_new_answer_live_and_rollback_restores_the_old(tiny_kb, store, embedder):
    before = _entry(tiny_kb, "withdraw-fee")
    original = snapshot(tiny_kb.kb_dir)
    new = before | {"answer": "提现手续费统一为每笔 1 USDT。", "similar": [*before["similar"], "提u要手续费吗"]}
    edit = _approve(store, "ann", "withdraw-fee", "edit", new, before)
    outcome = publish(tiny_kb, store, "bob")
    assert outcome.published == [edit.id] and store.get(edit.id).status == PUBLISHED
    served = open_current(tiny_kb, embedder)
    assert served.directory.name == outcome.index_version
    assert next(e for e in served.entries if e.id == "withdraw-fee").answer.strip() == "提现手续费统一为每笔 1 USDT。"
    versions = store.versions()
    assert [v.note.split("：")[0] for v in versions] == ["发布 1 项修改", "工作室首次发布前的知识库"]

    undone = rollback(tiny_kb, store, versions[-1].id, "bob")
    assert snapshot(tiny_kb.kb_dir) == original
    served = open_current(tiny_kb, embedder)
    assert served.directory.name == undone.index_version
    assert "以提现页面显示为准" in next(e for e in served.entries if e.id == "withdraw-fee").answer


def test_an_invalid_change_publishes_nothing_and_says_where(tiny_kb, store):
    original = snapshot(tiny_kb.kb_dir)
    empty = {"question": "新问题", "answer": "", "category": "交易所/充值与提现"}
    problems = check_change(tiny_kb.kb_dir, "new-one", "create", empty)
    assert any(p.field == "answer" and p.severity == "error" for p in problems)
    _approve(store, "ann", "new-one", "create", empty)
    with pytest.raises(PublishRefused) as refused:
        publish(tiny_kb, store, "bob")
    assert any("answer" in p.field for p in refused.value.problems)
    assert snapshot(tiny_kb.kb_dir) == original


def test_a_new_entry_and_a_deletion_publish_together(tiny_kb, store, embedder):
    data = {
        "question": "提现多久到账？",
        "similar": ["提币多久能到", "提现到账时间", "提現多久到帳", "钱多久能提出来"],
        "answer": "一般 30 分钟内到账。",
        "category": "交易所/充值与提现",
        "tags": ["提现"],
    }
    assert [p for p in check_change(tiny_kb.kb_dir, "withdraw-time", "create", data) if p.severity == "error"] == []
    _approve(store, "ann", "withdraw-time", "create", data)
    _approve(store, "ann", "pos-apply", "delete", None, _entry(tiny_kb, "pos-apply"))
    publish(tiny_kb, store, "bob")
    ids = [e.id for e in open_current(tiny_kb, embedder).entries]
    assert "withdraw-time" in ids and "pos-apply" not in ids


def test_the_synonyms_list_is_a_change_like_an_entry_checked_reviewed_and_published(tiny_kb, store, embedder):
    from bot.studio.changes import SYNONYMS, SYNONYMS_ENTRY
    from bot.studio.publishing import synonyms_data

    build_and_publish(tiny_kb, embedder=embedder)
    bad = check_change(tiny_kb.kb_dir, SYNONYMS_ENTRY, SYNONYMS, synonyms_data("提现 = = 提币"))
    assert [(p.file, p.line) for p in bad] == [("synonyms.txt", 1)] and "空的词" in bad[0].message
    data = synonyms_data("提现 = 出金   # 有的用户这么说\n")
    assert check_change(tiny_kb.kb_dir, SYNONYMS_ENTRY, SYNONYMS, data) == []
    change = _approve(store, "ann", SYNONYMS_ENTRY, SYNONYMS, data, synonyms_data(""))
    assert change.to_json()["diff"] == ["+ 同义词：提现 = 出金   # 有的用户这么说"]
    outcome = publish(tiny_kb, store, "bob")
    assert outcome.published == [change.id]
    assert (tiny_kb.kb_dir / "synonyms.txt").read_text(encoding="utf-8") == "提现 = 出金   # 有的用户这么说\n"
    assert "synonyms.txt" in store.version_files(outcome.version.id)
    searcher = open_current(tiny_kb, embedder)
    result = searcher.search("出金手续费多少", k=1, explain=True)
    assert result.synonyms == [("出金", "提现")] and result.candidates[0].entry.id == "withdraw-fee"


def test_the_draft_index_answers_with_every_open_change_before_review(tiny_kb, store, embedder):
    from bot.studio.draft_index import DraftIndex
    from bot.studio.publishing import draft_texts

    build_and_publish(tiny_kb, embedder=embedder)
    before = _entry(tiny_kb, "pos-apply")
    new = {**before, "similar": [*before["similar"], "街边小摊能用收款机吗"]}
    change = store.save_draft("ann", "pos-apply", "edit", new, before)  # a draft: not even submitted
    store.save_draft("ann", "gone", "delete", None, None)  # its entry does not exist: left out, with why
    draft = draft_texts(tiny_kb.kb_dir, store.changes())
    assert draft.changes == [change.id] and "gone" in draft.skipped[0] and set(draft.texts) == {"tiny.yml"}
    drafts = DraftIndex(tiny_kb)
    searcher = drafts.searcher(draft, embedder)
    hit = searcher.search("街边小摊能用收款机吗", k=1, explain=True).candidates[0]
    assert hit.entry.id == "pos-apply" and hit.matched_question == "街边小摊能用收款机吗"
    assert drafts.searcher(draft, embedder) is searcher  # the same drafts: the kept build
    folder = searcher.directory
    assert folder.exists()
    drafts.close()
    assert not folder.exists()
    # Nothing was written or published: the files and the served index are as they were.
    assert "街边小摊" not in (tiny_kb.kb_dir / "tiny.yml").read_text(encoding="utf-8")
    served = open_current(tiny_kb, embedder).search("街边小摊能用收款机吗", k=1, explain=True).candidates[0]
    assert served.matched_question != "街边小摊能用收款机吗"


def test_a_draft_that_makes_the_kb_invalid_is_refused_with_its_problems(tiny_kb, store, embedder):
    from bot.studio.draft_index import DraftIndex
    from bot.studio.publishing import draft_texts

    before = _entry(tiny_kb, "pos-apply")
    store.save_draft("ann", "pos-apply", "edit", {**before, "related": ["no-such-entry"]}, before)
    with pytest.raises(PublishRefused) as refused:
        DraftIndex(tiny_kb).searcher(draft_texts(tiny_kb.kb_dir, store.changes()), embedder)
    assert any("no-such-entry" in p.message for p in refused.value.problems)
