"""Several nodes behind nginx (issue #17), started and stopped with exactly the commands an
operator types: ``faqbot cluster up --nodes 2`` / ``faqbot cluster down``. Real processes:
two Rasa + action server pairs, nginx from Debian, PostgreSQL and Redis.

A follow-up that lands on the other node keeps its context; an agent signed in on one
node reaches a widget connected to the other, live; a WeChat retry that lands on the
other node is answered once; a KB publish reaches every node; a node killed under load
loses no acknowledged message, and its widget reconnects to the other node."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
import yaml

from bot.handoff.agents import AgentStore
from bot.handoff.handoffs import HandoffStore
from bot.process import cluster
from bot.studio.changes import ChangeStore
from connectors.socketio_shared import PRESENCE_PREFIX
from faqbot.config import PROJECT_ROOT, Settings, to_env
from indexer.kb import load_kb
from indexer.shared_index import SharedIndex
from tests.bot.conftest import MODELS_DIR, Chat
from tests.bot.web.client import call, sign_in
from tests.bot.widget_client import Widget
from tests.connectors.fake_platform import FakePlatform
from tests.connectors.wechat_client import fields_of, http, sha1_sign, stamp, with_query, xml_of
from tests.databases import scratch_database
from tests.http import send
from tests.polling import wait_until

pytestmark = pytest.mark.slow

REDIS = "redis://127.0.0.1:6379/0"
HANDOFF = {"hours": "always", "presence_timeout": 86400}
AGENT, PASSWORD, DISPLAY = "cluster-agent", "pass-word-123", "小周"
WECHAT = {"WECHAT_TOKEN": "cluster-token-1", "WECHAT_APP_ID": "wx00000000cluster", "WECHAT_APP_SECRET": "s3cret"}
ACCOUNT = "gh_cluster00001"


def free_port_range(count: int) -> int:
    """The first of ``count`` consecutive ports that are free now, below the kernel's ephemeral
    range (32768 and up), so that no outgoing connection takes one before the servers bind it."""
    import random
    import socket

    for _ in range(50):
        base = random.randrange(20000, 32000 - count)
        ports = range(base, base + count)
        try:
            held = []
            for port in ports:
                sock = socket.socket()
                held.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
    raise AssertionError("no free range of ports")


def faqbot(settings: Settings, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """The ``faqbot`` command as an operator runs it, with ``settings`` in its environment."""
    env = {**os.environ, **to_env(settings), **WECHAT}
    return subprocess.run(
        [sys.executable, "-m", "faqbot", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def platform() -> Iterator[FakePlatform]:
    fake = FakePlatform()
    fake.route("POST", "/cgi-bin/stable_token", lambda c: (200, {"access_token": "T", "expires_in": 7200}))
    fake.route("POST", "/cgi-bin/message/custom/send", lambda c: (200, {"errcode": 0, "errmsg": "ok"}))
    try:
        yield fake
    finally:
        fake.close()


@pytest.fixture(scope="module")
def running(
    bot_settings: Settings, tmp_path_factory: pytest.TempPathFactory, platform: FakePlatform
) -> Iterator[tuple[Settings, cluster.Cluster]]:
    with scratch_database("postgresql", tmp_path_factory.mktemp("cluster")) as database:
        settings = bot_settings.replace(
            bot=replace(bot_settings.bot, models_dir=str(MODELS_DIR)),
            channels=replace(bot_settings.channels, wechat_api=platform.url),
        )
        base = free_port_range(5)  # nginx, then two nodes' Rasa and action servers
        args = ["--nodes", "2", "--listen", f"127.0.0.1:{base}", "--port-base", str(base + 1)]
        started = faqbot(settings, "cluster", "up", *args, "--database", database, "--redis", REDIS)
        try:
            assert started.returncode == 0, started.stdout + started.stderr + cluster_logs(settings)
            state = cluster.load(settings)
            assert state is not None and len(state.nodes) == 2
            yield cluster.shared_settings(settings, database, REDIS), state
        finally:
            stopped = faqbot(settings, "cluster", "down", timeout=120)
            assert stopped.returncode == 0, stopped.stdout + stopped.stderr
            assert cluster.load(settings) is None


def cluster_logs(settings: Settings) -> str:
    """The end of every log the cluster wrote, for a failure's message."""
    folder = cluster.run_dir(settings)
    logs = sorted(folder.glob("*.log")) + sorted(folder.glob("nginx/error.log"))
    return "".join(f"\n--- {p.name}\n" + p.read_text(errors="replace")[-3000:] for p in logs)


