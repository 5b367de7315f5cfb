"""The Rasa server entry point's cached action-result validator behaves like Rasa's.

Called as the method it replaces, without ``apply()``: patching Rasa's classes here would change
them for every later test in the process."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError

from bot.server import app as rasa_server


def test_cached_validator_accepts_valid_and_rejects_invalid_action_results():
    from rasa.core.actions.action import RemoteAction

    action = RemoteAction("action_turn", None)
    validate = rasa_server._validate_action_result.__get__(action)  # bound as apply() binds it
    ok = {
        "events": [{"event": "slot", "name": "last_faq_id", "value": "a"}],
        "responses": [{"text": "答案", "buttons": [{"title": "有帮助", "payload": "/feedback_positive"}]}],
    }
    assert validate(ok)
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        validate({"events": "not a list", "responses": []})
    with pytest.raises(ValidationError):
        validate({"events": [{"event": "no-such-event"}], "responses": []})
