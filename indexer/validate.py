"""Validation of the KB files, reporting every problem with file, line and field.

Files are parsed with ``yaml.compose`` so that each value keeps its line
number; nothing is indexed unless this module reports no errors.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from faqbot.normalize import normalize
from indexer.expiry import expiry_problems, is_expired, parse_valid_until
from indexer.markdown import check_answer
from indexer.model import HANDOFF_POLICIES, FaqEntry, Problem
from indexer.sensitive import (
    ACTION_NAMES,
    ACTION_WORDS,
    SensitiveAction,
    SensitiveCategory,
    SensitiveList,
    describe,
    skeleton_text,
)
from indexer.synonyms import Synonyms
from indexer.yaml_errors import MESSAGES, explain

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
FILE_KEYS = ("category", "entries")
ENTRY_FIELDS = (
    "id",
    "question",
    "similar",
    "answer",
    "tags",
    "handoff",
    "handoff_notice",
    "enabled",
    "hot",
    "related",
    "valid_until",
)
REQUIRED_FIELDS = ("id", "question", "answer")
RECOMMENDED_SIMILAR = 4
MAX_RELATED = 3  # 猜你想问 buttons shown after an answer
TERMS_FILE = "terms.txt"
# The decision thresholds that go with this KB (``recalibrate`` writes it); not an FAQ file.
DECISION_FILE = "decision.yml"
DECISION_KEYS = ("answer_threshold", "clarify_threshold")
NOT_UTF8 = "文件不是 UTF-8 编码（这一行有无法识别的字符）：请在编辑器里另存为 UTF-8"
SYNONYMS_FILE = "synonyms.txt"
SENSITIVE_FILE = "sensitive_words.txt"
ALLOW_SECTIONS = ("允许", "白名单", "allow")


@dataclass
class _Ctx:
    file: str
    problems: list[Problem]

    def error(self, line: int, field: str, message: str) -> None:
        self.problems.append(Problem(self.file, line, field, message))

    def warn(self, line: int, field: str, message: str) -> None:
        self.problems.append(Problem(self.file, line, field, message, "warning"))


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _value(node: yaml.Node) -> Any:
    return yaml.SafeLoader("").construct_object(node, deep=True)


def _suggest(key: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f"（您是不是想写 {close[0]}？）" if close else ""


def _mapping(
    ctx: _Ctx, node: yaml.MappingNode, known: tuple[str, ...], where: str
) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    """Keys of a mapping node with duplicate and unknown keys reported; ``where`` prefixes "可用的字段"."""
    out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value)
        if key in out:
            ctx.error(_line(key_node), key, f"字段 {key} 重复了：第 {_line(out[key][0])} 行已经写过 {key}")
            continue
        if key not in known:
            ctx.error(
                _line(key_node),
                key,
                f"未知字段 {key}{_suggest(key, known)}；{where}可用的字段：{', '.join(known)}",
            )
            continue
        out[key] = (key_node, value_node)
    return out


def _text(ctx: _Ctx, node: yaml.Node, field: str) -> str | None:
    if not isinstance(node, yaml.ScalarNode):
        ctx.error(_line(node), field, f"{field} 应该是一段文字，不能是列表或几个字段")
        return None
    if node.tag.endswith(":null"):
        ctx.error(_line(node), field, f"{field} 没有填写内容")
        return None
    if node.tag.endswith(":bool"):
        ctx.error(
            _line(node),
            field,
            f"{field} 应该是一段文字，但 {node.value} 会被当成是/否（true/false）："
            f'如果就是这几个字，请加引号写成 "{node.value}"',
        )
        return None
    if node.tag.endswith(":str"):
        return str(node.value)
    try:
        return str(_value(node))
    except (yaml.YAMLError, ValueError):  # a "!tag" or "!!type" the editor did not mean as one
        ctx.error(_line(node), field, MESSAGES["special"].format(char="!"))
        return None


def _text_list(ctx: _Ctx, node: yaml.Node, field: str) -> list[tuple[str, int]]:
    if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
        return []
    if not isinstance(node, yaml.SequenceNode):
        ctx.error(_line(node), field, f"{field} 应该是一个列表：每行写一项，以“- ”开头")
        return []
    out = []
    for item in node.value:
        text = _text(ctx, item, field)
        if text is not None:
            if not text.strip():
                ctx.error(_line(item), field, f"{field} 列表里有一项是空的")
            else:
                out.append((text.strip(), _line(item)))
    return out


def _answer_first_line(node: yaml.Node) -> int:
    # Block scalars ("|", ">") start on the line after the indicator.
    return _line(node) + (1 if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">") else 0)


def _valid_until(ctx: _Ctx, node: yaml.Node) -> str | None:
    """The entry's last day as ``YYYY-MM-DD`` ("" when left empty), ``None`` after reporting why not.
    Unquoted, YAML reads 2026-12-31 as a date; quoted, as text: both are accepted."""
    if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
        return ""
    if not isinstance(node, yaml.ScalarNode):
        ctx.error(_line(node), "valid_until", "valid_until 应该是一个日期，例如 2026-12-31，不能是列表或几个字段")
        return None
    value, why = parse_valid_until(str(node.value))
    if why:
        ctx.error(_line(node), "valid_until", f"有效期 valid_until {why}")
        return None
    return value


def _entry(ctx: _Ctx, node: yaml.Node, category: str) -> FaqEntry | None:
    if not isinstance(node, yaml.MappingNode):
        ctx.error(_line(node), "entries", "每个条目都要由字段组成（id、question、answer……），每个字段写成 名称: 内容")
        return None
    fields = _mapping(ctx, node, ENTRY_FIELDS, "")
    ok = True
    for name in REQUIRED_FIELDS:
        if name not in fields:
            ctx.error(_line(node), name, f"缺少必填字段 {name}")
            ok = False
    values: dict[str, Any] = {}
    if "id" in fields:
        entry_id = _text(ctx, fields["id"][1], "id")
        if entry_id is not None and not ID_PATTERN.match(entry_id):
            ctx.error(
                _line(fields["id"][1]),
                "id",
                f"id“{entry_id}”不符合要求：只能用小写字母、数字、- 或 _，最长 64 个字符，例如 ex-withdraw-fee",
            )
            entry_id = None
        values["id"] = entry_id
        ok &= entry_id is not None
    if "question" in fields:
        question = _text(ctx, fields["question"][1], "question")
        if question is not None and not normalize(question):
            ctx.error(_line(fields["question"][1]), "question", "标准问 question 是空的")
            question = None
        values["question"] = question.strip() if question else None
        ok &= question is not None
    if "answer" in fields:
        answer_node = fields["answer"][1]
        answer = _text(ctx, answer_node, "answer")
        if answer is not None and not answer.strip():
            ctx.error(_line(answer_node), "answer", "答案 answer 是空的")
            answer = None
        if answer is not None:
            first = _answer_first_line(answer_node)
            for offset, message in check_answer(answer):
                ctx.error(first + offset, "answer", message)
        values["answer"] = answer.strip() if answer else None
        ok &= answer is not None
    similar = _text_list(ctx, fields["similar"][1], "similar") if "similar" in fields else []
    tags = _text_list(ctx, fields["tags"][1], "tags") if "tags" in fields else []
    related = _text_list(ctx, fields["related"][1], "related") if "related" in fields else []
    handoff = "never"
    if "handoff" in fields:
        value = _text(ctx, fields["handoff"][1], "handoff")
        if value is None:  # already reported
            ok = False
        elif value not in HANDOFF_POLICIES:
            ctx.error(
                _line(fields["handoff"][1]),
                "handoff",
                f"handoff 只能是 {'、'.join(HANDOFF_POLICIES)} 之一，现在写的是“{value}”",
            )
            ok = False
        else:
            handoff = value
    notice = ""
    if "handoff_notice" in fields:
        notice = (_text(ctx, fields["handoff_notice"][1], "handoff_notice") or "").strip()
    flags = {"enabled": True, "hot": False}
    for flag in flags:
        if flag in fields:
            value_node = fields[flag][1]
            if not (isinstance(value_node, yaml.ScalarNode) and value_node.tag.endswith(":bool")):
                ctx.error(_line(value_node), flag, f"{flag} 只能写 true 或 false，现在写的是“{value_node.value}”")
                ok = False
            else:
                flags[flag] = bool(_value(value_node))
    valid_until: str | None = ""
    if "valid_until" in fields:
        valid_until = _valid_until(ctx, fields["valid_until"][1])
        ok &= valid_until is not None
    if not ok:
        return None
    if len(similar) < RECOMMENDED_SIMILAR:
        ctx.warn(
            _line(node),
            "similar",
            f"只有 {len(similar)} 个相似问：写 {RECOMMENDED_SIMILAR} 个以上，匹配会可靠得多",
        )
    return FaqEntry(
        id=values["id"],
        question=values["question"],
        answer=values["answer"],
        category=category,
        similar=tuple(s for s, _ in similar),
        tags=tuple(t for t, _ in tags),
        handoff=handoff,
        handoff_notice=notice,
        enabled=flags["enabled"],
        hot=flags["hot"],
        related=tuple(dict.fromkeys(r for r, _ in related)),
        valid_until=valid_until or "",
        source=f"{ctx.file}:{_line(node)}",
    )


def validate_text(text: str, file: str) -> tuple[list[FaqEntry], list[Problem], dict[str, dict[str, int]]]:
    """Validate one KB file's text. Returns entries, problems and question lines per entry id."""
    ctx = _Ctx(file, [])
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        syntax = explain(exc, text)
        ctx.error(syntax.line, "", syntax.message)
        return [], ctx.problems, {}
    if root is None:
        ctx.error(1, "", "文件是空的：需要写 category: 和 entries:")
        return [], ctx.problems, {}
    if not isinstance(root, yaml.MappingNode):
        ctx.error(_line(root), "", "文件的最外层要写成字段：category: 和 entries:")
        return [], ctx.problems, {}
    top = _mapping(ctx, root, FILE_KEYS, "文件最外层")
    category = ""
    if "category" not in top:
        ctx.error(1, "category", "缺少必填字段 category")
    else:
        category = (_text(ctx, top["category"][1], "category") or "").strip()
        if not category:
            ctx.error(_line(top["category"][1]), "category", "分类 category 是空的")
    entries: list[FaqEntry] = []
    lines: dict[str, dict[str, int]] = {}
    if "entries" not in top:
        ctx.error(1, "entries", "缺少必填字段 entries")
    elif not isinstance(top["entries"][1], yaml.SequenceNode):
        ctx.error(_line(top["entries"][1]), "entries", "entries 应该是一个列表：每个条目以“- id: …”开头")
    else:
        for node in top["entries"][1].value:
            entry = _entry(ctx, node, category)
            if entry is not None:
                entries.append(entry)
                lines[entry.id] = _question_lines(node)
    return entries, ctx.problems, lines


