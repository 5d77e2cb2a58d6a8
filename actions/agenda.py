"""A school's reviews for its staff: due soon, overdue, and pupils whose reviews are not on time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.linking import HOW_TO_LINK, links_codes_first
from actions.support import Caller, Events, in_thread, latest_intent, school_name, store_guard
from bot.core import dates, wording
from bot.core.review_timing import Agenda
from bot.store import records
from bot.store.db import sessions


@dataclass(frozen=True)
class AgendaReply:
    linked: bool
    school: str = ""
    agenda: Agenda | None = None  # None: not staff


def _agenda(caller: Caller, days: int) -> AgendaReply:
    with sessions().begin() as session:
        viewer = caller.viewer(session)
        found = records.agenda(session, viewer, days)
        if found is None:
            return AgendaReply(linked=viewer.person is not None)
        return AgendaReply(linked=True, school=school_name(session, viewer), agenda=found)


class ActionReviewsDue(Action):
    """Staff: reviews due soon, overdue ones, and pupils whose reviews are not on time."""

    def name(self) -> str:
        return "action_reviews_due"

    @links_codes_first
    @store_guard
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        caller = Caller.of(tracker)
        reply = await in_thread(_agenda, caller, dates.days_asked(caller.text))
        if reply.agenda is None:
            if reply.linked:
                dispatcher.utter_message(
                    text="Lists of reviews across the school are for school staff. You can ask about your own "
                    'child, for example "when\'s the next review?".'
                )
            else:
                dispatcher.utter_message(
                    text=f"Lists of reviews are for school staff who have linked this chat. {HOW_TO_LINK}"
                )
            return []
        overdue_first = latest_intent(tracker) == "lookup_overdue_reviews"
        dispatcher.utter_message(text=wording.agenda_text(reply.school, reply.agenda, overdue_first))
        return []
