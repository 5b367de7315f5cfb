"""Supervision with the real servers (``bot/process/supervisor.py`` as ``faqbot run``
wires it, ``bot.process.runner.supervisor_for``): a hung action server costs the
customer ``[bot] action_timeout`` seconds and an apology, not Rasa's 300 s of
silence; a killed action server or Rasa server is restarted while the other
keeps running, and the customer in flight gets the apology. Tests run in file
order on one bot."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from bot.process.runner import RunningBot, supervisor_for
from connectors.guard import APOLOGY
from indexer.kb import load_kb
from tests.bot.conftest import Chat
from tests.polling import wait_until

pytestmark = pytest.mark.slow

ACTION_TIMEOUT = 3.0  # the default is 8 s; shorter here to keep the test short
QUESTION = "提现手续费是多少"


@pytest.fixture(scope="module")
def bot_settings(bot_settings):
    return bot_settings.replace(bot=replace(bot_settings.bot, action_timeout=ACTION_TIMEOUT))


@pytest.fixture(scope="module")
def answer(bot_settings) -> str:
    return next(e for e in load_kb(bot_settings.kb_dir).entries if e.id == "ex-withdraw-fee").answer.strip()


@pytest.fixture(scope="module")
def supervised(running_bot: RunningBot):
    """The supervisor ``faqbot run`` uses, in a thread; yields the lines it says."""
    lines: list[str] = []
    stop = threading.Event()
    failed: list[BaseException] = []
    supervisor = supervisor_for(running_bot, say=lines.append)

    def run() -> None:
        try:
            supervisor.run(stop.is_set, interval=0.1)
        except BaseException as exc:  # reported at teardown
            failed.append(exc)

    thread = threading.Thread(target=run, name="supervisor", daemon=True)
    thread.start()
    yield lines
    stop.set()
    thread.join(30)
    assert not failed, failed


def answers(chat: Chat, answer: str) -> bool:
    try:
        return answer in chat.say(QUESTION).texts
    except OSError:  # the Rasa server is not listening (yet)
        return False


def rasa_waits_on_action_server(bot: RunningBot) -> bool:
    """The Rasa server's process holds an open connection to the action server's port."""
    port = f"{bot.settings.bot.action_port:04X}"
    inodes = set()
    for fd in Path(f"/proc/{bot.processes['rasa'].pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            cols = row.split()
            if cols[2].endswith(f":{port}") and cols[3] == "01" and cols[9] in inodes:  # 01: ESTABLISHED
                return True
    return False


def test_a_hung_action_server_gets_the_customer_the_apology_within_the_action_timeout(running_bot, supervised, answer):
    chat = Chat(running_bot.rest_webhook, "hung-action-server")
    assert answer in chat.say(QUESTION).texts
    actions = running_bot.processes["actions"]
    os.kill(actions.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        reply = chat.say(QUESTION)  # without the bound: Rasa's 300 s, and this client gives up after 30 s
        waited = time.monotonic() - started
    finally:
        os.kill(actions.pid, signal.SIGCONT)
    assert reply.status == 200 and reply.texts == [APOLOGY]
    assert ACTION_TIMEOUT - 0.5 < waited < ACTION_TIMEOUT + 7, waited  # the bound, plus a busy machine's slack
    wait_until(lambda: answers(chat, answer), 30, "answers again after SIGCONT")
    assert running_bot.processes["actions"] is actions  # a short hang is not a restart
    log = running_bot.logs["rasa"].read_text(encoding="utf-8", errors="replace")
    assert f"did not answer 'action_turn' within {ACTION_TIMEOUT:g} s" in log


def test_a_killed_action_server_apologises_to_the_customer_in_flight_and_is_restarted(running_bot, supervised, answer):
    chat = Chat(running_bot.rest_webhook, "killed-action-server")
    actions, rasa = running_bot.processes["actions"], running_bot.processes["rasa"]
    os.kill(actions.pid, signal.SIGSTOP)  # hold the customer's question at the action server...
    try:
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(chat.say, QUESTION)
            wait_until(lambda: rasa_waits_on_action_server(running_bot), 10, "Rasa to call the action server")
            killed = time.monotonic()
            os.kill(actions.pid, signal.SIGKILL)  # ...and kill it while they wait
            reply = pending.result(30)
        replied = time.monotonic() - killed
    finally:
        if actions.poll() is None:
            os.kill(actions.pid, signal.SIGKILL)
    assert reply.texts == [APOLOGY]
    assert replied < ACTION_TIMEOUT, replied  # at once: the connection was reset, no timeout needed
    wait_until(
        lambda: any(
            "the actions server was killed by SIGKILL; restarting it in 1 s (restart 1 of at most 5" in line
            for line in supervised
        ),
        10,
        "the supervisor's line",
    )
    wait_until(lambda: answers(chat, answer), 90, "the restarted action server to answer")
    assert running_bot.processes["actions"] is not actions
    assert running_bot.processes["rasa"] is rasa and rasa.poll() is None  # kept running all along
    wait_until(
        lambda: any(line.startswith("the actions server answers again") for line in supervised),
        10,
        "the supervisor to see it answer",
    )


def test_a_killed_rasa_server_is_restarted_and_answers_again(running_bot, supervised, answer):
    chat = Chat(running_bot.rest_webhook, "killed-rasa-server")
    actions, rasa = running_bot.processes["actions"], running_bot.processes["rasa"]
    os.kill(rasa.pid, signal.SIGKILL)
    wait_until(
        lambda: any(
            "the rasa server was killed by SIGKILL; restarting it in 1 s (restart 1 of at most 5" in line
            for line in supervised
        ),
        10,
        "the supervisor's line",
    )
    wait_until(
        lambda: answers(chat, answer), running_bot.settings.bot.startup_timeout, "the restarted Rasa server to answer"
    )
    assert running_bot.processes["rasa"] is not rasa
    assert running_bot.processes["actions"] is actions and actions.poll() is None  # kept running all along
