"""`faqbot run`: one command starts both servers, prints the URLs, answers,
and Ctrl-C (SIGINT) stops both cleanly."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

from faqbot.config import PROJECT_ROOT
from tests.bot.conftest import MODELS_DIR, free_port
from tests.conftest import SAMPLE_KB
from tests.polling import wait_until

pytestmark = pytest.mark.slow


def test_run_serves_and_stops_on_ctrl_c(tmp_path):
    shutil.copytree(SAMPLE_KB, tmp_path / "kb")
    rasa_port, action_port = free_port(), free_port()
    env = {
        **os.environ,
        "FAQBOT_KB_DIR": str(tmp_path / "kb"),
        "FAQBOT_DATA_DIR": str(tmp_path / "var"),
        "FAQBOT_BOT_RASA_PORT": str(rasa_port),
        "FAQBOT_BOT_ACTION_PORT": str(action_port),
        "FAQBOT_BOT_MODELS_DIR": str(MODELS_DIR),
    }
    platform_vars = ("WECHAT_", "WECOM_", "DINGTALK_", "FEISHU_", "TELEGRAM_", "SLACK_", "MESSENGER_")
    env = {k: v for k, v in env.items() if not k.startswith(platform_vars)}
    env.update(DINGTALK_APP_KEY="ding-demo-key", DINGTALK_APP_SECRET="ding-demo-secret")  # one channel on
    proc = subprocess.Popen(
        [sys.executable, "-m", "faqbot", "run"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )  # a failed test can kill the servers with it
    # A thread reads the output, so that the deadline holds even when the servers print nothing.
    output: list[str] = []

    def read() -> None:
        for line in proc.stdout:
            output.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    def started() -> int | None:  # how many lines, up to the one saying it is ready (or None)
        ready = [n for n, line in enumerate(output[:]) if "Press Ctrl-C to stop" in line]
        return ready[0] + 1 if ready else None

    try:
        with contextlib.suppress(AssertionError):  # exited or timed out: the assert below shows the output
            wait_until(lambda: started() or proc.poll() is not None, 240, "`faqbot run` to say it is ready")
        if not started():
            reader.join(timeout=10)  # it exited: all that it printed
        lines = output[: started() or len(output)]
        assert "Press Ctrl-C to stop" in "".join(lines), "".join(output)[-3000:]
        assert f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook" in "".join(lines)
        # One line names the channels left unmounted and what they need; DingTalk is mounted.
        [unmounted] = [line for line in lines if "channels not mounted" in line]
        assert "wechat (WECHAT_TOKEN, WECHAT_APP_ID, WECHAT_APP_SECRET)" in unmounted
        assert "telegram (" in unmounted and "dingtalk" not in unmounted
        with urllib.request.urlopen(f"http://127.0.0.1:{rasa_port}/webhooks/dingtalk/", timeout=10) as reply:
            assert reply.status == 200
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"http://127.0.0.1:{rasa_port}/webhooks/wechat/", timeout=10)
        assert missing.value.code == 404
        body = json.dumps({"sender": "cli-run", "message": "你好"}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            assert "智能客服" in json.loads(reply.read())[0]["text"]
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        reader.join(timeout=60)  # the output's end, once the pipe closes
        rest = "".join(output[len(lines) :])
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, rest[-2000:]
    assert "stopped." in rest
    for port in (rasa_port, action_port):  # both servers are gone: nothing listens any more
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
