"""Channel state in the shared database (connectors/channel_state.py), on SQLite and on the real
PostgreSQL: two servers' stores read each other's writes, and a map an earlier version kept in a
JSON file is taken over once."""

from __future__ import annotations

import asyncio
import json

import pytest

from connectors.channel_state import ChannelStateStore
from tests.databases import scratch_database


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_two_servers_share_the_maps(kind, tmp_path):
    with scratch_database(kind, tmp_path) as url:
        one, other = ChannelStateStore(url), ChannelStateStore(url)  # as two servers would open it

        async def scenario() -> list[object]:
            cursors, elsewhere = one.map("wecom_kf_cursor"), other.map("wecom_kf_cursor")
            seen: list[object] = [await elsewhere.get("wkA")]
            await cursors.put("wkA", "c1")
            await elsewhere.put("wkA", "c2")  # the other server read on
            seen += [await cursors.get("wkA"), await one.map("wecom_kf_humans").get("wkA")]
            seen += [await elsewhere.delete("wkA"), await cursors.delete("wkA"), await cursors.get("wkA")]
            return seen

        assert asyncio.run(scenario()) == ["", "c2", "", True, False, ""]
        one.engine.dispose()
        other.engine.dispose()


def test_a_json_file_of_an_earlier_version_is_taken_over_once(tmp_path):
    store = ChannelStateStore(f"sqlite:///{tmp_path / 'bot.sqlite'}")
    store.put("wecom_kf_cursor", "wkB", "newer")
    old = tmp_path / "wecom_kf_cursor.json"
    old.write_text(json.dumps({"wkA": "c9", "wkB": "older"}), encoding="utf-8")
    assert store.import_json("wecom_kf_cursor", old) == 1
    assert (store.get("wecom_kf_cursor", "wkA"), store.get("wecom_kf_cursor", "wkB")) == ("c9", "newer")
    assert not old.exists() and (tmp_path / "wecom_kf_cursor.json.imported").exists()
    assert store.import_json("wecom_kf_cursor", old) == 0  # nothing left to take over