def answer_of(settings: Settings, faq_id: str) -> str:
    return next(e.answer.strip() for e in load_kb(settings.kb_dir).entries if e.id == faq_id)


def user_texts(settings: Settings, sender: str) -> list[str]:
    """What Rasa's conversation store (PostgreSQL, shared) holds from ``sender``."""
    tracker = settings.bot.tracker_store.split("?", 1)[0]  # Rasa's store ignores the test's schema option
    engine = sa.create_engine(tracker)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT data FROM events WHERE sender_id = :s AND type_name = 'user' ORDER BY id"),
                {"s": sender},
            ).all()
    finally:
        engine.dispose()
    return [json.loads(row[0]).get("text") for row in rows]


def served_by(state: cluster.Cluster, fragment: str) -> set[str]:
    """The nodes (host:port) nginx's access log says served requests containing ``fragment``."""
    log = Path(state.nginx_conf).parent / "access.log"
    found = set()
    for line in log.read_text(encoding="utf-8").splitlines():
        if fragment in line:
            found.update(re.findall(r"\d+\.\d+\.\d+\.\d+:\d+", line.split('"')[-1]))
    return found


def test_nginx_spreads_a_conversation_and_the_follow_up_keeps_its_context(running):
    settings, state = running
    first_node, second_node = state.nodes
    sender = f"round-robin-{uuid.uuid4().hex[:8]}"
    first = Chat(f"{first_node.url}/webhooks/rest/webhook", sender).say("怎么申请退货退款")
    assert first.status == 200 and answer_of(settings, "ec-return-apply")[:20] in first.text
    second = Chat(f"{second_node.url}/webhooks/rest/webhook", sender).say("那要多久？")  # the other node
    assert second.status == 200 and answer_of(settings, "ec-refund-timing")[:20] in second.text
    # Through nginx, round-robin: the two messages of one conversation are served by both nodes.
    through = f"rr-nginx-{uuid.uuid4().hex[:8]}"
    for _ in range(4):
        assert Chat(f"{state.url}/webhooks/rest/webhook", through).say("提现手续费是多少").status == 200
    assert user_texts(settings, through) == ["提现手续费是多少"] * 4
    nodes = {f"127.0.0.1:{node.rasa_port}" for node in state.nodes}
    assert served_by(state, "POST /webhooks/rest/webhook") == nodes


def test_an_agent_on_one_node_replies_live_to_a_widget_on_the_other(running):
    settings, state = running
    a, b = state.nodes
    agents = AgentStore(settings.database_url)
    agents.add(AGENT, PASSWORD, DISPLAY)
    agents.touch(AGENT)  # present (as an open console stream keeps it) for HANDOFF's presence_timeout
    token = sign_in(a.url, AGENT, PASSWORD)
    bearer = {"Authorization": f"Bearer {token}"}
    assert call(a.url, "POST", "/console/api/status", bearer, {"status": "online"}).status == 200

    session = f"widget-{uuid.uuid4().hex[:8]}"
    presence = redis.Redis.from_url(REDIS)
    widget = Widget(b.url, session)  # connected to node B only
    try:
        widget.say("转人工")
        widget.expect("已为您转接人工客服")
        store = HandoffStore(settings.database_url)
        handoff = wait_until(lambda: store.open_for(session), 30, "the hand-off to be recorded")
        claimed = call(a.url, "POST", f"/console/api/handoffs/{handoff.id}/claim", bearer, {})
        assert claimed.status == 200
        widget.expect(f"客服 {DISPLAY} 已接入")  # pushed by node A, through Redis, to B's socket
        path = f"/console/api/handoffs/{handoff.id}/messages"
        sent = call(a.url, "POST", path, bearer, {"text": "您好，我在另一台服务器上为您服务"})
        # Node A holds no socket for this widget; it still knows someone is connected.
        assert sent.status == 200 and sent.json["delivered"] == "live"
        widget.expect("我在另一台服务器上为您服务")
    finally:
        widget.close()
    # Once the widget is gone, a reply is stored for it (it fetches it by seq when it is back).
    wait_until(lambda: not presence.zcard(PRESENCE_PREFIX + session), 30, "node B to drop the closed socket")
    later = call(a.url, "POST", path, bearer, {"text": "您还在吗？"})
    assert later.status == 200 and later.json["delivered"] == "stored"
    # The widget comes back through nginx, to whichever node: it catches up by sequence number.
    missed = send(f"{state.url}/handoff/messages?sender={session}&after=0").json()
    texts = [m["text"] for m in missed["messages"]]
    assert texts.count("您好，我在另一台服务器上为您服务") == 1 and texts.count("您还在吗？") == 1
    seen = next(m["seq"] for m in missed["messages"] if m["text"] == "您好，我在另一台服务器上为您服务")
    since = send(f"{state.url}/handoff/messages?sender={session}&after={seen}").json()
    assert "您好，我在另一台服务器上为您服务" not in [m["text"] for m in since["messages"]]
    assert [m["text"] for m in since["messages"]].count("您还在吗？") == 1
    assert call(a.url, "POST", f"/console/api/handoffs/{handoff.id}/close", bearer, {}).status == 200


