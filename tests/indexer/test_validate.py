import textwrap

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from indexer.kb import FaqEntry, KBInvalid, Problem, load_kb
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


# Each YAML syntax mistake editors make, the line where it starts and the plain message (PyYAML's
# own report, checked by hand: "while scanning a quoted scalar … found unexpected end of stream" at
# the end of the file, "expected <block end>, but found '<block mapping start>'", and so on).
SYNTAX_CASES = {
    "unclosed quote, end of file": (
        """
        category: x
        entries:
          - id: a
            question: "未闭合
            answer: b
        """,
        4,
        '第 4 行的引号没有闭合：开头的 " 在这一行，后面缺少配对的 "：「    question: "未闭合」',
    ),
    "unclosed quote, closed by a later value's quote": (
        """
        category: x
        entries:
          - id: a
            question: '未闭合
            answer: b
          - id: c
            question: 'd'
            answer: e
        """,
        4,
        "第 4 行的引号没有闭合：开头的 ' 在这一行，后面缺少配对的 '",
    ),
    "unclosed quote, a later empty quoted value": (
        """
        category: x
        entries:
          - id: a
            question: "未闭合
            answer: b
          - id: c
            question: d
            answer: ""
        """,
        4,
        "第 4 行的引号没有闭合",
    ),
    "a field indented less": (
        """
        category: x
        entries:
          - id: a
            question: q
           answer: b
        """,
        5,
        "这一行的缩进和上面的字段对不齐：同一层的字段要用相同数量的空格开头：「   answer: b」",
    ),
    "a field indented more": (
        """
        category: x
        entries:
          - id: a
            question: q
              answer: b
        """,
        5,
        "这一行的缩进和上面的字段对不齐",
    ),
    "a list item indented less": (
        """
        category: x
        entries:
          - id: a
            question: q
            similar:
              - 问法一
             - 问法二
            answer: b
        """,
        7,
        "这一行的缩进和上面的字段对不齐",
    ),
    "text under | not indented": (
        """
        category: x
        entries:
          - id: a
            question: q
            answer: |
            第一行
        """,
        6,
        "这一行的缩进不够：“|” 或 “>” 下面的每一行文字都要比字段名多缩进几个空格",
    ),
    "a colon in the text": (
        """
        category: x
        entries:
          - id: a
            question: q
            answer: 时间: 9点
        """,
        5,
        "这一行多了一个冒号：文字里有“: ”时，请把整段文字用引号括起来：「    answer: 时间: 9点」",
    ),
    "a Tab as indentation": (
        "category: x\nentries:\n  - id: a\n\tquestion: q\n    answer: b\n",
        4,
        "这一行用 Tab 缩进了：YAML 只能用空格缩进：「[Tab]question: q」",
    ),
    "a Tab inside the line": (
        "category: x\nentries:\n  - id: a\n    question: q\n    answer:\tb\n",
        5,
        "这一行有 Tab 字符：YAML 里请用空格代替 Tab",
    ),
    "no colon": (
        """
        category: x
        entries:
          - id: a
            question 问题
            answer: b
        """,
        4,
        "这一行缺少冒号：字段要写成 名称: 内容",
    ),
    "a Chinese colon": (
        """
        category: x
        entries:
          - id: a
            question：问题
            answer: b
        """,
        4,
        "这一行用了中文冒号“：”",
    ),
    "no space after the colon": (
        """
        category: x
        entries:
          - id: a
            question: q
            answer:b
        """,
        5,
        "这一行的冒号后面缺少空格",
    ),
    "text starting with *": (
        """
        category: x
        entries:
          - id: a
            question: q
            answer: **重要**：请先登录
        """,
        5,
        "以 * 开头的文字要用引号括起来",
    ),
    "text starting with * and a name (an alias)": (
        """
        category: x
        entries:
          - id: a
            question: *note 问题
            answer: b
        """,
        4,
        "以 * 开头的文字要用引号括起来",
    ),
    "text starting with &": (
        """
        category: x
        entries:
          - id: a
            question: &问题
            answer: b
        """,
        4,
        "以 & 开头的文字要用引号括起来",
    ),
    "text starting with !": (
        """
        category: x
        entries:
          - id: a
            question: !重要 问题
            answer: b
        """,
        4,
        "以 ! 开头的文字要用引号括起来",
    ),
    "text starting with @": (
        """
        category: x
        entries:
          - id: a
            question: q
            answer: @客服 会联系您
        """,
        5,
        "以 @ 开头的文字要用引号括起来",
    ),
    "text starting with %": (
        """
        category: x
        entries:
          - id: a
            question: q
            answer: %50 的手续费
        """,
        5,
        "以 % 开头的文字要用引号括起来",
    ),
    "a backslash in double quotes": (
        r"""
        category: x
        entries:
          - id: a
            question: q
            answer: "路径是 C:\data"
        """,
        5,
        "双引号里的反斜杠 \\ 无法识别：改用单引号，或写成 \\\\",
    ),
    "an unclosed [": (
        """
        category: x
        entries:
          - id: a
            question: q
            tags: [提现, 手续费
            answer: b
        """,
        5,
        "方括号没有闭合：这一行的 [ 后面缺少配对的 ]：「    tags: [提现, 手续费」",
    ),
    "an unclosed {": (
        """
        category: x
        entries:
          - {id: a, question: q
            answer: b
        """,
        3,
        "花括号没有闭合",
    ),
    "text after a link at the start of an answer": (
        """
        category: x
        entries:
          - id: a
            question: q
            answer: [帮助中心](https://help.example.com) 有说明
        """,
        5,
        "这一行的引号或括号后面还有文字",
    ),
    "a list after the colon": (
        """
        category: x
        entries:
          - id: a
            question: q
            answer: - 第一步
        """,
        5,
        "冒号后面不能直接写“- ”",
    ),
    "a control character pasted from Word": (
        "category: x\nentries:\n  - id: a\n    question: q\x0b\n    answer: b\n",
        4,
        "这一行有一个不能用的特殊字符（U+000B）：请删掉它，它常见于从 Word 或网页复制来的文字"
        "：「    question: q[U+000B]」",
    ),
    "a second document": (
        "category: x\n---\nentries: []\n",
        2,
        "一个文件只能有一份内容",
    ),
}


