"""Keep the conversation intents honest.

DIET is confidently wrong on text unlike anything it was trained on ("zxqv
呜啦啦" came out as `thanks`). A conversation intent (greet, thanks, 转人工...)
is kept only when the message shares at least ``min_overlap`` of its characters
with that intent's training examples; otherwise the message is treated as a
question (`ask_faq`) and the FAQ index, which knows how to say "没有找到",
decides. Sits after the intent classifier, before the FallbackClassifier.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import INTENT_MESSAGE_PREFIX
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

_UNITS = re.compile(r"[\u3400-\u9fff]|[a-z0-9]+")


def units(text: str) -> set[str]:
    """CJK characters and latin/digit words: what two texts can share."""
    return set(_UNITS.findall(text.lower()))


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class ConversationIntentGuard(GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"question_intent": "ask_faq", "min_overlap": 0.5}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        vocab: dict[str, set[str]] | None = None,
    ) -> None:
        self.config = config
        self.model_storage = model_storage
        self.resource = resource
        self.vocab = vocab or {}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ConversationIntentGuard:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        vocab: dict[str, set[str]] = {}
        for example in training_data.intent_examples:
            vocab.setdefault(example.get(INTENT), set()).update(units(example.get(TEXT) or ""))
        self.vocab = vocab
        with self.model_storage.write_to(self.resource) as directory:
            (directory / "vocab.json").write_text(
                json.dumps({k: sorted(v) for k, v in vocab.items()}, ensure_ascii=False), encoding="utf-8"
            )
        return self.resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> ConversationIntentGuard:
        with model_storage.read_from(resource) as directory:
            raw = json.loads((directory / "vocab.json").read_text(encoding="utf-8"))
        return cls(config, model_storage, resource, {k: set(v) for k, v in raw.items()})

    def process(self, messages: list[Message]) -> list[Message]:
        question = self.config["question_intent"]
        for message in messages:
            text = message.get(TEXT) or ""
            intent = message.get(INTENT) or {}
            name = intent.get(INTENT_NAME_KEY)
            if not name or name == question or text.startswith(INTENT_MESSAGE_PREFIX) or name not in self.vocab:
                continue
            mine = units(text)
            if mine and len(mine & self.vocab[name]) / len(mine) < self.config["min_overlap"]:
                confidence = float(intent.get("confidence") or 0.0)
                message.set(INTENT, {INTENT_NAME_KEY: question, "confidence": confidence}, add_to_output=True)
                ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != question]
                message.set(
                    INTENT_RANKING_KEY,
                    [{INTENT_NAME_KEY: question, "confidence": confidence}, *ranking],
                    add_to_output=True,
                )
        return messages
