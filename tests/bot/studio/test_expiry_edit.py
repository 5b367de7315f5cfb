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


def test_an_import_clears_a_date_only_with_the_column(tiny_kb):
    import csv
    import io

    from bot.console.studio_edit import import_changes
    from bot.studio.changes import ChangeStore
    from indexer.kb_import import export_rows

    path = tiny_kb.kb_dir / "tiny.yml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "    enabled: true\n", "    enabled: true\n    valid_until: 2026-12-31\n"
        ),
        encoding="utf-8",
    )
    store = ChangeStore(f"sqlite:///{tiny_kb.data_dir / 'studio.sqlite'}")
    rows = export_rows(load_kb(tiny_kb.kb_dir).entries)
    assert rows[1][0] == "withdraw-fee" and rows[1][-1] == "2026-12-31"

    def upload(table: list[list[str]]) -> dict:
        text = io.StringIO()
        csv.writer(text).writerows(table)
        return import_changes(tiny_kb, store, "ann", text.getvalue().encode("utf-8"), "csv")

    assert upload(rows)["unchanged"] == 3  # exported and imported back: nothing to change
    assert upload([row[:-1] for row in rows])["unchanged"] == 3  # an older table without the column keeps it
    cleared = [*rows[:1], [*rows[1][:-1], ""], *rows[2:]]
    found = upload(cleared)
    assert found["edited"] == 1 and found["unchanged"] == 2
    (change,) = store.changes(("review",), "withdraw-fee")
    assert change.data["valid_until"] == "" and "- 有效期至：2026-12-31" in change.to_json()["diff"]