@pytest.mark.parametrize("case", SYNTAX_CASES)
def test_yaml_syntax_errors_name_the_line_they_start_on_in_plain_words(case):
    text, line, message = SYNTAX_CASES[case]
    [problem] = errors_of(text)
    assert (problem.file, problem.line, problem.field) == ("f.yml", line, "")
    assert message in problem.message, problem.message


def test_other_yaml_errors_keep_pyyaml_words_and_a_line():
    [problem] = errors_of("""
        category: x
        entries:
          - id: a
            question: q
            answer: ] 结尾
        """)
    assert problem.line == 5
    assert problem.message == "YAML 格式错误：expected the node content, but found ']'：「    answer: ] 结尾」"


def test_a_custom_tag_is_reported_not_raised():
    [problem] = errors_of("""
        category: x
        entries:
          - id: a
            question: !bold 问题
            answer: b
        """)
    assert (problem.field, problem.line) == ("question", 4) and "以 ! 开头的文字要用引号括起来" in problem.message


def test_problem_prints_severity_and_field_in_chinese():
    error = Problem("faq.yml", 5, "answr", "未知字段 answr")
    assert str(error) == "faq.yml:5: [answr] 错误：未知字段 answr"
    assert str(Problem("faq.yml", 0, "", "找不到", "warning")) == "faq.yml: 警告：找不到"


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
    assert by_field["anwser"].line == 5
    assert by_field["anwser"].message == (
        "未知字段 anwser（您是不是想写 answer？）；"
        "可用的字段：id, question, similar, answer, tags, handoff, handoff_notice, enabled, hot, related, valid_until"
    )
    assert str(by_field["anwser"]).startswith("f.yml:5: [anwser] 错误：未知字段 anwser（您是不是想写 answer？）")
    assert by_field["answer"].line == 3 and by_field["answer"].message == "缺少必填字段 answer"


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
    assert "末尾缺少 )" in problems[0].message
    assert "] 和 ( 之间不能有空格" in problems[1].message
    assert "要以 https://" in problems[2].message


