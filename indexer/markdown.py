"""The answer format: a small Markdown subset (paragraphs, lists, bold, links).

Only the checks editors need live here; rendering belongs to each channel.
"""

from __future__ import annotations

import re

ALLOWED_SCHEMES = ("http://", "https://", "mailto:", "tel:")
_LINK = re.compile(r"\[([^\[\]\n]*)\]\(([^()\n]*)\)")
_HTML = re.compile(r"<\s*/?\s*[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>")
LINK_PATTERN = _LINK


def check_answer(answer: str) -> list[tuple[int, str]]:
    """Problems in an answer as (line offset within the answer, message)."""
    problems: list[tuple[int, str]] = []
    for offset, line in enumerate(answer.splitlines()):
        html = _HTML.search(line)
        if html:
            problems.append(
                (
                    offset,
                    f"答案里不能写 HTML 标签 {html.group(0)}：请改用 Markdown（**加粗**、列表、[文字](https://…)）",
                )
            )
        good_spans = []
        for match in _LINK.finditer(line):
            good_spans.append(match.span())
            text, url = match.group(1).strip(), match.group(2).strip()
            if not text:
                problems.append((offset, f"链接 {match.group(0)} 没有文字：要写成 [文字](地址)"))
            if not url:
                problems.append((offset, f"链接 {match.group(0)} 没有地址：要写成 [文字](地址)"))
            elif " " in url:
                problems.append((offset, f"链接地址 {url} 里有空格"))
            elif not (url.startswith(ALLOWED_SCHEMES) or url.startswith("/")):
                problems.append((offset, f"链接地址 {url} 要以 https://、http://、mailto:、tel: 或 / 开头"))
        rest = list(line)
        for start, end in good_spans:
            rest[start:end] = " " * (end - start)
        leftover = "".join(rest)
        if re.search(r"\]\s+\(", leftover) and "[" in leftover:
            problems.append((offset, "链接写错了：] 和 ( 之间不能有空格，要写成 [文字](地址)"))
        elif re.search(r"\[[^\]\n]*\]\([^)\n]*$", leftover):
            problems.append((offset, "链接写错了：[文字](地址) 的末尾缺少 )"))
        elif re.search(r"\[[^\]\n]*\(", leftover) and "](" not in leftover and re.search(r"\[[^\]]*$", leftover):
            problems.append((offset, "链接写错了：[文字](地址) 里缺少 ]"))
        elif "](" in leftover:
            problems.append((offset, "链接写错了：有 ]( 但前面缺少 [文字"))
    return problems
