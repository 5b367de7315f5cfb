"""The conversation corpus end to end: every conversation in
tests/data/conversations/ over the REST channel against the real servers, one
test each, a readable transcript for a failure and a one-line-per-conversation
summary at the end. Nobody is signed in to the console here, so a request for
a person takes a message (留言)."""

from __future__ import annotations

import pytest

from tests.conversations import Outcome, kb_answers, load, rest_sender, run, summary

pytestmark = pytest.mark.slow

CONVERSATIONS = load()


def _param(conversation):
    marks = [pytest.mark.xfail(reason=conversation.xfail, strict=True)] if conversation.xfail else []
    return pytest.param(conversation, id=conversation.name, marks=marks)


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest):
    done: list[Outcome] = []
    yield done
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and done:
        reporter.write_line("")
        for line in summary(done).splitlines():
            reporter.write_line(line)


@pytest.fixture(scope="module")
def answers(bot_settings):
    return kb_answers(bot_settings.kb_dir)


@pytest.fixture(scope="module")
def send(running_bot):
    return rest_sender(running_bot.rest_webhook.removesuffix("/webhooks/rest/webhook"))


def test_the_corpus_is_big_enough_and_covers_the_reported_failures():
    assert len(CONVERSATIONS) >= 80
    assert sum(len(c.turns) >= 2 for c in CONVERSATIONS) >= 80
    assert sum("issue13" in c.tags for c in CONVERSATIONS) >= 20


@pytest.mark.parametrize("conversation", [_param(c) for c in CONVERSATIONS])
def test_conversation(conversation, send, answers, outcomes):
    outcome = run(conversation, send, answers)
    outcomes.append(outcome)
    assert outcome.passed, outcome.report()