def _wechat_text(user: str, content: str, msg_id: int) -> str:
    now = int(time.time())
    return xml_of(ToUserName=ACCOUNT, FromUserName=user, CreateTime=now, MsgType="text", Content=content, MsgId=msg_id)


def _signed(webhook: str) -> str:
    ts, nonce = stamp()
    token = WECHAT["WECHAT_TOKEN"]
    return with_query(webhook, signature=sha1_sign(token, ts, nonce), timestamp=ts, nonce=nonce, openid="o")


def test_a_wechat_retry_that_lands_on_the_other_node_is_answered_once(running):
    settings, state = running
    a, b = state.nodes
    user, msg_id = f"o-cluster-{uuid.uuid4().hex[:8]}", int.from_bytes(os.urandom(6), "big")
    body = _wechat_text(user, "提现手续费是多少", msg_id)
    first = http("POST", _signed(f"{a.url}/webhooks/wechat/webhook"), body)
    again = http("POST", _signed(f"{b.url}/webhooks/wechat/webhook"), body)  # WeChat's retry, to node B
    assert first.status == again.status == 200
    assert answer_of(settings, "ex-withdraw-fee") in fields_of(first.body)["Content"]
    assert again.body in (first.body, "success")
    # Node B replied without a turn of its own (it would have been saved before its reply).
    wait_until(lambda: user_texts(settings, user) == ["提现手续费是多少"], 30, "the one user turn to be saved")


def test_a_kb_publish_reaches_every_node(running):
    settings, state = running
    question, answer = "集群发布测试的问题是什么", "这是集群发布后每台服务器都能给出的答案。"
    path = settings.kb_dir / "cluster-publish.yml"
    entry = {"id": "cluster-publish", "question": question, "answer": answer}
    path.write_text(yaml.safe_dump({"category": "测试", "entries": [entry]}, allow_unicode=True), encoding="utf-8")
    built = faqbot(settings, "index", "build")
    assert built.returncode == 0, built.stdout + built.stderr
    # The studio's next publish, on any node, starts from this folder (not from what it replaced).
    latest = ChangeStore(settings.database_url).latest_files()
    assert latest is not None and question in latest["cluster-publish.yml"]
    version = SharedIndex(settings.database_url).current()
    assert version is not None
    for node in state.nodes:
        chat = Chat(f"{node.url}/webhooks/rest/webhook", f"publish-{node.name}-{uuid.uuid4().hex[:6]}")
        wait_until(lambda chat=chat: answer in chat.say(question).text, 60, f"{node.name} to serve the new entry")
    names = {node.name for node in state.nodes}

    def all_report() -> bool:
        rows = {row["node"]: row["version"] for row in SharedIndex(settings.database_url).nodes()}
        return all(rows.get(name) == version for name in names)

    wait_until(all_report, 30, "every node to report the published version")