RELATED_LINE = "\0related:"  # a key of _question_lines no question can have: the line of a related id
# Keys of _question_lines no question can have: the line of the answer's first line of text,
# whether it is a literal block ("answer: |": its lines are the file's), and the notice's line.
ANSWER_LINE = "\0answer:"
ANSWER_LITERAL = "\0answer|"
NOTICE_LINE = "\0handoff_notice:"


def _question_lines(node: yaml.MappingNode) -> dict[str, int]:
    out: dict[str, int] = {}
    for key_node, value_node in node.value:
        if key_node.value == "question" and isinstance(value_node, yaml.ScalarNode):
            out[str(value_node.value).strip()] = _line(value_node)
        elif key_node.value == "answer" and isinstance(value_node, yaml.ScalarNode):
            # A block scalar ("answer: |") starts on the line after the key.
            out[ANSWER_LINE] = _line(value_node) + (1 if value_node.style in ("|", ">") else 0)
            out[ANSWER_LITERAL] = int(value_node.style == "|")
        elif key_node.value == "handoff_notice" and isinstance(value_node, yaml.ScalarNode):
            out[NOTICE_LINE] = _line(value_node)
        elif key_node.value == "related" and isinstance(value_node, yaml.SequenceNode):
            for item in value_node.value:
                if isinstance(item, yaml.ScalarNode):
                    out.setdefault(f"{RELATED_LINE}{str(item.value).strip()}", _line(item))
        elif key_node.value == "similar" and isinstance(value_node, yaml.SequenceNode):
            for item in value_node.value:
                if isinstance(item, yaml.ScalarNode):
                    out.setdefault(str(item.value).strip(), _line(item))
    return out


