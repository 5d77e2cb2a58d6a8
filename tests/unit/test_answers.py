"""Question-level answers: enough of them, each direct, short, cited and reachable."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

import knowledge

MIN_ANSWERS = 400
MIN_PER_TOPIC = 5
SENTENCE_END = re.compile(r"[.!?](?:\s+|$)(?=[A-Z\"(]|$)")


def test_there_are_enough_answers_and_every_topic_has_its_own() -> None:
    answers = knowledge.answers()
    assert len(answers) >= MIN_ANSWERS
    per_topic = Counter(answer.topic for answer in answers.values())
    thin = {key: per_topic[key] for key in knowledge.topics() if per_topic[key] < MIN_PER_TOPIC}
    assert not thin, f"topics with fewer than {MIN_PER_TOPIC} answers: {thin}"


@pytest.mark.parametrize("answer_id", sorted(knowledge.answers()))
def test_each_answer_is_direct_short_and_cited(answer_id: str) -> None:
    answer = knowledge.answers()[answer_id]
    assert answer.question.endswith("?") and len(answer.question) <= 80
    assert 8 <= len(answer.text.split()) <= 90, "one to three sentences"
    assert len(SENTENCE_END.findall(answer.text)) <= 3, "one to three sentences"
    assert answer.citation()
    assert len(set(answer.asks)) == len(answer.asks)


def test_a_yes_no_question_must_open_with_its_verdict(tmp_path: Path) -> None:
    path = tmp_path / "sen_register.yml"
    entry = {
        "key": "consent",
        "question": "Does the school need my consent to add my child to the register?",
        "answer": "The school must tell you, but it does not need your agreement.",
        "sources": [{"doc": "cfa", "ref": "s68"}],
        "asks": [f"way of asking number {n}" for n in range(6)],
    }
    path.write_text(yaml.safe_dump({"answers": [entry]}))
    with pytest.raises(knowledge.KnowledgeError, match="yes/no"):
        knowledge._answers_from(path)
    entry["answer"] = "No. " + entry["answer"]
    path.write_text(yaml.safe_dump({"answers": [entry]}))
    assert knowledge._answers_from(path)[0].text.startswith("No.")


def test_an_answer_for_a_topic_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "no_such_topic.yml"
    path.write_text(yaml.safe_dump({"answers": []}))
    with pytest.raises(knowledge.KnowledgeError, match="no topic"):
        knowledge._answers_from(path)


def test_no_way_of_asking_is_given_twice() -> None:
    counts = Counter(" ".join(text.lower().split()) for a in knowledge.answers().values() for text in a.asks)
    assert not [text for text, count in counts.items() if count > 1]


def test_offered_questions_are_other_answers_and_their_buttons_name_them() -> None:
    answer = knowledge.answers()["what_is_sen_support.own_resources"]
    offered = knowledge.answers_to_offer(answer)
    assert offered[0].id == "what_is_sen_support.best_endeavours_duty"  # its own related answer comes first
    assert answer not in offered and len(offered) == 2
    button = knowledge.answer_button(offered[0])
    assert button == {
        "title": offered[0].question,
        "payload": '/ask_what_is_sen_support{"answer_id": "what_is_sen_support.best_endeavours_duty"}',
    }


def test_a_chapter_of_the_code_is_cited_as_a_chapter() -> None:
    assert knowledge.Source("cop", "chapter 9").cite() == "SEND Code of Practice (2015), chapter 9"
    assert knowledge.Source("cop", "6.15").cite() == "SEND Code of Practice (2015), para 6.15"
