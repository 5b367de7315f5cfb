"""The conversation state machine: the table is complete, the README shows the
same table, each reader classifies messages as a customer means them, and no
state traps the customer."""

from __future__ import annotations

import pytest

from bot.dialogue.conversation import (
    BOT_PHASES,
    MESSAGE_PHASES,
    PERSON_PHASES,
    TABLE,
    Button,
    Do,
    Found,
    Phase,
    Said,
    markdown,
    said_at_gate,
    said_to_bot,
    step,
    without_pleasantries,
)
from bot.handoff.wording import contact_of
from faqbot.config import PROJECT_ROOT

GATE_ONLY = {
    Do.SAVE_CONTACT,
    Do.ASK_CONTACT_AGAIN,
    Do.OFFER_SKIP,
    Do.ESCAPE,
    Do.SKIP_CONTACT,
    Do.SUBMIT,
    Do.CANCEL_MESSAGE,
    Do.LEAVE_QUEUE,
    Do.ALREADY_QUEUED,
    Do.TO_AGENT,
}


def test_every_state_answers_every_kind_of_message():
    assert [row.phase for row in TABLE] == list(Phase)
    for row in TABLE:
        assert set(row.answers) == set(Said), row.phase


def test_the_readme_shows_the_table_the_code_uses():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert markdown() in readme, "README is stale: paste `python -m bot.dialogue.conversation`"


def test_walking_the_table_each_cell_is_the_step_taken():
    for row in TABLE:
        for said, do in row.answers.items():
            assert step(row.phase, said) is do


def test_the_bot_and_the_gate_each_get_only_their_own_steps():
    for phase in BOT_PHASES:
        assert not {step(phase, s) for s in Said} & GATE_ONLY, phase
    for phase in MESSAGE_PHASES + PERSON_PHASES:
        assert step(phase, Said.QUESTION) in {Do.ESCAPE, Do.SUBMIT, Do.TO_AGENT}, phase


@pytest.mark.parametrize("phase", list(Phase))
def test_no_trap_a_question_is_answered_and_there_is_a_way_out(phase):
    """A question reaches the bot (or the agent, or is the 留言's own question),
    and every state has a message that leaves it."""
    assert step(phase, Said.QUESTION) in {Do.ANSWER, Do.ESCAPE, Do.SUBMIT, Do.TO_AGENT}
    if phase in MESSAGE_PHASES:
        assert step(phase, Said.CANCEL) is Do.CANCEL_MESSAGE
    if phase is Phase.WAITING:
        assert step(phase, Said.CANCEL) is Do.LEAVE_QUEUE
    if phase in (Phase.CLARIFYING, Phase.OFFERING):
        assert step(phase, Said.DENY) is Do.DECLINE


def test_a_contact_is_asked_again_once_then_skipping_is_offered():
    assert step(Phase.LEAVING_CONTACT, Said.BAD_CONTACT) is Do.ASK_CONTACT_AGAIN
    assert step(Phase.CONTACT_RETRY, Said.BAD_CONTACT) is Do.OFFER_SKIP
    assert step(Phase.CONTACT_RETRY, Said.SKIP) is Do.SKIP_CONTACT


@pytest.mark.parametrize(
    ("text", "label", "said"),
    [
        ("取消", None, Said.CANCEL),
        ("取消留言。", None, Said.CANCEL),
        ("是", None, Said.AFFIRM),
        ("提交", None, Said.AFFIRM),
        ("不留联系方式", None, Said.SKIP),
        ("我的手机是13800000000", None, Said.CONTACT),
        ("邮箱 a@b.cn", None, Said.CONTACT),
        ("138 0000", None, Said.BAD_CONTACT),
        ("abc@", None, Said.BAD_CONTACT),
        ("转人工", None, Said.REQUEST_HUMAN),
        ("/request_human", "转人工", Said.REQUEST_HUMAN),
        ('/choose_faq{"faq_id": "x"}', "提现多久到账", Said.STALE_BUTTON),
        ("/restart", None, Said.TYPED_PAYLOAD),
        ("？？？", None, Said.NONSENSE),
        ("   ", None, Said.EMPTY),
        ("提现多久到账", None, Said.QUESTION),
        ("提現多久到賬", None, Said.QUESTION),
    ],
)
def test_the_gate_reads_its_steps_words(text, label, said):
    assert said_at_gate(text, payload_label=label) is said