def _cross_checks(entries: list[FaqEntry], lines: dict[tuple[str, str], dict[str, int]]) -> list[Problem]:
    problems: list[Problem] = []
    first_id: dict[str, FaqEntry] = {}
    owner: dict[str, tuple[FaqEntry, str]] = {}
    for entry in entries:
        file, line = entry.source.rsplit(":", 1)
        if entry.id in first_id:
            problems.append(
                Problem(file, int(line), "id", f"id {entry.id} 重复了：{first_id[entry.id].source} 已经用了这个 id")
            )
            continue
        first_id[entry.id] = entry
        seen_here: set[str] = set()
        for q in entry.questions:
            key = normalize(q)
            qline = lines.get((file, entry.id), {}).get(q, int(line))
            field = "question" if q == entry.question and key not in seen_here else "similar"
            if key in seen_here:
                problems.append(Problem(file, qline, field, f"“{q}”在同一个条目里重复了", "warning"))
                continue
            seen_here.add(key)
            if key in owner and owner[key][0].id != entry.id:
                other, other_q = owner[key]
                problems.append(
                    Problem(
                        file,
                        qline,
                        field,
                        f"“{q}”也是条目 {other.id} 的问法（{other.source}：“{other_q}”）；一个问法只能对应一个答案",
                    )
                )
                continue
            owner[key] = (entry, q)
    return problems


