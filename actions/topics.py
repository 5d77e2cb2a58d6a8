"""The knowledge base as the actions offer it: the council, topic buttons, the likeliest topics."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rasa_sdk import Tracker

import knowledge
from bot import settings

MORE_BUTTON = {"title": "Tell me more", "payload": "/tell_me_more"}
PERSON_BUTTON = {"title": "Talk to a person", "payload": "/talk_to_person"}
ANSWER_ENTITY = "answer_id"  # a question button's entity: the answer it asks for


def current_council() -> knowledge.Council:
    return knowledge.council(settings.council_id())


def topic_buttons(keys: Iterable[str]) -> list[dict[str, Any]]:
    catalogue = knowledge.topics()
    return [knowledge.topic_button(catalogue[key]) for key in keys if key in catalogue]


def likely_topics(tracker: Tracker, limit: int = 3, floor: float = 0.05) -> list[str]:
    """Two or three topic keys the last message most probably meant, best first.

    Taken from the classifier's ranking and topped up from the menu, so there
    are always at least two suggestions.
    """
    keys: list[str] = []
    for entry in tracker.latest_message.get("intent_ranking") or []:
        topic = knowledge.topic_for_intent(entry.get("name"))
        if topic and (entry.get("confidence") or 0.0) >= floor and topic.key not in keys:
            keys.append(topic.key)
    for key in knowledge.menu():
        if len(keys) >= 2:
            break
        if key not in keys:
            keys.append(key)
    return keys[:limit]


def asked_answer(tracker: Tracker, topic: knowledge.Topic) -> tuple[knowledge.Answer | None, knowledge.Answer | None]:
    """The specific answer asked for, if it is on the topic understood, and the answer to a second question.

    A question button names its answer; for typed questions the NLU's answer retriever found it.
    """
    catalogue = knowledge.answers()
    named = next(tracker.get_latest_entity_values(ANSWER_ENTITY), None)
    found = tracker.latest_message.get("answer") or {}
    answer = catalogue.get(named or found.get("id") or "")
    if answer is None or answer.topic != topic.key:
        return None, None
    second = catalogue.get(found.get("also") or "") if not named else None
    return answer, second


def first_reply(tracker: Tracker, topic: knowledge.Topic) -> str:
    """The answer to the question asked, if it was found, else the topic's short answer; with sources and local help."""
    answer, _ = asked_answer(tracker, topic)
    if answer is None:
        return knowledge.answer_text(topic, current_council())
    return knowledge.question_answer_text(answer, current_council())
