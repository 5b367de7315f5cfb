"""The conversation state machine: for every state a conversation can be in and
every kind of message a customer can send, what happens.

Before it, what happened to a message was decided in six places (NLU intents,
the intent guard, Rasa rules and the core fallback, the actions' overrides, the
turn logic and the hand-off gate) and the state was spread over slots and
tables. Now two readers classify a message into a ``Said`` and look up the one
``TABLE``:

- the hand-off gate (``bot/server/gate.py``), for the states a person owns or
  a message (留言) is being left in, which live in the hand-off tables;
- the bot's one action (``bot/actions/turn.py``), for the bot's own states,
  which live in Rasa slots (``phase``).

Both carry out the resulting ``Do`` with an exhaustive ``match``. The table is
data: ``markdown()`` renders it for the README, and a test checks that the two
agree and that every state answers every kind of message. Pure: no Rasa, no
database, no retrieval (the retrieval's verdict is an input to ``said_to_bot``).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from bot.handoff.wording import CANCEL_WORDS, THANKS_WORDS, YES_WORDS, contact_of, plain


class Phase(enum.StrEnum):
    """Where the conversation is."""

    BOT = "bot"  # the bot answers
    CLARIFYING = "clarifying"  # the bot asked "您是想问：" with several choices
    OFFERING = "offering"  # the bot offered one thing a plain 是的 accepts (a person, or one FAQ)
    LEAVING_CONTACT = "leaving_contact"  # 留言: asked for a phone number or e-mail
    CONTACT_RETRY = "contact_retry"  # 留言: asked again once; next time skipping is offered
    LEAVING_QUESTION = "leaving_question"  # 留言: asked for (or to confirm) the question
    FOLLOWING_UP = "following_up"  # an answered 留言 reopened (还有问题): asked what to add
    WAITING = "waiting"  # queued for an agent
    WITH_AGENT = "with_agent"  # an agent is talking with the customer


BOT_PHASES = (Phase.BOT, Phase.CLARIFYING, Phase.OFFERING)
MESSAGE_PHASES = (Phase.LEAVING_CONTACT, Phase.CONTACT_RETRY, Phase.LEAVING_QUESTION, Phase.FOLLOWING_UP)
PERSON_PHASES = (Phase.WAITING, Phase.WITH_AGENT)


class Said(enum.StrEnum):
    """What kind of message the customer sent."""

    QUESTION = "question"  # free text that is (or may be) a question
    SMALL_TALK = "small_talk"  # a greeting, thanks, goodbye, chit-chat, and really only that
    REQUEST_HUMAN = "request_human"  # 转人工, typed or its button
    CANCEL = "cancel"  # 取消 / 算了 / 不用了 / the way-out button
    AFFIRM = "affirm"  # 是的 / 好的
    DENY = "deny"  # 不是 / 不要
    CHOICE = "choice"  # a question button of the latest turn (clarify, hot question)
    FEEDBACK = "feedback"  # 有帮助 / 没帮助 under the latest answer
    RATING = "rating"  # 满意 / 不满意 after an agent closed the chat
    SKIP = "skip"  # 留言 without a contact (the button offered after a second miss)
    STALE_BUTTON = "stale_button"  # a button of an earlier turn
    TYPED_PAYLOAD = "typed_payload"  # a "/payload" the bot never offered: read as plain text
    CONTACT = "contact"  # a phone number or e-mail address (also in a sentence)
    BAD_CONTACT = "bad_contact"  # digits or "@" that are not a usable contact
    NONSENSE = "nonsense"  # no word at all (punctuation, emoji only)
    EMPTY = "empty"  # nothing but spaces
    OVERSIZED = "oversized"  # longer than a channel accepts


class Do(enum.StrEnum):
    """What happens."""

    ANSWER = "answer"  # retrieval: answer, clarify or "没有找到" (+ the policy: hand-off after misses)
    SMALL_TALK = "small_talk"  # the greeting (with hot questions), 不客气, goodbye, "I am a bot"
    HAND_OFF = "hand_off"  # queue for an agent, or take a message when nobody can answer
    CHOSEN = "chosen"  # answer the FAQ the button names
    FEEDBACK = "feedback"  # record it once, against the answer it was under
    RATE = "rate"  # record the service rating (once, for the customer's own hand-off)
    ACCEPT = "accept"  # carry out what was offered (a person, or the one FAQ)
    DECLINE = "decline"  # "好的" and nothing on offer any more
    PICK_ONE = "pick_one"  # 是的 to several choices: ask which, the buttons stay
    NOTHING_PENDING = "nothing_pending"  # 是的 / 取消 with nothing on offer: say so plainly
    AS_LABEL = "as_label"  # an old button does what its label says, as a fresh turn (feedback: a note)
    SAVE_CONTACT = "save_contact"  # say what was understood, then ask for / confirm the question
    ASK_CONTACT_AGAIN = "ask_contact_again"  # say what is missing (once)
    OFFER_SKIP = "offer_skip"  # second miss: offer to leave the message without a contact
    REMIND = "remind"  # repeat what the step needs, with the way-out buttons
    ESCAPE = "escape"  # leave the unfinished 留言 (recorded as escaped) and let the bot answer
    SKIP_CONTACT = "skip_contact"  # go on to the question without a contact
    SUBMIT = "submit"  # submit the 留言 with this text (or the carried question after 是)
    CANCEL_MESSAGE = "cancel_message"  # drop the unfinished 留言
    LEAVE_QUEUE = "leave_queue"  # stop waiting for an agent
    ALREADY_QUEUED = "already_queued"  # 转人工 again while waiting
    TO_AGENT = "to_agent"  # into the agent's log (a button as its visible label)
    IGNORE = "ignore"  # nothing to do and nothing to say
    TOO_LONG = "too_long"  # refused with the limit (by the channel guard, before any state)


@dataclass(frozen=True)
class Row:
    """One state's answers to every kind of message."""

    phase: Phase
    answers: dict[Said, Do]


