"""Two servers on one PostgreSQL database, each with its own KB folder (copies of the sample
KB) and a shared index: their studio publishes go one at a time (the lease ``studio_publish``),
each starts from the last published files rather than its own folder, and a due scheduled
change is published once however many schedulers look."""

from __future__ import annotations

import dataclasses
import shutil
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.handoff.db import now
from bot.handoff.lease import Leases
from bot.studio.changes import APPROVED, PUBLISHED, ChangeStore
from bot.studio.publish_lease import LEASE, PublishBusy
from bot.studio.publishing import publish, publish_scheduled, snapshot
from faqbot.config import Settings, load_settings
from indexer.kb import load_kb
from indexer.service import build_and_publish, open_current, shared_index
from tests.bot.studio.test_publishing import _approve, _entry
from tests.conftest import SAMPLE_KB
from tests.databases import scratch_database
from tests.polling import wait_until

pytestmark = pytest.mark.slow

FILE = "exchange-deposit-withdrawal.yml"
FIRST, SECOND = "ex-deposit-not-arrived", "ex-deposit-wrong-network"  # two entries of that one file
ANSWERS = {FIRST: "充值未到账：请先等待 30 分钟。", SECOND: "充错网络：请联系客服找回。"}


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Path:
    """The sample KB's embeddings, computed once: each server's cache starts as a copy."""
    root = tmp_path_factory.mktemp("warm")
    shutil.copytree(SAMPLE_KB, root / "kb")
    settings = load_settings(env={}).replace(kb_dir=root / "kb", data_dir=root / "var")
    build_and_publish(settings, embedder=embedder)
    return settings.cache_dir


@pytest.fixture
def servers(tmp_path: Path, warm_cache: Path, embedder: Any) -> Iterator[tuple[Settings, Settings, ChangeStore]]:
    """Servers A and B: one database, a shared index, a KB folder and a data folder each."""
    with scratch_database("postgresql", tmp_path) as url:
        made = []
        for name in ("a", "b"):
            shutil.copytree(SAMPLE_KB, tmp_path / name / "kb")
            shutil.copytree(warm_cache, tmp_path / name / "var" / "cache")
            base = load_settings(env={})
            made.append(
                base.replace(
                    kb_dir=tmp_path / name / "kb",
                    data_dir=tmp_path / name / "var",
                    bot=dataclasses.replace(base.bot, database_url=url, node=f"server-{name}"),
                    index=dataclasses.replace(base.index, shared=True),
                )
            )
        a, b = made
        build_and_publish(a, embedder=embedder)  # A started first; B starts serving the same KB
        build_and_publish(b, embedder=embedder)
        yield a, b, ChangeStore(url)


def approve_answer(settings: Settings, store: ChangeStore, entry_id: str, **publish_at: Any) -> int:
    """An approved edit of ``entry_id``'s answer (``at=``: to be published then)."""
    before = _entry(settings, entry_id)
    if not publish_at:
        return int(_approve(store, "ann", entry_id, "edit", before | {"answer": ANSWERS[entry_id]}, before).id)
    change = store.save_draft("ann", entry_id, "edit", before | {"answer": ANSWERS[entry_id]}, before)
    store.submit(change.id, "ann", publish_at["at"])
    return int(store.approve(change.id, "reviewer").id)


def answers(entries: Any) -> dict[str, str]:
    return {e.id: e.answer.strip() for e in entries if e.id in ANSWERS}


def served(settings: Settings, embedder: Any) -> dict[str, str]:
    """The answers of the index ``settings``' server serves."""
    return answers(open_current(settings, embedder).entries)


def in_threads(*calls: Callable[[], Any]) -> list[Any]:
    """Run ``calls`` at the same moment, one thread each: what each returned or raised."""
    start = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:  # kept for the test to look at
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a publish did not end"
    return results