def answered(state: cluster.Cluster, sender: str, text: str) -> bool:
    """One REST message through nginx: answered (200, replies), or not (nginx's 502 page
    while the node it had handed the message to died)."""
    body = json.dumps({"sender": sender, "message": text}).encode()
    try:  # a message the dead node had locked waits for its lock to lapse ([bot] lock_lifetime)
        reply = send(f"{state.url}/webhooks/rest/webhook", body, {"Content-Type": "application/json"}, timeout=90)
    except TimeoutError:
        return False
    return reply.status == 200 and bool(reply.json())


def test_a_roll_restarts_node_by_node_and_the_bot_never_stops_answering(running):
    settings, state = running
    sender = f"during-roll-{uuid.uuid4().hex[:8]}"
    rolling = threading.Event()
    asked: list[str] = []
    unanswered: list[str] = []

    def customer() -> None:
        questions = ["提现手续费是多少", "怎么申请退货退款", "个人可以申请POS机吗", "提现多久能到账"]
        n = 0
        while rolling.is_set() or n < 2:
            text = questions[n % len(questions)]
            n += 1
            asked.append(text)
            if not answered(state, sender, text):
                unanswered.append(text)
            time.sleep(0.3)  # a customer's pace, not a wait for anything: the nodes restart meanwhile

    rolling.set()
    talking = threading.Thread(target=customer)
    talking.start()
    try:
        rolled = faqbot(settings, "cluster", "roll", timeout=600)
    finally:
        rolling.clear()
        talking.join(120)
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    after = cluster.load(settings)
    assert after is not None
    assert all(new.pid != old.pid for new, old in zip(after.nodes, state.nodes, strict=True))
    state.nodes[:] = after.nodes  # the later tests act on the restarted nodes
    assert len(asked) > 4 and not unanswered, f"{len(unanswered)} of {len(asked)} unanswered during the roll"
    assert user_texts(settings, sender) == asked


def test_a_node_killed_under_load_loses_no_acknowledged_message(running):
    settings, state = running
    session = f"widget-kill-{uuid.uuid4().hex[:8]}"
    widget = Widget(state.url, session)  # through nginx: its polls stay on one node
    try:
        widget.say("提现手续费是多少")
        widget.expect(answer_of(settings, "ex-withdraw-fee")[:20])
        held = served_by(state, f"session={session}")
        assert len(held) == 1, held
        victim = next(node for node in state.nodes if f"127.0.0.1:{node.rasa_port}" in held)

        senders = [f"load-{i}-{uuid.uuid4().hex[:6]}" for i in range(4)]
        questions = ["提现手续费是多少", "怎么申请退货退款", "个人可以申请POS机吗", "提现多久能到账"]
        acknowledged: dict[str, list[str]] = {s: [] for s in senders}
        failures: list[str] = []

        def customer(sender: str) -> None:
            for text in questions * 2:
                for attempt in range(6):  # a customer (or the widget) sends again what got no answer
                    if answered(state, sender, text):
                        acknowledged[sender].append(text)
                        break
                    time.sleep(0.25 * 2**attempt)  # as a client backs off (not a wait for the test)
                else:
                    failures.append(f"{sender}: {text!r} never answered")

        threads = [threading.Thread(target=customer, args=(s,)) for s in senders]
        for thread in threads:
            thread.start()
        # The node dies while the customers are sending (each has had a few answers).
        wait_until(lambda: sum(map(len, acknowledged.values())) >= len(senders), 120, "the first answers")
        widget.forget_session()
        killed_at = time.monotonic()
        cluster.kill_node(victim)  # the whole node: supervisor, Rasa server, action server
        widget.wait_rejoined(30)  # the widget reconnects, to the node that is left
        rejoined = time.monotonic() - killed_at
        for thread in threads:
            thread.join(300)
        assert not failures, failures
        for sender in senders:
            assert acknowledged[sender] == questions * 2
            saved = user_texts(settings, sender)
            # Every acknowledged message is in the shared store, in order (a message the dead
            # node had taken but not answered may be there twice: it was sent again).
            assert [t for i, t in enumerate(saved) if i == 0 or t != saved[i - 1]] == questions * 2, saved

        widget.say("怎么申请退货退款")
        widget.expect("申请售后 → 退货退款")  # a line of ec-return-apply's answer
        assert rejoined < 15, f"the widget took {rejoined:.1f}s to rejoin"
    finally:
        widget.close()
    survivor = next(node for node in state.nodes if node is not victim)
    assert cluster._get(f"{survivor.url}/ready") == 200