def _bot_row(phase: Phase, **changes: Do) -> dict[Said, Do]:
    base = {
        Said.QUESTION: Do.ANSWER,
        Said.SMALL_TALK: Do.SMALL_TALK,
        Said.REQUEST_HUMAN: Do.HAND_OFF,
        Said.CANCEL: Do.NOTHING_PENDING,
        Said.AFFIRM: Do.NOTHING_PENDING,
        Said.DENY: Do.NOTHING_PENDING,
        Said.CHOICE: Do.CHOSEN,
        Said.FEEDBACK: Do.FEEDBACK,
        Said.RATING: Do.RATE,
        Said.SKIP: Do.NOTHING_PENDING,
        Said.STALE_BUTTON: Do.AS_LABEL,
        Said.TYPED_PAYLOAD: Do.ANSWER,
        Said.CONTACT: Do.ANSWER,
        Said.BAD_CONTACT: Do.ANSWER,
        Said.NONSENSE: Do.ANSWER,
        Said.EMPTY: Do.REMIND,
        Said.OVERSIZED: Do.TOO_LONG,
    }
    base.update({Said(k): v for k, v in changes.items()})
    return base


def _message_row(**changes: Do) -> dict[Said, Do]:
    base = {
        Said.QUESTION: Do.ESCAPE,
        Said.SMALL_TALK: Do.ESCAPE,
        Said.REQUEST_HUMAN: Do.REMIND,
        Said.CANCEL: Do.CANCEL_MESSAGE,
        Said.AFFIRM: Do.REMIND,
        Said.DENY: Do.CANCEL_MESSAGE,
        Said.CHOICE: Do.ESCAPE,
        Said.FEEDBACK: Do.ESCAPE,
        Said.RATING: Do.RATE,
        Said.SKIP: Do.SKIP_CONTACT,
        Said.STALE_BUTTON: Do.ESCAPE,
        Said.TYPED_PAYLOAD: Do.ESCAPE,
        Said.CONTACT: Do.SAVE_CONTACT,
        Said.BAD_CONTACT: Do.ASK_CONTACT_AGAIN,
        Said.NONSENSE: Do.REMIND,
        Said.EMPTY: Do.REMIND,
        Said.OVERSIZED: Do.TOO_LONG,
    }
    base.update({Said(k): v for k, v in changes.items()})
    return base


def _person_row(**changes: Do) -> dict[Said, Do]:
    base = {said: Do.TO_AGENT for said in Said}
    base.update({Said.RATING: Do.RATE, Said.EMPTY: Do.IGNORE, Said.OVERSIZED: Do.TOO_LONG})
    base.update({Said(k): v for k, v in changes.items()})
    return base


