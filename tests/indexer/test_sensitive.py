"""Sensitive words (``indexer/sensitive.py``, ``sensitive_words.txt``): the matcher over the
normalised skeleton and the evasions it must see through, the allow-list, the file's
validation with lines, KB validation of answers and questions, and the list travelling
with the index version."""

from __future__ import annotations

import textwrap

import pytest

from indexer.kb import KBInvalid, load_kb
from indexer.sensitive import SENSITIVE_JSON, SensitiveAction, SensitiveList, skeleton, strongest
from indexer.service import build_and_publish, open_current
from indexer.validate import SENSITIVE_FILE, parse_sensitive, validate_dir
from tests.conftest import SAMPLE_KB, write_kb

LIST = """
# 测试用的词表
[辱骂] 拒答
傻逼
sb
[赌博] 转人工
赌博
博彩
[暗号] 只记录
1086
[竞品] log
ＸＸ交易所
[允许]
usb
反赌博宣传
"""


def sensitive(text: str = LIST) -> SensitiveList:
    found, problems = parse_sensitive(textwrap.dedent(text).lstrip("\n"))
    assert [p for p in problems if p.severity == "error"] == []
    return found


def words(text: str, found: SensitiveList | None = None) -> list[str]:
    return [h.word for h in (found or sensitive()).find(text)]


def test_plain_words_are_found_with_category_action_and_span():
    (hit,) = sensitive().find("我想问问博彩的事")
    assert (hit.word, hit.category, hit.action) == ("博彩", "赌博", SensitiveAction.HANDOFF)
    assert "我想问问博彩的事"[hit.start : hit.end] == hit.found == "博彩"
    assert words("提现手续费是多少") == []


@pytest.mark.parametrize(
    ("text", "word", "found"),
    [
        ("可以赌 博吗", "赌博", "赌 博"),  # a space between the characters
        ("赌　　博", "赌博", "赌　　博"),  # full-width spaces
        ("賭博網站能充值嗎", "赌博", "賭博"),  # 繁體
        ("博*彩", "博彩", "博*彩"),  # symbols inserted
        ("博-_-彩", "博彩", "博-_-彩"),
        ("博。彩！", "博彩", "博。彩"),
        ("你个ＳＢ", "sb", "ＳＢ"),  # full-width letters
        ("S.B.", "sb", "S.B"),
        ("傻👍逼", "傻逼", "傻👍逼"),  # an emoji between them
        ("暗号１０８６", "1086", "１０８６"),  # full-width digits
        ("暗号1〇86", "1086", "1〇86"),  # homoglyph digits
        ("暗号1O86", "1086", "1O86"),
        ("暗号l086", "1086", "l086"),
        ("暗号1○8６", "1086", "1○8６"),
        ("xx交易所怎么样", "ＸＸ交易所", "xx交易所"),  # the listed word is full-width, the text not
    ],
)
def test_evasions_are_seen_through(text, word, found):
    hits = sensitive().find(text)
    assert [h.word for h in hits] == [word], text
    assert hits[0].found == found and text[hits[0].start : hits[0].end] == found


def test_the_skeleton_maps_each_character_back_to_the_original():
    skel, origin = skeleton("賭 ＢＯ-彩")
    assert skel == "赌b0彩"
    assert origin == [0, 2, 3, 5]


def test_the_allow_list_suppresses_a_hit_inside_an_allowed_phrase_only():
    assert words("我的USB接口坏了") == []
    assert words("U S B 接口") == []  # the allowed phrase is matched on the skeleton too
    assert words("参加反赌博宣传活动") == []
    assert words("USB坏了你个sb") == ["sb"]  # the same word outside the allowed phrase is still a hit
    assert words("我要赌博") == ["赌博"]


def test_several_hits_and_the_strongest_action():
    hits = sensitive().find("傻逼，我要赌博")
    assert [h.word for h in hits] == ["傻逼", "赌博"]
    assert strongest(hits) == SensitiveAction.REFUSE
    assert strongest(sensitive().find("博彩和1086")) == SensitiveAction.HANDOFF
    assert strongest(sensitive().find("1086")) == SensitiveAction.LOG
    assert strongest([]) is None


def test_an_empty_list_finds_nothing():
    assert SensitiveList().find("赌博") == []
    assert not SensitiveList() and sensitive()


def test_the_list_round_trips_through_json():
    found = sensitive()
    assert SensitiveList.from_json(found.to_json()) == found


