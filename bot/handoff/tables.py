"""Rows out as files managers open: CSV that Excel reads (UTF-8 with a byte-order mark)
and XLSX workbooks (one sheet per table). The KPI tables and the conversation export
both write through here."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

Rows = Sequence[Sequence[Any]]


def csv_text(rows: Rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if cell is None else cell for cell in row])
    return "\ufeff" + out.getvalue()


def xlsx_bytes(sheets: Mapping[str, Rows]) -> bytes:
    """``sheets``: title → rows (the first row is the header)."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
