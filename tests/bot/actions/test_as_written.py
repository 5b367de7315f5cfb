"""What the actions store starts from the customer's wording as typed, not the NLU's
normalised form, in which an e-mail address or an upper-case order number cannot be masked."""

from __future__ import annotations

from rasa_sdk import Tracker

from bot.actions.turn import as_written
from faqbot.normalize import normalize


def tracker_with(user_texts: list[str], latest: str) -> Tracker:
    message = {"text": latest, "intent": {"name": "ask_faq"}, "entities": []}
    events = [{"event": "user", "text": t} for t in user_texts] + [{"event": "action", "name": "action_listen"}]
    return Tracker("c", {}, message, events, False, None, {}, "action_listen")


def test_the_typed_wording_of_the_same_message_is_used():
    typed = "邮箱Zhang.San@Example.com收不到，订单DD202612031234"
    normalised = normalize(typed)
    assert normalised != typed and "@" not in normalised
    assert as_written(tracker_with(["你好", typed], normalised), normalised) == typed


def test_another_message_is_never_taken_for_it():
    # A button's label the gate rewrote, or no user event at all: the text the action got.
    assert as_written(tracker_with(["别的问题"], "提现手续费"), "提现手续费") == "提现手续费"
    assert as_written(tracker_with([], "提现手续费"), "提现手续费") == "提现手续费"
