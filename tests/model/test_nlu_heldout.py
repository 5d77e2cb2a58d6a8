"""Intent accuracy on held-out questions written separately from the training data."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
import yaml

from tests.conftest import record_result
from tests.unit.test_knowledge import _training_examples

HELDOUT = Path(__file__).resolve().parents[1] / "data" / "nlu_heldout.yml"
MIN_ACCURACY = 0.90
MIN_QUESTIONS = 150


def _heldout() -> list[tuple[str, str]]:
    pairs = []
    for block in yaml.safe_load(HELDOUT.read_text())["nlu"]:
        for line in block["examples"].splitlines():
            if line.strip().startswith("- "):
                pairs.append((line.strip()[2:].strip(), block["intent"]))
    return pairs


def _normalise(text: str) -> str:
    return " ".join("".join(ch for ch in text.lower() if ch.isalnum() or ch.isspace()).split())


def test_heldout_questions_are_not_training_data() -> None:
    training = {_normalise(example) for examples in _training_examples().values() for example in examples}
    overlap = [text for text, _ in _heldout() if _normalise(text) in training]
    assert not overlap
    assert len(_heldout()) >= MIN_QUESTIONS


@pytest.fixture(scope="module")
def agent(trained_model: Path):
    from rasa.core.agent import Agent

    return Agent.load(str(trained_model))


def test_heldout_intent_accuracy(agent) -> None:
    questions = _heldout()

    async def classify() -> list[str]:
        return [(await agent.parse_message(text))["intent"]["name"] for text, _ in questions]

    predicted = asyncio.run(classify())
    errors = [
        (text, expected, got) for (text, expected), got in zip(questions, predicted, strict=False) if got != expected
    ]
    correct = len(questions) - len(errors)
    accuracy = correct / len(questions)
    confusions = Counter(f"{expected} -> {got}" for _, expected, got in errors)
    record_result(
        "nlu_heldout",
        {
            "accuracy": accuracy,
            "correct": correct,
            "total": len(questions),
            "errors": [{"text": t, "expected": e, "predicted": g} for t, e, g in errors],
        },
    )
    print(f"\nHeld-out NLU intent accuracy: {accuracy:.1%} ({correct}/{len(questions)})")
    for pair, count in confusions.most_common(15):
        print(f"  {count} x {pair}")
    assert accuracy >= MIN_ACCURACY, f"held-out intent accuracy {accuracy:.1%} is below {MIN_ACCURACY:.0%}"
