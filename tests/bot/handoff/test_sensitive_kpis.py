"""Sensitive words are counted (``Records.log_sensitive``, the ``sensitive_hits`` table) and
reported in the KPIs per source, category and what was done, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from bot.handoff.kpis import compute_kpis, format_kpis, kpi_table
from bot.handoff.records import Records
from indexer.validate import parse_sensitive
from tests.databases import scratch_database

LIST = "[辱骂] 拒答\n傻逼\n[赌博] 转人工\n博彩\n[竞品] 只记录\n某某交易所\n"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    with scratch_database(request.param, tmp_path) as found:
        yield found


def test_hits_are_counted_per_source_category_and_action(url):
    listed, _ = parse_sensitive(LIST)
    records = Records(url)
    records.log_sensitive("c1", "rest", "customer", listed.find("傻逼"))
    records.log_sensitive("c2", "rest", "customer", listed.find("傻 逼，博彩"))
    records.log_sensitive("c3", "socketio", "customer", listed.find("某某交易所怎么样"))
    records.log_sensitive("c3", "socketio", "bot", listed.find("某某交易所"))
    records.log_sensitive("c4", "rest", "agent", listed.find("博彩"), "held")
    records.log_sensitive("c4", "rest", "agent", listed.find("博彩"), "confirmed")
    records.log_sensitive("c5", "rest", "customer", [])  # nothing found: nothing written
    with pytest.raises(ValueError):
        records.log_sensitive("c6", "rest", "nobody", listed.find("博彩"))
    report = compute_kpis(url, days=1)
    assert report["sensitive"] == [
        {"source": "customer", "category": "辱骂", "action": "refuse", "count": 2},
        {"source": "agent", "category": "赌博", "action": "confirmed", "count": 1},
        {"source": "agent", "category": "赌博", "action": "held", "count": 1},
        {"source": "bot", "category": "竞品", "action": "withheld", "count": 1},
        {"source": "customer", "category": "竞品", "action": "log", "count": 1},
        {"source": "customer", "category": "赌博", "action": "handoff", "count": 1},
    ]
    text = format_kpis(report)
    assert "敏感词: 客户消息·辱骂·拒答 2" in text and "人工回复·赌博·被拦下 1" in text
    table = kpi_table(report, "sensitive")
    assert table[0] == ["来源", "分类", "处理", "次数"] and table[1] == ["客户消息", "辱骂", "拒答", 2]
    assert len(table) == 1 + len(report["sensitive"])


def test_a_window_without_hits_reports_none(url):
    report = compute_kpis(url, days=1)
    assert report["sensitive"] == []
    assert "敏感词" not in format_kpis(report)