TABLE: tuple[Row, ...] = (
    Row(Phase.BOT, _bot_row(Phase.BOT)),
    Row(Phase.CLARIFYING, _bot_row(Phase.CLARIFYING, affirm=Do.PICK_ONE, deny=Do.DECLINE, cancel=Do.DECLINE)),
    Row(Phase.OFFERING, _bot_row(Phase.OFFERING, affirm=Do.ACCEPT, deny=Do.DECLINE, cancel=Do.DECLINE)),
    Row(Phase.LEAVING_CONTACT, _message_row()),
    Row(Phase.CONTACT_RETRY, _message_row(bad_contact=Do.OFFER_SKIP, nonsense=Do.OFFER_SKIP)),
    Row(
        Phase.LEAVING_QUESTION,
        _message_row(
            question=Do.SUBMIT,
            small_talk=Do.REMIND,
            affirm=Do.SUBMIT,
            bad_contact=Do.SUBMIT,
            skip=Do.REMIND,
        ),
    ),
    # Whatever the customer writes is what they add (a number, a sentence the bot would not
    # understand); small talk ("好的谢谢") adds nothing and goes to the bot.
    Row(
        Phase.FOLLOWING_UP,
        _message_row(
            question=Do.SUBMIT,
            nonsense=Do.SUBMIT,
            contact=Do.SUBMIT,
            bad_contact=Do.SUBMIT,
            skip=Do.REMIND,
        ),
    ),
    Row(Phase.WAITING, _person_row(cancel=Do.LEAVE_QUEUE, deny=Do.LEAVE_QUEUE, request_human=Do.ALREADY_QUEUED)),
    Row(Phase.WITH_AGENT, _person_row()),
)

_BY_PHASE = {row.phase: row.answers for row in TABLE}


def step(phase: Phase, said: Said) -> Do:
    """The one decision: what a message of kind ``said`` does in ``phase``."""
    return _BY_PHASE[phase][said]


# --- Reading a message -------------------------------------------------------

_WORD = re.compile(r"[\u3400-\u9fff\uf900-\ufaffA-Za-z0-9]")
_DIGITS = re.compile(r"\d")
# 转人工 and the like: always a request for a person, whatever else retrieval finds.
HUMAN_WORDS = ("转人工", "人工客服", "人工服务", "找人工", "要人工", "真人客服", "人工")
SKIP_WORDS = {"不留联系方式", "跳过", "直接留言", "跳过联系方式"}


# A person asked for with a verb: a request whatever else the message says.
ASKING_VERBS = ("转人工", "找人工", "要人工", "接人工", "转接人工", "我要人工", "帮我转")
# What customers ask *about* the people (the wait, the hours, the cost, the languages).
ABOUT_PEOPLE = (
    *("多久", "多长时间", "几点", "什么时候", "时间", "排队"),
    *("收费", "费用", "要钱", "上班", "下班", "语言", "英文"),
)


def asks_for_human(text: str) -> bool:
    """A request for a person: these words win over any FAQ match (``asks_about_people``
    is the one exception, and only where the FAQ answers it)."""
    words = plain(text)
    return any(w in words for w in HUMAN_WORDS)


def asks_about_people(text: str) -> bool:
    """ "人工客服要排队多久", "人工服务几点下班": a question about the agents, not a request for
    one (no asking verb such as 转人工 / 找人工)."""
    words = plain(text)
    return not any(v in words for v in ASKING_VERBS) and any(w in words for w in ABOUT_PEOPLE)


def is_nonsense(text: str) -> bool:
    """No letter, digit or CJK character at all: nothing to search for."""
    return _WORD.search(text) is None


def said_at_gate(text: str, *, payload_label: str | None = None) -> Said:
    """A message read by the hand-off gate, which has no NLU: the words of its
    own steps (取消, 是, a contact), thanks (small talk), a button payload
    (``payload_label`` is the title the button had, None when the bot never
    offered it) and plain text."""
    stripped = text.strip()
    if not stripped:
        return Said.EMPTY
    if stripped.startswith("/"):
        if stripped.startswith("/request_human"):
            return Said.REQUEST_HUMAN
        return Said.STALE_BUTTON if payload_label is not None else Said.TYPED_PAYLOAD
    words = plain(stripped)
    if words in CANCEL_WORDS:
        return Said.CANCEL
    if words in YES_WORDS:
        return Said.AFFIRM
    if words in SKIP_WORDS:
        return Said.SKIP
    if words in THANKS_WORDS:
        return Said.SMALL_TALK
    if asks_for_human(stripped):
        return Said.REQUEST_HUMAN
    if contact_of(stripped) is not None:
        return Said.CONTACT
    if is_nonsense(stripped):
        return Said.NONSENSE
    if "@" in stripped or len(_DIGITS.findall(stripped)) >= 5:
        return Said.BAD_CONTACT
    return Said.QUESTION


# --- The table, for people ----------------------------------------------------

PHASE_NAMES = {
    Phase.BOT: "机器人应答",
    Phase.CLARIFYING: "等待选择（您是想问）",
    Phase.OFFERING: "等待确认（转人工 / 是这个问题吗）",
    Phase.LEAVING_CONTACT: "留言：等联系方式",
    Phase.CONTACT_RETRY: "留言：再次等联系方式",
    Phase.LEAVING_QUESTION: "留言：等问题描述 / 确认",
    Phase.FOLLOWING_UP: "留言：等补充内容（还有问题）",
    Phase.WAITING: "排队等人工",
    Phase.WITH_AGENT: "人工服务中",
}


