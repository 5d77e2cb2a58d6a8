"""The knowledge base as the actions offer it: the council, topic buttons, the likeliest topics."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rasa_sdk import Tracker

import knowledge
from bot import settings

MORE_BUTTON = {"title": "Tell me more", "payload": "/tell_me_more"}
PERSON_BUTTON = {"title": "Talk to a person", "payload": "/talk_to_person"}


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
