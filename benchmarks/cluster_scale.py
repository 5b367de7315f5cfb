"""Several nodes behind nginx (issue #17): messages/s, p50/p95/p99 and CPU per message for
1, 2 and 3 nodes on this machine, and the fail-over when a node is killed under load.

    PYTHONPATH=. .venv/bin/python benchmarks/cluster_scale.py [--nodes 1,2,3] [--duration 60]
        [--concurrency 8] [--kills 3] [--failover-only]
    PYTHONPATH=. .venv/bin/python benchmarks/cluster_scale.py --quick   # a smoke run (1 and 2 nodes, 1 kill)

The full run (the defaults) takes about 12 minutes; it writes benchmarks/results/cluster_scale.json
and prints the tables of BENCHMARKS.md's section "Several nodes behind nginx".

Each node count gets its own cluster (``faqbot cluster up``, as an operator starts it, with a
private data folder, free ports and a fresh PostgreSQL database so earlier conversations do
not slow the store), a warm-up, then a closed loop through nginx's REST endpoint: C customers,
each with its own sender id, each sending its next question (a paraphrase from the sample
KB's test set) as soon as the answer arrives. The measured window starts after a ramp and
ends before the load stops, so CPU and database counters see the load at both ends.

CPU per message: user + system time from ``/proc/<pid>/stat`` of every process of every node
(each node's process tree: supervisor, Rasa server, action server) and of nginx (master and
worker), over the window, divided by the messages answered in it. Redis round trips come from
``INFO commandstats`` (server-wide: other processes using this Redis count too), PostgreSQL's
from ``pg_stat_database`` for the cluster's own database (transactions; each is at least one
round trip).

Fail-over (``--kills`` times, the first on the 2-node cluster above, then each on a fresh pair):
two nodes under a steady closed-loop load; one is killed (SIGKILL of its process
group, ``cluster.kill_node``). Customers send again what got a 502 after a short back-off. We
record the longest wait of any customer across the kill, the 502s, how long until every
request succeeds again, and that every message answered 200 is in the shared tracker store.
A message that was in flight on the dead node waits on the other node for the dead node's
conversation lock to lapse (``[bot] lock_lifetime``); that wait is reported separately.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from _common import ROOT, percentile_ms, save

from bot.process import cluster
from faqbot.config import Settings, load_settings, to_env

PARAPHRASES = ROOT / "tests" / "data" / "paraphrases"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
DATABASE = "faqbot_bench"
REDIS = "redis://127.0.0.1:6379/5"  # not db 0, where the tests' clusters keep their keys
CLK_TCK = os.sysconf("SC_CLK_TCK")
ROTATE = 8  # messages per conversation in the scaling runs, then the customer starts a new one


# Asking for a person is not an FAQ question: the gate answers it (a hand-off, or a 留言 being
# taken, in their own tables) without a turn in Rasa's tracker store, where the fail-over looks
# for every answered message.
NOT_FAQ = {"ex-service-human-agent"}


def questions() -> list[str]:
    found = []
    for path in sorted(PARAPHRASES.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and json.loads(line)["id"] not in NOT_FAQ:
                found.append(json.loads(line)["query"])
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_port_base(count: int) -> int:
    """A base port whose next ``count`` ports are free now."""
    for _ in range(50):
        base = free_port()
        if base + count > 65535:
            continue
        held = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                held.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
    raise RuntimeError("no free range of ports")


def faqbot(settings: Settings, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """The ``faqbot`` command as an operator runs it, with ``settings`` in its environment."""
    return subprocess.run(
        [sys.executable, "-m", "faqbot", *args],
        cwd=ROOT,
        env={**os.environ, **to_env(settings)},
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


# --- CPU from /proc ---------------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, utime + stime in seconds) of ``pid``, or ``None`` when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = text[text.rfind(")") + 2 :].split()  # the command name may hold spaces and parentheses
    return int(rest[1]), (int(rest[11]) + int(rest[12])) / CLK_TCK


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _role(pid: int, root: int) -> str:
    line = _cmdline(pid)
    if "rasa_sdk" in line:
        return "action_server"
    if "bot.server.app" in line:
        return "rasa_server"
    return "supervisor" if pid == root else "other"


def cpu_snapshot(state: cluster.Cluster) -> dict[str, dict[str, float]]:
    """CPU seconds so far, by node (and role within it) and for nginx: every process of
    each node's tree and nginx's master and workers."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            found = _stat(int(entry.name))
            if found is not None:
                parents[int(entry.name)], times[int(entry.name)] = found

    def tree(root: int) -> list[int]:
        pids, frontier = [], [root] if root in times else []
        while frontier:
            pid = frontier.pop()
            pids.append(pid)
            frontier.extend(child for child, parent in parents.items() if parent == pid)
        return pids

    snapshot: dict[str, dict[str, float]] = {}
    for node in state.nodes:
        roles: dict[str, float] = {}
        for pid in tree(node.pid):
            role = _role(pid, node.pid)
            roles[role] = roles.get(role, 0.0) + times[pid]
        snapshot[node.name] = roles
    snapshot["nginx"] = {"nginx": sum(times[pid] for pid in tree(state.nginx_pid))}
    return snapshot