def _related_checks(
    entries: list[FaqEntry], lines: dict[tuple[str, str], dict[str, int]], today: date | None = None
) -> list[Problem]:
    """``related:`` against every entry loaded: unknown ids (with the closest one), the entry
    itself, disabled entries and (with ``today``) expired ones, and more than ``MAX_RELATED``
    (only the first are shown)."""
    problems: list[Problem] = []
    by_id: dict[str, FaqEntry] = {}
    for entry in entries:
        by_id.setdefault(entry.id, entry)
    known = tuple(by_id)
    for entry in entries:
        if not entry.related:
            continue
        file, line = entry.source.rsplit(":", 1)
        here = lines.get((file, entry.id), {})
        at = {faq_id: here.get(f"{RELATED_LINE}{faq_id}", int(line)) for faq_id in entry.related}
        for faq_id in entry.related:
            other = by_id.get(faq_id)
            if faq_id == entry.id:
                problems.append(Problem(file, at[faq_id], "related", f"条目 {entry.id} 不能把自己写进 related"))
            elif other is None:
                problems.append(
                    Problem(
                        file,
                        at[faq_id],
                        "related",
                        f"related 里的 {faq_id} 不是任何条目的 id{_suggest(faq_id, known)}",
                    )
                )
            elif not other.enabled:
                problems.append(
                    Problem(
                        file,
                        at[faq_id],
                        "related",
                        f"related 里的 {faq_id} 是停用的条目（enabled: false，{other.source}）：停用期间不会显示",
                        "warning",
                    )
                )
            elif today is not None and is_expired(other, today):
                problems.append(
                    Problem(
                        file,
                        at[faq_id],
                        "related",
                        f"related 里的 {faq_id} 已过期（有效期至 {other.valid_until}）：不会再显示",
                        "warning",
                    )
                )
        if len(entry.related) > MAX_RELATED:
            problems.append(
                Problem(
                    file,
                    at[entry.related[MAX_RELATED]],
                    "related",
                    f"related 写了 {len(entry.related)} 个条目：回答后只显示前 {MAX_RELATED} 个",
                    "warning",
                )
            )
    return problems


