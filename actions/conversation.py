"""The menu of what the assistant can do, and handing over to a person."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

import knowledge
from actions.linking import links_codes_first
from actions.topics import PERSON_BUTTON, current_council, topic_buttons


class ActionShowMenu(Action):
    """A short menu of what the assistant can help with, as buttons."""

    def name(self) -> str:
        return "action_show_menu"

    @links_codes_first
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        place = current_council()
        dispatcher.utter_message(
            text=(
                "I answer questions about SEN support in schools in England, for parents "
                "and school staff, with the source for each answer and local contacts in "
                f"{place.short_name}. School staff and parents with a code from the school "
                "can also link this chat to look up plans, targets and review dates; staff can "
                "record plans and review meetings. "
                "Pick a topic or type your own question:"
            ),
            buttons=[*topic_buttons(knowledge.menu()), PERSON_BUTTON],
        )
        return []


class ActionTalkToPerson(Action):
    """Gives the council's SENDIASS contact: the people to talk to."""

    def name(self) -> str:
        return "action_talk_to_person"

    @links_codes_first
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        place = current_council()
        offer = place.local_offer
        dispatcher.utter_message(
            text=(
                "I'm an automated assistant, so the best people to talk to are your local "
                f"SEND information, advice and support service.\n{knowledge.sendiass_contact(place)}\n"
                f"You can also find local services on {offer['name']}: {place.contact('local_offer', 'url')}. "
                "For your child's day-to-day support, start with the class teacher or the "
                "school's SENCO."
            )
        )
        return []
