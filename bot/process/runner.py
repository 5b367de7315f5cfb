"""Run the whole bot with one call: index, model, action server, Rasa server.

``start_bot`` builds the index if it is missing or stale, trains the model if
its inputs changed, starts both servers on loopback ports, and returns once
both answer their health checks. ``faqbot run`` and the end-to-end tests use
the same function.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml

from bot.paths import BOT_DIR
from bot.process.supervisor import GaveUp, RestartPolicy, Supervisor
from bot.process.training import rasa_env, train
from faqbot.config import PROJECT_ROOT, Settings, to_env
from faqbot.errors import UserError


class StartupFailed(UserError, RuntimeError):
    """A server exited or did not become healthy in time."""


@dataclass
class RunningBot:
    settings: Settings
    model: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)
    commands: dict[str, list[str]] = field(default_factory=dict)
    health: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    _files: list[IO[bytes]] = field(default_factory=list)

    def spawn(self, name: str) -> subprocess.Popen:
        """Start (or restart) one server, its output appended to its log when there is one."""
        out: IO[bytes] | None = open(self.logs[name], "ab") if name in self.logs else None
        try:
            self.processes[name] = subprocess.Popen(
                self.commands[name],
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT if out else None,
                start_new_session=bool(self.logs),
            )
        finally:
            if out is not None:
                out.close()  # the server has its own copy; restarts must not pile up open files here
        return self.processes[name]

    @property
    def rasa_url(self) -> str:
        return f"http://{self.settings.bot.host}:{self.settings.bot.rasa_port}"

    @property
    def action_url(self) -> str:
        return f"http://{self.settings.bot.host}:{self.settings.bot.action_port}"

    @property
    def rest_webhook(self) -> str:
        return f"{self.rasa_url}/webhooks/rest/webhook"

    def stop(self, grace: float = 10.0) -> None:
        """Stop both servers: SIGTERM, then SIGKILL after ``grace`` seconds each. The Rasa
        server first: the messages it still finishes need their action server."""
        deadline = time.monotonic() + grace
        for name in sorted(self.processes, key=lambda n: n != "rasa"):
            proc = self.processes[name]
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            deadline = time.monotonic() + grace
        for handle in self._files:
            handle.close()

    def __enter__(self) -> RunningBot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


CACHED_SQL_STORE = "bot.server.tracker_store.CachedSQLTrackerStore"


def write_endpoints(settings: Settings) -> Path:
    """``bot/endpoints.yml`` with the configured action server, conversation store and lock store."""
    endpoints = yaml.safe_load((BOT_DIR / "endpoints.yml").read_text(encoding="utf-8"))
    endpoints["action_endpoint"]["url"] = f"http://{settings.bot.host}:{settings.bot.action_port}/webhook"
    tracker = settings.bot.tracker_store.strip()
    if tracker == "memory":
        endpoints.pop("tracker_store", None)
    elif tracker == "sqlite":
        db = settings.data_dir / "rasa" / "tracker.db"
        db.parent.mkdir(parents=True, exist_ok=True)
        endpoints["tracker_store"]["db"] = str(db)
    else:
        endpoints["tracker_store"] = _store_from_url(tracker, "bot.tracker_store", sql=True)
    if endpoints.get("tracker_store", {}).get("type") == "SQL":  # Rasa's rows, cached (bot/server/tracker_store.py)
        endpoints["tracker_store"]["type"] = CACHED_SQL_STORE
    if settings.bot.lock_store.strip():
        endpoints["lock_store"] = _store_from_url(settings.bot.lock_store.strip(), "bot.lock_store", sql=False)
    # One file per Rasa server: several started from one data folder differ in their action server.
    out = settings.data_dir / "run" / f"endpoints-{settings.bot.rasa_port}.yml"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(endpoints, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return out


def _store_from_url(url: str, key: str, sql: bool) -> dict[str, Any]:
    """A Rasa store section from a URL (what operators already have for their databases)."""
    from urllib.parse import unquote, urlsplit

    forms = "'sqlite', 'memory', 'postgresql://…' or 'redis://…'" if sql else "'' or 'redis://…'"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise StartupFailed(f"{key}: {exc} in {url!r}") from None
    scheme = parts.scheme.split("+", 1)[0]
    if scheme in ("redis", "rediss"):
        db = parts.path.strip("/") or "0"
        if not db.isdigit():
            raise StartupFailed(f"{key}: the Redis database must be a number, not {db!r} in {url!r}")
        return {
            "type": "redis",
            "url": parts.hostname or "localhost",
            "port": port or 6379,
            "db": int(db),
            "password": unquote(parts.password) if parts.password else None,
            "use_ssl": scheme == "rediss",
            "key_prefix": "faqbot",
        }
    if sql and scheme in ("postgresql", "postgres"):
        if not parts.path.strip("/"):
            raise StartupFailed(f"{key}: name the database in the URL, e.g. postgresql://user@host:5432/faqbot")
        return {
            "type": "SQL",
            "dialect": "postgresql",
            "url": parts.hostname or "localhost",
            "port": port or 5432,
            "username": unquote(parts.username or ""),
            "password": unquote(parts.password or ""),
            "db": parts.path.strip("/"),
        }
    raise StartupFailed(f"{key} must be {forms}, not {url!r}")


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


def _env(settings: Settings, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = rasa_env()
    env.update(extra or {})
    # Both servers read the same settings through the environment.
    env.update(to_env(settings))
    env["SANIC_HOST"] = settings.bot.host
    env["TICKET_LOCK_LIFETIME"] = str(settings.bot.lock_lifetime)
    return env


def start_bot(
    settings: Settings,
    models_dir: Path | None = None,
    log_dir: Path | None = None,
    say=print,
    env: dict[str, str] | None = None,
) -> RunningBot:
    """Start everything; ``log_dir`` sends server output to files instead of the terminal;
    ``env`` adds variables (channel secrets) to the servers' environment."""
    from bot.handoff.availability import HoursError, OpeningHours
    from bot.web import check_settings as check_http_settings
    from connectors.mounting import summary, unmounted
    from connectors.socketio_shared import url_problem as socketio_url_problem
    from indexer.progress import stderr_progress
    from indexer.search import IndexMissing
    from indexer.service import publish_and_open

    try:  # a bad [handoff] setting stops here, not at the first request for a person
        OpeningHours.parse(settings.handoff.hours, settings.handoff.timezone)
    except HoursError as exc:
        raise StartupFailed(str(exc)) from None
    try:  # and so does a bad [console] / [widget] origin or proxy list
        check_http_settings(settings)
    except ValueError as exc:
        raise StartupFailed(str(exc)) from None
    if settings.bot.lock_lifetime <= settings.bot.action_timeout + 2:
        raise StartupFailed(
            f"[bot] lock_lifetime ({settings.bot.lock_lifetime}s) must exceed action_timeout"
            f" ({settings.bot.action_timeout}s) by more than 2 s: a turn must finish within its lock"
        )
    problem = socketio_url_problem(settings.channels.socketio_url)
    if problem is not None:  # and a shared socket.io that is not Redis
        raise StartupFailed(problem)
    try:  # build if needed, then load (checksums verified) what will be served, before reporting it
        index = publish_and_open(settings, progress=stderr_progress("embedding questions"))
    except IndexMissing as exc:  # nothing intact to serve: say what is wrong and what to run
        raise StartupFailed(str(exc)) from None
    for line in index.summary():
        say(line)
    model, trained = train(settings, models_dir)
    say(f"model {model.name}" + (" (trained)" if trained else " (up to date, not retrained)"))
    endpoints = write_endpoints(settings)
    bot = RunningBot(settings, model)
    env = _env(settings, env)
    skipped = unmounted(BOT_DIR / "credentials.yml", env)
    if skipped:
        say(summary(skipped))
    commands = {
        "actions": [
            sys.executable,
            "-m",
            "rasa_sdk",
            "--actions",
            "bot.actions",
            "--port",
            str(settings.bot.action_port),
        ],
        "rasa": [
            sys.executable,
            "-m",
            "bot.server.app",
            "run",
            "--model",
            str(model),
            "--endpoints",
            str(endpoints),
            "--credentials",
            str(BOT_DIR / "credentials.yml"),
            "--interface",
            settings.bot.host,
            "--port",
            str(settings.bot.rasa_port),
        ],  # CORS: bot/web/cors.py, from the config
    }
    health = {"actions": f"{bot.action_url}/health", "rasa": f"{bot.rasa_url}/webhooks/rest/"}
    bot.commands, bot.health, bot.env = commands, health, env
    try:
        for name in commands:
            if log_dir is not None:
                log_dir.mkdir(parents=True, exist_ok=True)
                bot.logs[name] = log_dir / f"{name}.log"
            bot.spawn(name)
        deadline = time.monotonic() + settings.bot.startup_timeout
        pending = dict(health)
        while pending:
            for name, url in list(pending.items()):
                code = bot.processes[name].poll()
                if code is not None:
                    where = f"; see {bot.logs[name]}" if name in bot.logs else ""
                    raise StartupFailed(f"the {name} server exited with code {code} while starting{where}")
                if _healthy(url):
                    say(f"{name} server ready at {url.rsplit('/', 1)[0] if name == 'actions' else bot.rasa_url}")
                    del pending[name]
            if pending and time.monotonic() > deadline:
                raise StartupFailed(f"{', '.join(pending)} not healthy after {settings.bot.startup_timeout}s")
            time.sleep(0.5)
    except BaseException:
        bot.stop()
        raise
    return bot


