"""The Rasa server entry point's cached action-result validator behaves like Rasa's."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError

from bot.server import app as rasa_server


def test_cached_validator_accepts_valid_and_rejects_invalid_action_results():
    rasa_server.apply()
    from rasa.core.actions.action import RemoteAction

    action = RemoteAction("action_answer_faq", None)
    ok = {
        "events": [{"event": "slot", "name": "last_faq_id", "value": "a"}],
        "responses": [{"text": "答案", "buttons": [{"title": "有帮助", "payload": "/feedback_positive"}]}],
    }
    assert action._validate_action_result(ok)
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result({"events": "not a list", "responses": []})
    with pytest.raises(ValidationError):
        action._validate_action_result({"events": [{"event": "no-such-event"}], "responses": []})