def machine_busy() -> float:
    """CPU seconds every process on this machine has used (``/proc/stat``: all but idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def cpu_delta(before: dict[str, dict[str, float]], after: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    return {
        name: {role: after[name].get(role, 0.0) - before.get(name, {}).get(role, 0.0) for role in after[name]}
        for name in after
    }


# --- Redis and PostgreSQL counters ------------------------------------------------------------


def redis_calls() -> dict[str, int]:
    import redis

    stats = redis.Redis.from_url(REDIS).info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


def pg_counters(database: str) -> dict[str, int]:
    import sqlalchemy as sa

    engine = sa.create_engine(f"{PG_SERVER}/postgres")
    try:
        with engine.connect() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted, tup_updated,"
                    " tup_deleted FROM pg_stat_database WHERE datname = :n"
                ),
                {"n": database},
            ).one()
    finally:
        engine.dispose()
    return dict(row._mapping)


def pg_backend_cpu(database: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to ``database`` (the nodes' pools)."""
    import sqlalchemy as sa

    engine = sa.create_engine(f"{PG_SERVER}/postgres")
    try:
        with engine.connect() as conn:
            pids = conn.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :n"), {"n": database})
            found = {int(pid): _stat(int(pid)) for (pid,) in pids}
    finally:
        engine.dispose()
    return {pid: stat[1] for pid, stat in found.items() if stat is not None}


def counters(database: str) -> dict[str, Any]:
    try:
        pg: dict[str, int] | None = pg_counters(database)
        backends: dict[int, float] | None = pg_backend_cpu(database)
    except Exception:  # noqa: BLE001 - a counter we could not read is reported as missing, not fatal
        pg = backends = None
    try:
        rd: dict[str, int] | None = redis_calls()
    except Exception:  # noqa: BLE001
        rd = None
    return {"pg": pg, "pg_backends": backends, "redis": rd}


