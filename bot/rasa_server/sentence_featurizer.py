"""A dense featurizer for Rasa's pipeline: each message as the pretrained sentence encoder sees it.

Configured in ``config.yml`` as ``bot.rasa_server.sentence_featurizer.SentenceEncoderFeaturizer``.
It gives every text (training examples and users' messages) one 384-number
sentence vector from all-MiniLM-L6-v2 (``bot.nlp.encoder``), so that the
classifier understands wording the training data never uses. The encoder's
files are checked by hash when the component is created; nothing is downloaded.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlp.encoder import shared_encoder


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Sentence features for each message's text from the pretrained sentence encoder."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(), "folder": None}

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Nothing to check: the only setting is where the encoder's files are kept."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEncoderFeaturizer:
        return cls(config, execution_context.node_name)

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        self.encoder = shared_encoder(config.get("folder"))

    def _featurize(self, messages: list[Message]) -> None:
        texts = [message.get(TEXT) for message in messages if message.get(TEXT)]
        if not texts:
            return
        vectors = self.encoder.encode(texts)
        with_text = (message for message in messages if message.get(TEXT))
        for message, vector in zip(with_text, vectors, strict=True):
            # Sentence features only: the classifier reads the sentence vector, and Rasa skips a None sequence.
            self.add_features_to_message(None, vector.reshape(1, -1), TEXT, message)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        self._featurize(messages)
        return messages
