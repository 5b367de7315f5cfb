"""While another server publishes (it holds the lease ``studio_publish``), the studio's publish
and rollback routes wait ``[console] studio_publish_wait_seconds`` and then answer 409 with a
message the editor reads; once that publish ends the same request goes through. A real console
server on the real PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from bot.handoff.lease import Leases
from bot.studio.publish_lease import LEASE
from faqbot.config import Settings
from indexer.service import build_and_publish
from tests.bot.console.console_server import serving
from tests.bot.console.test_studio_versions import EDITOR_NAME, PASSWORD, editor
from tests.bot.web.client import call, sign_in
from tests.databases import scratch_database

pytestmark = pytest.mark.slow

OTHER = "web-2:202:publishing"  # another server's publish


@pytest.fixture
def console(tiny_kb: Settings, embedder, tmp_path) -> Iterator[tuple[str, Settings]]:
    with scratch_database("postgresql", tmp_path) as url:
        settings = tiny_kb.replace(
            bot=dataclasses.replace(tiny_kb.bot, database_url=url),
            index=dataclasses.replace(tiny_kb.index, shared=True),
            console=dataclasses.replace(tiny_kb.console, studio_publish_wait_seconds=0.5),
        )
        build_and_publish(settings, embedder=embedder)
        editor(settings)
        with serving(settings) as served:
            yield served, settings


def test_a_publish_while_another_server_publishes_is_a_409_the_editor_can_read(console):
    url, settings = console
    auth = {"Authorization": f"Bearer {sign_in(url, EDITOR_NAME, PASSWORD)}"}
    leases = Leases(settings.database_url)
    assert leases.take(LEASE, OTHER, 120)
    for path in ("/console/api/studio/publish", "/console/api/studio/versions/1/rollback"):
        busy = call(url, "POST", path, auth, {})
        assert (busy.status, busy.json["error"]) == (409, "另一台服务器正在发布，请稍后再试"), path
    assert leases.holder(LEASE)[0] == OTHER  # the waiting publish did not take it over

    assert leases.release(LEASE, OTHER)
    after = call(url, "POST", "/console/api/studio/publish", auth, {})
    assert (after.status, after.json["error"]) == (400, "没有可以发布的修改：修改要先提交审核并获批准")
    assert leases.holder(LEASE) is None  # taken for that publish and released