def counter_delta(before: dict[str, Any], after: dict[str, Any], messages: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if before["pg"] and after["pg"]:
        pg = {key: after["pg"][key] - before["pg"][key] for key in after["pg"]}
        xacts = pg["xact_commit"] + pg["xact_rollback"]
        cpu = sum(t - before["pg_backends"].get(pid, 0.0) for pid, t in after["pg_backends"].items())
        out["postgres"] = {
            **pg,
            # backends that lived through the window, and those opened in it (from their start)
            "backend_cpu_ms_per_message": round(cpu / messages * 1000, 2) if messages else None,
            "transactions_per_message": round(xacts / messages, 2) if messages else None,
            "rows_inserted_per_message": round(pg["tup_inserted"] / messages, 2) if messages else None,
        }
    if before["redis"] and after["redis"]:
        calls = {k: v - before["redis"].get(k, 0) for k, v in after["redis"].items()}
        calls = {k: v for k, v in calls.items() if v and k != "info"}  # our own INFO calls
        total = sum(calls.values())
        out["redis"] = {
            "commands": total,
            "commands_per_message": round(total / messages, 2) if messages else None,
            "by_command": dict(sorted(calls.items(), key=lambda kv: -kv[1])[:12]),
            "note": "server-wide INFO commandstats: commands of other Redis clients in the window count too",
        }
    return out


# --- the load ---------------------------------------------------------------------------------


@dataclass
class Turn:
    sender: str
    text: str
    started: float  # monotonic
    ended: float = 0.0
    attempts: list[tuple[float, float, int]] = field(default_factory=list)  # (sent, ended, status)

    @property
    def answered(self) -> bool:
        return bool(self.attempts) and self.attempts[-1][2] == 200

    @property
    def wait(self) -> float:
        return self.ended - self.started


async def _ask(session: Any, url: str, sender: str, text: str) -> int:
    """One POST; its status (200 only with a non-empty answer), 0 when the connection failed."""
    import aiohttp

    try:
        async with session.post(url, json={"sender": sender, "message": text}) as reply:
            if reply.status != 200:
                await reply.read()
                return reply.status
            return 200 if await reply.json() else 204
    except (TimeoutError, aiohttp.ClientError):
        return 0


async def closed_loop(
    url: str,
    customers: int,
    stop: asyncio.Event,
    texts: list[str],
    prefix: str,
    retries: int = 0,
    backoff: float = 0.2,
    rotate: int | None = ROTATE,
    turns: list[Turn] | None = None,
) -> list[Turn]:
    """``customers`` conversations, each sending its next message as soon as the last one was
    answered, until ``stop`` is set. With ``retries``, a message that got no answer (nginx's
    502 while the node it went to died) is sent again after ``backoff`` seconds (doubling)."""
    import aiohttp

    turns = [] if turns is None else turns

    async def customer(session: aiohttp.ClientSession, n: int) -> None:
        rng = random.Random(n)
        count = 0
        while not stop.is_set():
            conversation = count // rotate if rotate else 0
            turn = Turn(f"{prefix}-c{n}-{conversation}", rng.choice(texts), time.monotonic())
            turns.append(turn)  # now, so that a message in flight is seen (its ``ended`` is 0)
            count += 1
            for attempt in range(retries + 1):
                sent = time.monotonic()
                status = await _ask(session, url, turn.sender, turn.text)
                turn.attempts.append((sent, time.monotonic(), status))
                if status == 200 or attempt == retries:
                    break
                await asyncio.sleep(backoff * 2**attempt)
            turn.ended = time.monotonic()

    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=customers), timeout=timeout) as session:
        await asyncio.gather(*(customer(session, n) for n in range(customers)))
    return turns


