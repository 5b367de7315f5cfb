"""``faqbot cluster up --nodes N`` / ``faqbot cluster down``: several bot nodes on one
machine behind nginx, sharing their state in PostgreSQL and Redis.

Each node is a ``faqbot run`` (Rasa server + action server, kept running by its
supervisor) in its own process group, on its own loopback ports; nginx listens in
front with the configuration of ``nginx_conf.py``. The index is published and the
model trained once, before the nodes start, so that they do not race to do it. What
is running is written to ``var/run/cluster/cluster.json``, so that ``down`` and
``status`` (and the tests) find it from another process.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bot.process import nginx_conf
from faqbot.config import PROJECT_ROOT, Settings, to_env
from faqbot.errors import UserError

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/faqbot"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
DEFAULT_LISTEN = "127.0.0.1:8080"
DEFAULT_PORT_BASE = 5101
DRAIN_WAIT = 30.0  # nginx's worker_shutdown_timeout
STOP_GRACE = 25.0  # the runner stops the Rasa server, then the action server, 10 s each


class ClusterError(UserError, RuntimeError):
    """The cluster could not be started, found or stopped; the message says why."""


@dataclass
class Node:
    name: str
    rasa_port: int
    action_port: int
    pid: int = 0
    log: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"


@dataclass
class Cluster:
    """What ``up`` started (``cluster.json``)."""

    listen: str
    database: str
    redis: str
    nodes: list[Node] = field(default_factory=list)
    nginx_pid: int = 0
    nginx_conf: str = ""

    @property
    def url(self) -> str:
        return f"http://{self.listen}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str) -> Cluster:
        data = json.loads(text)
        data["nodes"] = [Node(**node) for node in data.get("nodes", [])]
        return cls(**data)


def run_dir(settings: Settings) -> Path:
    return settings.data_dir / "run" / "cluster"


def state_file(settings: Settings) -> Path:
    return run_dir(settings) / "cluster.json"


def load(settings: Settings) -> Cluster | None:
    """The cluster started from this data folder, or ``None``."""
    path = state_file(settings)
    try:
        return Cluster.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as exc:
        raise ClusterError(f"{path} is unreadable ({exc}); stop what it started by hand and delete it") from None


def shared_settings(settings: Settings, database: str, redis: str) -> Settings:
    """``settings`` with every piece of shared state in ``database`` and ``redis``."""
    bot = replace(settings.bot, database_url=database, tracker_store=database, lock_store=redis)
    channels = replace(settings.channels, dedup_url=redis, socketio_url=redis)
    proxies = [p.strip() for p in settings.console.trusted_proxies.split(",") if p.strip()]
    if "127.0.0.1" not in proxies:  # nginx on this machine: believe its X-Forwarded-* headers
        proxies.append("127.0.0.1")
    console = replace(settings.console, trusted_proxies=",".join(proxies))
    index = replace(settings.index, shared=True)
    return settings.replace(bot=bot, channels=channels, console=console, index=index)


def plan(nodes: int, port_base: int) -> list[Node]:
    """Node ``i`` (from 1) gets the Rasa port ``port_base + 2(i-1)`` and the action port after it."""
    if not 1 <= nodes <= 16:
        raise ClusterError(f"--nodes must be between 1 and 16, not {nodes}")
    if not 1024 <= port_base <= 65535 - 2 * nodes:
        raise ClusterError(f"--port-base {port_base} leaves no room for {nodes} nodes' ports")
    return [Node(f"node{i}", port_base + 2 * (i - 1), port_base + 2 * (i - 1) + 1) for i in range(1, nodes + 1)]


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in ``url`` when the server does not have it yet."""
    import sqlalchemy as sa

    parts = urlsplit(url)
    name = parts.path.strip("/")
    if parts.scheme.split("+", 1)[0] not in ("postgresql", "postgres") or not name:
        raise ClusterError(f"--database must be a postgresql://…/NAME URL, not {url!r}")
    server = urlunsplit(parts._replace(path="/postgres"))
    try:
        engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            if exists is None:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
    except sa.exc.SQLAlchemyError as exc:
        raise ClusterError(f"PostgreSQL at {parts.hostname}:{parts.port or 5432}: {exc.__class__.__name__}") from None


def check_redis(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except (redis.RedisError, ValueError) as exc:
        raise ClusterError(f"Redis at {url!r} does not answer: {exc}") from None


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        raise ClusterError("nginx is not installed: apt-get install nginx (Debian), then run this again")
    return found


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of this process is not alive
        waited, _ = os.waitpid(pid, os.WNOHANG)
        return waited == 0
    except ChildProcessError:
        return True


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=3) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


