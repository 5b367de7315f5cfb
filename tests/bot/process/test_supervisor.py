"""The supervisor (``bot/process/supervisor.py``) with real child processes: a dead one
is restarted after its back-off while the others keep running, a hung one is
killed and restarted, and one that keeps dying stops everything with a reason."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.process.supervisor import GaveUp, RestartPolicy, Supervisor
from tests.polling import wait_until

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]
CRASHER = [sys.executable, "-c", "import sys; sys.exit(3)"]


class Clock:
    """Time the test moves by hand, so back-offs need no waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def children():
    started: list[subprocess.Popen] = []

    def spawn(command: list[str]) -> subprocess.Popen:
        started.append(subprocess.Popen(command))
        return started[-1]

    yield spawn
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_a_killed_server_is_restarted_after_its_backoff_and_the_other_keeps_running(children):
    commands = {"actions": SLEEPER, "rasa": SLEEPER}
    processes = {name: children(command) for name, command in commands.items()}
    lines: list[str] = []
    clock = Clock()
    supervisor = Supervisor(
        processes, lambda name: children(commands[name]), {}, RestartPolicy(backoff=1.0), say=lines.append, clock=clock
    )
    rasa, actions = processes["rasa"], processes["actions"]
    actions.kill()
    actions.wait()
    supervisor.check()
    assert "the actions server was killed by SIGKILL; restarting it in 1 s (restart 1 of at most 5" in lines[-1]
    assert processes["actions"] is actions  # not yet: the back-off
    clock.now += 1
    supervisor.check()
    assert processes["actions"] is not actions and processes["actions"].poll() is None
    assert "the actions server is starting again" in lines[-1]
    assert processes["rasa"] is rasa and rasa.poll() is None  # never touched
    processes["actions"].kill()
    processes["actions"].wait()
    supervisor.check()
    assert "restarting it in 2 s (restart 2" in lines[-1]  # doubled


def test_a_server_that_keeps_dying_stops_everything_with_the_reason(children):
    commands = {"actions": CRASHER}
    processes = {"actions": children(CRASHER)}
    clock = Clock()
    supervisor = Supervisor(
        processes,
        lambda name: children(commands[name]),
        {},
        RestartPolicy(limit=2, window=300, backoff=1.0),
        say=lambda _: None,
        clock=clock,
    )
    with pytest.raises(GaveUp, match="exited with code 3; it was restarted 2 times within 300 s"):
        for _ in range(20):
            wait_until(lambda: processes["actions"].poll() is not None, 30, "the crasher to exit")
            supervisor.check()
            clock.now += 10
            supervisor.check()


def test_restarts_long_ago_do_not_count_towards_the_limit(children):
    commands = {"actions": CRASHER}
    processes = {"actions": children(CRASHER)}
    clock = Clock()
    supervisor = Supervisor(
        processes,
        lambda name: children(commands[name]),
        {},
        RestartPolicy(limit=2, window=60, backoff=1.0),
        say=lambda _: None,
        clock=clock,
    )
    for _ in range(6):  # one crash every 100 s: never twice within the window
        wait_until(lambda: processes["actions"].poll() is not None, 30, "the crasher to exit")
        supervisor.check()
        clock.now += 100
        supervisor.check()


def test_a_hung_server_is_killed_and_restarted(children):
    commands = {"actions": SLEEPER}
    processes = {"actions": children(SLEEPER)}
    hung = processes["actions"]
    lines: list[str] = []
    clock = Clock()
    supervisor = Supervisor(
        processes,
        lambda name: children(commands[name]),
        {"actions": "http://unused/health"},
        RestartPolicy(hang_seconds=30),
        say=lines.append,
        clock=clock,
        probe=lambda url: False,
    )  # the health check never answers
    for _ in range(8):
        clock.now += 5
        supervisor.check()
    assert hung.poll() is not None  # killed
    assert any("did not answer its health check for 30 s and was killed; restarting it" in line for line in lines)
    clock.now += 5
    supervisor.check()
    assert processes["actions"] is not hung and processes["actions"].poll() is None


