"""Keep the bot's servers running: restart one that dies or hangs, keep the others.

``faqbot run`` used to stop everything when one server died (kill -9, out of
memory), so the bot stayed down until someone restarted it by hand. Here a
dead server is restarted after a back-off (1 s, doubling up to 30 s), with one
log line saying which server, why and what happens next; a server that does not
answer its health check for ``hang_seconds`` is killed and restarted the same
way (a restarted server has ``startup_seconds`` to answer first: Rasa loads
its model for a while). A server restarted more than ``restart_limit`` times within
``restart_window`` seconds is a server that cannot run (a broken model, a port
taken): then everything stops and ``faqbot run`` exits non-zero, saying so.
Customers whose request was in flight get the channel guard's apology.
"""

from __future__ import annotations

import signal
import subprocess
import time
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_BACKOFF = 30.0
PROBE_SECONDS = 5.0  # how often a running server's health check is asked
STARTING_PROBE_SECONDS = 1.0  # and a restarted one's, to say soon that it answers again


@dataclass(frozen=True)
class RestartPolicy:
    limit: int = 5  # restarts of one server within `window` before giving up
    window: float = 300.0
    backoff: float = 1.0  # the first delay; doubled for each recent restart
    hang_seconds: float = 30.0  # no answer to the health check this long: killed and restarted
    startup_seconds: float = 180.0  # a restarted server's time to answer its health check at all

    def __post_init__(self) -> None:
        # A zero window or a negative limit would make "restart" mean "give up at once" by accident.
        if (
            self.limit < 0
            or self.window <= 0
            or self.backoff < 0
            or self.hang_seconds <= 0
            or self.startup_seconds <= 0
        ):
            raise ValueError(
                f"bot.restart_limit must be >= 0 and bot.restart_window, bot.hang_seconds, "
                f"bot.startup_timeout > 0, not {self.limit}, {self.window}, {self.hang_seconds}, "
                f"{self.startup_seconds}"
            )

    @classmethod
    def from_settings(cls, bot: Any) -> RestartPolicy:
        """The policy of ``[bot]`` (``faqbot.config.BotConfig``); also checks ``action_timeout``."""
        if not bot.action_timeout > 0:
            raise ValueError(f"bot.action_timeout must be > 0 seconds, not {bot.action_timeout}")
        return cls(
            limit=bot.restart_limit,
            window=float(bot.restart_window),
            hang_seconds=float(bot.hang_seconds),
            startup_seconds=float(bot.startup_timeout),
        )


@dataclass
class _Child:
    name: str
    health: str | None
    restarts: deque[float] = field(default_factory=deque)
    restart_at: float | None = None  # dead, waiting out the back-off
    unhealthy_since: float | None = None
    starting_since: float | None = None  # restarted, not yet answering its health check
    last_probe: float = 0.0


def why_exited(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def answers(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return reply.status == 200
    except OSError:
        return False


class GaveUp(RuntimeError):
    """A server kept dying: the message says which and how often."""


class Supervisor:
    """Watches ``processes`` (name → process) and restarts them with ``spawn(name)``.

    ``check()`` does one round and is what tests drive; ``run(stopping)`` loops."""

    def __init__(
        self,
        processes: dict[str, subprocess.Popen],
        spawn: Callable[[str], subprocess.Popen],
        health: Mapping[str, str | None],
        policy: RestartPolicy,
        say: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
        probe: Callable[[str], bool] = answers,
    ) -> None:
        self.processes, self.spawn, self.policy, self.say = processes, spawn, policy, say
        self.clock, self.probe = clock, probe
        self.children = {name: _Child(name, health.get(name)) for name in processes}

    def check(self) -> None:
        """One round: reap the dead, restart those whose back-off is over, ask health checks."""
        now = self.clock()
        for child in self.children.values():
            proc = self.processes[child.name]
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.restart_at, child.unhealthy_since, child.last_probe = None, None, now
                    child.starting_since = now if child.health else None
                    self.processes[child.name] = self.spawn(child.name)
                    self.say(f"the {child.name} server is starting again (pid {self.processes[child.name].pid})")
                continue
            code = proc.poll()
            if code is not None:
                self._schedule(child, why_exited(code), now)
            elif child.health and child.starting_since is not None:
                if now - child.last_probe < STARTING_PROBE_SECONDS:
                    continue
                child.last_probe = now
                if self.probe(child.health):
                    self.say(
                        f"the {child.name} server answers again ({now - child.starting_since:.0f} s "
                        "after it was restarted)"
                    )
                    child.starting_since = None
                elif now - child.starting_since >= self.policy.startup_seconds:
                    self._kill(
                        child,
                        proc,
                        f"did not answer its health check within "
                        f"{self.policy.startup_seconds:.0f} s of starting and was killed",
                        now,
                    )
            elif child.health and now - child.last_probe >= PROBE_SECONDS:
                child.last_probe = now
                if self.probe(child.health):
                    child.unhealthy_since = None
                elif child.unhealthy_since is None:
                    child.unhealthy_since = now
                elif now - child.unhealthy_since >= self.policy.hang_seconds:
                    self._kill(
                        child,
                        proc,
                        f"did not answer its health check for {now - child.unhealthy_since:.0f} s and was killed",
                        now,
                    )

    def _kill(self, child: _Child, proc: subprocess.Popen, why: str, now: float) -> None:
        proc.kill()  # SIGKILL also ends a stopped (SIGSTOP) process
        proc.wait()
        child.starting_since = None
        self._schedule(child, why, now)

    def _schedule(self, child: _Child, why: str, now: float) -> None:
        while child.restarts and now - child.restarts[0] > self.policy.window:
            child.restarts.popleft()
        if len(child.restarts) >= self.policy.limit:
            n = len(child.restarts)
            raise GaveUp(
                f"the {child.name} server {why}; it was restarted {n} time{'' if n == 1 else 's'} within "
                f"{self.policy.window:.0f} s (bot.restart_limit = {self.policy.limit}), so it is not "
                "restarted again: stopping the bot (see the server's log)"
            )
        delay = min(MAX_BACKOFF, self.policy.backoff * 2 ** len(child.restarts))
        child.restarts.append(now)
        child.restart_at = now + delay
        self.say(
            f"the {child.name} server {why}; restarting it in {delay:.0f} s "
            f"(restart {len(child.restarts)} of at most {self.policy.limit} within {self.policy.window:.0f} s); "
            "the other servers keep running"
        )

    def run(self, stopping: Callable[[], bool], interval: float = 0.5) -> None:
        """Until ``stopping()``; raises :class:`GaveUp`."""
        while not stopping():
            self.check()
            time.sleep(interval)