def _wait(what: str, ready: Callable[[], bool], gone: Callable[[], str | None], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        problem = gone()
        if problem is not None:
            raise ClusterError(problem)
        if time.monotonic() > deadline:
            raise ClusterError(f"{what} not ready after {timeout:.0f}s")
        time.sleep(0.5)


def start_node(settings: Settings, node: Node, env: dict[str, str] | None = None) -> Node:
    """One ``faqbot run`` on ``node``'s ports, in its own process group, output to its log."""
    ports = replace(settings.bot, rasa_port=node.rasa_port, action_port=node.action_port, node=node.name)
    log = run_dir(settings) / f"{node.name}.log"
    child_env = {**os.environ, **(env or {}), **to_env(settings.replace(bot=ports))}
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "faqbot", "run"],
            cwd=PROJECT_ROOT,
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return replace(node, pid=proc.pid, log=str(log))


def wait_ready(node: Node, timeout: float) -> None:
    _wait(
        f"{node.name} ({node.url})",
        lambda: _get(f"{node.url}/ready") == 200,
        lambda: None if _alive(node.pid) else f"{node.name} exited while starting; see {node.log}",
        timeout,
    )


def up(
    settings: Settings,
    nodes: int,
    listen: str = DEFAULT_LISTEN,
    port_base: int = DEFAULT_PORT_BASE,
    database: str = DEFAULT_DATABASE,
    redis: str = DEFAULT_REDIS,
    say: Callable[[str], None] = print,
    env: dict[str, str] | None = None,
) -> Cluster:
    """Start ``nodes`` nodes and nginx; returns once nginx answers and every node is ready."""
    from bot.process.training import train
    from indexer.progress import stderr_progress
    from indexer.search import IndexMissing
    from indexer.service import publish_and_open

    running = load(settings)
    if running is not None and any(_alive(n.pid) for n in running.nodes):
        raise ClusterError(f"a cluster is already running here ({running.url}): faqbot cluster down first")
    binary = nginx_binary()
    planned = plan(nodes, port_base)
    ensure_database(database)
    check_redis(redis)
    shared = shared_settings(settings, database, redis)
    folder = run_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    try:  # once, before the nodes: they then find the index shared and the model trained
        index = publish_and_open(shared, progress=stderr_progress("embedding questions"))
    except IndexMissing as exc:
        raise ClusterError(str(exc)) from None
    for line in index.summary():
        say(line)
    model, trained = train(shared)
    say(f"model {model.name}" + (" (trained)" if trained else " (up to date)"))
    cluster = Cluster(listen=listen, database=database, redis=redis)
    try:
        cluster.nodes = [start_node(shared, node, env) for node in planned]
        _save(settings, cluster)  # from now on `down` can stop what is started, even if the rest fails
        for node in cluster.nodes:
            wait_ready(node, shared.bot.startup_timeout)
            say(f"{node.name} ready at {node.url} (actions on port {node.action_port})")
        cluster.nginx_conf, cluster.nginx_pid = _start_nginx(binary, folder, cluster)
        _save(settings, cluster)
        _wait(
            f"nginx on {listen}",
            lambda: _get(f"{cluster.url}/health") == 200,
            lambda: None if _alive(cluster.nginx_pid) else f"nginx exited; see {folder / 'error.log'}",
            30,
        )
    except BaseException:
        down(settings, say=lambda line: None)
        raise
    say(f"nginx on {cluster.url} in front of {len(cluster.nodes)} nodes ({cluster.nginx_conf})")
    return cluster


def _save(settings: Settings, cluster: Cluster) -> None:
    path = state_file(settings)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(cluster.to_json(), encoding="utf-8")
    tmp.replace(path)


def _start_nginx(binary: str, folder: Path, cluster: Cluster) -> tuple[str, int]:
    prefix = folder / "nginx"
    for kind in nginx_conf.TEMP_KINDS:
        (prefix / "tmp" / kind).mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:  # nginx's workers run as nobody: they write request bodies there
        import pwd

        nobody = pwd.getpwnam("nobody")
        for kind in nginx_conf.TEMP_KINDS:
            os.chown(prefix / "tmp" / kind, nobody.pw_uid, nobody.pw_gid)
    conf = prefix / "nginx.conf"
    command = _write_nginx_conf(binary, prefix, cluster, draining=None)
    started = subprocess.run(command, capture_output=True, text=True)  # the master daemonises
    if started.returncode != 0:
        raise ClusterError(f"nginx did not start: {started.stderr.strip() or started.stdout.strip()}")
    pid_file = prefix / "nginx.pid"
    _wait("nginx's pid file", pid_file.exists, lambda: None, 10)
    return str(conf), int(pid_file.read_text().strip())


