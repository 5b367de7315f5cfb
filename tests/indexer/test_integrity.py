"""A damaged index version is never skipped as up to date, reported as fine or served:
every file's sha256 is in the manifest, checked before a version is used.

Real tiny indexes with the real embedder; damage is done to the files on disk
exactly as a bad disk or a stray editor would do it.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest

from indexer.build import build_index
from indexer.embed_cache import EmbeddingCache
from indexer.kb import load_kb
from indexer.live import LiveSearcher
from indexer.manifest import INDEX_FILES, MANIFEST, IndexCorrupt, verify_version
from indexer.search import IndexMismatch, IndexMissing, Searcher
from indexer.service import IndexUnusable, build_and_publish, open_current, open_serving, store_for, version_states
from tests.polling import wait_until

pytestmark = pytest.mark.slow

ALL_FILES = [MANIFEST, *INDEX_FILES]


def damage(path: Path) -> None:
    """Garbage where an index file was (what the issue's reproduction does)."""
    path.write_bytes(b'{"x' if path.suffix == ".json" else b"garbage")


def flip_last_byte(path: Path) -> None:
    """Silent damage: same size, still parses, different content; only the checksum sees it."""
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))


def edit_answer(settings, new: str) -> None:
    path = settings.kb_dir / "tiny.yml"
    text = path.read_text(encoding="utf-8")
    old = "以提现页面显示为准"
    path.write_text(text.replace(old, new) if old in text else text, encoding="utf-8")


def two_versions(settings, embedder) -> tuple[str, str]:
    """v1 (answer A) then v2 (answer 以最新公告为准), v2 current."""
    first = build_and_publish(settings, embedder=embedder).version
    edit_answer(settings, "以最新公告为准")
    second = build_and_publish(settings, embedder=embedder).version
    return first, second


def test_manifest_records_a_sha256_of_every_file(tiny_kb, embedder):
    result = build_and_publish(tiny_kb, embedder=embedder)
    directory = store_for(tiny_kb).current()
    files = result.manifest["files"]
    assert sorted(files) == sorted(p.name for p in directory.iterdir() if p.name != MANIFEST)
    assert all(len(f["sha256"]) == 64 and f["bytes"] == (directory / n).stat().st_size for n, f in files.items())
    assert verify_version(directory) == result.manifest
    assert json.loads((directory / MANIFEST).read_text(encoding="utf-8")) == result.manifest


@pytest.mark.parametrize("name", ALL_FILES)
def test_garbage_in_any_file_is_rebuilt_not_skipped(tiny_kb, embedder, name):
    first = build_and_publish(tiny_kb, embedder=embedder)
    damage(store_for(tiny_kb).current() / name)
    with pytest.raises(IndexCorrupt, match=name.replace(".", r"\.")):
        verify_version(store_for(tiny_kb).current())
    again = build_and_publish(tiny_kb, embedder=embedder)
    assert not again.skipped and again.version != first.version
    assert again.rebuilt_because and first.version in again.rebuilt_because and name in again.rebuilt_because
    assert again.manifest["counts"]["newly_embedded"] == 0  # the embedding cache still serves
    top = open_current(tiny_kb, embedder).search("提现手续费是多少").candidates[0]
    assert top.entry.id == "withdraw-fee"
    assert build_and_publish(tiny_kb, embedder=embedder).skipped  # and now it is up to date


