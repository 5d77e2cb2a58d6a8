"""The answer retriever's choices, trained and run on hand-made vectors (no encoder, no trained model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.rasa_server import answer_retriever
from bot.rasa_server.answer_examples import ANSWER_ID
from bot.rasa_server.answer_retriever import ANSWER, AnswerRetriever, questions_in

# Three directions in a 4-dimensional space stand for three ways of meaning something.
FUNDING, REGISTER, ADMISSIONS, UNRELATED = np.eye(4, dtype=np.float32)


def _message(vector: np.ndarray, **data: Any) -> Message:
    message = Message(data={TEXT: "an example", **data})
    message.add_features(Features(vector.reshape(1, -1), "sentence", TEXT, "test"))
    return message


def _classified(vector: np.ndarray, ranking: list[tuple[str, float]], text: str = "a question") -> Message:
    message = _message(vector, **{TEXT: text})
    items = [{"name": name, "confidence": confidence} for name, confidence in ranking]
    message.set(INTENT, items[0])
    message.set(INTENT_RANKING_KEY, items)
    return message


@pytest.fixture
def retriever(tmp_path: Path) -> AnswerRetriever:
    storage = LocalModelStorage(tmp_path)
    # Sharp enough for four examples to be told apart, and a floor an even spread of probability stays under.
    config = {**AnswerRetriever.get_default_config(), "C": 100.0, "min_probability": 0.5}
    component = AnswerRetriever.create(config, storage, Resource("retriever"), None)  # type: ignore[arg-type]
    near = np.array([0.9, 0.1, 0.0, 0.0], dtype=np.float32)
    component.train(
        TrainingData(
            [
                _message(FUNDING, intent="ask_funding", **{ANSWER_ID: "funding.who_pays"}),
                _message(near, intent="ask_funding", **{ANSWER_ID: "funding.who_pays"}),
                _message(REGISTER, intent="ask_register", **{ANSWER_ID: "register.consent"}),
                _message(ADMISSIONS, intent="oos_admissions"),
                _message(UNRELATED, intent="greet"),  # neither an answer nor out of scope: not a candidate
            ]
        )
    )
    return AnswerRetriever.load(config, storage, Resource("retriever"), None)  # type: ignore[arg-type]


def test_the_nearest_way_of_asking_picks_the_answer_and_its_topic(retriever: AnswerRetriever) -> None:
    message = _classified(np.array([0.2, 1.0, 0.0, 0.0]), [("ask_funding", 0.55), ("ask_register", 0.45)])
    retriever.process([message])
    assert message.get(INTENT)["name"] == "ask_register"
    assert message.get(ANSWER)["id"] == "register.consent"
    assert message.get(INTENT_RANKING_KEY)[0]["name"] == "ask_register"


def test_an_out_of_scope_question_becomes_its_intent_without_an_answer(retriever: AnswerRetriever) -> None:
    message = _classified(ADMISSIONS, [("nlu_fallback", 0.3), ("ask_register", 0.2)])
    retriever.process([message])
    assert message.get(INTENT)["name"] == "oos_admissions"
    assert message.get(ANSWER) is None


def test_nothing_close_leaves_not_sure_standing(retriever: AnswerRetriever) -> None:
    message = _classified(UNRELATED, [("nlu_fallback", 0.3), ("ask_register", 0.2)])
    retriever.process([message])
    assert message.get(INTENT)["name"] == "nlu_fallback"
    assert message.get(ANSWER) is None


@pytest.mark.parametrize("confidence", [0.9, 0.45])
def test_a_message_read_as_something_other_than_a_question_is_left_alone(
    retriever: AnswerRetriever, confidence: float
) -> None:
    """ "What's in my child's plan?" is a look-up for a linked parent, however close it comes to a question."""
    message = _classified(FUNDING, [("lookup_pupil_support", confidence), ("ask_funding", 0.4)])
    retriever.process([message])
    assert message.get(INTENT)["name"] == "lookup_pupil_support"
    assert message.get(ANSWER) is None


def test_the_classifiers_topic_tips_a_close_call(retriever: AnswerRetriever) -> None:
    retriever.config["min_probability"] = 0.05  # as configured for the assistant
    between = np.array([1.0, 1.0, 0.0, 0.0])
    message = _classified(between, [("ask_register", 0.98), ("ask_funding", 0.01)])
    retriever.process([message])
    assert message.get(ANSWER)["id"] == "register.consent"


def test_questions_in_a_message_are_found_but_not_its_story() -> None:
    text = (
        "My son is 9 and has been struggling for ages. Can school put him on the register without asking me? "
        "And also who pays for the extra help he gets"
    )
    assert questions_in(text) == [
        "Can school put him on the register without asking me?",
        "who pays for the extra help he gets",
    ]
    assert questions_in("what is sen support") == ["what is sen support"]
    assert questions_in("hi. thanks!") == []


class _Encoder:
    """Stands in for the sentence encoder: each question of the test message has its own direction."""

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.vstack([REGISTER if "register" in text else FUNDING for text in texts])


def test_a_second_question_in_the_message_gets_its_own_answer(
    retriever: AnswerRetriever, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(answer_retriever, "shared_encoder", lambda folder: _Encoder())
    text = "Who pays for the extra help in school? And can they put him on the register without asking me?"
    message = _classified(FUNDING, [("ask_funding", 0.9), ("ask_register", 0.05)], text=text)
    retriever.process([message])
    assert message.get(ANSWER) == {
        "id": "funding.who_pays",
        "score": pytest.approx(1.0, abs=0.05),
        "also": "register.consent",
    }


def test_one_question_alone_gets_no_second_answer(retriever: AnswerRetriever, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(answer_retriever, "shared_encoder", lambda folder: _Encoder())
    message = _classified(FUNDING, [("ask_funding", 0.9)], text="My son is 9. Who pays for the extra help in school?")
    retriever.process([message])
    assert message.get(ANSWER)["also"] == ""