def stop_node(node: Node, grace: float = STOP_GRACE) -> None:
    """Stop ``node`` as ``down`` does: SIGTERM to its supervisor, which stops both servers
    after they finish what they acknowledged; what is left after ``grace`` is killed."""
    if _alive(node.pid):
        os.kill(node.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _alive(node.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    kill_node(node, signal.SIGKILL)


def roll(settings: Settings, say: Callable[[str], None] = print) -> Cluster:
    """Restart the nodes one at a time on the code and settings installed now (a new
    version): nginx stops sending a node new requests and finishes what it sent, the
    node stops, starts, is ready and taken back before the next one goes, so the bot
    never stops answering."""
    cluster = load(settings)
    if cluster is None:
        raise ClusterError("no cluster is running from this data folder: faqbot cluster up first")
    shared = shared_settings(settings, cluster.database, cluster.redis)
    for i, node in enumerate(cluster.nodes):
        drain(cluster, node.name)  # nginx sends it nothing new, and what it sent is done
        stop_node(node)
        cluster.nodes[i] = started = start_node(shared, node)
        _save(settings, cluster)
        wait_ready(started, shared.bot.startup_timeout)
        drain(cluster, None)  # back in
        say(f"{node.name} restarted and ready at {node.url}")
    return cluster


def _write_nginx_conf(binary: str, prefix: Path, cluster: Cluster, draining: str | None) -> list[str]:
    """Write (and check) nginx's configuration, ``draining`` marked down; the command to run it."""
    upstreams = [nginx_conf.Upstream("127.0.0.1", n.rasa_port, down=n.name == draining) for n in cluster.nodes]
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_conf.main(upstreams, cluster.listen, prefix), encoding="utf-8")
    command = [binary, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
    checked = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True)
    if checked.returncode != 0:
        raise ClusterError(f"nginx refused {conf}: {checked.stderr.strip()}")
    return command


def _workers(master: int) -> list[int]:
    """nginx's worker processes (children of ``master``), old ones still finishing included."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == master:
            found.append(int(stat.parent.name))
    return found


def drain(cluster: Cluster, draining: str | None) -> None:
    """Reload nginx with ``draining`` (a node's name) taking no new requests, or none
    drained; returns once the old workers finished what they had sent anywhere (at most
    ``DRAIN_WAIT``: a console's live feed is long-lived, and reconnects to another node)."""
    binary = nginx_binary()
    prefix = Path(cluster.nginx_conf).parent
    before = set(_workers(cluster.nginx_pid))
    command = _write_nginx_conf(binary, prefix, cluster, draining)
    reloaded = subprocess.run([*command, "-s", "reload"], capture_output=True, text=True)
    if reloaded.returncode != 0:
        raise ClusterError(f"nginx did not reload: {reloaded.stderr.strip()}")
    deadline = time.monotonic() + DRAIN_WAIT
    while before & set(_workers(cluster.nginx_pid)) and time.monotonic() < deadline:
        time.sleep(0.2)


def kill_node(node: Node, sig: int = signal.SIGKILL) -> None:
    """Signal every process of ``node`` (its supervisor, Rasa server and action server)."""
    try:
        os.killpg(node.pid, sig)
    except ProcessLookupError:
        pass


def down(settings: Settings, say: Callable[[str], None] = print) -> bool:
    """Stop nginx and every node (SIGTERM, SIGKILL after ``STOP_GRACE``); ``False`` when
    nothing was running."""
    cluster = load(settings)
    if cluster is None:
        say("no cluster is running from this data folder")
        return False
    if _alive(cluster.nginx_pid):
        os.kill(cluster.nginx_pid, signal.SIGQUIT)  # graceful: finish the requests in flight
    for node in cluster.nodes:
        if _alive(node.pid):  # its supervisor stops its two servers (and restarts neither)
            os.kill(node.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    for pid in [cluster.nginx_pid, *(node.pid for node in cluster.nodes)]:
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
    for node in cluster.nodes:  # whatever is left of each node's process group
        kill_node(node, signal.SIGKILL)
    if _alive(cluster.nginx_pid):
        os.kill(cluster.nginx_pid, signal.SIGKILL)
    state_file(settings).unlink(missing_ok=True)
    say(f"stopped nginx and {len(cluster.nodes)} nodes")
    return True


def status_lines(settings: Settings) -> list[str]:
    """One line per node and one for nginx: running or not, ready or not."""
    cluster = load(settings)
    if cluster is None:
        return ["no cluster is running from this data folder"]
    lines = [f"nginx {cluster.url}: {'running' if _alive(cluster.nginx_pid) else 'not running'}"]
    for node in cluster.nodes:
        if not _alive(node.pid):
            state = "not running"
        else:
            state = "ready" if _get(f"{node.url}/ready") == 200 else "running, not ready"
        lines.append(f"{node.name} {node.url}: {state} (log {node.log})")
    return lines