def supervisor_for(bot: RunningBot, say: Callable[[str], None]) -> Supervisor:
    """What keeps ``bot``'s servers running under ``faqbot run`` (the tests drive the same one)."""
    return Supervisor(bot.processes, bot.spawn, bot.health, RestartPolicy.from_settings(bot.settings.bot), say=say)


def run_forever(settings: Settings) -> int:
    """``faqbot run``: start, print the URLs, keep both servers running
    (``bot/process/supervisor.py``), stop both cleanly on Ctrl-C or SIGTERM."""
    try:  # a bad restart policy stops here, before anything is built or started
        RestartPolicy.from_settings(settings.bot)
    except ValueError as exc:
        raise StartupFailed(str(exc)) from None
    bot = start_bot(settings)
    print(
        f"\nThe bot is running.\n  REST:      POST {bot.rest_webhook}  "
        '{"sender": "u1", "message": "提现手续费是多少"}\n'
        f"  socket.io: {bot.rasa_url}  (web widget)\n  actions:   {bot.action_url}\n"
        f"  demo page: {bot.rasa_url}/demo/  (a sample website with the chat widget)\n"
        f"  console:   {bot.rasa_url}/console/  (agents; add one with `faqbot agent add NAME`)\n"
        "Edit kb_content/ and run `faqbot index build` to publish: the bot picks it up without a restart.\n"
        "Press Ctrl-C to stop.",
        flush=True,
    )
    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    supervisor = supervisor_for(bot, say=lambda line: print(line, file=sys.stderr, flush=True))
    try:
        supervisor.run(lambda: stopping)
    except GaveUp as exc:
        print(str(exc), file=sys.stderr, flush=True)
        bot.stop()
        print("stopped.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    print("\nstopping…", flush=True)
    bot.stop()
    print("stopped.")
    return 0
