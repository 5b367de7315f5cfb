"""Synonyms (synonyms.txt): parsing and the editors' messages, the rewrite, and a real
tiny index where a query in a variant word is matched through its canonical word."""

from __future__ import annotations

import json
import textwrap

import pytest

from bot.console.kb_lookup import KbLookup
from indexer.kb import KBInvalid, load_kb
from indexer.manifest import IndexCorrupt, verify_version
from indexer.search import Searcher
from indexer.service import build_and_publish, open_current, store_for
from indexer.synonyms import SYNONYMS_JSON, Synonyms
from indexer.validate import parse_synonyms, validate_dir

WITHDRAW = "提现 = 出金 = 取币\n"


def parse(text: str):
    return parse_synonyms(textwrap.dedent(text).lstrip("\n"))


def messages(text: str, severity: str = "error") -> list[str]:
    return [str(p) for p in parse(text)[1] if p.severity == severity]


def test_groups_comments_and_normalisation():
    synonyms, problems = parse(
        """
        # 注释
        提现 = 提币 = 取币   # 行尾注释

        POS机 = 刷卡機
        """
    )
    assert problems == []
    # Words are normalised like the text they are matched in (case, traditional characters).
    assert synonyms.groups == (("提现", "提币", "取币"), ("pos机", "刷卡机"))
    assert synonyms.to_json() == [["提现", "提币", "取币"], ["pos机", "刷卡机"]]
    assert Synonyms.from_json(synonyms.to_json()) == synonyms
    assert not Synonyms() and synonyms


def test_validation_messages_have_the_line():
    errors = messages(
        """
        提现 = 提币
        冻结
        退款 = = 退钱
        充值 = 提币
        到账 = 到帐
        钱包 = 钱
        解冻 = 解封 =
        """
    )
    assert errors == [
        "synonyms.txt:2: [synonyms] 错误：一组同义词至少要有两个词，用 = 隔开，例如“提现 = 提币”；这一行只有“冻结”",
        "synonyms.txt:3: [synonyms] 错误：这一行有一个空的词：两个 = 之间或行首行尾没有写词",
        "synonyms.txt:4: [synonyms] 错误：“提币”已经在第 1 行的一组里了：一个词只能属于一组同义词",
        "synonyms.txt:5: [synonyms] 错误：“到帐”在这一组里写了两次",
        "synonyms.txt:6: [synonyms] 错误：“钱”只有一个字："
        "它会把其他词里的这个字也替换掉（例如“退钱”里的“钱”）；请写成完整的词",
        "synonyms.txt:7: [synonyms] 错误：这一行有一个空的词：两个 = 之间或行首行尾没有写词",
    ]
    # A group with an error is left out; the others still apply.
    assert parse("提现 = 提币\n冻结\n")[0].groups == (("提现", "提币"),)


def test_a_variant_inside_a_word_of_another_group_is_a_warning():
    warnings = messages("提现 = 提币\n钱包地址 = 提币地址\n", "warning")
    assert warnings == [
        "synonyms.txt:1: [synonyms] 警告：“提币”是第 2 行“提币地址”的一部分：句子里出现“提币地址”时"
        "整个替换成“钱包地址”，不会替换成“提现”"
    ]


def test_apply_longest_match_first_left_to_right():
    synonyms = Synonyms([("提现", "提币"), ("钱包地址", "提币地址"), ("冻结", "冻住"), ("解冻", "解封")])
    assert synonyms.apply("提币地址填错了 提币多久到") == "钱包地址填错了 提现多久到"
    assert synonyms.applied("提币地址填错了 提币多久到 提币") == [("提币地址", "钱包地址"), ("提币", "提现")]
    # Canonical words match too and keep their characters: 解冻 is not 解 + 冻住's group.
    assert synonyms.apply("账户冻住了怎么解封") == "账户冻结了怎么解冻"
    assert synonyms.apply("解冻要多久") == "解冻要多久" and synonyms.applied("解冻要多久") == []
    assert synonyms.apply("") == "" and Synonyms().apply("提币") == "提币"


def test_the_sample_synonyms_are_valid():
    from tests.conftest import SAMPLE_KB

    _, _, problems = validate_dir(SAMPLE_KB)
    assert not [p for p in problems if p.file == "synonyms.txt"], problems
    assert load_kb(SAMPLE_KB).synonyms


