import json
import threading

import pytest

from indexer.store import IndexStore, StoreError


def fake_build(payload):
    def build(out):
        out.mkdir(parents=True)
        (out / "manifest.json").write_text(json.dumps(payload))
        return payload

    return build


def test_publish_switches_current_and_rollback_goes_back(tmp_path):
    store = IndexStore(tmp_path, keep_versions=3)
    assert store.current() is None
    with pytest.raises(StoreError):
        store.rollback()
    v1, _ = store.publish(fake_build({"n": 1}))
    v2, _ = store.publish(fake_build({"n": 2}))
    assert store.current().name == v2
    assert store.rollback() == v1
    assert json.loads((store.current() / "manifest.json").read_text()) == {"n": 1}
    with pytest.raises(StoreError, match="no earlier"):
        store.rollback()


def test_failed_build_publishes_nothing(tmp_path):
    store = IndexStore(tmp_path)
    v1, _ = store.publish(fake_build({"n": 1}))

    def broken(out):
        out.mkdir()
        (out / "half").write_text("x")
        raise RuntimeError("embedding failed")

    with pytest.raises(RuntimeError):
        store.publish(broken)
    assert store.current().name == v1
    assert [p.name for p in (tmp_path / "versions").iterdir()] == [v1]


def test_old_versions_pruned(tmp_path):
    store = IndexStore(tmp_path, keep_versions=2)
    versions = [store.publish(fake_build({"n": i}))[0] for i in range(4)]
    assert sorted(p.name for p in (tmp_path / "versions").iterdir()) == versions[-2:]


def test_reader_never_sees_a_half_written_index(tmp_path):
    # Every version kept: this is about half-written versions, not a reader outliving the pruning
    # (on a busy machine a reader can sleep through several of these back-to-back publishes).
    store = IndexStore(tmp_path, keep_versions=50)
    store.publish(fake_build({"n": 0}))
    seen_errors = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            current = store.current()
            try:
                data = json.loads((current / "manifest.json").read_text())
                assert "n" in data
            except Exception as exc:  # collected and asserted below
                seen_errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for i in range(1, 30):
        store.publish(fake_build({"n": i}))
    stop.set()
    for t in threads:
        t.join()
    assert not seen_errors


def test_serving_order_is_current_then_earlier_versions_newest_first(tmp_path):
    store = IndexStore(tmp_path, keep_versions=5)
    assert store.serving_order() == []
    versions = [store.publish(fake_build({"n": i}))[0] for i in range(3)]
    assert store.serving_order() == versions[::-1]
    store.rollback()  # the rolled-back-from version is never a fall-back
    assert store.serving_order() == versions[1::-1]


def test_damaged_history_neither_blocks_publishing_nor_loses_fall_backs(tmp_path):
    store = IndexStore(tmp_path, keep_versions=3)
    versions = [store.publish(fake_build({"n": i}))[0] for i in range(2)]
    store.history_file.write_text('["x', encoding="utf-8")
    assert store.history() == versions  # rebuilt from the version folders, in build order
    third, _ = store.publish(fake_build({"n": 2}))
    assert store.serving_order() == [third, *versions[::-1]]
    assert sorted(p.name for p in (tmp_path / "versions").iterdir()) == [*versions, third]