def test_raw_html_rejected():
    [problem] = errors_of("""
        category: 测试
        entries:
          - id: a
            question: 问题一
            answer: 点击<script>alert(1)</script>
        """)
    assert "不能写 HTML 标签 <script>" in problem.message


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
    assert (
        dup_id.file == "b.yml"
        and dup_id.line == 3
        and dup_id.message == "id withdraw-fee 重复了：a.yml:3 已经用了这个 id"
    )
    dup_q = next(p for p in errors if p.field == "question")
    # Same question after normalisation (traditional, punctuation) counts as the same.
    assert dup_q.file == "b.yml" and dup_q.line == 7 and "也是条目 withdraw-fee 的问法（a.yml:3" in dup_q.message


def test_invalid_kb_is_never_loaded(settings):
    write_kb(settings.kb_dir, "a.yml", TINY_KB)
    write_kb(settings.kb_dir, "b.yml", "category: x\nentries: 3\n")
    with pytest.raises(KBInvalid) as exc:
        load_kb(settings.kb_dir)
    assert "知识库有 1 个错误" in str(exc.value) and "b.yml:2: [entries] 错误：entries 应该是一个列表" in str(exc.value)


def test_not_utf8(settings):
    (settings.kb_dir / "gbk.yml").write_bytes("category: x\n# 注释\n".encode("gbk"))
    _, _, problems = validate_dir(settings.kb_dir)
    assert (problems[0].line, problems[0].message) == (
        2,
        "文件不是 UTF-8 编码（这一行有无法识别的字符）：请在编辑器里另存为 UTF-8",
    )


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


# decision.yml: the thresholds that go with the KB (written by `faqbot kb recalibrate --write`).


def decision_errors(text):
    from indexer.validate import validate_decision_text

    values, problems = validate_decision_text(textwrap.dedent(text).lstrip("\n"))
    return values, [str(p) for p in problems]


def test_decision_file_is_read_with_the_kb_and_changes_its_hash(tiny_kb):
    before = load_kb(tiny_kb.kb_dir)
    assert before.decision == {}
    write_kb(tiny_kb.kb_dir, "decision.yml", "answer_threshold: 0.8\nclarify_threshold: 0.2\n")
    after = load_kb(tiny_kb.kb_dir)
    assert after.decision == {"answer_threshold": 0.8, "clarify_threshold": 0.2}
    assert [e.id for e in after.entries] == [e.id for e in before.entries]  # not read as an FAQ file
    assert after.content_hash() != before.content_hash()


def test_decision_thresholds_are_numbers_between_0_and_1_clarify_below_answer():
    assert decision_errors("answer_threshold: 0.8\nclarify_threshold: 0.2\n") == (
        {"answer_threshold": 0.8, "clarify_threshold": 0.2},
        [],
    )
    assert decision_errors("") == ({}, [])
    values, problems = decision_errors("answer_threshold: 1.5\nclarify_threshold: 高\n")
    assert values == {}
    assert problems == [
        "decision.yml:1: [answer_threshold] 错误：answer_threshold 应该是 0 到 1 之间的小数（不含 0 和 1），"
        "例如 0.8；现在写的是“1.5”",
        "decision.yml:2: [clarify_threshold] 错误：clarify_threshold 应该是 0 到 1 之间的小数（不含 0 和 1），"
        "例如 0.8；现在写的是“高”",
    ]
    _, problems = decision_errors("answer_threshold: 0.3\nclarify_threshold: 0.5\n")
    assert problems == [
        "decision.yml:2: [clarify_threshold] 错误：clarify_threshold（0.5）必须小于 answer_threshold（0.3）："
        "置信度低于反问阈值才转为“没找到”"
    ]
    _, problems = decision_errors("answer_threshold: 0.8\nclarify_treshold: 0.2\n")
    assert (
        "decision.yml:2: [clarify_treshold] 错误：未知字段 clarify_treshold（您是不是想写 clarify_threshold？）"
        in (problems[0])
    )
    assert "缺少字段 clarify_threshold" in problems[1]
    _, problems = decision_errors("answer_threshold: true\nclarify_threshold: 0\n")
    assert len(problems) == 2 and all("0 到 1 之间的小数" in p for p in problems)
    _, problems = decision_errors("- 0.8\n")
    assert problems == ["decision.yml:1: 错误：decision.yml 要写成字段：answer_threshold: 和 clarify_threshold:"]


