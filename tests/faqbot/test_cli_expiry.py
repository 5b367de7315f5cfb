"""``faqbot kb validate`` / ``index build`` / ``kb health`` on a KB with an entry long expired
(a real subprocess on real files)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import write_kb
from tests.faqbot.test_cli import run

EXPIRED = """
category: 活动
entries:
  - id: promo-old
    question: 去年的双十二活动怎么参加？
    similar: [双十二优惠怎么领, 双十二有什么活动, 双12活动规则, 十二月活动怎么参加]
    answer: 在活动页领取优惠券即可。
    valid_until: 2020-12-12
"""
WARNING = "promo.yml:3: [valid_until] 警告：条目 promo-old 已过期（有效期至 2020-12-12）"


def test_validate_shows_an_expired_entry_without_being_asked_for_warnings(tiny_kb):
    write_kb(tiny_kb.kb_dir, "promo.yml", EXPIRED)
    checked = run(tiny_kb, "kb", "validate")
    assert checked.returncode == 0 and WARNING in checked.stdout, checked.stdout + checked.stderr
    assert "检查通过：4 个条目" in checked.stdout


@pytest.mark.slow
def test_build_warns_and_health_marks_the_expired_entry(tiny_kb):
    write_kb(tiny_kb.kb_dir, "promo.yml", EXPIRED)
    build = run(tiny_kb, "index", "build")
    assert build.returncode == 0 and "published index" in build.stdout, build.stderr
    assert WARNING in build.stderr
    health = run(tiny_kb, "kb", "health")
    assert "promo-old" in health.stdout and "已过期：有效期至 2020-12-12" in health.stdout, health.stdout
    rows = {e["faq_id"]: e for e in json.loads(run(tiny_kb, "kb", "health", "--json").stdout)["entries"]}
    assert rows["promo-old"]["expired"] and not rows["withdraw-fee"]["expired"]
