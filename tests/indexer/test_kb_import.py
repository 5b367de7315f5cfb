import csv

import openpyxl
import pytest

from indexer.kb import load_kb
from indexer.kb_import import KBImportError as ImportError_
from indexer.kb_import import import_file

ROWS = [
    ["问题", "相似问题", "答案", "分类"],
    ["退款多久到账？", "退款什么时候到\n钱多久能退回来|退款到賬時間", "原路退回，一般 1-3 个工作日。", "售后"],
    ["怎么开发票？", "发票怎么开；能开专票吗", "在订单详情页申请。\n\n- 电子发票\n- 纸质发票", "发票"],
]


def test_csv_import_writes_valid_kb(settings, tmp_path):
    src = tmp_path / "faq.csv"
    with src.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(ROWS)
    result = import_file(src, settings.kb_dir)
    assert result.entries == 2 and len(result.files) == 2
    kb = load_kb(settings.kb_dir)
    refund = next(e for e in kb.entries if e.category == "售后")
    assert refund.similar == ("退款什么时候到", "钱多久能退回来", "退款到賬時間")
    assert refund.id.startswith("imp-")
    invoice = next(e for e in kb.entries if e.category == "发票")
    assert "- 电子发票" in invoice.answer
    # Importing again replaces the generated files with the same stable ids.
    import_file(src, settings.kb_dir)
    assert [e.id for e in load_kb(settings.kb_dir).entries] == [e.id for e in kb.entries]


def test_xlsx_import(settings, tmp_path):
    book = openpyxl.Workbook()
    for row in ROWS:
        book.active.append(row)
    src = tmp_path / "faq.xlsx"
    book.save(src)
    assert import_file(src, settings.kb_dir).entries == 2
    assert len(load_kb(settings.kb_dir).entries) == 2


def test_gbk_csv_is_read(settings, tmp_path):
    src = tmp_path / "faq.csv"
    src.write_bytes("问题,答案,分类\n怎么改密码,在设置里改,账户\n".encode("gb18030"))
    assert import_file(src, settings.kb_dir).entries == 1


def test_bad_rows_are_all_reported(settings, tmp_path):
    src = tmp_path / "faq.csv"
    src.write_text("问题,答案\n,有答案没问题\n有问题没答案,\n", encoding="utf-8")
    with pytest.raises(ImportError_) as exc:
        import_file(src, settings.kb_dir)
    assert "第 2 行：“问题”列是空的" in str(exc.value)
    assert "第 3 行：“答案”列是空的" in str(exc.value)
    assert not list(settings.kb_dir.iterdir())


def test_missing_column_and_bad_type(settings, tmp_path):
    src = tmp_path / "faq.csv"
    src.write_text("question,answer\nx,y\n", encoding="utf-8")
    with pytest.raises(ImportError_, match="缺少列 问题、答案"):
        import_file(src, settings.kb_dir)
    with pytest.raises(ImportError_, match=r"不支持 \.txt 文件"):
        import_file(tmp_path / "faq.txt", settings.kb_dir) if (tmp_path / "faq.txt").write_text("x") else None


def test_hand_written_file_is_not_overwritten(settings, tmp_path):
    (settings.kb_dir / "imported-售后.yml").write_text("category: 售后\nentries: []\n", encoding="utf-8")
    src = tmp_path / "faq.csv"
    with src.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(ROWS)
    with pytest.raises(ImportError_, match="手写的文件"):
        import_file(src, settings.kb_dir)


def test_related_column(settings, tmp_path):
    src = tmp_path / "faq.csv"
    rows = [
        ["ID", "问题", "答案", "分类", "相关问题"],
        ["refund-time", "退款多久到账？", "一般 1-3 个工作日。", "售后", "refund-apply、Refund-Missing"],
        ["refund-apply", "怎么申请退款？", "在订单详情页申请。", "售后", ""],
        ["refund-missing", "退款没收到怎么办？", "请联系银行。", "售后", "refund-time"],
    ]
    with src.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(rows)
    import_file(src, settings.kb_dir)
    by_id = {e.id: e for e in load_kb(settings.kb_dir).entries}
    assert by_id["refund-time"].related == ("refund-apply", "refund-missing")
    assert by_id["refund-apply"].related == () and by_id["refund-missing"].related == ("refund-time",)


def test_the_export_reads_back_as_the_same_entries(sample_kb, tmp_path):
    import csv

    from indexer.kb import load_kb
    from indexer.kb_import import export_rows, read_entries

    entries = load_kb(sample_kb.kb_dir).entries
    sheet = tmp_path / "faq.csv"
    with sheet.open("w", encoding="utf-8-sig", newline="") as out:
        csv.writer(out).writerows(export_rows(entries))
    table = ("id", "question", "similar", "answer", "category", "tags", "handoff", "enabled", "related")
    strip = lambda e: tuple(getattr(e, f).strip() if f == "answer" else getattr(e, f) for f in table)  # noqa: E731
    assert [strip(e) for e in read_entries(sheet)] == [strip(e) for e in entries]