@pytest.mark.parametrize(
    ("intent", "text", "button", "found", "said"),
    [
        ("greet", "你们客服晚上也有人吗", Button.NONE, "answer", Said.QUESTION),
        ("greet", "你好", Button.NONE, "answer", Said.SMALL_TALK),
        ("chitchat", "在哪里看公告", Button.NONE, "answer", Said.QUESTION),
        ("chitchat", "你喜欢吃什么", Button.NONE, "fallback", Said.SMALL_TALK),
        ("bot_challenge", "你是机器人吗", Button.NONE, "answer", Said.SMALL_TALK),
        ("greet", "你们客服晚上也有人吗", Button.NONE, "clarify", Said.QUESTION),
        ("request_human", "能不能帮我找个客服", Button.NONE, "clarify", Said.REQUEST_HUMAN),
        ("thanks", "非常感谢你的耐心帮助", Button.NONE, "fallback", Said.SMALL_TALK),
        ("greet", "有人吗", Button.NONE, "fallback", Said.SMALL_TALK),
        ("request_human", "客服有没有英文服务", Button.NONE, "answer", Said.QUESTION),
        ("request_human", "转人工", Button.NONE, "answer", Said.REQUEST_HUMAN),
        ("ask_faq", "我要人工客服处理提现", Button.NONE, "answer", Said.REQUEST_HUMAN),
        # A question about the agents is answered when the FAQ has it; asking for one never is.
        ("request_human", "人工客服要排队多久", Button.NONE, "answer", Said.QUESTION),
        ("request_human", "人工服务几点下班", Button.NONE, "answer", Said.QUESTION),
        ("request_human", "人工客服要排队多久", Button.NONE, "fallback", Said.REQUEST_HUMAN),
        ("request_human", "转人工要排队多久", Button.NONE, "answer", Said.REQUEST_HUMAN),
        ("request_human", "人工客服", Button.NONE, "answer", Said.REQUEST_HUMAN),
        ("request_human", "找个人来", Button.NONE, "fallback", Said.REQUEST_HUMAN),
        ("thanks", "谢谢", Button.NONE, "fallback", Said.SMALL_TALK),
        ("affirm", "是的", Button.NONE, "fallback", Said.AFFIRM),
        ("deny", "不用了", Button.NONE, "fallback", Said.CANCEL),
        ("deny", "不是", Button.NONE, "fallback", Said.DENY),
        ("feedback_positive", "有帮助", Button.CURRENT, "fallback", Said.FEEDBACK),
        ("feedback_positive", "有帮助", Button.STALE, "fallback", Said.STALE_BUTTON),
        ("choose_faq", "/choose_faq", Button.CURRENT, "fallback", Said.CHOICE),
        ("greet", "/greet", Button.STALE, "fallback", Said.SMALL_TALK),
        ("nlu_fallback", "🙂🙂", Button.NONE, "fallback", Said.NONSENSE),
        ("nlu_fallback", "", Button.NONE, "fallback", Said.EMPTY),
    ],
)
def test_the_bot_reads_retrieval_before_small_talk(intent, text, button, found, said):
    assert said_to_bot(intent, text, button, Found(found)) is said


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("你好，提现多久到账", "提现多久到账"),
        ("在吗？忘记密码了", "忘记密码了"),
        ("谢谢，那手续费呢", "那手续费呢"),
        ("你好", "你好"),
        ("请问 POS机怎么申请", "POS机怎么申请"),
    ],
)
def test_a_greeting_in_front_of_a_question_is_dropped(text, question):
    assert without_pleasantries(text) == question


@pytest.mark.parametrize(
    ("text", "contact"),
    [
        ("我的手机是13800000000", "13800000000"),
        ("138-0000-0000", "13800000000"),
        ("+86 138 0000 0000", "+8613800000000"),
        ("１３８００００００００", "13800000000"),
        ("邮箱 a@b.cn", "a@b.cn"),
        ("电话 010-12345678 白天打", "01012345678"),
        ("订单号 123456", None),
        ("a@b", None),
    ],
)
def test_a_contact_is_found_in_natural_phrasing(text, contact):
    assert contact_of(text) == contact
