"""PyYAML syntax errors in plain Chinese, at the line where the problem starts.

PyYAML says where it *noticed* a problem, in parser terms ("while scanning a
quoted scalar … found unexpected end of stream" names the end of the file for
a quote opened at the top). Editors need the line to fix and what to do, so
each common problem is mapped to one message and to the mark (or the line
found by looking at the text) where it begins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

# One message per kind of problem; ``explain`` fills in ``{…}`` (a literal brace is doubled).
MESSAGES = {
    "unclosed_quote": "第 {line} 行的引号没有闭合：开头的 {quote} 在这一行，后面缺少配对的 {quote}",
    "indent": "这一行的缩进和上面的字段对不齐：同一层的字段要用相同数量的空格开头",
    "block_indent": "这一行的缩进不够：“|” 或 “>” 下面的每一行文字都要比字段名多缩进几个空格",
    "block_text": "“|” 或 “>” 后面不能直接写文字：请把文字写在下一行，并比字段名多缩进几个空格",
    "colon": "这一行多了一个冒号：文字里有“: ”时，请把整段文字用引号括起来",
    "no_key": "这一行的冒号前面缺少字段名：字段要写成 名称: 内容",
    "no_colon": "这一行缺少冒号：字段要写成 名称: 内容",
    "fullwidth_colon": "这一行用了中文冒号“：”：字段名后面要用英文冒号加空格，写成 名称: 内容",
    "colon_space": "这一行的冒号后面缺少空格：字段要写成 名称: 内容",
    "dash": "冒号后面不能直接写“- ”：列表要另起一行，每项以“- ”开头；如果是文字，请把整段文字用引号括起来",
    "tab_indent": "这一行用 Tab 缩进了：YAML 只能用空格缩进",
    "tab": "这一行有 Tab 字符：YAML 里请用空格代替 Tab",
    "special": "以 {char} 开头的文字要用引号括起来：YAML 把开头的 {char} 当作特殊符号",
    "escape": "双引号里的反斜杠 \\ 无法识别：改用单引号，或写成 \\\\",
    "bracket": "方括号没有闭合：这一行的 [ 后面缺少配对的 ]",
    "brace": "花括号没有闭合：这一行的 {{ 后面缺少配对的 }}",
    "flow_comma": "括号里的各项要用英文逗号 , 隔开（或者缺少闭合的 ] 或 }}）",
    "after_value": "这一行的引号或括号后面还有文字：以引号、[ 或 {{ 开头的内容，要把整段文字放在一对引号里",
    "control_char": "这一行有一个不能用的特殊字符（U+{code:04X}）：请删掉它，它常见于从 Word 或网页复制来的文字",
    "documents": "一个文件只能有一份内容：请删掉单独占一行的 ---",
    "other": "YAML 格式错误：{problem}",
}

_SPECIAL = "*&!%@`"
_BREAK = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")  # PyYAML's line breaks
_FIELD_LINE = re.compile(r"^\s*(?:-\s+)?[A-Za-z_][\w-]*\s*:(?:\s|$)")  # "  answer: …", "- id: …"
_FIELD_TYPO = {  # a field name followed by the wrong colon: kind in MESSAGES
    "fullwidth_colon": re.compile(r"^\s*(?:-\s+)?[A-Za-z_][\w-]*\s*："),
    "colon_space": re.compile(r"^\s*(?:-\s+)?[A-Za-z_][\w-]*:[^\s:]"),
}
_BLOCK_INDICATOR = re.compile(r":\s*[|>][-+0-9]*\s*(?:#.*)?$")  # "answer: |", "answer: >-"
_SNIPPET_CHARS = 60


@dataclass(frozen=True)
class SyntaxProblem:
    line: int  # 1-based; 0 when PyYAML gave no position
    message: str


def explain(exc: yaml.YAMLError, text: str) -> SyntaxProblem:
    """The line where ``exc``'s problem starts and a plain message, ending with that line's text."""
    lines = _BREAK.split(text)
    if isinstance(exc, yaml.reader.ReaderError):  # a control character PyYAML refuses to read
        index = len(_BREAK.findall(text[: exc.position]))
        message = MESSAGES["control_char"].format(code=exc.character)
    elif isinstance(exc, yaml.MarkedYAMLError):
        index, kind, extra = _classify(exc, text, lines)
        message = MESSAGES[kind].format(line=index + 1, problem=exc.problem or exc.context, **extra)
    else:
        return SyntaxProblem(0, MESSAGES["other"].format(problem=exc))
    if index < 0:
        return SyntaxProblem(0, message)
    snippet = _snippet(lines[index]) if index < len(lines) else ""
    return SyntaxProblem(index + 1, f"{message}：「{snippet}」" if snippet.strip() else message)


def _classify(exc: yaml.MarkedYAMLError, text: str, lines: list[str]) -> tuple[int, str, dict[str, str]]:
    """(0-based line, kind in MESSAGES, extra fields) for a PyYAML error."""
    problem, context = exc.problem or "", exc.context or ""
    at = exc.problem_mark.line if exc.problem_mark else -1
    began = exc.context_mark.line if exc.context_mark else at
    runaway = _runaway_quote(text, exc)
    if runaway is not None:
        return runaway[0], "unclosed_quote", {"quote": runaway[1]}
    if "quoted scalar" in context and "end of stream" in problem and exc.context_mark:
        return began, "unclosed_quote", {"quote": _char_at(text, exc.context_mark.index) or '"'}
    if "found character '\\t'" in problem:
        column = exc.problem_mark.column if exc.problem_mark else 0
        leading = 0 <= at < len(lines) and not lines[at][:column].strip()
        return at, "tab_indent" if leading else "tab", {}
    if "escape" in problem and "double-quoted" in context:
        return at, "escape", {}
    special = _special_char(exc, text)
    if special:
        return (at if "cannot start any token" in problem else began), "special", {"char": special}
    if "while scanning a block scalar" in context and "a comment or a line break" in problem:
        return began, "block_text", {}
    if "mapping values are not allowed" in problem:
        column = exc.problem_mark.column if exc.problem_mark else 0
        before = lines[at][:column] if 0 <= at < len(lines) else ""
        # "      answer: b" (a field continuing the value above) is indented too far;
        # "    answer: 时间: 9点" has a second colon in its text.
        if ": " not in before and re.fullmatch(r"\s*(?:-\s+)?[A-Za-z_][\w-]*\s*", before):
            previous = _previous(lines, at)
            typo = _field_typo(lines[previous]) if previous >= 0 else ""
            return (previous, typo, {}) if typo else (at, _indent_kind(lines, at), {})
        return at, "colon", {}
    if "sequence entries are not allowed" in problem:
        return at, "dash", {}
    if "could not find expected ':'" in problem:
        typo = _field_typo(lines[began]) if 0 <= began < len(lines) else ""
        return began, typo or ("block_indent" if _under_block(lines, began) else "no_colon"), {}
    if "flow sequence" in context or "flow mapping" in context:
        same_line = exc.problem_mark is not None and at == began
        return began, "flow_comma" if same_line else ("bracket" if "sequence" in context else "brace"), {}
    if "expected <block end>" in problem:
        column = exc.problem_mark.column if exc.problem_mark else 0
        if "'<scalar>'" in problem and 0 <= at < len(lines) and lines[at][:column].strip():
            return at, "after_value", {}
        if "found ':'" in problem:
            return at, "no_key", {}
        return at, _indent_kind(lines, at), {}
    if "single document" in context:
        return at, "documents", {}
    return (at if at >= 0 else began), "other", {}


def _runaway_quote(text: str, exc: yaml.MarkedYAMLError) -> tuple[int, str] | None:
    """(0-based line, quote) of a quote left open that swallowed the lines after it.

    Left open, a quote ends at the next quote in the file (the opening one of a
    later value), so PyYAML reports a later line; the quoted text then spans
    lines and holds a "field: …" line, or ends on the line PyYAML complains about.
    """
    stop = exc.problem_mark.index if exc.problem_mark else len(text)
    at = exc.problem_mark.line if exc.problem_mark else -1
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if token.start_mark.index >= stop:
                break
            if not isinstance(token, yaml.ScalarToken) or token.style not in ('"', "'"):
                continue
            start, end = token.start_mark, token.end_mark
            if start.line == end.line:
                continue
            inner = _BREAK.split(text[start.index : end.index])[1:]
            if end.line == at or any(_FIELD_LINE.match(line) for line in inner):
                return start.line, token.style
    except yaml.YAMLError:
        pass
    return None


def _special_char(exc: yaml.MarkedYAMLError, text: str) -> str:
    """The reserved character (* & ! % @ `) a value starts with, or ""."""
    context, problem = exc.context or "", exc.problem or ""
    if context in ("while scanning an alias", "while scanning an anchor", "while parsing a tag") and exc.context_mark:
        return _char_at(text, exc.context_mark.index)
    if "found undefined alias" in problem:
        return "*"
    if "found duplicate anchor" in context:
        return "&"
    match = re.search(r"found character '(.)' that cannot start any token", problem)
    return match.group(1) if match and match.group(1) in _SPECIAL else ""


def _field_typo(line: str) -> str:
    """The kind of a mistyped colon after a field name ("question：…", "answer:…"), or ""."""
    return next((kind for kind, pattern in _FIELD_TYPO.items() if pattern.match(line)), "")


def _previous(lines: list[str], index: int) -> int:
    """The last non-blank line before ``index``, or -1."""
    return next((i for i in range(min(index, len(lines)) - 1, -1, -1) if lines[i].strip()), -1)


def _indent_kind(lines: list[str], index: int) -> str:
    return "block_indent" if _under_block(lines, index) else "indent"


def _under_block(lines: list[str], index: int) -> bool:
    """Whether line ``index`` follows "field: |" without being indented under it."""
    if not 0 <= index < len(lines):
        return False
    previous = _previous(lines, index)
    return (
        previous >= 0
        and bool(_BLOCK_INDICATOR.search(lines[previous]))
        and _indent(lines[index]) <= _indent(lines[previous])
    )


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _char_at(text: str, index: int) -> str:
    return text[index] if 0 <= index < len(text) else ""


def _snippet(line: str) -> str:
    """The line as the editor typed it: indentation kept (it may be the problem), a Tab or control character shown."""
    shown = "".join(
        "[Tab]" if ch == "\t" else ch if ch.isprintable() else f"[U+{ord(ch):04X}]" for ch in line.rstrip(" \r\n")
    )
    return shown if len(shown) <= _SNIPPET_CHARS else shown[:_SNIPPET_CHARS] + "…"
