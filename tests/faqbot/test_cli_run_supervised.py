"""`faqbot run` keeps its servers up, wired as configured: a hung action
server (SIGSTOP) gives the customer the apology within ``[bot]
action_timeout``, is killed once it has not answered its health check for
``hang_seconds`` and restarted while the Rasa server keeps running; one that
keeps dying past ``restart_limit`` stops the bot with exit code 1 and a line
saying why. (Kill -9 of either server, in-process: tests/bot/test_supervision_e2e.py.)"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from connectors.guard import APOLOGY
from faqbot.config import PROJECT_ROOT
from tests.bot.conftest import MODELS_DIR, free_port
from tests.conftest import SAMPLE_KB
from tests.polling import wait_until

pytestmark = pytest.mark.slow


def server_pids(runner: int) -> dict[str, int]:
    """The runner's children by what they run (``/proc``: no pid is printed)."""
    found = {}
    for pid in Path(f"/proc/{runner}/task/{runner}/children").read_text().split():
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        found["actions" if b"rasa_sdk" in cmdline else "rasa"] = int(pid)
    return found


def ask(rasa_port: int, text: str) -> list[str] | None:
    """The reply's texts, or None while the Rasa server does not answer."""
    body = json.dumps({"sender": "cli-supervised", "message": text}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return [m.get("text", "") for m in json.loads(reply.read())]
    except (OSError, ValueError):
        return None


def test_run_restarts_a_hung_server_and_gives_up_on_one_that_keeps_dying(tmp_path):
    shutil.copytree(SAMPLE_KB, tmp_path / "kb")
    rasa_port, action_port = free_port(), free_port()
    env = {
        **os.environ,
        "FAQBOT_KB_DIR": str(tmp_path / "kb"),
        "FAQBOT_DATA_DIR": str(tmp_path / "var"),
        "FAQBOT_BOT_RASA_PORT": str(rasa_port),
        "FAQBOT_BOT_ACTION_PORT": str(action_port),
        "FAQBOT_BOT_MODELS_DIR": str(MODELS_DIR),
        "FAQBOT_BOT_RESTART_LIMIT": "1",
        "FAQBOT_BOT_ACTION_TIMEOUT": "3",
        "FAQBOT_BOT_HANG_SECONDS": "10",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "faqbot", "run"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()

    def said(text: str) -> bool:
        return any(text in line for line in lines)

    def answered() -> bool:
        texts = ask(rasa_port, "你好")
        return bool(texts) and "智能客服" in texts[0]

    try:
        wait_until(lambda: said("Press Ctrl-C to stop") or proc.poll() is not None, 240, "the bot to start")
        assert said("Press Ctrl-C to stop"), "".join(lines)[-3000:]
        first = server_pids(proc.pid)
        os.kill(first["actions"], signal.SIGSTOP)  # hung; SIGKILL (the supervisor's) also ends a stopped process
        started = time.monotonic()
        assert ask(rasa_port, "提现手续费是多少") == [APOLOGY]
        assert time.monotonic() - started < 3 + 7  # the configured bound, plus a busy machine's slack
        wait_until(lambda: said("the actions server did not answer its health check for 1"), 60, "the hang line")
        assert said("and was killed; restarting it in 1 s (restart 1 of at most 1 within 300 s)")
        wait_until(lambda: said("the actions server answers again"), 90, "the action server to come back")
        assert answered()
        again = server_pids(proc.pid)
        assert again["rasa"] == first["rasa"] and again["actions"] != first["actions"]
        os.kill(again["actions"], signal.SIGKILL)  # a second death within the window: past the limit
        assert proc.wait(60) == 1, "".join(lines)[-3000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        reader.join(10)
    assert said(
        "the actions server was killed by SIGKILL; it was restarted 1 time within 300 s "
        "(bot.restart_limit = 1), so it is not restarted again: stopping the bot"
    ), "".join(lines)[-3000:]
    for port in (rasa_port, action_port):  # everything stopped: nothing listens any more
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
