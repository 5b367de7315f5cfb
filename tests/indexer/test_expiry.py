"""Answers valid until a date (``valid_until:``): validation, and a real tiny index that stops
answering with an entry the day after its last day (``today`` / the clock injected, no sleeping)."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime

import pytest

from bot.console.kb_lookup import KbLookup
from indexer.expiry import expiry_status, local_today, parse_valid_until
from indexer.kb import load_kb
from indexer.kb_import import export_rows, import_file, read_entries
from indexer.search import Searcher
from indexer.service import build_and_publish, open_current
from indexer.validate import validate_dir, validate_text
from tests.conftest import TINY_KB, write_kb

PROMO = """
category: 活动
entries:
  - id: promo-2026
    question: 双十二活动怎么参加？
    similar: [双十二优惠怎么领, 双十二有什么活动, 双12活动规则, 十二月活动怎么参加]
    answer: 在活动页领取优惠券即可。
    valid_until: 2026-12-12
  - id: promo-rules
    question: 活动规则在哪里看？
    similar: [活动说明在哪, 优惠规则去哪看, 活动细则, 活动条款在哪里]
    answer: 活动页底部有完整规则。
    valid_until: "2099-12-31"
"""


def _entry(valid_until: str) -> str:
    head = "category: 测试\nentries:\n  - id: a\n    question: 问题\n    answer: 答案\n"
    return f"{head}    valid_until: {valid_until}\n"


@pytest.mark.parametrize("written", ["2026-12-31", '"2026-12-31"', "'2026-12-31'"])
def test_a_date_quoted_or_not_is_the_entrys_last_day(written):
    entries, problems, _ = validate_text(_entry(written), "t.yml")
    assert [e.valid_until for e in entries] == ["2026-12-31"]
    assert not [p for p in problems if p.field == "valid_until"]


def test_an_empty_valid_until_means_no_end():
    entries, _, _ = validate_text(_entry(""), "t.yml")
    assert entries[0].valid_until == "" and "valid_until" not in entries[0].to_json()


@pytest.mark.parametrize(
    ("written", "says"),
    [
        ("2026-13-01", "月份只能是 1 到 12"),
        ("2026-02-30", "2026 年 2 月没有 30 日"),
        ("明天", "现在写的是“明天”"),
        ("2026/12/31", "写成 年-月-日"),
        ("2026-12-31 18:00", "只写日期，不写时间"),
        ("[2026-12-31]", "不能是列表"),
    ],
)
def test_a_bad_date_is_an_error_on_its_line_in_chinese(written, says):
    entries, problems, _ = validate_text(_entry(written), "t.yml")
    assert entries == []
    (problem,) = [p for p in problems if p.field == "valid_until"]
    assert problem.severity == "error" and problem.line == 6 and says in problem.message
    assert str(problem).startswith("t.yml:6: [valid_until] 错误：")


def test_parse_valid_until_pads_the_date():
    assert parse_valid_until(" 2026-1-5 ") == ("2026-01-05", "")


def test_validation_warns_about_entries_already_expired(settings):
    write_kb(settings.kb_dir, "promo.yml", PROMO)
    problems = validate_dir(settings.kb_dir, date(2026, 12, 13))[2]
    (expired,) = [p for p in problems if p.field == "valid_until"]
    assert expired.severity == "warning" and expired.file == "promo.yml" and expired.line == 3
    assert "promo-2026 已过期（有效期至 2026-12-12）" in expired.message
    assert not [p for p in validate_dir(settings.kb_dir, date(2026, 12, 12))[2] if p.field == "valid_until"]
    assert not [p for p in validate_dir(settings.kb_dir)[2] if p.field == "valid_until"]  # no day: no warning


def test_a_related_entry_that_has_expired_is_warned_about_on_its_line(settings):
    linked = PROMO.replace(
        "    answer: 活动页底部有完整规则。\n", "    answer: 活动页底部有完整规则。\n    related: [promo-2026]\n"
    )
    write_kb(settings.kb_dir, "promo.yml", linked)
    problems = validate_dir(settings.kb_dir, date(2026, 12, 13))[2]
    (related,) = [p for p in problems if p.field == "related"]
    assert related.severity == "warning" and related.line == 12  # the related: line
    assert related.message == "related 里的 promo-2026 已过期（有效期至 2026-12-12）：不会再显示"
    assert not [p for p in validate_dir(settings.kb_dir, date(2026, 12, 12))[2] if p.field == "related"]


def test_the_local_day_is_the_configured_time_zones():
    late = datetime(2026, 12, 12, 16, 30, tzinfo=UTC)  # 00:30 on the 13th in Shanghai
    assert local_today("Asia/Shanghai", lambda: late) == date(2026, 12, 13)
    assert local_today("UTC", lambda: late) == date(2026, 12, 12)


def test_expiry_status_for_the_studio(settings):
    write_kb(settings.kb_dir, "promo.yml", PROMO)
    promo = {e.id: e for e in load_kb(settings.kb_dir).entries}["promo-2026"]
    assert expiry_status(promo, date(2026, 12, 1)) == ""
    assert expiry_status(promo, date(2026, 12, 5)) == "soon"
    assert expiry_status(promo, date(2026, 12, 12)) == "soon"
    assert expiry_status(promo, date(2026, 12, 13)) == "expired"


def test_an_entry_without_an_end_hashes_as_before(settings):
    """Existing indexes stay up to date: the field is absent from the hash when unset."""
    write_kb(settings.kb_dir, "tiny.yml", TINY_KB)
    kb = load_kb(settings.kb_dir)
    assert all("valid_until" not in e.to_json() for e in kb.entries)
    (settings.kb_dir / "tiny.yml").write_text(
        (settings.kb_dir / "tiny.yml")
        .read_text(encoding="utf-8")
        .replace("    enabled: true\n", "    enabled: true\n    valid_until: 2099-01-01\n"),
        encoding="utf-8",
    )
    assert load_kb(settings.kb_dir).content_hash() != kb.content_hash()


def test_import_and_export_carry_the_column(settings, tmp_path):
    src = tmp_path / "faq.csv"
    with src.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(
            [
                ["ID", "问题", "答案", "分类", "有效期至"],
                ["promo-a", "活动怎么参加？", "看活动页。", "活动", "2026-12-12"],
                ["promo-b", "活动规则在哪？", "活动页底部。", "活动", ""],
            ]
        )
    import_file(src, settings.kb_dir)
    entries = {e.id: e for e in load_kb(settings.kb_dir).entries}
    assert entries["promo-a"].valid_until == "2026-12-12" and entries["promo-b"].valid_until == ""
    rows = export_rows(list(entries.values()))
    assert rows[0][-1] == "有效期至" and rows[1][-1] == "2026-12-12" and rows[2][-1] == ""
    back = tmp_path / "back.csv"
    with back.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    assert [(e.id, e.valid_until) for e in read_entries(back)] == [("promo-a", "2026-12-12"), ("promo-b", "")]


def test_an_excel_date_cell_and_a_bad_date_in_the_table(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["问题", "答案", "有效期至"])
    book.active.append(["活动怎么参加？", "看活动页。", datetime(2026, 12, 12)])
    book.save(tmp_path / "ok.xlsx")
    assert [e.valid_until for e in read_entries(tmp_path / "ok.xlsx")] == ["2026-12-12"]
    (tmp_path / "bad.csv").write_text("问题,答案,有效期至\n活动怎么参加？,看活动页。,下个月\n", encoding="utf-8")
    with pytest.raises(ValueError, match="第 2 行：“有效期至”列应该是一个日期"):
        read_entries(tmp_path / "bad.csv")


@pytest.mark.slow
def test_the_searcher_drops_an_entry_after_its_last_day(tiny_kb, embedder):
    write_kb(tiny_kb.kb_dir, "promo.yml", PROMO)
    build_and_publish(tiny_kb, embedder=embedder)
    searcher = open_current(tiny_kb, embedder)

    def ids(day: date) -> list[str]:
        return [c.entry.id for c in searcher.search("双十二活动怎么参加", k=5, today=day).candidates]

    assert ids(date(2026, 12, 12))[0] == "promo-2026"  # its last day: still answers
    after = ids(date(2026, 12, 13))
    assert "promo-2026" not in after and "promo-rules" in after
    marked = searcher.search("双十二活动怎么参加", k=5, today=date(2026, 12, 13), include_expired=True).candidates
    assert [(c.entry.id, c.expired) for c in marked][0] == ("promo-2026", True)
    # By id (hot questions, 猜你想问, clarify buttons): gone from ``serving`` only.
    assert "promo-2026" in searcher.serving(date(2026, 12, 12))
    assert "promo-2026" not in searcher.serving(date(2026, 12, 13)) and "promo-2026" in searcher.by_id
    assert "promo-2026" not in [e.id for e in searcher.serving_entries(date(2026, 12, 13))]

    # The clock decides "now" (in [handoff] timezone): 16:30 UTC on the 12th is the 13th in Shanghai.
    clocked = Searcher(searcher.directory, tiny_kb, embedder, clock=lambda: datetime(2026, 12, 12, 16, 30, tzinfo=UTC))
    assert clocked.today() == date(2026, 12, 13)
    assert "promo-2026" not in [c.entry.id for c in clocked.search("双十二活动怎么参加").candidates]
    assert "promo-2026" not in clocked.serving()


@pytest.mark.slow
def test_the_hit_test_marks_an_expired_entry_instead_of_hiding_it(tiny_kb, embedder):
    write_kb(tiny_kb.kb_dir, "promo.yml", PROMO.replace("2026-12-12", "2020-01-01"))  # long past
    build_and_publish(tiny_kb, embedder=embedder)
    found = KbLookup(tiny_kb).hit_test("双十二活动怎么参加")
    rows = {c["faq_id"]: c for c in found["candidates"]}
    assert rows["promo-2026"]["expired"] and rows["promo-2026"]["valid_until"] == "2020-01-01"
    assert not rows["promo-2026"]["chosen"] and "promo-2026" not in found["decision"]["chosen"]
    assert not rows["promo-rules"]["expired"]
