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
        if _HTML.search(line):
            problems.append(
                (offset, "raw HTML is not allowed in answers; use Markdown (**bold**, lists, [text](https://...))")
            )
        good_spans = []
        for match in _LINK.finditer(line):
            good_spans.append(match.span())
            text, url = match.group(1).strip(), match.group(2).strip()
            if not text:
                problems.append((offset, f"link {match.group(0)!r} has no text"))
            if not url:
                problems.append((offset, f"link {match.group(0)!r} has no address"))
            elif " " in url:
                problems.append((offset, f"link address {url!r} contains a space"))
            elif not (url.startswith(ALLOWED_SCHEMES) or url.startswith("/")):
                problems.append((offset, f"link address {url!r} must start with https://, http://, mailto:, tel: or /"))
        rest = list(line)
        for start, end in good_spans:
            rest[start:end] = " " * (end - start)
        leftover = "".join(rest)
        if re.search(r"\]\s+\(", leftover) and "[" in leftover:
            problems.append((offset, "broken link: no space allowed between ']' and '(' in [text](url)"))
        elif re.search(r"\[[^\]\n]*\]\([^)\n]*$", leftover):
            problems.append((offset, "broken link: missing ')' at the end of [text](url)"))
        elif re.search(r"\[[^\]\n]*\(", leftover) and "](" not in leftover and re.search(r"\[[^\]]*$", leftover):
            problems.append((offset, "broken link: missing ']' in [text](url)"))
        elif "](" in leftover:
            problems.append((offset, "broken link: '](' without a matching '[text'"))
    return problems
