"""Linking a chat to a member of staff or a parent with a one-time code, and unlinking it.

Codes are random, so the classifier may take a message giving one for a
question, a look-up or a greeting: every action a message can reach by its
intent is wrapped in ``links_codes_first``, which links instead whenever the
message gives a code.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.session import tell_reminders
from actions.support import Caller, Events, Run, in_thread, latest_intent, store_guard
from bot.core.codes import find_code
from bot.store import accounts
from bot.store.access import Person, PersonKind
from bot.store.db import sessions
from bot.store.models import Parent, Pupil, Staff

EXAMPLE_CODE = "KQ7D-M2XA-9WZP"
HOW_TO_LINK = (
    "If you work at the school, type the link code your school's admin gave you. "
    "If you're a parent or carer, type the access code your child's school gave you "
    f"(it looks like {EXAMPLE_CODE})."
)
CODE_WORD = re.compile(r"\bcodes?\b", re.IGNORECASE)


class LinkOutcome(str, enum.Enum):
    linked = "linked"
    wrong = "wrong"
    used = "used"
    expired = "expired"
    throttled = "throttled"
    paused = "paused"


@dataclass(frozen=True)
class LinkReply:
    outcome: LinkOutcome
    person: Person | None
    described: str  # who the chat is now linked as, in words
    tries_left: int


def links_codes_first(run: Run) -> Run:
    """An action's ``run`` that links instead when the message gives a code ("my code is KQ7D-M2XA")."""

    @functools.wraps(run)
    async def linking(self: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        text = tracker.latest_message.get("text") or ""
        if latest_intent(tracker) != "link_account" and CODE_WORD.search(text) and find_code(text):
            return await ActionLinkAccount().run(dispatcher, tracker, domain)
        return await run(self, dispatcher, tracker, domain)

    return linking


def describe(session: Session, person: Person) -> str:
    """Who a linked person is, as they would say it: "Mrs Priya Ashdown (SENCO) at Brambleway Primary School"."""
    if person.kind == PersonKind.staff.value:
        staff = session.get(Staff, person.id)
        role = staff.role.value.upper() if staff.role.value == "senco" else staff.role.value
        return f"{staff.name} ({role}) at {staff.school.name}"
    parent = session.get(Parent, person.id)
    children = [session.get(Pupil, pupil_id).first_name for pupil_id in person.pupil_ids]
    return f"{parent.name}, parent or carer of {' and '.join(children)}"


def _link(caller: Caller, code: str) -> LinkReply:
    with sessions().begin() as session:
        result = accounts.redeem_code(session, caller.channel, caller.sender_id, code)
        described = describe(session, result.linked) if result.linked else ""
        left = accounts.tries_left(session, caller.channel, caller.sender_id)
    return LinkReply(LinkOutcome(result.reason), result.linked, described, left)


def link_text(reply: LinkReply) -> str:
    if reply.outcome == LinkOutcome.linked and reply.person is not None:
        if reply.person.kind == PersonKind.staff.value:
            return (
                f"Thank you, you're now linked as {reply.described}. You can ask, for example, "
                '"which reviews are overdue?", "reviews due in the next 2 weeks" or '
                '"when is Amy\'s next review?". Say "forget me on this device" to unlink.'
            )
        return (
            f"Thank you, you're now linked as {reply.described}. You can ask \"what's in my child's plan?\", "
            '"what are the targets?" or "when\'s the next review?". Say "forget me on this device" to unlink.'
        )
    if reply.outcome == LinkOutcome.paused:
        return (
            "I can't check codes just now: so many wrong codes have been typed in the last hour that "
            "code checks are paused for everyone, to keep children's records safe. Please try again in an hour, "
            "or ask the school to link you. Questions about SEN support still work as usual."
        )
    if reply.outcome == LinkOutcome.throttled:
        return (
            "There have been too many wrong codes from this chat, so I've paused code checks for "
            f"{int(accounts.THROTTLE_WINDOW.total_seconds() // 60)} minutes. Please try again later, "
            "or ask the school for a new code."
        )
    if reply.outcome == LinkOutcome.used:
        return "That code has already been used; each code works once. Please ask the school for a new one."
    if reply.outcome == LinkOutcome.expired:
        return "That code has expired. Please ask the school for a new one."
    tries = "one more try" if reply.tries_left == 1 else f"{reply.tries_left} more tries"
    pause = f" You have {tries} before a short pause." if reply.tries_left else ""
    return (
        "Sorry, I don't recognise that code. Please check it and type it again, exactly as it was given to you." + pause
    )


class ActionLinkAccount(Action):
    """Links this chat user to a member of staff or a parent, with a one-time code."""

    def name(self) -> str:
        return "action_link_account"

    @store_guard
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        caller = Caller.of(tracker)
        code = find_code(caller.text)
        if code is None:
            dispatcher.utter_message(
                text="To link this chat, please type your code as it was given to you, for example "
                f'"my code is {EXAMPLE_CODE}". ' + HOW_TO_LINK.split(". ")[0] + "."
            )
            return []
        reply = await in_thread(_link, caller, code)
        dispatcher.utter_message(text=link_text(reply))
        if reply.outcome != LinkOutcome.linked:
            return []
        if reply.person is not None and reply.person.kind == PersonKind.staff.value:
            await tell_reminders(dispatcher, caller)
        return [SlotSet("pupil_ref", None)]


def _unlink(caller: Caller) -> bool:
    with sessions().begin() as session:
        return accounts.unlink(session, caller.channel, caller.sender_id)


class ActionUnlinkAccount(Action):
    """Forgets this chat user's link on this channel ("forget me on this device")."""

    def name(self) -> str:
        return "action_unlink_account"

    @links_codes_first
    @store_guard
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        if await in_thread(_unlink, Caller.of(tracker)):
            dispatcher.utter_message(
                text="Done: this chat is no longer linked, and I won't show any pupil's records here. "
                "You can link again at any time with a new code from the school."
            )
        else:
            dispatcher.utter_message(text="This chat isn't linked to anyone, so there's nothing to forget.")
        return [SlotSet("pupil_ref", None)]


def _whoami(caller: Caller) -> str:
    with sessions().begin() as session:
        person = caller.viewer(session).person
        return describe(session, person) if person else ""


class ActionWhoAmI(Action):
    """Says who this chat is linked as, if anyone."""

    def name(self) -> str:
        return "action_whoami"

    @links_codes_first
    @store_guard
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        described = await in_thread(_whoami, Caller.of(tracker))
        if described:
            dispatcher.utter_message(
                text=f'This chat is linked as {described}. Say "forget me on this device" to unlink.'
            )
        else:
            dispatcher.utter_message(text=f"This chat isn't linked to anyone. {HOW_TO_LINK}")
        return []