def read_terms(kb_dir: Path) -> tuple[list[str], list[Problem]]:
    """Domain terms for jieba's user dictionary: ``terms.txt``, one per line."""
    path = kb_dir / TERMS_FILE
    if not path.exists():
        return [], []
    terms, problems = [], []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        term = raw.split("#", 1)[0].strip()
        if not term:
            continue
        if " " in term or "\t" in term:
            problems.append(Problem(TERMS_FILE, number, "term", f"每行只能写一个词，词里不能有空格：“{term}”"))
            continue
        terms.append(term)
    return terms, problems


def validate_decision_text(text: str, file: str = DECISION_FILE) -> tuple[dict[str, float], list[Problem]]:
    """``decision.yml``: ``answer_threshold`` and ``clarify_threshold``, both, each a number
    between 0 and 1 (exclusive), clarify below answer. Returns the thresholds ({} when any is wrong)."""
    ctx = _Ctx(file, [])
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        syntax = explain(exc, text)
        ctx.error(syntax.line, "", syntax.message)
        return {}, ctx.problems
    if root is None:  # an empty file says nothing: the configured thresholds apply
        return {}, []
    if not isinstance(root, yaml.MappingNode):
        ctx.error(_line(root), "", "decision.yml 要写成字段：answer_threshold: 和 clarify_threshold:")
        return {}, ctx.problems
    fields = _mapping(ctx, root, DECISION_KEYS, "decision.yml ")
    values: dict[str, float] = {}
    lines: dict[str, int] = {}
    for key in DECISION_KEYS:
        if key not in fields:
            ctx.error(_line(root), key, f"缺少字段 {key}：decision.yml 要同时写 answer_threshold 和 clarify_threshold")
            continue
        node = fields[key][1]
        lines[key] = _line(node)
        number: float | None = None
        if isinstance(node, yaml.ScalarNode) and (node.tag.endswith(":int") or node.tag.endswith(":float")):
            try:
                number = float(_value(node))
            except (yaml.YAMLError, ValueError):
                number = None
        shown = node.value if isinstance(node, yaml.ScalarNode) else "列表或几个字段"
        if number is None or not 0.0 < number < 1.0 or number != number:
            ctx.error(lines[key], key, f"{key} 应该是 0 到 1 之间的小数（不含 0 和 1），例如 0.8；现在写的是“{shown}”")
            continue
        values[key] = number
    if len(values) == len(DECISION_KEYS) and values["clarify_threshold"] >= values["answer_threshold"]:
        ctx.error(
            lines["clarify_threshold"],
            "clarify_threshold",
            f"clarify_threshold（{values['clarify_threshold']:g}）必须小于 answer_threshold"
            f"（{values['answer_threshold']:g}）：置信度低于反问阈值才转为“没找到”",
        )
    if ctx.problems:
        return {}, ctx.problems
    return values, []


def read_decision(kb_dir: Path) -> tuple[dict[str, float], list[Problem]]:
    """The thresholds in ``kb_dir/decision.yml`` ({} without the file), with its problems."""
    path = kb_dir / DECISION_FILE
    if not path.is_file():
        return {}, []
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return {}, [Problem(DECISION_FILE, line, "", NOT_UTF8)]
    return validate_decision_text(text, DECISION_FILE)


def thresholds_text(answer: float, clarify: float) -> str:
    """The text of ``decision.yml`` with these thresholds (validated as it will be read)."""
    text = (
        "# 机器人决定“直接回答 / 反问 / 没找到”的置信度阈值，随知识库一起发布。\n"
        "# 由 `faqbot kb recalibrate --write` 或知识库页的“重新校准”写入；也可以手工修改。\n"
        f"answer_threshold: {round(answer, 4)}\n"
        f"clarify_threshold: {round(clarify, 4)}\n"
    )
    _, problems = validate_decision_text(text)
    if problems:
        raise ValueError("; ".join(str(p) for p in problems))
    return text


