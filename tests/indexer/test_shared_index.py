"""The index several servers share (indexer/shared_index.py), on SQLite and on the real
PostgreSQL: two servers with their own data folders and one database. What one publishes
(or rolls back to) the other serves, without a KB folder of its own; a copy that does not
match its checksums is never served."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from faqbot.config import Settings
from indexer.live import LiveSearcher
from indexer.service import ask, build_and_publish, publish_and_open, rollback, shared_index, store_for
from indexer.shared_index import index_files
from tests.conftest import TINY_KB, write_kb
from tests.databases import scratch_database
from tests.polling import wait_until

MORE = (
    TINY_KB
    + """  - id: invoice
    question: 怎么开发票？
    similar:
      - 发票在哪里申请
      - 能开增值税专用发票吗
    answer: |
      在订单详情页点击申请开票即可。
    tags: [发票]
"""
)


@pytest.fixture(params=["sqlite", "postgresql"])
def servers(request, settings: Settings, tmp_path) -> Iterator[tuple[Settings, Settings]]:
    """Server A with the KB folder, server B with an empty one; both on one database."""
    with scratch_database(request.param, tmp_path) as url:
        shared = settings.replace(
            bot=dataclasses.replace(settings.bot, database_url=url),
            index=dataclasses.replace(settings.index, shared=True),
        )
        a = shared.replace(kb_dir=tmp_path / "a-kb", data_dir=tmp_path / "a")
        b = shared.replace(kb_dir=tmp_path / "b-kb", data_dir=tmp_path / "b")
        a.kb_dir.mkdir()
        b.kb_dir.mkdir()
        write_kb(a.kb_dir, "tiny.yml", TINY_KB)
        yield a, b


def test_a_server_starting_serves_the_shared_version_and_follows_publishes(servers, embedder):
    a, b = servers
    first = build_and_publish(a, embedder=embedder).version
    assert shared_index(a).current() == first
    served = publish_and_open(b, embedder)  # B's KB folder is empty: it serves A's version, builds nothing
    assert served.searcher.directory.name == first and served.published is None
    live = LiveSearcher(b, embedder, poll_seconds=0.05)
    live.follow_in_background()
    assert ask(live.get(), "提现手续费是多少")[1].candidates[0].entry.id == "withdraw-fee"

    write_kb(a.kb_dir, "tiny.yml", MORE)
    second = build_and_publish(a, embedder=embedder).version
    # Nobody asks server B anything: it follows and reports by itself (the console's list of servers).
    reported = lambda: [n["version"] for n in shared_index(a).nodes()] == [second]  # noqa: E731
    wait_until(reported, 30, "server B to report what it serves")
    assert live._searcher is not None and live._searcher.directory.name == second
    assert ask(live.get(), "发票在哪里开")[1].candidates[0].entry.id == "invoice"

    assert rollback(a) == first  # on A; B follows, from the copy it already holds
    wait_until(lambda: live.get().directory.name == first, 30, "server B to follow the rollback")
    live.close()


def test_a_copy_that_does_not_match_its_checksums_is_never_served(servers, embedder):
    a, b = servers
    first = build_and_publish(a, embedder=embedder).version
    publish_and_open(b, embedder)
    live = LiveSearcher(b, embedder, poll_seconds=0.05)
    assert live.get().directory.name == first
    write_kb(a.kb_dir, "tiny.yml", MORE)
    second = build_and_publish(a, embedder=embedder).version
    index = shared_index(a)
    with index.engine.begin() as conn:  # the stored vectors damaged after the publish
        conn.execute(
            index_files.update()
            .where(index_files.c.version == second, index_files.c.name == "vectors.npy")
            .values(data=b"torn")
        )
    b_store = store_for(b)
    wait_until(lambda: live.get() and live._pointer == second, 30, "server B to try the new version")
    assert b_store.current_version() == first and not b_store.version_dir(second).exists()
    assert live.get().directory.name == first
    with index.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(index_files)).scalar() > 0
