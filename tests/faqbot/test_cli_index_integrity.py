"""The real `faqbot` command on a damaged index: the issue's reproduction, then what
operators see (build rebuilds and says why, status marks the bad version, ask
answers from the last good version with a warning, or fails in one line)."""

from __future__ import annotations

import json

import pytest

from indexer.service import store_for
from tests.faqbot.test_cli import assert_clean_error, run

pytestmark = pytest.mark.slow


def test_build_rebuilds_the_issues_corrupted_index(tiny_kb):
    assert run(tiny_kb, "index", "build").returncode == 0
    current = store_for(tiny_kb).current()
    (current / "dense.faiss").write_bytes(b"garbage")
    (current / "entries.json").write_text('{"x', encoding="utf-8")
    build = run(tiny_kb, "index", "build")
    assert build.returncode == 0, build.stderr
    assert "up to date" not in build.stdout
    assert f"index {current.name} is corrupt" in build.stdout and "published index" in build.stdout
    ask = run(tiny_kb, "ask", "提现手续费是多少", "--json")
    assert ask.returncode == 0 and json.loads(ask.stdout)["candidates"][0]["id"] == "withdraw-fee"


def test_status_and_ask_fall_back_then_fail_cleanly(tiny_kb):
    assert run(tiny_kb, "index", "build").returncode == 0
    store = store_for(tiny_kb)
    first = store.current_version()
    path = tiny_kb.kb_dir / "tiny.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("以提现页面显示为准", "每笔 1 USDT"), encoding="utf-8")
    assert run(tiny_kb, "index", "build").returncode == 0
    second = store.current_version()
    (store.versions / second / "entries.json").write_text('{"x', encoding="utf-8")

    status = run(tiny_kb, "index", "status")
    assert status.returncode == 1  # scripts notice: the current version is not usable
    report = json.loads(status.stdout)
    assert report["current"] == second and report["serving"] == first
    assert report["versions"][second].startswith("corrupt: ") and "entries.json" in report["versions"][second]
    assert report["versions"][first] == "ok"
    assert f"index {second} is corrupt" in status.stderr and f"serves {first}" in status.stderr

    ask = run(tiny_kb, "ask", "提现手续费是多少")
    assert ask.returncode == 0, ask.stderr
    assert "以提现页面显示为准" in ask.stdout  # the previous good version's answer
    [warning] = ask.stderr.strip().splitlines()
    assert warning.startswith("WARNING:") and second in warning and first in warning and "entries.json" in warning

    (store.versions / first / "vectors.npy").write_bytes(b"garbage")
    ask = run(tiny_kb, "ask", "提现手续费是多少")
    assert_clean_error(ask, "no usable index", "run `faqbot index build`", first, second)
    assert len(ask.stderr.strip().splitlines()) == 1, ask.stderr
    assert run(tiny_kb, "index", "status").returncode == 1