def warm_up(state: cluster.Cluster, texts: list[str], per_node: int) -> None:
    """The first ``per_node`` questions to each node directly (4 at a time), then a few through
    nginx. With every question (the full run), each node's query-vector cache (``indexer/search.py``,
    4096 entries) holds them all, so the measured messages cost the same on 1, 2 or 3 nodes:
    the same question asked in the same words, as customers do. Fewer (``--quick``): part of
    the measured messages embed their question, and cost more."""

    async def go() -> None:
        import aiohttp

        async with aiohttp.ClientSession() as session:
            for node in state.nodes:
                url = f"{node.url}/webhooks/rest/webhook"
                queue = list(texts[:per_node])

                async def worker(sender: str, url: str = url, queue: list[str] = queue) -> None:
                    while queue:
                        await _ask(session, url, sender, queue.pop())

                await asyncio.gather(*(worker(f"warmup-{node.name}-{n}") for n in range(4)))
            for i in range(4):
                await _ask(session, f"{state.url}/webhooks/rest/webhook", "warmup-nginx", texts[i])

    asyncio.run(go())


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(
    state: cluster.Cluster, customers: int, ramp: float, duration: float, texts: list[str], tag: str
) -> dict[str, Any]:
    """The closed loop for ``ramp + duration + 1`` seconds; everything over the middle ``duration``."""
    url = f"{state.url}/webhooks/rest/webhook"

    async def go() -> dict[str, Any]:
        stop = asyncio.Event()
        load = asyncio.create_task(closed_loop(url, customers, stop, texts, tag))
        await asyncio.sleep(ramp)
        t0, cpu0, gen0, c0, m0 = time.monotonic(), cpu_snapshot(state), self_cpu(), counters(DATABASE), machine_busy()
        await asyncio.sleep(duration)
        t1, cpu1, gen1, c1, m1 = time.monotonic(), cpu_snapshot(state), self_cpu(), counters(DATABASE), machine_busy()
        await asyncio.sleep(1.0)
        stop.set()
        turns = await load
        window = [t for t in turns if t0 <= t.ended < t1]
        return {
            "t": (t0, t1),
            "cpu": cpu_delta(cpu0, cpu1),
            "gen": gen1 - gen0,
            "c": (c0, c1),
            "machine": m1 - m0,
            "window": window,
        }

    got = asyncio.run(go())
    t0, t1 = got["t"]
    window: list[Turn] = got["window"]
    ok = [t for t in window if t.answered]
    errors = len(window) - len(ok)
    latencies = [t.wait for t in ok] or [0.0]
    messages = len(ok)
    cpu = got["cpu"]
    node_cpu = sum(sum(roles.values()) for name, roles in cpu.items() if name != "nginx")
    nginx_cpu = cpu["nginx"]["nginx"]
    per_role: dict[str, float] = {}
    for name, roles in cpu.items():
        if name != "nginx":
            for role, seconds in roles.items():
                per_role[role] = per_role.get(role, 0.0) + seconds

    def ms(seconds: float) -> float | None:
        return round(seconds / messages * 1000, 2) if messages else None

    return {
        "nodes": len(state.nodes),
        "customers": customers,
        "window_s": round(t1 - t0, 2),
        "messages": messages,
        "errors": errors,
        "messages_per_s": round(messages / (t1 - t0), 2),
        "p50_ms": percentile_ms(latencies, 50),
        "p95_ms": percentile_ms(latencies, 95),
        "p99_ms": percentile_ms(latencies, 99),
        "cpu_ms_per_message": ms(node_cpu + nginx_cpu),
        "cpu_ms_per_message_nodes": ms(node_cpu),
        "cpu_ms_per_message_nginx": ms(nginx_cpu),
        "cpu_ms_per_message_by_role": {role: ms(seconds) for role, seconds in sorted(per_role.items())},
        "cpu_cores_busy": round((node_cpu + nginx_cpu) / (t1 - t0), 2),
        "cpu_s_by_node": {name: round(sum(roles.values()), 2) for name, roles in cpu.items()},
        "load_generator_cpu_ms_per_message": ms(got["gen"]),
        # everything else on the machine in the window (other people's tests, PostgreSQL, Redis):
        # with this high, the node counts compete with it for the 2 cores
        "other_cpu_cores_busy": round((got["machine"] - node_cpu - nginx_cpu - got["gen"]) / (t1 - t0), 2),
        "machine_cores": os.cpu_count(),
        **counter_delta(*got["c"], messages),
    }


# --- fail-over --------------------------------------------------------------------------------


def user_texts(database: str, sender: str) -> list[str]:
    import sqlalchemy as sa

    engine = sa.create_engine(database)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT data FROM events WHERE sender_id = :s AND type_name = 'user' ORDER BY id"),
                {"s": sender},
            ).all()
    finally:
        engine.dispose()
    return [json.loads(row[0]).get("text") for row in rows]


def lost_messages(database: str, turns: list[Turn]) -> list[str]:
    """Messages answered 200 that the shared tracker store does not hold, in order (a message the
    dead node had taken but not answered may be there twice: it was sent again)."""
    lost = []
    for sender in sorted({t.sender for t in turns}):
        acked = [t.text for t in sorted(turns, key=lambda t: t.started) if t.sender == sender and t.answered]
        saved = iter(user_texts(database, sender))
        for text in acked:  # an ordered subsequence of what was saved
            if not any(text == s for s in saved):
                lost.append(f"{sender}: {text}")
    return lost


