"""An agent's reply with a sensitive word is held (422, a Chinese warning naming the word and
its category) unless the agent confirms it; a 留言 answer too; both are counted. Real console
routes on a real server, a real index built with the list, a real database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from bot.handoff.agents import AgentStore
from bot.handoff.desk import HandoffDesk
from bot.handoff.handoffs import HandoffRequest
from bot.handoff.kpis import compute_kpis
from faqbot.config import PROJECT_ROOT, Settings, to_env
from indexer.service import build_and_publish
from indexer.validate import SENSITIVE_FILE
from tests.bot.conftest import free_port
from tests.bot.web.client import Answer, call, sign_in
from tests.conftest import write_kb
from tests.polling import wait_until

pytestmark = pytest.mark.slow

AGENT, PASSWORD = "alice", "pass-word-123"
LIST = "[赌博] 转人工\n博彩\n[竞品] 只记录\n某某交易所\n"


def _answers(url: str) -> bool:
    try:
        return call(url, "GET", "/console/api/me").status == 401
    except OSError:
        return False


@pytest.fixture
def console(tiny_kb: Settings, embedder) -> Iterator[tuple[str, Settings]]:
    write_kb(tiny_kb.kb_dir, SENSITIVE_FILE, LIST)
    build_and_publish(tiny_kb, embedder=embedder)
    AgentStore(tiny_kb.database_url).add(AGENT, PASSWORD, "爱丽丝")
    port = free_port()
    env = {**os.environ, **to_env(tiny_kb), "PYTHONPATH": str(PROJECT_ROOT)}
    log = open(tiny_kb.data_dir / "console.log", "wb")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.bot.console.console_server", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: server.poll() is not None or _answers(url), 90, "the console server to answer")
        assert server.poll() is None, (tiny_kb.data_dir / "console.log").read_text(errors="replace")
        yield url, tiny_kb
    finally:
        server.terminate()
        server.wait(30)
        log.close()


def send(url: str, token: str, path: str, body: dict) -> Answer:
    return call(url, "POST", path, {"Authorization": f"Bearer {token}"}, body)


def test_a_reply_with_a_sensitive_word_is_held_until_the_agent_confirms(console):
    url, settings = console
    desk = HandoffDesk(settings)
    handoff, _ = desk.handoffs.create(
        HandoffRequest("cust-1", "rest", "user_request", [{"role": "user", "text": "转人工"}])
    )
    token = sign_in(url, AGENT, PASSWORD)
    assert send(url, token, "/console/api/status", {"status": "online"}).status == 200
    assert send(url, token, f"/console/api/handoffs/{handoff.id}/claim", {}).status == 200
    path = f"/console/api/handoffs/{handoff.id}/messages"

    held = send(url, token, path, {"text": "这个可以去博 彩网站充值"})
    assert held.status == 422
    assert held.error.startswith("回复里有敏感词 “博彩”（赌博）：消息没有发出")
    assert held.json["sensitive"][0] | {"start": 0, "end": 0} == {
        "word": "博彩",
        "category": "赌博",
        "action": "handoff",
        "start": 0,
        "end": 0,
        "found": "博 彩",
    }
    assert [e for e in desk.handoffs.events(handoff.id) if e["kind"] == "agent_message"] == []  # nothing sent

    sent = send(url, token, path, {"text": "这个可以去博 彩网站充值", "confirm_sensitive": True})
    assert sent.status == 200 and "seq" in sent.json
    assert send(url, token, path, {"text": "提现手续费以页面为准"}).status == 200  # no word: sent at once

    counts = {(r["source"], r["action"]): r["count"] for r in compute_kpis(settings.database_url, days=1)["sensitive"]}
    assert counts == {("agent", "held"): 1, ("agent", "confirmed"): 1}
