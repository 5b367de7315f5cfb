"""Canned replies: the team's and each agent's own, on SQLite and the local PostgreSQL."""

from __future__ import annotations

import uuid

import pytest

from bot.handoff.canned import CannedError, CannedReplies
from tests.databases import postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def replies(request, tmp_path) -> CannedReplies:
    return CannedReplies(f"sqlite:///{tmp_path / 'c.sqlite'}" if request.param == "sqlite" else postgres_url())


def test_team_replies_are_shared_and_personal_ones_are_not(replies):
    li, wang, tag = f"li-{uuid.uuid4().hex[:6]}", f"wang-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex[:6]
    team = replies.add(li, f"/退款{tag}", "退款 1–7 个工作日原路退回。", team=True)
    own = replies.add(li, f"hi{tag}", "您好，我是小李。", team=False)
    assert team.shortcut == f"退款{tag}" and team.to_json()["team"] and not own.to_json()["team"]
    assert {r.id for r in replies.for_agent(li)} >= {team.id, own.id}
    seen_by_wang = {r.id for r in replies.for_agent(wang)}
    assert team.id in seen_by_wang and own.id not in seen_by_wang
    with pytest.raises(CannedError, match="is taken"):
        replies.add(wang, f"退款{tag}", "别的", team=True)
    replies.add(wang, f"hi{tag}", "您好，我是小王。", team=False)  # personal shortcuts are per agent
    for shortcut, text, problem in (("有 空格", "x", "without spaces"), ("", "x", "1 to 32"), ("ok", " ", "1 to 2000")):
        with pytest.raises(CannedError, match=problem):
            replies.add(li, shortcut, text, team=False)
    with pytest.raises(CannedError, match="no such canned reply"):
        replies.remove(wang, own.id)  # not wang's
    replies.remove(li, own.id)
    assert own.id not in {r.id for r in replies.for_agent(li)}
    with pytest.raises(CannedError, match="no such canned reply"):
        replies.remove(li, team.id)  # a team reply is the admins' to remove, even for its author
    replies.remove(wang, team.id, admin=True)
    assert team.id not in {r.id for r in replies.for_agent(li)}