def failover(state: cluster.Cluster, customers: int, before: float, texts: list[str], lock_lifetime: int) -> dict:
    """Two nodes under a closed loop; the first is killed after ``before`` seconds. The load
    runs on until every message across the kill is answered and 3 s pass without an error
    (at most ``lock_lifetime`` + 30 s after the kill)."""
    url = f"{state.url}/webhooks/rest/webhook"
    victim = state.nodes[0]
    turns: list[Turn] = []

    def affected(turn: Turn) -> bool:  # some attempt failed: it was in flight on the dead node
        return any(status != 200 for _, _, status in turn.attempts)

    async def go() -> tuple[float, float]:
        stop = asyncio.Event()
        tag = f"failover-{int(time.time())}"
        load = asyncio.create_task(closed_loop(url, customers, stop, texts, tag, 8, 0.2, None, turns))
        await asyncio.sleep(before)
        killed_at = time.monotonic()
        cluster.kill_node(victim)  # the whole node: supervisor, Rasa server, action server
        deadline = killed_at + lock_lifetime + 30
        while time.monotonic() < deadline and not load.done():
            await asyncio.sleep(0.25)
            now = time.monotonic()
            open_across = [t for t in turns if not t.ended and (t.started <= killed_at or affected(t))]
            last_error = max((end for t in turns for _, end, status in t.attempts if status != 200), default=killed_at)
            if not open_across and now - max(last_error, killed_at + 1) >= 3:
                break
        stopped_at = time.monotonic()
        stop.set()
        await load
        return killed_at, stopped_at

    killed_at, stopped_at = asyncio.run(go())
    done = [t for t in turns if t.ended]
    before_kill = [t.wait for t in done if t.ended < killed_at] or [0.0]
    across = [t for t in done if t.ended >= killed_at and t.started <= stopped_at]
    hit = [t for t in across if affected(t)]
    others = [t for t in across if not affected(t)]
    statuses: dict[str, int] = {}
    for t in done:
        for _, _, status in t.attempts:
            if status != 200:
                statuses[str(status)] = statuses.get(str(status), 0) + 1
    errors_end = max((end for t in done for _, end, status in t.attempts if status != 200), default=None)
    recovered = max((t.ended for t in hit), default=None)
    lost = lost_messages(state.database, done)
    return {
        "nodes": len(state.nodes),
        "customers": customers,
        "lock_lifetime_s": lock_lifetime,
        "killed": victim.name,
        "load_before_kill_s": before,
        "load_after_kill_s": round(stopped_at - killed_at, 1),
        "messages_answered": sum(t.answered for t in done),
        "messages_never_answered": sum(not t.answered for t in done),
        "p50_before_kill_ms": percentile_ms(before_kill, 50),
        "max_wait_before_kill_s": round(max(before_kill), 2),
        # the longest any customer waited for an answer across the kill (retries included)
        "max_wait_across_kill_s": round(max((t.wait for t in across), default=0.0), 2),
        # ... not counting the messages that were in flight on the dead node
        "max_wait_not_in_flight_on_dead_node_s": round(max((t.wait for t in others), default=0.0), 2),
        # messages in flight on the dead node: their 502, the retry, and on the other node the
        # wait for the dead node's conversation lock to lapse ([bot] lock_lifetime)
        "in_flight_on_dead_node": len(hit),
        "in_flight_waits_s": sorted(round(t.wait, 2) for t in hit),
        "in_flight_lock_wait_s": sorted(round(t.attempts[-1][1] - t.attempts[-1][0], 2) for t in hit),
        "failed_attempts_by_status": statuses,  # 0: the connection itself failed
        "errors_502": statuses.get("502", 0),
        "errors_until_s": round(errors_end - killed_at, 2) if errors_end else 0.0,
        "all_answered_again_after_s": round(recovered - killed_at, 2) if recovered else 0.0,
        "lost_acknowledged_messages": len(lost),
        "lost_examples": lost[:10],
    }


# --- main -------------------------------------------------------------------------------------


def recreate_database(name: str) -> str:
    """A fresh, empty database for each cluster: earlier runs' conversations do not slow the store."""
    import sqlalchemy as sa

    engine = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()
    return f"{PG_SERVER}/{name}"


def settings_for(work: Path) -> Settings:
    base = load_settings(env={})
    if not (work / "kb").exists():
        shutil.copytree(ROOT / "kb_content", work / "kb")
    models = os.environ.get("FAQBOT_BOT_MODELS_DIR") or str(ROOT / "var" / "models")
    return base.replace(kb_dir=work / "kb", data_dir=work / "var", bot=replace(base.bot, models_dir=models))