def test_a_server_whose_folder_is_behind_publishes_on_top_of_the_other_servers_publish(servers, embedder):
    a, b, store = servers
    first = approve_answer(a, store, FIRST)
    publish(a, store, "bob", published=open_current(a, embedder))
    assert served(a, embedder)[FIRST] == ANSWERS[FIRST]
    assert answers(load_kb(b.kb_dir).entries)[FIRST] != ANSWERS[FIRST]  # B's folder is behind now

    second = approve_answer(b, store, SECOND)
    outcome = publish(b, store, "bob", published=open_current(b, embedder))
    assert outcome.published == [second] and store.get(first).status == store.get(second).status == PUBLISHED
    assert answers(load_kb(b.kb_dir).entries) == ANSWERS  # both changes in B's folder...
    assert served(b, embedder) == ANSWERS  # ...and in the index B built and shared
    assert shared_index(b).current() == outcome.index_version
    assert snapshot(b.kb_dir) == store.latest_files()


def test_two_publishes_at_the_same_moment_go_one_after_the_other(servers, embedder):
    a, b, store = servers
    ids = {approve_answer(a, store, FIRST): FIRST, approve_answer(a, store, SECOND): SECOND}
    pairs = list(zip((a, b), ids, strict=True))
    results = in_threads(
        *(lambda s=s, i=i: publish(s, store, "bob", [i], published=open_current(s, embedder)) for s, i in pairs)
    )
    done = [r for r in results if not isinstance(r, Exception)]
    assert all(
        isinstance(r, PublishBusy) and str(r) == "另一台服务器正在发布，请稍后再试" for r in results if r not in done
    )
    assert done, results
    versions = store.versions()
    assert len(versions) == 1 + len(done)  # the state before the first publish, then one per publish
    published = {ids[i] for r in done for i in r.published}
    latest = load_kb_texts(store.latest_files())
    assert {k: v for k, v in latest.items() if k in published} == {k: ANSWERS[k] for k in published}
    for change_id, entry_id in ids.items():  # each change published whole, or still approved
        assert store.get(change_id).status == (PUBLISHED if entry_id in published else APPROVED)
    last = max(done, key=lambda r: r.version.id)
    assert shared_index(a).current() == last.index_version  # what every server follows...
    last_server = next(s for s, i in pairs if last.published == [i])
    found = served(last_server, embedder)  # ...holds every published change (the later built on the earlier)
    assert {k: v for k, v in found.items() if k in published} == {k: ANSWERS[k] for k in published}


def test_a_publish_waits_for_the_other_servers_and_gives_up_with_a_clear_error(servers, embedder):
    a, _b, store = servers
    change = approve_answer(a, store, FIRST)
    leases = Leases(store.db.url)
    assert leases.take(LEASE, "server-c:1:x", 120)
    original = snapshot(a.kb_dir)
    with pytest.raises(PublishBusy, match="另一台服务器正在发布，请稍后再试"):
        publish(a, store, "bob", wait=0.3)
    assert snapshot(a.kb_dir) == original and store.get(change).status == APPROVED and store.versions() == []

    waiting = threading.Thread(target=lambda: publish(a, store, "bob", published=open_current(a, embedder), wait=60))
    waiting.start()
    wait_until(lambda: waiting.is_alive() and store.get(change).status == APPROVED, 5, "the publish waiting")
    assert leases.release(LEASE, "server-c:1:x")  # the other server's publish ends: this one goes on
    waiting.join(timeout=120)
    assert store.get(change).status == PUBLISHED
    assert leases.holder(LEASE) is None  # released at the end


def test_a_due_scheduled_change_is_published_once_when_both_schedulers_look(servers, embedder):
    a, b, store = servers
    change = approve_answer(a, store, FIRST, at=now() - timedelta(minutes=1))
    approve_answer(a, store, SECOND, at=now() + timedelta(days=1))  # not due yet
    results = in_threads(*(lambda s=s: publish_scheduled(s, store, "定时发布", embedder) for s in (a, b)))
    assert not any(isinstance(r, Exception) for r in results), results
    done = [r for r in results if r is not None]
    assert len(done) == 1 and done[0].published == [change]
    notes = [v.note for v in store.versions()]
    assert notes == [f"发布 1 项修改：#{change} {FIRST}", "工作室首次发布前的知识库"]
    assert publish_scheduled(b, store, "定时发布", embedder) is None  # nothing else is due
    assert store.get(change).status == PUBLISHED


def load_kb_texts(files: dict[str, str] | None) -> dict[str, str]:
    """The answers of ``ANSWERS``' entries in a version's files."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for name, text in (files or {}).items():
            Path(tmp, name).write_text(text, encoding="utf-8")
        return answers(load_kb(Path(tmp)).entries)