def test_an_invalid_decision_file_stops_the_kb_from_loading(tiny_kb):
    write_kb(tiny_kb.kb_dir, "decision.yml", "answer_threshold: 0.2\nclarify_threshold: 0.4\n")
    with pytest.raises(KBInvalid) as caught:
        load_kb(tiny_kb.kb_dir)
    assert [p.file for p in caught.value.problems if p.severity == "error"] == ["decision.yml"]


def test_write_thresholds_writes_what_the_validator_reads(tiny_kb):
    from indexer.validate import write_thresholds

    path = write_thresholds(tiny_kb.kb_dir, 0.65, 0.169)
    assert path.name == "decision.yml" and "#" in path.read_text(encoding="utf-8")
    assert load_kb(tiny_kb.kb_dir).decision == {"answer_threshold": 0.65, "clarify_threshold": 0.169}
    with pytest.raises(ValueError):
        write_thresholds(tiny_kb.kb_dir, 0.3, 0.5)
    assert load_kb(tiny_kb.kb_dir).decision["answer_threshold"] == 0.65  # the file is left as it was


RELATED_KB = """
category: 交易所/提现
entries:
  - id: withdraw-fee
    question: 提现手续费是多少？
    answer: 以提现页面为准。
    related:
      - withdraw-time
      - withdraw-tim
      - withdraw-fee
      - withdraw-off
      - withdraw-limit
  - id: withdraw-time
    question: 提现多久到账？
    answer: 一般 30 分钟内。
    related: [withdraw-fee]
  - id: withdraw-limit
    question: 提现有额度吗？
    answer: 有。
  - id: withdraw-off
    question: 提现暂停了吗？
    answer: 没有。
    enabled: false
"""


def test_related_ids_are_checked_against_every_entry(settings):
    write_kb(settings.kb_dir, "withdraw.yml", RELATED_KB)
    entries, _, problems = validate_dir(settings.kb_dir)
    related = [str(p) for p in problems if p.field == "related"]
    assert related == [
        "withdraw.yml:8: [related] 错误：related 里的 withdraw-tim 不是任何条目的 id（您是不是想写 withdraw-time？）",
        "withdraw.yml:9: [related] 错误：条目 withdraw-fee 不能把自己写进 related",
        "withdraw.yml:10: [related] 警告：related 里的 withdraw-off 是停用的条目（enabled: false，withdraw.yml:19）"
        "：停用期间不会显示",
        "withdraw.yml:10: [related] 警告：related 写了 5 个条目：回答后只显示前 3 个",
    ]
    by_id = {e.id: e for e in entries}
    assert by_id["withdraw-time"].related == ("withdraw-fee",) and by_id["withdraw-limit"].related == ()
    # Kept through the index's entries.json.
    entry = by_id["withdraw-fee"]
    assert FaqEntry.from_json(entry.to_json()) == entry and entry.to_json()["related"][0] == "withdraw-time"


def test_related_must_be_a_list_and_only_adds_to_the_hash_when_used(tiny_kb):
    before = load_kb(tiny_kb.kb_dir).content_hash()
    not_a_list = RELATED_KB.replace("    related: [withdraw-fee]", "    related: withdraw-fee")
    assert [str(p) for p in errors_of(not_a_list)] == [
        "f.yml:15: [related] 错误：related 应该是一个列表：每行写一项，以“- ”开头"
    ]
    path = tiny_kb.kb_dir / "tiny.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("    tags: [冻结]\n", "    tags: [冻结]\n    related: []\n"), encoding="utf-8")
    assert load_kb(tiny_kb.kb_dir).content_hash() == before
    related = "    tags: [冻结]\n    related: [withdraw-fee]\n"
    path.write_text(text.replace("    tags: [冻结]\n", related), encoding="utf-8")
    kb = load_kb(tiny_kb.kb_dir)
    assert kb.entries[1].related == ("withdraw-fee",) and kb.content_hash() != before


def test_sample_kb_relates_withdrawal_questions():
    from tests.conftest import SAMPLE_KB

    kb = load_kb(SAMPLE_KB)
    by_id = {e.id: e for e in kb.entries}
    assert "ex-withdraw-arrival-time" in by_id["ex-withdraw-fee"].related
    assert not [w for w in kb.warnings if w.field == "related"]
