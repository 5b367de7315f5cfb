"""The real bot for end-to-end tests: a copy of the sample KB, a real index,
the real Rasa model (trained once, cached under var/models by the hash of its
inputs), and the real action and Rasa servers on free loopback ports."""

from __future__ import annotations

import json
import shutil
import socket
from dataclasses import dataclass, replace
from typing import Any

import pytest

from faqbot.config import PROJECT_ROOT, Settings, load_settings
from tests.conftest import SAMPLE_KB
from tests.http import send

MODELS_DIR = PROJECT_ROOT / "var" / "models"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Reply:
    status: int
    messages: list[dict[str, Any]]

    @property
    def texts(self) -> list[str]:
        return [m.get("text", "") for m in self.messages]

    @property
    def text(self) -> str:
        return "\n".join(self.texts)

    @property
    def buttons(self) -> list[dict[str, str]]:
        return [b for m in self.messages for b in m.get("buttons", [])]

    def payload(self, title: str) -> str:
        """What clicking the button titled ``title`` sends (as every channel does: its payload)."""
        found = [b["payload"] for b in self.buttons if b["title"] == title]
        assert found, f"no button {title!r} in {self.buttons}"
        return found[0]


def post(url: str, body: Any, raw: bytes | None = None) -> tuple[int, Any]:
    reply = send(url, raw if raw is not None else json.dumps(body).encode(), {"Content-Type": "application/json"})
    return reply.status, reply.json()


class Chat:
    """One conversation over the REST channel."""

    def __init__(self, webhook: str, sender: str) -> None:
        self.webhook, self.sender = webhook, sender

    def say(self, text: str) -> Reply:
        status, body = post(self.webhook, {"sender": self.sender, "message": text})
        return Reply(status, body if isinstance(body, list) else [])


@pytest.fixture(scope="module")
def bot_settings(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Settings:
    """A module may set ``HANDOFF = {...}`` / ``CONSOLE = {...}`` / ``MAIL = {...}`` / ``WIDGET = {...}``
    to change the [handoff] / [console] / [mail] / [widget] settings its servers run with."""
    root = tmp_path_factory.mktemp("bot")
    shutil.copytree(SAMPLE_KB, root / "kb")
    base = load_settings(env={})
    bot = replace(base.bot, rasa_port=free_port(), action_port=free_port())
    handoff = replace(base.handoff, **getattr(request.module, "HANDOFF", {}))
    console = replace(base.console, **getattr(request.module, "CONSOLE", {}))
    mail = replace(base.mail, **getattr(request.module, "MAIL", {}))
    widget = replace(base.widget, **getattr(request.module, "WIDGET", {}))
    return base.replace(
        kb_dir=root / "kb",
        data_dir=root / "var",
        bot=bot,
        handoff=handoff,
        console=console,
        mail=mail,
        widget=widget,
    )


@pytest.fixture(scope="module")
def running_bot(bot_settings: Settings, request: pytest.FixtureRequest):
    """A module may set ``ENV = {...}`` (channel secrets) for its servers' environment."""
    from bot.process.runner import start_bot

    bot = start_bot(
        bot_settings,
        models_dir=MODELS_DIR,
        log_dir=bot_settings.data_dir / "logs",
        say=lambda line: None,
        env=getattr(request.module, "ENV", None),
    )
    try:
        yield bot
    finally:
        bot.stop()
        for name, path in bot.logs.items():  # keep server logs for CI artifacts
            module = request.module.__name__.rsplit(".", 1)[-1]
            out = PROJECT_ROOT / "test-artifacts" / f"{module}-{name}.log"
            out.parent.mkdir(exist_ok=True)
            shutil.copy(path, out)


@pytest.fixture
def chat(running_bot, request: pytest.FixtureRequest) -> Chat:
    return Chat(running_bot.rest_webhook, f"test-{request.node.name}")