def markdown() -> str:
    """The table as Markdown (README "Conversation states"): rows are what the
    customer sent, columns the states, cells what happens."""
    phases = [row.phase for row in TABLE]
    lines = [
        "| message \\ state | " + " | ".join(f"`{p}`" for p in phases) + " |",
        "|---|" + "---|" * len(phases),
    ]
    for said in Said:
        lines.append(f"| `{said}` | " + " | ".join(step(p, said) for p in phases) + " |")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m bot.dialogue.conversation > table.md
    print(markdown())


# --- Reading a message the bot gets -------------------------------------------

SMALL_TALK_INTENTS = frozenset({"greet", "goodbye", "thanks", "bot_challenge", "chitchat"})
# At most this many characters (CJK) or words and a message is small talk even when it resembles an
# FAQ ("有人吗", "谢谢"); longer, and a confident FAQ match makes it a question.
SMALL_TALK_MAX_UNITS = 6
_PLEASANTRY = re.compile(
    r"^(?:你好呀?|您好|嗨|哈喽|hi|hello|在吗|在不在|有人吗|谢谢(?:你|您)?|多谢|感谢|好的|嗯+|请问)[\s,，。.!！?？~～、]*",
    re.IGNORECASE,
)


# Message metadata the gate sets on every message it lets through (whatever the
# client sent under these keys is overwritten): which turn's button it was.
BUTTON_KEY, LABEL_KEY = "faqbot_button", "faqbot_label"


class Button(enum.StrEnum):
    """Whether a payload message came from a button of the latest turn (the gate's screen says)."""

    CURRENT = "current"
    STALE = "stale"
    NONE = "none"  # typed text, or a payload the bot never offered (already plain text)


def without_pleasantries(text: str) -> str:
    """The question in "你好，提现多久到账" / "在吗？忘记密码了": the greeting in
    front is dropped, so retrieval and follow-up resolution read the question."""
    rest = text.strip()
    while True:
        shorter = _PLEASANTRY.sub("", rest, count=1)
        if shorter == rest:
            return rest if _WORD.search(rest) else text.strip()
        rest = shorter


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


class Found(enum.StrEnum):
    """What retrieval made of the message (``indexer.decide.Action``, or nothing searched)."""

    ANSWER = "answer"
    CLARIFY = "clarify"
    FALLBACK = "fallback"
    NOTHING = "nothing"


def said_to_bot(intent: str, text: str, button: Button, found: Found) -> Said:
    """A message the bot reads (the gate let it through): the intent NLU gave,
    whether it is a button of this turn, and what retrieval found. Retrieval
    wins over small talk, 是的/不用了 and even the classifier's 转人工 unless the
    words ask for a person outright: a confident match always, a plausible one
    (clarify) when the message is longer than small talk ever is."""
    if button != Button.NONE:
        if intent == "greet":
            return Said.SMALL_TALK  # the welcome channels send themselves
        if button == Button.STALE:
            return Said.STALE_BUTTON
        return {
            "choose_faq": Said.CHOICE,
            "feedback_positive": Said.FEEDBACK,
            "feedback_negative": Said.FEEDBACK,
            "request_human": Said.REQUEST_HUMAN,
            "affirm": Said.AFFIRM,
            "deny": Said.DENY,
        }.get(intent, Said.QUESTION)
    stripped = text.strip()
    if not stripped:
        return Said.EMPTY
    if is_nonsense(stripped):
        return Said.NONSENSE
    if asks_for_human(stripped) and not (found == Found.ANSWER and asks_about_people(stripped)):
        return Said.REQUEST_HUMAN
    long_enough = word_count(stripped) > SMALL_TALK_MAX_UNITS
    # chit-chat is "anything off-topic": a confident FAQ match says it is not.
    if found == Found.ANSWER and (long_enough or intent in ("request_human", "chitchat")):
        return Said.QUESTION
    if found == Found.CLARIFY and long_enough and intent != "request_human":
        return Said.QUESTION
    if intent == "request_human":
        return Said.REQUEST_HUMAN
    if intent in SMALL_TALK_INTENTS:
        return Said.SMALL_TALK
    if intent == "affirm":
        return Said.AFFIRM
    if intent == "deny":
        return Said.CANCEL if plain(stripped) in CANCEL_WORDS else Said.DENY
    if intent in ("feedback_positive", "feedback_negative"):
        return Said.FEEDBACK
    return Said.QUESTION
