"""The live searcher follows publishes and rollbacks without a restart."""

from __future__ import annotations

import pytest

from indexer.live import LiveSearcher
from indexer.search import IndexMissing
from indexer.service import build_and_publish, store_for
from tests.polling import wait_until

pytestmark = pytest.mark.slow


def wait_for(live: LiveSearcher, version: str) -> None:
    wait_until(lambda: live.get().directory.name == version, what=f"{version} to be served")


def test_follows_publish_and_rollback(tiny_kb, embedder):
    live = LiveSearcher(tiny_kb, embedder, poll_seconds=0.1)
    with pytest.raises(IndexMissing):
        live.get()
    first = build_and_publish(tiny_kb, embedder=embedder).version
    assert live.get().directory.name == first

    path = tiny_kb.kb_dir / "tiny.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("以提现页面显示为准", "以最新公告为准"), encoding="utf-8")
    second = build_and_publish(tiny_kb, embedder=embedder).version
    wait_for(live, second)
    top = live.get().search("提现手续费是多少").candidates[0].entry
    assert "以最新公告为准" in top.answer

    store_for(tiny_kb).rollback()
    wait_for(live, first)
