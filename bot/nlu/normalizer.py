"""A Rasa NLU component that runs the project's one text normaliser
(``faqbot.normalize``: NFKC, 繁→简, case, punctuation) before jieba, so the
intent classifier sees text exactly as the FAQ index does."""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import INTENT_MESSAGE_PREFIX
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from faqbot.normalize import normalize


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=False)
class ChineseNormalizer(GraphComponent):
    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ChineseNormalizer:
        return cls()

    @staticmethod
    def _normalise(message: Message) -> None:
        text = message.get(TEXT)
        # "/intent{...}" payloads (buttons) are parsed later by Rasa's
        # RegexMessageHandler and must reach it untouched.
        if isinstance(text, str) and text and not text.startswith(INTENT_MESSAGE_PREFIX):
            # Keep something for the tokenizer when a message is all punctuation.
            message.set(TEXT, normalize(text) or text, add_to_output=False)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for message in training_data.training_examples:
            self._normalise(message)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._normalise(message)
        return messages
