"""Puts the ways people ask each question-level answer into the NLU training data.

Configured in ``config.yml`` before the sentence featurizer, as
``bot.rasa_server.answer_examples.AnswerExamples``. Every ``asks`` line of
``knowledge/answers/<topic>.yml`` becomes a training example
for the topic's intent, marked with the answer's id, so that the intent
classifier learns from them and ``AnswerRetriever`` can find the answer. The
answers stay in one place, beside the text they lead to.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

import knowledge

ANSWER_ID = "answer_id"  # the key, on a training example, of the answer it asks for


def answer_messages() -> list[Message]:
    """One training example per way of asking; the wording on the question's button is shown, not learned."""
    topics = knowledge.topics()
    messages = []
    for answer in knowledge.answers().values():
        intent = topics[answer.topic].intent
        for text in answer.asks:
            messages.append(Message(data={TEXT: text, INTENT: intent, ANSWER_ID: answer.id}))
    return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class AnswerExamples(GraphComponent):
    """Adds the answers' questions to the training data; users' messages pass through untouched."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> AnswerExamples:
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data.merge(TrainingData(training_examples=answer_messages()))

    def process(self, messages: list[Message]) -> list[Message]:
        return messages