def test_file_problems_have_their_lines():
    text = textwrap.dedent(
        """
        赌博
        [赌博] 拒收
        博彩
        [辱骂] 拒答
        傻逼
        傻 逼
        **
        操
        [辱骂] 转人工
        [允许]
        天气很好
        """
    ).lstrip("\n")
    found, problems = parse_sensitive(text)
    messages = [(p.line, p.severity, p.message) for p in problems]
    assert messages[0][:2] == (1, "error") and "前面还没有分类" in messages[0][2]
    assert messages[1][:2] == (2, "error") and "拒收" in messages[1][2] and "拒答" in messages[1][2]
    assert any(line == 6 and sev == "error" and "第 5 行" in msg for line, sev, msg in messages)
    assert any(line == 7 and sev == "error" and "只有空格、标点或符号" in msg for line, sev, msg in messages)
    assert any(line == 8 and sev == "warning" and "只有一个字" in msg for line, sev, msg in messages)
    assert any(line == 9 and sev == "error" and "重复" in msg for line, sev, msg in messages)
    assert any(line == 11 and sev == "warning" and "不起作用" in msg for line, sev, msg in messages)
    assert all(str(p).startswith(f"{SENSITIVE_FILE}:{p.line}: [sensitive] ") for p in problems)
    # 博彩 under the bad header is left out; the good words are kept.
    assert [c.name for c in found.categories] == ["辱骂"] and found.categories[0].words == ("傻逼", "操")


def test_the_shipped_list_is_valid_and_the_sample_kb_passes_it():
    text = (SAMPLE_KB / SENSITIVE_FILE).read_text(encoding="utf-8")
    found, problems = parse_sensitive(text)
    assert problems == []
    assert found and found.find("手机跑分多少") == [] and [h.word for h in found.find("帮人跑 分")] == ["跑分"]
    assert [p for p in validate_dir(SAMPLE_KB)[2] if p.severity == "error"] == []


ENTRY = """
category: 测试
entries:
  - id: ok
    question: 提现手续费是多少？
    answer: 按页面显示收取。
  - id: bad-answer
    question: 充值多久到账？
    answer: |
      一般几分钟到账。
      不要把资金转给赌*博网站。
  - id: bad-question
    question: 怎么充值博彩
    similar:
      - 能不能玩 博 彩
    answer: 不可以。
  - id: bad-notice
    question: 账户冻结怎么办
    answer: 需要人工核实。
    handoff: always
    handoff_notice: 涉及赌博的账户需要人工核实。
  - id: allowed
    question: 反赌博宣传在哪里看
    answer: 在公告页。
"""


def test_kb_validation_reports_sensitive_words_with_file_line_and_field(settings):
    write_kb(settings.kb_dir, "faq.yml", ENTRY)
    write_kb(settings.kb_dir, SENSITIVE_FILE, LIST)
    problems = [p for p in validate_dir(settings.kb_dir)[2] if "敏感词" in p.message]
    found = {(p.line, p.field) for p in problems}
    assert found == {(10, "answer"), (12, "question"), (14, "similar"), (20, "handoff_notice")}
    (answer,) = [p for p in problems if p.field == "answer"]
    assert str(answer).startswith("faq.yml:10: [answer] 错误：答案里有敏感词 “赌博”（赌博）")
    assert "赌*博" in answer.message and "[允许]" in answer.message
    with pytest.raises(KBInvalid):
        load_kb(settings.kb_dir)


def test_the_list_travels_with_the_index_version(tiny_kb, embedder):
    settings = tiny_kb
    write_kb(settings.kb_dir, SENSITIVE_FILE, LIST)
    kb = load_kb(settings.kb_dir)
    assert kb.sensitive == sensitive()
    hashed = kb.content_hash()
    build_and_publish(settings, embedder=embedder)
    searcher = open_current(settings, embedder)
    assert SENSITIVE_JSON in searcher.manifest.files
    assert [h.word for h in searcher.sensitive.find("賭 博")] == ["赌博"]
    # The file changes; the served version keeps checking with its own list until a publish.
    write_kb(settings.kb_dir, SENSITIVE_FILE, "[辱骂] 拒答\n傻逼\n")
    assert load_kb(settings.kb_dir).content_hash() != hashed
    assert [h.word for h in open_current(settings, embedder).sensitive.find("赌博")] == ["赌博"]
    off = settings.replace(sensitive=type(settings.sensitive)(enabled=False))
    assert not open_current(off, embedder).sensitive  # [sensitive] enabled = false: nothing checked