def write_thresholds(kb_dir: Path, answer: float, clarify: float) -> Path:
    """Write ``kb_dir/decision.yml`` (validated as it will be read); the next publish carries it."""
    text = thresholds_text(answer, clarify)
    kb_dir.mkdir(parents=True, exist_ok=True)
    path = kb_dir / DECISION_FILE
    tmp = path.with_suffix(".yml.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def parse_synonyms(text: str, file: str = SYNONYMS_FILE) -> tuple[Synonyms, list[Problem]]:
    """Parse ``synonyms.txt``; every problem has its line. Groups with errors are left out."""
    problems: list[Problem] = []
    groups: list[tuple[str, ...]] = []
    line_of: dict[str, int] = {}  # normalised word → line of the group that has it
    for number, raw in enumerate(text.splitlines(), 1):
        body = raw.split("#", 1)[0].strip()
        if not body:
            continue
        words = [w.strip() for w in body.split("=")]
        if len(words) < 2:
            problems.append(
                Problem(
                    file,
                    number,
                    "synonyms",
                    f"一组同义词至少要有两个词，用 = 隔开，例如“提现 = 提币”；这一行只有“{body}”",
                )
            )
            continue
        ok = True
        group: list[str] = []
        for word in words:
            key = normalize(word)
            if not key:
                problems.append(Problem(file, number, "synonyms", "这一行有一个空的词：两个 = 之间或行首行尾没有写词"))
                ok = False
            elif key in group:
                problems.append(Problem(file, number, "synonyms", f"“{word}”在这一组里写了两次"))
                ok = False
            elif key in line_of:
                problems.append(
                    Problem(
                        file,
                        number,
                        "synonyms",
                        f"“{word}”已经在第 {line_of[key]} 行的一组里了：一个词只能属于一组同义词",
                    )
                )
                ok = False
            elif len(key) == 1 and group:
                problems.append(
                    Problem(
                        file,
                        number,
                        "synonyms",
                        f"“{word}”只有一个字：它会把其他词里的这个字也替换掉（例如“退钱”里的“钱”）；请写成完整的词",
                    )
                )
                ok = False
            else:
                group.append(key)
        if ok:
            groups.append(tuple(group))
            for key in group:
                line_of[key] = number
    problems += _overlaps(groups, line_of, file)
    return Synonyms(groups), problems


def _overlaps(groups: list[tuple[str, ...]], line_of: dict[str, int], file: str) -> list[Problem]:
    """A variant inside a word of another group: where the longer word occurs it wins, which
    is usually meant (提币地址 → 钱包地址 before 提币 → 提现), but editors should know."""
    problems = []
    canonical = {w: g[0] for g in groups for w in g}
    for group in groups:
        for variant in group[1:]:
            for other, other_canonical in canonical.items():
                if other != variant and variant in other and other_canonical != group[0]:
                    problems.append(
                        Problem(
                            file,
                            line_of[variant],
                            "synonyms",
                            f"“{variant}”是第 {line_of[other]} 行“{other}”的一部分：句子里出现“{other}”时"
                            f"整个替换成“{other_canonical}”，不会替换成“{group[0]}”",
                            "warning",
                        )
                    )
    return problems


def read_synonyms(kb_dir: Path) -> tuple[Synonyms, list[Problem]]:
    """``synonyms.txt`` of the KB folder (optional: no file, no synonyms)."""
    path = kb_dir / SYNONYMS_FILE
    if not path.exists():
        return Synonyms(), []
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return Synonyms(), [Problem(SYNONYMS_FILE, line, "", "文件不是 UTF-8 编码：请在编辑器里另存为 UTF-8")]
    return parse_synonyms(text, SYNONYMS_FILE)


def parse_sensitive(text: str, file: str = SENSITIVE_FILE) -> tuple[SensitiveList, list[Problem]]:
    """Parse ``sensitive_words.txt``: ``[分类] 处理方式`` starts a category (拒答 / 转人工 /
    只记录, or refuse / handoff / log), ``[允许]`` the allow-list; one word per line below it;
    ``#`` starts a comment. Every problem has its line; words with errors are left out."""
    problems: list[Problem] = []
    categories: list[tuple[str, SensitiveAction, list[str]]] = []  # name, action, words
    allow: list[str] = []
    allow_lines: dict[str, int] = {}
    current: list[str] | None = None  # the words of the section being read (None: after a bad header)
    started = False
    names: dict[str, int] = {}
    owner: dict[str, tuple[str, int]] = {}  # skeleton → (category, line)
    choices = "、".join(f"{word}（{action}）" for word, action in ACTION_WORDS.items())

    def problem(number: int, message: str, severity: str = "error") -> None:
        problems.append(Problem(file, number, "sensitive", message, severity))

    for number, raw in enumerate(text.splitlines(), 1):
        body = raw.split("#", 1)[0].strip()
        if not body:
            continue
        if body.startswith("["):
            started = True
            head, closed, rest = body[1:].partition("]")
            name, action_word = head.strip(), rest.strip()
            if not closed or not name:
                problem(number, f"分类的写法是“[分类名] 处理方式”，例如“[辱骂] 拒答”；这一行是“{body}”")
                current = None
                continue
            if name in ALLOW_SECTIONS:
                if action_word:
                    problem(number, f"[{name}] 是白名单，后面不写处理方式（写了“{action_word}”）")
                current = allow
                continue
            action = ACTION_WORDS.get(action_word.lower())
            if action is None:
                given = f"写的是“{action_word}”" if action_word else "没有写"
                problem(number, f"分类 {name} 的处理方式{given}；可用的处理方式：{choices}")
                current = None
                continue
            if name in names:
                problem(number, f"分类 {name} 重复了：第 {names[name]} 行已经有这个分类")
                current = None
                continue
            names[name] = number
            current = []
            categories.append((name, action, current))
            continue
        if current is None:
            if not started:
                problem(number, f"“{body}”前面还没有分类：先写一行“[分类名] 处理方式”，例如“[辱骂] 拒答”")
            continue
        key = skeleton_text(body)
        if not key:
            problem(number, f"“{body}”只有空格、标点或符号，匹配时会全部去掉：请写出要拦截的字")
            continue
        if current is allow:
            if key in allow_lines:
                problem(number, f"“{body}”在白名单里写了两次（第 {allow_lines[key]} 行）", "warning")
                continue
            allow_lines[key] = number
            allow.append(body)
            continue
        category = categories[-1][0]
        if key in owner:
            other, line = owner[key]
            where = "这个分类" if other == category else f"分类 {other}"
            problem(number, f"“{body}”在第 {line} 行（{where}）已经有了：一个词只能写一次")
            continue
        if len(key) == 1:
            problem(
                number,
                f"“{body}”只有一个字：所有包含这个字的句子都会被拦住；请写成完整的词",
                "warning",
            )
        owner[key] = (category, number)
        current.append(body)
    result = SensitiveList(
        tuple(SensitiveCategory(name, action, tuple(words)) for name, action, words in categories),
        tuple(allow),
    )
    unfiltered = SensitiveList(result.categories)  # the words alone, to see what each phrase allows
    for phrase in allow:
        if not unfiltered.find(phrase):
            problem(
                allow_lines[skeleton_text(phrase)],
                f"白名单里的“{phrase}”不包含任何敏感词，不起作用",
                "warning",
            )
    return result, problems


def read_sensitive(kb_dir: Path) -> tuple[SensitiveList, list[Problem]]:
    """``sensitive_words.txt`` of the KB folder (optional: no file, no list)."""
    path = kb_dir / SENSITIVE_FILE
    if not path.exists():
        return SensitiveList(), []
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return SensitiveList(), [Problem(SENSITIVE_FILE, line, "", "文件不是 UTF-8 编码：请在编辑器里另存为 UTF-8")]
    return parse_sensitive(text, SENSITIVE_FILE)


def _sensitive_checks(
    entries: list[FaqEntry], lines: dict[tuple[str, str], dict[str, int]], sensitive: SensitiveList
) -> list[Problem]:
    """A question, answer or notice with a listed word is an error: the bot would say it
    (answers) or be matched with it (questions). The line is the text's own line."""
    problems: list[Problem] = []
    if not sensitive:
        return problems
    for entry in entries:
        file, line = entry.source.rsplit(":", 1)
        found = lines.get((file, entry.id), {})
        texts = [
            ("question" if q == entry.question else "similar", q, found.get(q, int(line))) for q in entry.questions
        ]
        texts.append(("answer", entry.answer, found.get(ANSWER_LINE, int(line))))
        if entry.handoff_notice:
            texts.append(("handoff_notice", entry.handoff_notice, found.get(NOTICE_LINE, int(line))))
        for field, text, first in texts:
            hits = sensitive.find(text)
            if not hits:
                continue
            literal = field == "answer" and found.get(ANSWER_LITERAL)
            at = first + text[: hits[0].start].count("\n") if literal else first
            what = {"answer": "答案", "handoff_notice": "转人工说明"}.get(field, "问法")
            action = ACTION_NAMES[hits[0].action]
            problems.append(
                Problem(
                    file,
                    at,
                    field,
                    f"{what}里有敏感词 {describe(hits)}，写作“{hits[0].found}”（{SENSITIVE_FILE}，该分类：{action}）："
                    "请改写；确实无害的说法可以加进敏感词表的 [允许]",
                )
            )
    return problems


def kb_files(kb_dir: Path) -> list[Path]:
    """The FAQ files: every ``*.yml`` / ``*.yaml`` but ``decision.yml``."""
    return sorted(
        p for p in kb_dir.iterdir() if p.suffix in (".yml", ".yaml") and p.is_file() and p.name != DECISION_FILE
    )


def validate_dir(kb_dir: Path, today: date | None = None) -> tuple[list[FaqEntry], list[str], list[Problem]]:
    """Validate every KB file in ``kb_dir``; returns entries, domain terms and all problems.
    With ``today``, entries already expired on that day are warned about (``indexer/expiry.py``)."""
    entries, terms, _, problems = validate_kb(kb_dir, today)
    return entries, terms, problems


def validate_kb(kb_dir: Path, today: date | None = None) -> tuple[list[FaqEntry], list[str], Synonyms, list[Problem]]:
    """``validate_dir`` with the synonyms (``synonyms.txt``) too."""
    problems: list[Problem] = []
    if not kb_dir.is_dir():
        return [], [], Synonyms(), [Problem(str(kb_dir), 0, "", "找不到知识库文件夹")]
    files = kb_files(kb_dir)
    if not files:
        problems.append(Problem(str(kb_dir), 0, "", "知识库文件夹里没有 *.yml 文件"))
    entries: list[FaqEntry] = []
    lines: dict[tuple[str, str], dict[str, int]] = {}
    for path in files:
        rel = path.name
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")  # as read_text would
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            problems.append(Problem(rel, line, "", NOT_UTF8))
            continue
        file_entries, file_problems, file_lines = validate_text(text, rel)
        entries.extend(file_entries)
        problems.extend(file_problems)
        lines.update({(rel, eid): ql for eid, ql in file_lines.items()})
    problems.extend(_cross_checks(entries, lines))
    problems.extend(_related_checks(entries, lines, today))
    if today is not None:
        problems.extend(expiry_problems(entries, today))
    terms, term_problems = read_terms(kb_dir)
    problems.extend(term_problems)
    problems.extend(read_decision(kb_dir)[1])
    synonyms, synonym_problems = read_synonyms(kb_dir)
    problems.extend(synonym_problems)
    sensitive, sensitive_problems = read_sensitive(kb_dir)
    problems.extend(sensitive_problems)
    problems.extend(_sensitive_checks(entries, lines, sensitive))
    tags = [t for e in entries for t in e.tags]
    terms = sorted(set(terms) | set(tags))
    return entries, terms, synonyms, problems
