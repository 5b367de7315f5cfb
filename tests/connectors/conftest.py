"""Connector tests run the real bot (fixtures from tests/bot/conftest.py) with
platform secrets in its environment (a module's ``ENV``) and its platform API
base URLs pointed at a fake platform on loopback (``fake_platform``)."""

from __future__ import annotations

import pytest

from tests.bot.conftest import bot_settings, running_bot  # noqa: F401  (shared fixtures)
from tests.connectors.fake_platform import FakePlatform


@pytest.fixture(scope="module")
def fake_platform():
    platform = FakePlatform()
    try:
        yield platform
    finally:
        platform.close()
