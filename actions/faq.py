"""Answering questions from the knowledge base, and "tell me more"."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

import knowledge
from actions.linking import links_codes_first
from actions.support import latest_intent
from actions.topics import MORE_BUTTON, PERSON_BUTTON, asked_answer, current_council, topic_buttons

LAST_TOPIC = "last_topic"
MORE_GIVEN = "more_given"


class ActionAnswerQuestion(Action):
    """Answers the specific question asked (or gives the topic's short answer), with its sources."""

    def name(self) -> str:
        return "action_answer_question"

    @links_codes_first
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        topic = knowledge.topic_for_intent(latest_intent(tracker))
        if topic is None:
            dispatcher.utter_message(text="Sorry, I lost track of that question. Could you ask it again?")
            return []
        answer, second = asked_answer(tracker, topic)
        if answer is None:
            buttons = [MORE_BUTTON, *topic_buttons(topic.related[:2])]
            dispatcher.utter_message(text=knowledge.answer_text(topic, current_council()), buttons=buttons)
        else:
            offered = [knowledge.answer_button(other) for other in knowledge.answers_to_offer(answer)]
            text = knowledge.question_answer_text(answer, current_council())
            if second is not None:  # both answers in one reply, so a turn is one message whatever was asked
                text += "\n\n" + knowledge.second_answer_text(second)
            dispatcher.utter_message(text=text, buttons=[MORE_BUTTON, *offered])
        return [SlotSet(LAST_TOPIC, topic.key), SlotSet(MORE_GIVEN, False)]


class ActionTellMore(Action):
    """Gives the detail of the topic last answered."""

    def name(self) -> str:
        return "action_tell_more"

    @links_codes_first
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        topic = knowledge.topics().get(tracker.get_slot(LAST_TOPIC) or "")
        if topic is None:
            dispatcher.utter_message(
                text="Tell you more about what? Here are some things I can explain:",
                buttons=topic_buttons(knowledge.menu()),
            )
            return []
        if tracker.get_slot(MORE_GIVEN):
            dispatcher.utter_message(
                text=(
                    f"That's everything I have on {topic.title[0].lower() + topic.title[1:]}. For advice "
                    f"about your own situation: {knowledge.sendiass_contact(current_council())}"
                ),
                buttons=[PERSON_BUTTON, *topic_buttons(topic.related[:2])],
            )
            return []
        dispatcher.utter_message(text=knowledge.more_text(topic), buttons=topic_buttons(topic.related[:3]))
        return [SlotSet(MORE_GIVEN, True)]
