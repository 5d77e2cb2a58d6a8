"""Finds the specific answer a question asks for, and what to do with a question outside the assistant's field.

Configured in ``config.yml`` after the intent classifier and the fallback
classifier, as ``bot.rasa_server.answer_retriever.AnswerRetriever``. It learns
a logistic regression over the sentence vectors of every way of asking each
question-level answer (``answer_examples.py``) and of every out-of-scope
training example, one class an answer or an out-of-scope intent. For a user's
message each class is scored by

    log P(class) + prior_weight * log P(the class's intent, from the intent classifier)

so that the answer-level model picks the answer while the classifier, which has
also seen every topic's general examples, keeps it in the right topic. The best
becomes the message's intent, and a found answer is set on the message as
``answer`` (``{"id", "score", "also"}``), which reaches the actions in the
tracker's latest message. ``also`` is the answer to a second question asked in
the same message, when one is clearly there.

Only questions are redirected: a message the classifier reads as anything else
(a greeting, a look-up, a plan command) is left alone.
On the project's real-style set this picks the labelled answer for 69% of
in-scope questions, against 55% for the nearest way of asking (README).
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import numpy.typing as npt
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.linear_model import LogisticRegression

from bot.nlp.encoder import shared_encoder
from bot.rasa_server.answer_examples import ANSWER_ID
from bot.rasa_server.linear import probabilities, unit_rows

ANSWER = "answer"  # the message property the actions read
FALLBACK_INTENT = "nlu_fallback"
# Where a message splits into separate questions: after a question mark, a full stop or "!" followed by more,
# "and also", or "and" opening another question ("..., and can I see what they write?").
QUESTION_BREAK = re.compile(
    r"(?<=\?)\s*|(?<=[.!])\s+|\s+(?:and also|also,|plus)\s+"
    r"|,?\s+and\s+(?=(?:if|can|could|what|who|when|where|how|why|do|does|is|are|should|will|would)\b)",
    re.IGNORECASE,
)
LEADING_JOINER = re.compile(r"^(?:and also|and|also|plus|but|so)\b[\s,]*", re.IGNORECASE)
QUESTION_OPENER = re.compile(
    r"^(?:what|whats|what's|who|when|where|why|how|which|is|are|can|could|do|does|did|should|must|will|would|has|have)\b",
    re.IGNORECASE,
)


def questions_in(text: str) -> list[str]:
    """The parts of a message that are questions: each ends in "?" or opens with a question word."""
    parts = [LEADING_JOINER.sub("", part.strip()) for part in QUESTION_BREAK.split(text) if part and part.strip()]
    return [part for part in parts if len(part.split()) >= 4 and (part.endswith("?") or QUESTION_OPENER.match(part))]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class AnswerRetriever(GraphComponent):
    """An answer-level classifier, weighed with the intent classifier's topic, picks the answer."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "folder": None,  # the sentence encoder's folder, as for the featurizer
            "C": 5.0,  # the answer-level regression's inverse regularisation
            "max_iter": 3000,
            "prior_weight": 0.3,
            "min_probability": 0.01,  # below this no answer is likely enough: the classifier's reading stands
            "second_probability": 0.6,  # how clear a second question's topic must be for its answer to be given too
            "outside_prefix": "oos_",
        }

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> AnswerRetriever:
        return cls(config, model_storage, resource)

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource) -> None:
        self.config = config
        self._model_storage = model_storage
        self._resource = resource
        self.labels: list[dict[str, str]] = []  # one a class: {"label", "intent", "answer"} ("answer" empty if outside)
        self.weights = np.zeros((0, 0), dtype=np.float32)  # (classes, dimensions)
        self.bias = np.zeros(0, dtype=np.float32)
        self._index_labels()

    def _index_labels(self) -> None:
        """Each class's intent as a number, so a turn's sums over classes are array operations, not loops."""
        self._intents = sorted({label["intent"] for label in self.labels})
        number = {intent: n for n, intent in enumerate(self._intents)}
        self._label_intent = np.asarray([number[label["intent"]] for label in self.labels], dtype=np.int64)
        self._intent_number = number
        self._eligible_intents = frozenset(self._intents) | {FALLBACK_INTENT}

    # Training ---------------------------------------------------------------

    def train(self, training_data: TrainingData) -> Resource:
        rows: list[npt.NDArray[np.float32]] = []
        targets: list[int] = []
        index: dict[str, int] = {}
        for message in training_data.intent_examples:
            intent = message.get(INTENT) or ""
            answer_id = message.get(ANSWER_ID) or ""
            features = message.get_dense_features(TEXT)[1]
            if features is None or (not answer_id and not intent.startswith(self.config["outside_prefix"])):
                continue
            label = answer_id or intent
            if label not in index:
                index[label] = len(self.labels)
                self.labels.append({"label": label, "intent": intent, "answer": answer_id})
            rows.append(np.asarray(features.features, dtype=np.float32).reshape(-1))
            targets.append(index[label])
        if len(self.labels) >= 2:
            model = LogisticRegression(C=float(self.config["C"]), max_iter=int(self.config["max_iter"]))
            model.fit(unit_rows(np.vstack(rows)), np.asarray(targets))
            # Kept as plain arrays (no pickle): P = softmax(x . weights + bias), as scikit-learn's multinomial model.
            self.weights = model.coef_.astype(np.float32)
            self.bias = model.intercept_.astype(np.float32)
        self._index_labels()
        self.persist()
        return self._resource

    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as folder:
            np.save(folder / "weights.npy", self.weights)
            np.save(folder / "bias.npy", self.bias)
            (folder / "labels.json").write_text(json.dumps(self.labels), encoding="utf-8")

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> AnswerRetriever:
        loaded = cls(config, model_storage, resource)
        try:
            with model_storage.read_from(resource) as folder:
                loaded.weights = np.load(folder / "weights.npy")
                loaded.bias = np.load(folder / "bias.npy")
                loaded.labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
        except ValueError:
            return cls(config, model_storage, resource)
        loaded._index_labels()
        return loaded

    # Answering --------------------------------------------------------------

    def _probabilities(self, vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """For each vector, the probability of each class: shape (len(vectors), classes)."""
        return probabilities(vectors, self.weights, self.bias)

    def _eligible(self, message: Message) -> bool:
        """A question, or not understood: anything else the classifier found (a look-up, a command) stands."""
        name = (message.get(INTENT) or {}).get(INTENT_NAME_KEY) or ""
        return name in self._eligible_intents

    def _prior(self, message: Message) -> npt.NDArray[np.float32]:
        ranking = {
            item[INTENT_NAME_KEY]: float(item[PREDICTED_CONFIDENCE_KEY])
            for item in message.get(INTENT_RANKING_KEY) or []
            if item.get(INTENT_NAME_KEY) != FALLBACK_INTENT
        }
        by_intent = np.asarray([ranking.get(intent, 0.0) for intent in self._intents], dtype=np.float32)
        prior: npt.NDArray[np.float32] = by_intent[self._label_intent]
        return prior

    def _topic_probability(self, probabilities: npt.NDArray[np.float32], intent: str) -> float:
        """The answer model's probability for all of one intent's answers together."""
        totals = np.bincount(self._label_intent, weights=probabilities, minlength=len(self._intents))
        return float(totals[self._intent_number[intent]])

    def _second_answer(self, text: str, first: str) -> str:
        """The answer to another question in the same message, when one is clearly asked; else "".

        Each question in the message is scored alone; one whose best answer differs from the first and whose
        topic is clear (its answers together at least ``second_probability``) is answered too.
        """
        parts = questions_in(text)
        if len(parts) < 2:
            return ""
        best, best_probability = "", float(self.config["second_probability"])
        for row in self._probabilities(shared_encoder(self.config["folder"]).encode(parts)):
            index = int(np.argmax(row))
            label = self.labels[index]
            topic_probability = self._topic_probability(row, label["intent"])
            if label["answer"] and label["answer"] != first and topic_probability >= best_probability:
                best, best_probability = label["answer"], topic_probability
        return best

    def _retrieve(self, message: Message) -> None:
        features = message.get_dense_features(TEXT)[1]
        if features is None or not self.labels or not self._eligible(message):
            return
        probabilities = self._probabilities(np.asarray(features.features, dtype=np.float32).reshape(1, -1))[0]
        scores = np.log(probabilities + 1e-9) + float(self.config["prior_weight"]) * np.log(self._prior(message) + 1e-6)
        index = int(np.argmax(scores))
        if float(probabilities[index]) < float(self.config["min_probability"]):
            return
        label = self.labels[index]
        # How sure the intent is: the answer model's probability for all of the topic's answers together, or the
        # classifier's for the intent, whichever is higher (an answer's own probability is spread over its neighbours).
        classifier = {
            item[INTENT_NAME_KEY]: float(item[PREDICTED_CONFIDENCE_KEY])
            for item in message.get(INTENT_RANKING_KEY) or []
        }
        confidence = max(self._topic_probability(probabilities, label["intent"]), classifier.get(label["intent"], 0.0))
        ranking = [
            item
            for item in message.get(INTENT_RANKING_KEY) or []
            if item.get(INTENT_NAME_KEY) not in (label["intent"], FALLBACK_INTENT)
        ]
        chosen = {INTENT_NAME_KEY: label["intent"], PREDICTED_CONFIDENCE_KEY: confidence}
        message.set(INTENT, chosen, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [chosen, *ranking], add_to_output=True)
        if label["answer"]:
            found = {
                "id": label["answer"],
                "score": round(float(probabilities[index]), 3),
                "also": self._second_answer(message.get(TEXT) or "", label["answer"]),
            }
            message.set(ANSWER, found, add_to_output=True)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._retrieve(message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