def cluster_up(settings: Settings, nodes: int, database: str) -> tuple[cluster.Cluster, float]:
    listen = f"127.0.0.1:{free_port()}"
    args = ["--nodes", str(nodes), "--listen", listen, "--port-base", str(free_port_base(2 * nodes))]
    started = time.monotonic()
    done = faqbot(settings, "cluster", "up", *args, "--database", database, "--redis", REDIS)
    if done.returncode != 0:
        raise RuntimeError(f"cluster up --nodes {nodes} failed:\n{done.stdout}\n{done.stderr}")
    state = cluster.load(settings)
    assert state is not None
    return state, time.monotonic() - started


def cluster_down(settings: Settings) -> None:
    done = faqbot(settings, "cluster", "down", timeout=120)
    if done.returncode != 0:
        print(f"cluster down failed: {done.stdout}{done.stderr}", file=sys.stderr)


def on_paper(rows: list[dict]) -> dict:
    """What a bigger machine would do: CPU-bound, messages/s ≈ cores / (CPU per message), and
    one node's ceiling is its busiest single-threaded server (one core)."""
    one = next((r for r in rows if r["nodes"] == 1 and r["cpu_ms_per_message"]), None)
    if one is None:
        return {}
    per_msg = one["cpu_ms_per_message"] / 1000
    roles = {k: v for k, v in one["cpu_ms_per_message_by_role"].items() if v}
    busiest = max(roles.values()) / 1000 if roles else per_msg
    node_ceiling = 1 / busiest
    node_cores = (one["cpu_ms_per_message_nodes"] or 0) / 1000 * node_ceiling
    return {
        "cpu_ms_per_message_1_node": one["cpu_ms_per_message"],
        "one_node_ceiling_messages_per_s": round(node_ceiling, 1),
        "cores_one_node_uses_at_its_ceiling": round(node_cores, 2),
        "by_cores": {
            str(cores): {
                "messages_per_s": round(cores / per_msg, 1),
                "nodes_needed": max(1, math.ceil(cores / max(node_cores, 0.01))),
            }
            for cores in (2, 4, 8, 16, 32)
        },
        # were PostgreSQL's backends on the same cores (Redis's share is not separable here)
        "postgres_backend_cpu_ms_per_message": (one.get("postgres") or {}).get("backend_cpu_ms_per_message"),
        "assumes": "PostgreSQL and Redis on other machines; CPU per message as measured with 1 node here; "
        "each server is one busy thread (a node's ceiling is its busiest server's 1 / CPU per message)",
    }


