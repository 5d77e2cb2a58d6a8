"""Reads which sections of a plan or a review each part of a message speaks to.

Configured in ``config.yml`` after the sentence featurizer, as
``bot.rasa_server.field_reader.FieldReader``. Staff answering a plan's questions
by chat give several answers in one message, answer another section than the
one asked, or paste a meeting's notes. This component splits a message into its
parts (lines, bullets, sentences, and clauses of at least a few words), and a
logistic regression per template, over the sentence encoder's vectors of the
examples in ``knowledge/fields/`` (what staff write under each heading), gives
each part its likeliest steps. The message carries them as ``fields``:

    [{"text": "...", "plan": [["strengths", 0.81], ...], "review": [...]}, ...]

which reaches the actions in the tracker's latest message; the walk
(``bot/core/walker.py``) decides what to file where. A one-part message reuses
the featurizer's vector, so an ordinary answer costs no extra encoding.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.linear_model import LogisticRegression

from bot import settings
from bot.nlp.encoder import shared_encoder
from bot.rasa_server.linear import probabilities, unit_rows

FIELDS = "fields"  # the message property the actions read
TOP = 3  # steps kept per part and template
MAX_PARTS = 80  # a pasted block of notes (5,000 characters) has fewer
BULLET = re.compile(r"^\s*(?:[-*•·–]+|\d{1,2}[.)])\s*")
SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=\S)")
CLAUSE_BREAK = re.compile(r"\s*(?:,|—|–| - )\s*")
MIN_CLAUSE_WORDS = 3


def parts_of(text: str) -> list[str]:
    """A message's parts: each line and bullet, each sentence in them, each clause of a few words or more."""
    parts: list[str] = []
    for line in (text or "").splitlines():
        line = BULLET.sub("", line).strip()
        for sentence in SENTENCE_END.split(line):
            clauses = [clause.strip() for clause in CLAUSE_BREAK.split(sentence) if clause.strip()]
            if len(clauses) > 1 and all(len(clause.split()) >= MIN_CLAUSE_WORDS for clause in clauses):
                parts.extend(clauses)
            elif sentence.strip():
                parts.append(sentence.strip())
    return [part for part in parts if any(ch.isalnum() for ch in part)][:MAX_PARTS]


def examples(folder: Path) -> dict[str, dict[str, list[str]]]:
    """``{template: {step key: [examples]}}`` from ``folder``/<template>.yml."""
    found: dict[str, dict[str, list[str]]] = {}
    for path in sorted(folder.glob("*.yml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        found[path.stem] = {str(key): [str(item) for item in items] for key, items in (raw.get("fields") or {}).items()}
    return found


# Registered as Rasa's answer retriever is: it runs last in the NLU pipeline, after the classifiers, and adds to
# the message what the actions read.
@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class FieldReader(GraphComponent):
    """Which plan or review steps each part of a message speaks to."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"folder": None, "fields": "knowledge/fields", "C": 10.0, "max_iter": 3000}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> FieldReader:
        return cls(config, model_storage, resource)

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource) -> None:
        self.config = config
        self._model_storage = model_storage
        self._resource = resource
        # Per template: its step keys, and P(step) = softmax(x . weights + bias).
        self.models: dict[str, tuple[list[str], npt.NDArray[np.float32], npt.NDArray[np.float32]]] = {}

    def train(self, training_data: TrainingData) -> Resource:
        folder = settings.PROJECT_ROOT / str(self.config["fields"])
        encoder = shared_encoder(self.config["folder"])
        for template, by_key in examples(folder).items():
            keys = sorted(key for key, items in by_key.items() if items)
            if len(keys) < 2:
                continue
            texts = [text for key in keys for text in by_key[key]]
            targets = [number for number, key in enumerate(keys) for _ in by_key[key]]
            model = LogisticRegression(C=float(self.config["C"]), max_iter=int(self.config["max_iter"]))
            model.fit(unit_rows(np.asarray(encoder.encode(texts), dtype=np.float32)), np.asarray(targets))
            self.models[template] = (keys, model.coef_.astype(np.float32), model.intercept_.astype(np.float32))
        self.persist()
        return self._resource

    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as folder:
            (folder / "templates.json").write_text(json.dumps({t: m[0] for t, m in self.models.items()}))
            for template, (_, weights, bias) in self.models.items():
                np.save(folder / f"{template}-weights.npy", weights)
                np.save(folder / f"{template}-bias.npy", bias)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> FieldReader:
        loaded = cls(config, model_storage, resource)
        try:
            with model_storage.read_from(resource) as folder:
                templates = json.loads((folder / "templates.json").read_text())
                for template, keys in templates.items():
                    weights = np.load(folder / f"{template}-weights.npy")
                    bias = np.load(folder / f"{template}-bias.npy")
                    loaded.models[template] = (list(keys), weights, bias)
        except ValueError:
            return cls(config, model_storage, resource)
        return loaded

    def readings(self, vectors: npt.NDArray[np.float32]) -> list[dict[str, list[list[Any]]]]:
        """For each vector, each template's likeliest steps with their probabilities."""
        found: list[dict[str, list[list[Any]]]] = [{} for _ in range(len(vectors))]
        for template, (keys, weights, bias) in self.models.items():
            for row, reading in zip(probabilities(vectors, weights, bias), found, strict=True):
                best = np.argsort(row)[::-1][:TOP]
                reading[template] = [[keys[index], round(float(row[index]), 3)] for index in best]
        return found

    def _read(self, message: Message) -> None:
        text = message.get(TEXT) or ""
        parts = parts_of(text)
        if not parts or not self.models:
            return
        features = message.get_dense_features(TEXT)[1]
        if len(parts) == 1 and features is not None:
            vectors = np.asarray(features.features, dtype=np.float32).reshape(1, -1)
        else:
            vectors = np.asarray(shared_encoder(self.config["folder"]).encode(parts), dtype=np.float32)
        read = [{"text": part, **reading} for part, reading in zip(parts, self.readings(vectors), strict=True)]
        message.set(FIELDS, read, add_to_output=True)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._read(message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
