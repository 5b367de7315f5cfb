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


def test_callers_during_the_first_load_wait_for_it_instead_of_finding_nothing(tiny_kb, embedder):
    """The Rasa server's first requests after a start arrive together (the console's
    suggestions, a customer's message): none may be told there is no index."""
    import threading

    build_and_publish(tiny_kb, embedder=embedder)
    live = LiveSearcher(tiny_kb, embedder, poll_seconds=0.1)
    start = threading.Barrier(4)
    served: list[str] = []
    failed: list[BaseException] = []

    def ask() -> None:
        start.wait()
        try:
            served.append(live.get().directory.name)
        except BaseException as exc:  # the failure under test
            failed.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failed == [] and len(served) == 4 and len(set(served)) == 1