def test_kb_with_bad_synonyms_is_invalid(tiny_kb):
    (tiny_kb.kb_dir / "synonyms.txt").write_text("提现\n", encoding="utf-8")
    with pytest.raises(KBInvalid) as caught:
        load_kb(tiny_kb.kb_dir)
    assert "synonyms.txt:1: [synonyms] 错误：一组同义词至少要有两个词" in str(caught.value)


def test_content_hash_follows_the_synonyms(tiny_kb):
    without = load_kb(tiny_kb.kb_dir).content_hash()
    path = tiny_kb.kb_dir / "synonyms.txt"
    path.write_text("# 还没有同义词\n", encoding="utf-8")
    assert load_kb(tiny_kb.kb_dir).content_hash() == without  # nothing to apply: nothing changed
    path.write_text(WITHDRAW, encoding="utf-8")
    one = load_kb(tiny_kb.kb_dir).content_hash()
    path.write_text("提现 = 出金\n", encoding="utf-8")
    assert len({without, one, load_kb(tiny_kb.kb_dir).content_hash()}) == 3


def withdraw_fee_bm25(searcher: Searcher, query: str) -> float:
    return max((c.bm25 for c in searcher.search(query).candidates if c.entry.id == "withdraw-fee"), default=0.0)


@pytest.mark.slow
def test_a_variant_word_finds_the_entry_through_bm25(tiny_kb, embedder):
    # "出金" shares no word and no character with any question of the tiny KB.
    build_and_publish(tiny_kb, embedder=embedder)
    plain = open_current(tiny_kb, embedder)
    assert withdraw_fee_bm25(plain, "出金") == 0.0 and plain.search("出金").synonyms == []

    (tiny_kb.kb_dir / "synonyms.txt").write_text(WITHDRAW, encoding="utf-8")
    published = build_and_publish(tiny_kb, embedder=embedder)
    assert not published.skipped  # a change to synonyms.txt alone republishes
    searcher = open_current(tiny_kb, embedder)
    result = searcher.search("出金")
    assert result.searched == "提现" and result.normalised == "出金" and result.synonyms == [("出金", "提现")]
    top = result.candidates[0]
    assert top.entry.id == "withdraw-fee" and top.bm25 > 0
    assert build_and_publish(tiny_kb, embedder=embedder).skipped
    # The KB's own questions were rewritten the same way: "取币" in the KB meets "出金" in a query.
    assert "提现" in searcher.search("出金手续费", explain=True).candidates[0].shared_terms


@pytest.mark.slow
def test_the_searcher_uses_the_synonyms_of_its_own_version(tiny_kb, embedder):
    path = tiny_kb.kb_dir / "synonyms.txt"
    path.write_text(WITHDRAW, encoding="utf-8")
    first = build_and_publish(tiny_kb, embedder=embedder)
    old = open_current(tiny_kb, embedder)
    stored = json.loads((old.directory / SYNONYMS_JSON).read_text(encoding="utf-8"))
    assert stored == [["提现", "出金", "取币"]] and SYNONYMS_JSON in first.manifest.files

    path.write_text("冻结 = 冻住\n", encoding="utf-8")  # the KB now has other synonyms
    build_and_publish(tiny_kb, embedder=embedder)
    new = open_current(tiny_kb, embedder)
    assert new.directory != old.directory
    assert withdraw_fee_bm25(old, "出金") > 0 and old.search("冻住").synonyms == []
    assert withdraw_fee_bm25(new, "出金") == 0.0 and new.search("冻住").synonyms == [("冻住", "冻结")]
    # Reopening the first version (a rollback) brings its synonyms back, not the file's.
    assert store_for(tiny_kb).rollback() == first.version
    assert open_current(tiny_kb, embedder).synonyms == Synonyms([("提现", "出金", "取币")])

    # synonyms.json is checked like every other file of the version.
    (old.directory / SYNONYMS_JSON).write_text("[]", encoding="utf-8")
    with pytest.raises(IndexCorrupt, match=SYNONYMS_JSON):
        verify_version(old.directory)


@pytest.mark.slow
def test_the_hit_test_shows_the_synonyms_applied(tiny_kb, embedder):
    (tiny_kb.kb_dir / "synonyms.txt").write_text(WITHDRAW, encoding="utf-8")
    build_and_publish(tiny_kb, embedder=embedder)
    found = KbLookup(tiny_kb).hit_test("出金手续费多少")
    assert found["synonyms"] == [{"from": "出金", "to": "提现"}]
    assert found["candidates"][0]["faq_id"] == "withdraw-fee"
    assert KbLookup(tiny_kb).hit_test("提现手续费")["synonyms"] == []
