"""The start of each conversation: what carries over, and reminders for linked staff.

Replaces Rasa's default ``action_session_start`` (a new session begins with
the first message of a visit, or after an hour of quiet): slots carry over
as the domain asks, and a member of staff who has linked this chat is shown
their school's review reminders not yet delivered anywhere ("shown on the
next visit"). A store that cannot be reached leaves the reminders for later,
never the conversation.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.support import Caller, Events, StoreUnavailable, in_thread
from bot.core import wording
from bot.store import reminders
from bot.store.db import sessions


def visit_reminders(caller: Caller) -> list[str]:
    with sessions().begin() as session:
        due = reminders.on_visit(session, caller.viewer(session).person, caller.channel)
    return wording.visit_reminders([(item.pupil_name, item.due_on) for item in due])


async def tell_reminders(dispatcher: CollectingDispatcher, caller: Caller) -> None:
    """Say this chat user's pending reminders, if they are linked staff and have any."""
    try:
        texts = await in_thread(visit_reminders, caller)
    except StoreUnavailable:
        return
    for text in texts:
        dispatcher.utter_message(text=text)


class ActionSessionStart(Action):
    """Starts a session, carrying slots over, with any reminders for linked staff."""

    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        events: Events = [SessionStarted()]
        if (domain.get("session_config") or {}).get("carry_over_slots_to_new_session", True):
            events += [
                SlotSet(name, value)
                for name, value in tracker.slots.items()
                if value is not None and name != "session_started_metadata"
            ]
        await tell_reminders(dispatcher, Caller.of(tracker))
        return [*events, ActionExecuted("action_listen")]