def test_a_restarted_server_gets_its_startup_time_before_it_counts_as_hung(children):
    """Rasa loads its model for a while after a restart: no health check answers then, and that is no hang."""
    commands = {"rasa": SLEEPER}
    processes = {"rasa": children(SLEEPER)}
    lines: list[str] = []
    clock = Clock()
    healthy = {"now": True}
    supervisor = Supervisor(
        processes,
        lambda name: children(commands[name]),
        {"rasa": "http://unused/"},
        RestartPolicy(hang_seconds=30, startup_seconds=120),
        say=lines.append,
        clock=clock,
        probe=lambda url: healthy["now"],
    )
    processes["rasa"].kill()
    processes["rasa"].wait()
    supervisor.check()
    clock.now += 1
    supervisor.check()
    restarted = processes["rasa"]
    healthy["now"] = False  # loading its model
    for _ in range(20):  # 100 s without an answer: more than hang_seconds, less than startup_seconds
        clock.now += 5
        supervisor.check()
    assert processes["rasa"] is restarted and restarted.poll() is None
    healthy["now"] = True
    clock.now += 5
    supervisor.check()
    assert lines[-1] == "the rasa server answers again (105 s after it was restarted)"
    healthy["now"] = False  # from now on, silence is a hang
    for _ in range(8):
        clock.now += 5
        supervisor.check()
    assert restarted.poll() is not None
    assert any(
        "the rasa server did not answer its health check for 30 s and was killed; restarting it in 2 s "
        "(restart 2 of" in line
        for line in lines
    )


def test_a_restarted_server_that_never_answers_is_killed_after_its_startup_time(children):
    commands = {"rasa": SLEEPER}
    processes = {"rasa": children(SLEEPER)}
    lines: list[str] = []
    clock = Clock()
    supervisor = Supervisor(
        processes,
        lambda name: children(commands[name]),
        {"rasa": "http://unused/"},
        RestartPolicy(startup_seconds=60),
        say=lines.append,
        clock=clock,
        probe=lambda url: False,
    )
    processes["rasa"].kill()
    processes["rasa"].wait()
    supervisor.check()
    clock.now += 1
    supervisor.check()
    restarted = processes["rasa"]
    for _ in range(13):
        clock.now += 5
        supervisor.check()
    assert restarted.poll() is not None
    assert any(
        "the rasa server did not answer its health check within 60 s of starting and was killed; "
        "restarting it in 2 s" in line
        for line in lines
    )


def test_the_policy_comes_from_the_bot_settings_and_refuses_nonsense():
    from dataclasses import replace

    from faqbot.config import load_settings

    bot = load_settings(env={}).bot
    policy = RestartPolicy.from_settings(bot)
    assert (policy.limit, policy.window, policy.hang_seconds) == (5, 300, 30)
    assert bot.action_timeout == 8.0
    policy = RestartPolicy.from_settings(load_settings(env={"FAQBOT_BOT_RESTART_LIMIT": "0"}).bot)
    assert policy.limit == 0  # the first death stops the bot: the old behaviour, if wanted
    for bad in ({"restart_window": 0}, {"restart_limit": -1}, {"action_timeout": 0.0}, {"hang_seconds": -5}):
        with pytest.raises(ValueError, match="bot."):
            RestartPolicy.from_settings(replace(bot, **bad))


def test_with_limit_zero_the_first_death_gives_up(children):
    processes = {"actions": children(CRASHER)}
    supervisor = Supervisor(
        processes, lambda name: children(CRASHER), {}, RestartPolicy(limit=0), say=lambda _: None, clock=Clock()
    )
    processes["actions"].wait()
    with pytest.raises(GaveUp, match="the actions server exited with code 3; it was restarted 0 times"):
        supervisor.check()
