"""`start_bot` checks the index it will serve before it trains or starts anything:
with no usable index it refuses in one line that says what to do."""

from __future__ import annotations

import pytest

from bot.process.runner import StartupFailed, start_bot
from indexer.service import build_and_publish, store_for

pytestmark = pytest.mark.slow


def test_refuses_to_start_when_no_index_can_be_served(tiny_kb, tmp_path):
    """The index folder cannot hold an index (a file is in its place): nothing to serve, nothing built."""
    tiny_kb.index_dir.parent.mkdir(parents=True, exist_ok=True)
    tiny_kb.index_dir.write_text("not an index folder", encoding="utf-8")
    models = tmp_path / "models"
    said: list[str] = []
    with pytest.raises(StartupFailed) as caught:
        start_bot(tiny_kb, models_dir=models, log_dir=tmp_path / "logs", say=said.append)
    message = str(caught.value)
    assert "\n" not in message and "no usable index" in message and "faqbot index build" in message
    assert str(tiny_kb.index_dir) in message
    assert not models.exists() and not (tmp_path / "logs").exists()  # no training, no server started
    assert not said


class _Stop(Exception):
    """Raised by the test's ``say`` once the index line is out: start_bot stops before training."""


def test_start_rebuilds_a_corrupt_index_and_reports_it_loaded(tiny_kb, embedder, tmp_path):
    first = build_and_publish(tiny_kb, embedder=embedder).version
    (store_for(tiny_kb).current() / "dense.faiss").write_bytes(b"garbage")
    said: list[str] = []

    def say(line: str) -> None:
        said.append(line)
        if line.startswith("index "):
            raise _Stop

    models = tmp_path / "models"
    with pytest.raises(_Stop):
        start_bot(tiny_kb, models_dir=models, say=say)
    current = store_for(tiny_kb).current_version()
    assert current != first and not models.exists()
    [line] = [s for s in said if s.startswith("index ")]
    assert line.startswith(f"index {current}: 3 FAQ entries (published; rebuilt because index {first} is corrupt")
    assert "dense.faiss" in line and "up to date" not in line
