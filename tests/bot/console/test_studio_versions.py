"""The studio's 发布历史 with several servers (``[index] shared``): the versions route lists
which version each server serves and when it last reported, and the page shows it in a
table, a server silent for more than 30 s marked 可能已离线. A real console server on the
real PostgreSQL, a real index, headless Chromium."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.handoff.agents import AgentStore
from bot.handoff.teams import EDITOR, Teams
from faqbot.config import Settings
from indexer.service import build_and_publish, shared_index
from indexer.shared_index import index_nodes
from tests.bot.console.console_server import serving
from tests.bot.web.client import call, sign_in
from tests.databases import scratch_database

pytestmark = pytest.mark.slow

EDITOR_NAME, PASSWORD = "ed", "pass-word-123"
FRESH, SILENT = "web-1:101", "web-2:202"


def editor(settings: Settings) -> None:
    AgentStore(settings.database_url).add(EDITOR_NAME, PASSWORD, "小编")
    Teams(settings.database_url).set_role(EDITOR_NAME, EDITOR)


@pytest.fixture
def shared(tiny_kb: Settings, embedder, tmp_path) -> Iterator[tuple[str, Settings, str]]:
    """A console server with a shared index, and two other servers' reports: one that
    reported a minute ago, one that reports when the test asks it to."""
    with scratch_database("postgresql", tmp_path) as url:
        settings = tiny_kb.replace(
            bot=dataclasses.replace(tiny_kb.bot, database_url=url),
            index=dataclasses.replace(tiny_kb.index, shared=True),
        )
        version = build_and_publish(settings, embedder=embedder).version
        index = shared_index(settings)
        index.report(SILENT, version)
        with index.engine.begin() as conn:
            minute_ago = datetime.now(UTC) - timedelta(seconds=60)
            conn.execute(index_nodes.update().where(index_nodes.c.node == SILENT).values(seen_at=minute_ago))
        editor(settings)
        try:
            with serving(settings) as console:
                yield console, settings, version
        finally:
            index.engine.dispose()


def versions(url: str) -> dict:
    token = sign_in(url, EDITOR_NAME, PASSWORD)
    found = call(url, "GET", "/console/api/studio/versions", {"Authorization": f"Bearer {token}"})
    assert found.status == 200, found.body
    return found.json


def test_the_versions_route_lists_every_servers_version_and_the_page_marks_a_silent_one(shared, browser):
    from playwright.sync_api import expect

    from tests.bot.test_handoff_e2e import sign_in as sign_in_page

    url, settings, version = shared
    shared_index(settings).report(FRESH, version)
    found = versions(url)
    nodes = {n["node"]: n for n in found["nodes"]}
    assert nodes[FRESH]["version"] == nodes[SILENT]["version"] == version
    assert set(nodes[FRESH]) == {"node", "version", "seen_at"}
    now = datetime.fromisoformat(found["now"])
    assert now - datetime.fromisoformat(nodes[SILENT]["seen_at"]) > timedelta(seconds=30)
    assert now - datetime.fromisoformat(nodes[FRESH]["seen_at"]) < timedelta(seconds=30)

    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        sign_in_page(page, url, EDITOR_NAME, PASSWORD, "小编")
        shared_index(settings).report(FRESH, version)  # just now, whatever the sign-in took
        page.get_by_test_id("tab-studio").click()
        table = page.get_by_test_id("kb-nodes")
        expect(table).to_be_visible()
        expect(table.locator("th")).to_have_text(["服务器", "版本", "最后报告"])
        silent = table.locator(f'[data-testid="kb-node"][data-node="{SILENT}"]')
        expect(silent).to_contain_text(version)
        expect(silent.get_by_test_id("kb-node-silent")).to_have_text("可能已离线")
        fresh = table.locator(f'[data-testid="kb-node"][data-node="{FRESH}"]')
        expect(fresh).to_contain_text(version)
        expect(fresh.get_by_test_id("kb-node-silent")).to_have_count(0)
        assert errors == []
    finally:
        page.context.close()


def test_without_a_shared_index_there_are_no_servers_to_list(tiny_kb, embedder, browser):
    from playwright.sync_api import expect

    from tests.bot.test_handoff_e2e import sign_in as sign_in_page

    build_and_publish(tiny_kb, embedder=embedder)
    editor(tiny_kb)
    with serving(tiny_kb) as url:
        assert versions(url)["nodes"] == []
        page = browser.new_context().new_page()
        try:
            sign_in_page(page, url, EDITOR_NAME, PASSWORD, "小编")
            page.get_by_test_id("tab-studio").click()
            expect(page.get_by_test_id("kb-versions")).to_contain_text("还没有在工作室发布过")  # rendered
            expect(page.get_by_test_id("kb-nodes-section")).to_be_hidden()
        finally:
            page.context.close()