@pytest.mark.parametrize("name", ["vectors.npy", "entries.json", MANIFEST])
def test_silent_damage_is_caught_by_the_checksum(tiny_kb, embedder, name):
    build_and_publish(tiny_kb, embedder=embedder)
    current = store_for(tiny_kb).current()
    if name == MANIFEST:  # still valid JSON, one count changed by hand
        manifest = json.loads((current / MANIFEST).read_text(encoding="utf-8"))
        manifest["counts"]["enabled"] += 1
        (current / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    elif name == "entries.json":
        path = current / name
        path.write_text(
            path.read_text(encoding="utf-8").replace("以提现页面显示为准", "以提现页面显示为淮"), encoding="utf-8"
        )
    else:
        flip_last_byte(current / name)
    with pytest.raises(IndexCorrupt, match="checksum"):
        Searcher(current, tiny_kb, embedder)
    assert not build_and_publish(tiny_kb, embedder=embedder).skipped


def test_status_marks_the_corrupt_version_and_what_is_served(tiny_kb, embedder):
    first, second = two_versions(tiny_kb, embedder)
    damage(store_for(tiny_kb).current() / "dense.faiss")
    states = {s.version: s for s in version_states(tiny_kb)}
    assert states[second].state == "corrupt" and "dense.faiss" in states[second].reason
    assert states[first].state == "ok" and states[first].reason == ""


def test_ask_falls_back_to_the_previous_good_version(tiny_kb, embedder):
    first, second = two_versions(tiny_kb, embedder)
    damage(store_for(tiny_kb).current() / "entries.json")
    searcher, rejected = open_serving(tiny_kb, embedder)
    assert searcher.directory.name == first
    assert [(r.version, r.state) for r in rejected] == [(second, "corrupt")]
    assert "entries.json" in rejected[0].reason
    top = searcher.search("提现手续费是多少").candidates[0].entry
    assert "以提现页面显示为准" in top.answer  # v1's answer, served instead of nothing


def test_no_good_version_at_all_is_one_clear_error(tiny_kb, embedder):
    first, second = two_versions(tiny_kb, embedder)
    store = store_for(tiny_kb)
    damage(store.versions / second / "bm25.npz")
    damage(store.versions / first / MANIFEST)
    with pytest.raises(IndexUnusable) as caught:
        open_serving(tiny_kb, embedder)
    message = str(caught.value)
    assert "\n" not in message and "no usable index" in message and "run `faqbot index build`" in message
    assert first in message and second in message and "bm25.npz" in message
    assert isinstance(caught.value, IndexMissing)  # the bot's polite "知识库正在维护" path still catches it


def test_nothing_published_is_still_index_missing(tiny_kb, embedder):
    with pytest.raises(IndexMissing, match="no published index"):
        open_serving(tiny_kb, embedder)


def test_old_index_without_checksums_is_rebuilt(tiny_kb, embedder):
    """Versions built before checksums (format 1) cannot be verified: treated as needing a rebuild."""
    first = build_and_publish(tiny_kb, embedder=embedder)
    current = store_for(tiny_kb).current()
    old = {k: v for k, v in first.manifest.items() if k not in ("files", "checksum")}
    (current / MANIFEST).write_text(json.dumps({**old, "format_version": 1}), encoding="utf-8")
    [state] = version_states(tiny_kb)
    assert state.state == "outdated" and "before checksums" in state.reason
    with pytest.raises(IndexMismatch, match="before checksums"):
        Searcher(current, tiny_kb, embedder)
    with pytest.raises(IndexUnusable, match="before checksums"):
        open_serving(tiny_kb, embedder)
    again = build_and_publish(tiny_kb, embedder=embedder)
    assert not again.skipped and "before checksums" in (again.rebuilt_because or "")
    assert open_serving(tiny_kb, embedder)[0].directory.name == again.version


def test_live_searcher_starts_on_the_last_good_version_and_says_so(tiny_kb, embedder, caplog):
    first, second = two_versions(tiny_kb, embedder)
    damage(store_for(tiny_kb).current() / "dense.faiss")
    caplog.set_level(logging.WARNING, logger="indexer.live")
    live = LiveSearcher(tiny_kb, embedder, poll_seconds=0.05)
    assert live.get().directory.name == first
    [record] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert record.levelno == logging.ERROR
    assert second in record.getMessage() and "dense.faiss" in record.getMessage()
    assert f"serving {first} instead" in record.getMessage()


def publish_damaged(settings, embedder, name: str) -> str:
    """Publish a version whose ``name`` is damaged after it was written (a bad disk, say)."""
    kb = load_kb(settings.kb_dir)
    cache = EmbeddingCache(settings.cache_dir / "embeddings.sqlite")

    def build(out: Path) -> dict:
        manifest = build_index(kb.entries, kb.terms, kb.content_hash(), settings, embedder, cache, out)
        damage(out / name)
        return manifest

    try:
        return store_for(settings).publish(build, label="damaged")[0]
    finally:
        cache.close()


def test_live_searcher_never_swaps_in_a_corrupt_version(tiny_kb, embedder, caplog):
    caplog.set_level(logging.INFO, logger="indexer.live")
    first = build_and_publish(tiny_kb, embedder=embedder).version
    live = LiveSearcher(tiny_kb, embedder, poll_seconds=0.05)
    assert live.get().directory.name == first
    edit_answer(tiny_kb, "以最新公告为准")
    bad = publish_damaged(tiny_kb, embedder, "vectors.npy")

    def rejected() -> bool:
        live.get()
        return any(bad in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)

    wait_until(rejected, what=f"the live searcher to reject {bad}")
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "vectors.npy" in record.getMessage() and f"serving {first} instead" in record.getMessage()
    for _ in range(5):  # polling on does not retry (and log) the same bad version again
        assert "以提现页面显示为准" in live.get().search("提现手续费是多少").candidates[0].entry.answer
        time.sleep(live.poll_seconds)
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1
    # The next good publish is picked up as usual.
    good = build_and_publish(tiny_kb, embedder=embedder)
    assert not good.skipped and bad in (good.rebuilt_because or "")
    wait_until(lambda: live.get().directory.name == good.version, what=f"{good.version} to be served")
    assert "以最新公告为准" in live.get().search("提现手续费是多少").candidates[0].entry.answer


def test_live_searcher_with_nothing_usable_raises_index_missing(tiny_kb, embedder):
    build_and_publish(tiny_kb, embedder=embedder)
    damage(store_for(tiny_kb).current() / "docs.json")
    live = LiveSearcher(tiny_kb, embedder, poll_seconds=0.05)
    with pytest.raises(IndexUnusable, match="docs.json"):
        live.get()
    good = build_and_publish(tiny_kb, embedder=embedder).version
    wait_until(lambda: _serves(live, good), what=f"{good} to be served")


def _serves(live: LiveSearcher, version: str) -> bool:
    try:
        return live.get().directory.name == version
    except IndexMissing:
        return False
