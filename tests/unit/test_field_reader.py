"""The field reader: a message split into parts, each part read for its likeliest plan steps (a stand-in encoder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.rasa_server import field_reader
from bot.rasa_server.field_reader import FIELDS, FieldReader, examples, parts_of

# Words that stand for a section, each a direction of a 3-dimensional space.
DIRECTIONS = {"lego": 0, "drawing": 0, "phonics": 1, "overlay": 1, "screener": 2, "observation": 2}


class StandInEncoder:
    """A text's vector is the sum of its words' directions: enough to tell three sections apart."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        vectors = np.full((len(texts), 3), 0.01, dtype=np.float32)
        for row, text in enumerate(texts):
            for word, direction in DIRECTIONS.items():
                if word in text.lower():
                    vectors[row, direction] += 1.0
        return vectors


@pytest.fixture
def encoder(monkeypatch: pytest.MonkeyPatch) -> StandInEncoder:
    stand_in = StandInEncoder()
    monkeypatch.setattr(field_reader, "shared_encoder", lambda folder=None: stand_in)
    return stand_in


@pytest.fixture
def reader(tmp_path: Path, encoder: StandInEncoder) -> FieldReader:
    fields = tmp_path / "fields"
    fields.mkdir()
    (fields / "plan.yml").write_text(
        "fields:\n"
        "  strengths: ['loves lego', 'brilliant at drawing', 'lego club every day']\n"
        "  interventions: ['phonics group', 'coloured overlay in class', 'daily phonics']\n"
        "  how_needs_identified: ['dyslexia screener', 'class observation', 'screener in year 3']\n"
    )
    (tmp_path / "model").mkdir()
    storage = LocalModelStorage(tmp_path / "model")
    config = {**FieldReader.get_default_config(), "fields": str(fields), "C": 100.0}
    component = FieldReader.create(config, storage, Resource("fields"), None)  # type: ignore[arg-type]
    component.train(TrainingData([]))
    return FieldReader.load(config, storage, Resource("fields"), None)  # type: ignore[arg-type]


def _read(reader: FieldReader, text: str, vector: np.ndarray | None = None) -> list[dict[str, Any]]:
    message = Message(data={TEXT: text})
    if vector is not None:
        message.add_features(Features(vector.reshape(1, -1), "sentence", TEXT, "test"))
    reader.process([message])
    found: list[dict[str, Any]] = message.get(FIELDS)
    return found


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("loves lego", ["loves lego"]),
        ("Loves lego. Phonics group daily!", ["Loves lego.", "Phonics group daily!"]),
        ("- loves lego\n- phonics x3/wk\n\n1. screener done", ["loves lego", "phonics x3/wk", "screener done"]),
        (
            "previously working towards, now at the expected standard",
            ["previously working towards", "now at the expected standard"],
        ),
        ("WTS, ARE maths", ["WTS, ARE maths"]),  # clauses too short to stand alone stay together
    ],
)
def test_a_message_splits_into_its_parts(text: str, parts: list[str]) -> None:
    assert parts_of(text) == parts


def test_each_part_gets_its_likeliest_steps_and_one_part_costs_no_encoding(
    reader: FieldReader, encoder: StandInEncoder
) -> None:
    encoder.calls.clear()
    [only] = _read(reader, "she loves lego", np.array([1.0, 0.0, 0.0], dtype=np.float32))
    assert only["plan"][0][0] == "strengths" and only["plan"][0][1] > 0.8
    assert encoder.calls == [], "a one-part message reuses the featurizer's vector"

    found = _read(reader, "Loves lego and drawing. Phonics group with the TA, overlay in class. Screener in Y3.")
    steps = [part["plan"][0][0] for part in found]
    assert steps == ["strengths", "interventions", "interventions", "how_needs_identified"]
    assert all(len(part["plan"]) == 3 and part["plan"][0][1] >= part["plan"][1][1] for part in found)
    assert encoder.calls == [[part["text"] for part in found]], "the parts are encoded together, once"


def test_the_examples_are_real_plan_and_review_steps() -> None:
    from bot.core import plan_template, review_template

    found = examples(field_reader.settings.PROJECT_ROOT / "knowledge" / "fields")
    if not found:
        pytest.skip("no field examples yet")
    known = {
        "plan": {step.key for step in plan_template.STEPS},
        "review": {step.key for step in review_template.STEPS},
    }
    for template, by_key in found.items():
        assert set(by_key) <= known[template], f"{template}: {sorted(set(by_key) - known[template])}"
        assert all(len(items) == len(set(items)) for items in by_key.values()), f"{template}: a repeated example"
