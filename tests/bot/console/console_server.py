"""The console's HTTP side alone, for tests that need no Rasa: the console blueprint (and
the widget's files, which the page uses) with the HTTP policy on a bare Sanic app,
settings from the ``FAQBOT_*`` environment (``faqbot.config.to_env``).
``python -m tests.bot.console.console_server PORT``."""

from __future__ import annotations

import sys

from sanic import Sanic

from bot.console.app import console_blueprint
from bot.console.kb_lookup import KbLookup
from bot.handoff.desk import HandoffDesk
from bot.server.widget import webchat_blueprint
from bot.web import install as install_http_policy
from faqbot.config import load_settings


def main() -> None:
    settings = load_settings()
    app = Sanic("console_under_test")
    desk = HandoffDesk(settings)
    app.blueprint(console_blueprint(desk, KbLookup(settings)))
    app.blueprint(webchat_blueprint())  # the console page uses the widget's Markdown renderer
    install_http_policy(app, settings)
    app.run(host="127.0.0.1", port=int(sys.argv[1]), workers=1, access_log=False, motd=False)


if __name__ == "__main__":
    main()