def markdown(data: dict) -> str:
    """The tables of BENCHMARKS.md's section "Several nodes behind nginx", from ``data``."""
    lines = [
        "| nodes | messages/s | p50 | p95 | p99 | errors | CPU per message (nodes + nginx) | of which nginx "
        "| Rasa server | action server | PG transactions / msg | Redis commands / msg | other load (cores) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in data["runs"]:
        roles = r["cpu_ms_per_message_by_role"]
        lines.append(
            f"| {r['nodes']} | {r['messages_per_s']} | {r['p50_ms']:.0f} ms | {r['p95_ms']:.0f} ms "
            f"| {r['p99_ms']:.0f} ms | {r['errors']} | {r['cpu_ms_per_message']} ms "
            f"| {r['cpu_ms_per_message_nginx']} ms | {roles.get('rasa_server')} ms | {roles.get('action_server')} ms "
            f"| {r.get('postgres', {}).get('transactions_per_message')} "
            f"| {r.get('redis', {}).get('commands_per_message')} | {r['other_cpu_cores_busy']} |"
        )
    paper = data.get("on_paper") or {}
    if paper:
        lines += ["", "| cores | messages/s on paper | nodes |", "|---|---|---|"]
        for cores, row in paper["by_cores"].items():
            lines.append(f"| {cores} | {row['messages_per_s']} | {row['nodes_needed']} |")
    kills = data.get("failovers") or []
    if kills:
        rows = [
            ("customers", "customers", ""),
            ("502s (the clients sent those messages again)", "errors_502", ""),
            ("errors until (after the kill)", "errors_until_s", " s"),
            ("longest wait, messages not on the dead node", "max_wait_not_in_flight_on_dead_node_s", " s"),
            ("messages in flight on the dead node", "in_flight_on_dead_node", ""),
            ("their waits (502, retry, the dead node's lock)", "in_flight_waits_s", " s"),
            ("longest wait of any customer across the kill", "max_wait_across_kill_s", " s"),
            ("all answered again after", "all_answered_again_after_s", " s"),
            ("acknowledged messages lost", "lost_acknowledged_messages", ""),
        ]
        head = " | ".join(f"kill {n}" for n in range(1, len(kills) + 1))
        lines += ["", f"| fail-over: 2 nodes, one SIGKILLed | {head} |", "|---" * (len(kills) + 1) + "|"]
        for label, key, unit in rows:
            cells = []
            for kill in kills:
                value = kill[key]
                cells.append(
                    ", ".join(f"{v}{unit}" for v in value) or "—" if isinstance(value, list) else f"{value}{unit}"
                )
            lines.append(f"| {label} | {' | '.join(cells)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", default=None, help="node counts, comma-separated (default 1,2,3; --quick: 1,2)")
    parser.add_argument("--duration", type=float, default=None, help="measured seconds per node count (default 60)")
    parser.add_argument("--concurrency", type=int, default=None, help="concurrent customers (default 8)")
    parser.add_argument("--quick", action="store_true", help="a short smoke run: 10 s, 4 customers, 1 and 2 nodes")
    parser.add_argument(
        "--kills", type=int, default=None, help="fail-over runs, each on 2 nodes (default 3; --quick: 1)"
    )
    parser.add_argument("--failover-only", action="store_true", help="only the fail-over measurement")
    parser.add_argument("--work", type=Path, default=Path("/tmp/faqbot-bench-cluster"), help="private data folder")
    args = parser.parse_args()
    node_counts = [int(n) for n in (args.nodes or ("1,2" if args.quick else "1,2,3")).split(",")]
    duration = args.duration or (10.0 if args.quick else 60.0)
    customers = args.concurrency or (4 if args.quick else 8)
    ramp = 2.0 if args.quick else 5.0
    texts = questions()
    warm = 8 if args.quick else len(texts)
    before_kill = 4.0 if args.quick else 15.0
    if args.failover_only:
        node_counts = []
    if args.kills is None:
        args.kills = 1 if args.quick else 3
    args.work.mkdir(parents=True, exist_ok=True)
    settings = settings_for(args.work)
    rows: list[dict] = []
    kills: list[dict] = []
    started = time.monotonic()
    if cluster.load(settings) is not None:  # a run that was interrupted
        cluster_down(settings)

    def run_failover(state: cluster.Cluster) -> None:
        warm_up(state, texts, warm)
        result = failover(state, customers, before_kill, texts, settings.bot.lock_lifetime)
        print(result, flush=True)
        kills.append(result)

    for nodes in node_counts:
        try:
            state, startup = cluster_up(settings, nodes, recreate_database(DATABASE))
            print(f"{nodes} nodes up in {startup:.0f}s at {state.url}", flush=True)
            warm_up(state, texts, warm)
            row = {**measure(state, customers, ramp, duration, texts, f"scale{nodes}"), "startup_s": round(startup, 1)}
            print(row, flush=True)
            rows.append(row)
            if nodes == 2 and args.kills:  # the first fail-over on these two nodes
                run_failover(state)
        finally:
            cluster_down(settings)
    while len(kills) < args.kills:  # where the kill lands in a turn decides the wait: a fresh pair each time
        try:
            state, _ = cluster_up(settings, 2, recreate_database(DATABASE))
            run_failover(state)
        finally:
            cluster_down(settings)
    data = {
        "quick": args.quick,
        "duration_s": duration,
        "customers": customers,
        "ramp_s": ramp,
        "warmup_messages_per_node": warm,
        "questions": f"{len(texts)} paraphrases from tests/data/paraphrases",
        "runs": rows,
        "on_paper": on_paper(rows),
        "failovers": kills,
        "elapsed_s": round(time.monotonic() - started),
    }
    save("cluster_scale", data)
    print(markdown(data))


if __name__ == "__main__":
    main()
