"""The longest accepted message through the real servers over REST: answered
(or clarified) when it opens with a question, a fallback when it is noise,
refused one character above the limit."""

from __future__ import annotations

import random

import pytest

from connectors.guard import MAX_MESSAGE_CHARS
from indexer.kb import load_kb
from tests.bot.conftest import Chat
from tests.indexer.test_longtext import complaint

pytestmark = pytest.mark.slow


def test_a_complaint_of_the_maximum_length_finds_its_question(chat: Chat, bot_settings):
    faq = {e.id: e for e in load_kb(bot_settings.kb_dir).entries}["ex-withdraw-fee"]
    reply = chat.say(complaint("提币要收多少手续费？", at_end=False))
    assert reply.status == 200
    answered = faq.answer.strip() in reply.texts
    clarified = faq.question in [b["title"] for b in reply.buttons]
    assert answered or clarified, reply.messages


def test_noise_of_the_maximum_length_falls_back(chat: Chat):
    rng = random.Random(5)
    reply = chat.say("".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(MAX_MESSAGE_CHARS)))
    assert reply.status == 200
    assert "没有找到" in reply.text


def test_one_character_over_the_limit_is_refused(chat: Chat):
    # The REST channel says so with 413 (connectors/rest.py); chat channels reply
    # with connectors.guard.TOO_LONG (tests/connectors/test_guard.py).
    reply = chat.say("测" * (MAX_MESSAGE_CHARS + 1))
    assert reply.status == 413 and reply.messages == []
