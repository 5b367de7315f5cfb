"""``valid_until`` through the studio's YAML editing: written as a date, read back the same,
cleared by an empty value, and a date already past is warned about as the editor types."""

from __future__ import annotations

from datetime import date

from bot.studio.changes import diff_lines
from bot.studio.publishing import check_change, entry_data
from bot.studio.yaml_edit import KbFiles, write_files
from indexer.kb import load_kb


def _entry(settings, entry_id: str) -> dict:
    return entry_data(next(e for e in load_kb(settings.kb_dir).entries if e.id == entry_id))


def test_valid_until_round_trips_through_the_yaml(tiny_kb):
    original = (tiny_kb.kb_dir / "tiny.yml").read_text(encoding="utf-8")
    before = _entry(tiny_kb, "withdraw-fee")
    assert "valid_until" not in before  # unset: not one of the entry's fields
    files = KbFiles.read(tiny_kb.kb_dir)
    files.put(before | {"valid_until": "2026-12-31"})
    text = files.changed()["tiny.yml"]
    added = [line for line in text.splitlines() if line not in original.splitlines()]
    assert added == ["    valid_until: 2026-12-31"]  # a YAML date, unquoted, as written by hand
    write_files(tiny_kb.kb_dir, {"tiny.yml": text})
    after = _entry(tiny_kb, "withdraw-fee")
    assert after["valid_until"] == "2026-12-31"

    again = KbFiles.read(tiny_kb.kb_dir)
    again.put(after)  # the same date again (ruamel reads it as a date): nothing changes
    assert again.changed() == {}
    again.put(after | {"valid_until": ""})  # cleared: the line goes, the file is as it was
    assert again.changed()["tiny.yml"] == original
    assert "+ 有效期至：2026-12-31" in diff_lines(before, after)


def test_a_past_date_is_warned_about_and_a_bad_one_is_an_error(tiny_kb):
    data = _entry(tiny_kb, "withdraw-fee")
    past = check_change(tiny_kb.kb_dir, "withdraw-fee", "edit", data | {"valid_until": "2026-01-01"}, date(2026, 6, 1))
    assert [(p.field, p.severity) for p in past] == [("valid_until", "warning")]
    assert "已过期（有效期至 2026-01-01）" in past[0].message
    future = check_change(
        tiny_kb.kb_dir, "withdraw-fee", "edit", data | {"valid_until": "2026-12-31"}, date(2026, 6, 1)
    )
    assert future == []
    bad = check_change(tiny_kb.kb_dir, "withdraw-fee", "edit", data | {"valid_until": "2026-13-01"}, date(2026, 6, 1))
    assert [(p.field, p.severity) for p in bad] == [("valid_until", "error")] and "月份只能是 1 到 12" in bad[0].message
