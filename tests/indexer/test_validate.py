import textwrap

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from indexer.kb import FaqEntry, KBInvalid, load_kb
from indexer.kb_import import render_yaml
from indexer.validate import validate_dir, validate_text
from tests.conftest import TINY_KB, write_kb


def errors_of(text, name="f.yml"):
    _, problems, _ = validate_text(textwrap.dedent(text).lstrip("\n"), name)
    return [p for p in problems if p.severity == "error"]


def test_tiny_kb_is_valid(tiny_kb):
    kb = load_kb(tiny_kb.kb_dir)
    assert [e.id for e in kb.entries] == ["withdraw-fee", "account-frozen", "pos-apply"]
    assert kb.entries[1].handoff == "always" and kb.entries[1].handoff_notice
    assert kb.entries[0].category == "交易所/充值与提现"
    assert "提现" in kb.terms and "POS机" in kb.terms
    assert kb.entries[0].source == "tiny.yml:3"


def test_sample_kb_is_valid_and_big_enough():
    from tests.conftest import SAMPLE_KB

    entries, _, problems = validate_dir(SAMPLE_KB)
    assert not [p for p in problems if p.severity == "error"], problems
    assert len(entries) >= 80
    assert all(len(e.similar) >= 4 for e in entries)
    assert {e.handoff for e in entries} == {"never", "offer", "always"}


def test_bad_yaml_reports_line():
    [problem] = errors_of("""
        category: x
        entries:
          - id: a
            question: "unterminated
            answer: b
        """)
    assert problem.file == "f.yml" and problem.line in (4, 5, 6)
    assert "invalid YAML" in problem.message


def test_unknown_and_missing_fields_with_lines():
    problems = errors_of("""
        category: 测试
        entries:
          - id: a
            question: 问题一
            anwser: 回答
            similar: [问法]
        """)
    by_field = {p.field: p for p in problems}
    assert by_field["anwser"].line == 5 and "did you mean 'answer'" in by_field["anwser"].message
    assert by_field["answer"].line == 3 and "missing required field" in by_field["answer"].message


def test_empty_answer_bad_handoff_bad_enabled_bad_id():
    problems = errors_of("""
        category: 测试
        entries:
          - id: Bad Id
            question: 问题一
            answer: "   "
            handoff: sometimes
            enabled: maybe
            hot: 是
        """)
    fields = {p.field: p.line for p in problems}
    assert fields == {"id": 3, "answer": 5, "handoff": 6, "enabled": 7, "hot": 8}


def test_hot_questions_are_read_in_file_order():
    from indexer.validate import validate_text

    entries, problems, _ = validate_text(
        textwrap.dedent("""
        category: 测试
        entries:
          - id: a
            question: 问题一
            answer: 答案
          - id: b
            hot: true
            question: 问题二
            answer: 答案
        """),
        "t.yml",
    )
    assert [e.hot for e in entries] == [False, True]


def test_broken_link_syntax_points_at_the_answer_line():
    problems = errors_of("""
        category: 测试
        entries:
          - id: a
            question: 问题一
            answer: |
              第一行没问题。
              详见[帮助中心](https://help.example.com/x
              或者[这里] (https://help.example.com/y)
              [坏链接](javascript:alert)
        """)
    assert [(p.field, p.line) for p in problems] == [("answer", 7), ("answer", 8), ("answer", 9)]
    assert "missing ')'" in problems[0].message
    assert "https://" in problems[2].message


def test_raw_html_rejected():
    [problem] = errors_of("""
        category: 测试
        entries:
          - id: a
            question: 问题一
            answer: 点击<script>alert(1)</script>
        """)
    assert "raw HTML" in problem.message


def test_duplicate_ids_and_questions_across_files(settings):
    write_kb(settings.kb_dir, "a.yml", TINY_KB)
    write_kb(
        settings.kb_dir,
        "b.yml",
        """
        category: 其他
        entries:
          - id: withdraw-fee
            question: 别的问题
            answer: 别的回答
          - id: other
            question: 提現手續費是多少
            similar: [完全不同的问法]
            answer: 回答
        """,
    )
    _, _, problems = validate_dir(settings.kb_dir)
    errors = [p for p in problems if p.severity == "error"]
    assert len(errors) == 2
    dup_id = next(p for p in errors if p.field == "id")
    assert dup_id.file == "b.yml" and dup_id.line == 3 and "a.yml:3" in dup_id.message
    dup_q = next(p for p in errors if p.field == "question")
    # Same question after normalisation (traditional, punctuation) counts as the same.
    assert dup_q.file == "b.yml" and dup_q.line == 7 and "withdraw-fee" in dup_q.message


def test_invalid_kb_is_never_loaded(settings):
    write_kb(settings.kb_dir, "a.yml", TINY_KB)
    write_kb(settings.kb_dir, "b.yml", "category: x\nentries: 3\n")
    with pytest.raises(KBInvalid) as exc:
        load_kb(settings.kb_dir)
    assert "b.yml:2" in str(exc.value)


def test_not_utf8(settings):
    (settings.kb_dir / "gbk.yml").write_bytes("category: 测试\n".encode("gbk"))
    _, _, problems = validate_dir(settings.kb_dir)
    assert "not UTF-8" in problems[0].message


text_st = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(
    lambda s: s.strip() and __import__("faqbot.normalize").normalize.normalize(s)
)


@given(question=text_st, similar=st.lists(text_st, max_size=4), answer=text_st, tags=st.lists(text_st, max_size=3))
@hsettings(max_examples=150, deadline=None)
def test_importer_output_round_trips_through_the_validator(question, similar, answer, tags):
    """Whatever text editors type, the YAML we write parses back to the same entry."""
    answer = answer.replace("[", "【").replace("]", "】").replace("<", "＜")
    entry = FaqEntry(
        id="e1",
        question=question.strip(),
        answer=answer.strip() or "x",
        category="分类",
        similar=tuple(s.strip() for s in similar),
        tags=tuple(t.strip() for t in tags),
    )
    entries, problems, _ = validate_text(render_yaml("分类", [entry], "t.csv"), "t.yml")
    assert not [p for p in problems if p.severity == "error" and p.field not in ("similar", "question")], problems
    if entries:
        got = entries[0]
        assert (got.question, got.answer, got.tags) == (entry.question, entry.answer.strip(), entry.tags)
