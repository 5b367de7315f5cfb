"""Import FAQ rows from CSV or XLSX into the KB's YAML format.

Columns (header row, Chinese names): 问题 (required), 答案 (required),
相似问题 (one per line, or separated by | ； ;), 分类 (default 未分类).
Optional: ID, 标签 (separated by , ， 、), 转人工 (never/offer/always), 启用 (是/否),
相关问题 (FAQ ids shown after the answer as 猜你想问, separated by , ， 、 or spaces),
有效期至 (the last day the entry answers, 2026-12-31; an Excel date cell works too).
Rows become one YAML file per category; an existing file is only replaced
when it was itself written by the importer.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from faqbot.errors import UserError
from faqbot.normalize import normalize
from indexer.expiry import parse_valid_until
from indexer.model import HANDOFF_POLICIES, FaqEntry

MARKER = "# 由 `faqbot kb import` 生成"
REQUIRED = ("问题", "答案")
VALID_UNTIL = "有效期至"
KNOWN = ("ID", "问题", "相似问题", "答案", "分类", "标签", "转人工", "启用", "相关问题", VALID_UNTIL)


class KBImportError(UserError, ValueError):
    """The spreadsheet cannot be imported (with file, row and column, in Chinese: editors read it)."""


@dataclass
class ImportResult:
    files: list[Path]
    entries: int


def columns(path: Path) -> list[str]:
    """The header of the table: which columns it has (an absent 有效期至 keeps the dates as they are)."""
    return _table(path)[0]


def _rows(path: Path) -> list[dict[str, str]]:
    header, table = _table(path)
    return [{h: (row[i].strip() if i < len(row) and row[i] else "") for i, h in enumerate(header)} for row in table]


def _table(path: Path) -> tuple[list[str], list[list[str]]]:
    """The header and the other rows of ``path`` (CSV or XLSX), the header checked."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise KBImportError(f"{path}：找不到这个文件")
    if suffix == ".csv":
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise KBImportError(
                f"{path}：文件既不是 UTF-8 也不是 GB18030（GBK）编码的文字；请把表格另存为 UTF-8 的 CSV"
            )
        reader = csv.reader(text.splitlines(keepends=True))
        table = [row for row in reader]
    elif suffix in (".xlsx", ".xlsm"):
        import openpyxl

        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises several kinds for a bad file
            raise KBImportError(f"{path}：无法读取这个 XLSX 表格（{exc}）") from None
        sheet = book.worksheets[0]
        table = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    else:
        kind = f"不支持 {suffix} 文件" if suffix else "文件没有扩展名"
        raise KBImportError(f"{path}：{kind}；请用 .csv 或 .xlsx 表格")
    if not table:
        raise KBImportError(f"{path}：文件是空的")
    header = [h.strip() for h in table[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise KBImportError(f"{path}：第 1 行（表头）缺少列 {'、'.join(missing)}；可用的列：{'、'.join(KNOWN)}")
    return header, table[1:]


def _cell(value: object) -> str:
    """An XLSX cell as text; a date cell (有效期至) as 2026-12-31, not 2026-12-31 00:00:00."""
    if value is None:
        return ""
    if isinstance(value, datetime) and value.time() == time():
        return value.date().isoformat()
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _split(value: str, seps: str) -> list[str]:
    return [p.strip() for p in re.split(f"[{seps}]", value) if p.strip()]


def _slug(text: str) -> str:
    return re.sub(r"[\\/:*?\"<>|\s]+", "-", text).strip("-") or "未分类"


def read_entries(path: Path) -> list[FaqEntry]:
    """Rows of ``path`` as FAQ entries; every bad row is reported at once."""
    errors, entries = [], []
    for number, row in enumerate(_rows(path), start=2):
        if not any(row.values()):
            continue
        question, answer = row.get("问题", ""), row.get("答案", "")
        if not question:
            errors.append(f"{path}：第 {number} 行：“问题”列是空的")
        if not answer:
            errors.append(f"{path}：第 {number} 行：“答案”列是空的")
        handoff = (row.get("转人工") or "never").strip().lower()
        if handoff not in HANDOFF_POLICIES:
            errors.append(
                f"{path}：第 {number} 行：“转人工”列只能是 {'、'.join(HANDOFF_POLICIES)} 之一，"
                f"现在写的是“{row.get('转人工')}”"
            )
        enabled = (row.get("启用") or "是").strip().lower() not in ("否", "no", "false", "0", "停用")
        valid_until, why = parse_valid_until(row[VALID_UNTIL]) if row.get(VALID_UNTIL) else ("", "")
        if why:
            errors.append(f"{path}：第 {number} 行：“有效期至”列{why}")
        if errors and (not question or not answer):
            continue
        entry_id = row.get("ID") or "imp-" + hashlib.sha1(normalize(question).encode()).hexdigest()[:10]
        entries.append(
            FaqEntry(
                id=entry_id.lower(),
                question=question,
                answer=answer,
                category=row.get("分类") or "未分类",
                similar=tuple(_split(row.get("相似问题", ""), "\n|；;")),
                tags=tuple(_split(row.get("标签", ""), ",，、")),
                related=tuple(r.lower() for r in _split(row.get("相关问题", ""), ",，、 ")),
                handoff=handoff if handoff in HANDOFF_POLICIES else "never",
                enabled=enabled,
                valid_until=valid_until,
            )
        )
    if errors:
        raise KBImportError("\n".join(errors))
    return entries


def export_rows(entries: list[FaqEntry]) -> list[list[str]]:
    """The entries as the importer reads them (header first): export, edit in Excel, import back."""
    rows = [list(KNOWN)]
    for e in entries:
        rows.append(
            [
                e.id,
                e.question,
                "\n".join(e.similar),
                e.answer.strip(),
                e.category,
                "、".join(e.tags),
                e.handoff,
                "是" if e.enabled else "否",
                "、".join(e.related),
                e.valid_until,
            ]
        )
    return rows


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def render_yaml(category: str, entries: list[FaqEntry], source: str) -> str:
    """The KB file text for ``entries``: block-style, one field per line, diff-friendly."""
    lines = [MARKER + f"（来源：{source}）", f"category: {_quote(category)}", "entries:"]
    for e in entries:
        lines.append(f"  - id: {e.id}")
        lines.append(f"    question: {_quote(e.question)}")
        lines.append("    similar:" if e.similar else "    similar: []")
        lines.extend(f"      - {_quote(s)}" for s in e.similar)
        lines.append("    answer: |-")
        lines.extend(f"      {line}" if line.strip() else "" for line in e.answer.strip().splitlines())
        lines.append(f"    tags: [{', '.join(_quote(t) for t in e.tags)}]")
        lines.append(f"    handoff: {e.handoff}")
        lines.append(f"    enabled: {'true' if e.enabled else 'false'}")
        if e.related:
            lines.append(f"    related: [{', '.join(_quote(r) for r in e.related)}]")
        if e.valid_until:
            lines.append(f"    valid_until: {e.valid_until}")
    return "\n".join(lines) + "\n"


def import_file(path: Path, kb_dir: Path) -> ImportResult:
    entries = read_entries(path)
    by_category: dict[str, list[FaqEntry]] = {}
    for entry in entries:
        by_category.setdefault(entry.category, []).append(entry)
    targets = {cat: kb_dir / f"imported-{_slug(cat)}.yml" for cat in by_category}
    for cat, target in targets.items():
        if target.exists() and not target.read_text(encoding="utf-8").startswith(MARKER):
            raise KBImportError(
                f"{target} 已经存在，而且是手写的文件（不是导入生成的），不会被覆盖；"
                f"请把它改名，或者改掉表格里的分类“{cat}”"
            )
    kb_dir.mkdir(parents=True, exist_ok=True)
    for cat, target in targets.items():
        tmp = target.with_suffix(".tmp")
        tmp.write_text(render_yaml(cat, by_category[cat], path.name), encoding="utf-8")
        tmp.replace(target)
    return ImportResult(files=sorted(targets.values()), entries=len(entries))
