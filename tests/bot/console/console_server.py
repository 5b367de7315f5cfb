"""The console's HTTP side alone, for tests that need no Rasa: the console blueprint (and
the widget's files, which the page uses) with the HTTP policy on a bare Sanic app,
settings from the ``FAQBOT_*`` environment (``faqbot.config.to_env``).
``python -m tests.bot.console.console_server PORT``; ``serving(settings)`` runs it for a test."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

from sanic import Sanic

from bot.console.app import console_blueprint
from bot.console.kb_lookup import KbLookup
from bot.handoff.desk import HandoffDesk
from bot.server.widget import webchat_blueprint
from bot.web import install as install_http_policy
from faqbot.config import PROJECT_ROOT, Settings, load_settings, to_env


def main() -> None:
    settings = load_settings()
    app = Sanic("console_under_test")
    desk = HandoffDesk(settings)
    app.blueprint(console_blueprint(desk, KbLookup(settings)))
    app.blueprint(webchat_blueprint())  # the console page uses the widget's Markdown renderer
    install_http_policy(app, settings)
    app.run(host="127.0.0.1", port=int(sys.argv[1]), workers=1, access_log=False, motd=False)


def _answers(url: str) -> bool:
    from tests.bot.web.client import call

    try:
        return call(url, "GET", "/widget/widget.js").status == 200
    except OSError:
        return False


@contextlib.contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """This server in a subprocess with ``settings``, until the block ends: its URL. Its
    output goes to ``data_dir/console.log``, shown when it fails to start."""
    from tests.bot.conftest import free_port
    from tests.polling import wait_until

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {**os.environ, **to_env(settings), "PYTHONPATH": str(PROJECT_ROOT)}
    with open(settings.data_dir / "console.log", "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "tests.bot.console.console_server", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: server.poll() is not None or _answers(url), 90, "the console server to answer")
            assert server.poll() is None, (settings.data_dir / "console.log").read_text(errors="replace")
            yield url
        finally:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    main()
