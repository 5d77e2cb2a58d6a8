"""Linking a chat user to a person, and looking up pupils' records.

Each look-up checks, on that very call, who the chat user is linked to and
which pupils they may see; a pupil id from a button or an earlier turn is
checked again like any typed name. Database work runs in a worker thread so
the action server keeps serving other conversations meanwhile. Replies name
pupils, but nothing about a pupil is ever written to the logs.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
from typing import Any, Callable, Optional, TypeVar

from rasa_sdk import Action, Tracker
from sqlalchemy.exc import SQLAlchemyError
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import latest_intent
from bot.core import dates
from bot import settings
from bot.store import accounts, document_links, records
from bot.core import names
from bot.store.db import sessions
from bot.store.models import AreaOfNeed, LevelOfNeed, Parent, Pupil, Staff, TargetProgress

T = TypeVar("T")

AREA_NAMES = {
    AreaOfNeed.cognition_learning: "cognition and learning",
    AreaOfNeed.communication_interaction: "communication and interaction",
    AreaOfNeed.sensory_physical: "sensory and/or physical needs",
    AreaOfNeed.semh: "social, emotional and mental health",
    AreaOfNeed.medical: "medical needs",
}
PROGRESS_NAMES = {
    TargetProgress.achieved: "achieved",
    TargetProgress.progress: "some progress",
    TargetProgress.not_achieved: "not yet achieved",
}
HOW_TO_LINK = (
    "If you work at the school, type the link code your school's admin gave you. "
    "If you're a parent or carer, type the access code your child's school gave you "
    "(it looks like ABCD-1234)."
)


STORE_TROUBLE = "Sorry, I can't reach the school records just now. Please try again in a moment."
logger = logging.getLogger(__name__)


class StoreUnavailable(Exception):
    """The store could not be used for this message."""


async def in_thread(work: Callable[..., T], *args: Any) -> T:
    """Run store work in a worker thread; a database failure becomes ``StoreUnavailable``."""
    try:
        return await asyncio.to_thread(work, *args)
    except SQLAlchemyError as problem:
        logger.warning("store unavailable: %s", type(problem).__name__)
        raise StoreUnavailable() from problem


def store_guard(run: Callable[..., Any]) -> Callable[..., Any]:
    """An action's ``run`` that says sorry, instead of nothing, when the store fails."""

    @functools.wraps(run)
    async def guarded(self: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Any:
        try:
            return await run(self, dispatcher, tracker, domain)
        except StoreUnavailable:
            dispatcher.utter_message(text=STORE_TROUBLE)
            return []

    return guarded


CODE_WORD = re.compile(r"\bcodes?\b", re.IGNORECASE)


def links_codes_first(run: Callable[..., Any]) -> Callable[..., Any]:
    """An action's ``run`` that links instead when the message gives a code ("my code is KQ7D-M2XA").

    Codes are random, so the classifier may take one for a question, a
    look-up or a greeting; a message naming a code is always for linking.
    """

    @functools.wraps(run)
    async def linking(self: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Any:
        text = tracker.latest_message.get("text") or ""
        if latest_intent(tracker) != "link_account" and CODE_WORD.search(text) and find_code(text):
            return await ActionLinkAccount().run(dispatcher, tracker, domain)
        return await run(self, dispatcher, tracker, domain)

    return linking


def channel_of(tracker: Tracker) -> str:
    return tracker.get_latest_input_channel() or "rest"


def find_code(text: str) -> Optional[str]:
    """A link or access code in the message, if there is one.

    Codes are eight letters and digits, always with a digit, typed whole or
    as two groups of four. When several readings are possible ("code kq7d
    m2xa"), a hyphenated pair wins, then a pair whose halves are not words.
    """
    tokens = [(m.group(), m.start(), m.end()) for m in re.finditer(r"[A-Za-z0-9]+", text or "")]
    everyday = names.english_words()
    found: list[tuple[int, str]] = []
    for word, _, _ in tokens:
        if len(word) == 8 and _code_like(word):
            found.append((1, word.upper()))
    for (left, _, left_end), (right, right_start, _) in zip(tokens, tokens[1:]):
        gap = text[left_end:right_start]
        if len(left) == 4 and len(right) == 4 and gap in ("-", " ", " - ") and _code_like(left + right):
            score = (2 if gap == "-" else 0) + sum(half.lower() not in everyday for half in (left, right))
            found.append((score, f"{left}-{right}".upper()))
    return max(found, key=lambda item: item[0])[1] if found else None


def _code_like(raw: str) -> bool:
    return any(ch.isdigit() for ch in raw) and any(ch.isalpha() for ch in raw)


def viewer_of(session: Any, tracker: Tracker) -> records.Viewer:
    channel = channel_of(tracker)
    return records.Viewer(accounts.who_is(session, channel, tracker.sender_id), channel)


def _describe(session: Any, person: accounts.Person) -> str:
    if person.kind == "staff":
        staff = session.get(Staff, person.id)
        return f"{staff.name} ({staff.role.value.upper() if staff.role.value == 'senco' else staff.role.value}) at {staff.school.name}"
    parent = session.get(Parent, person.id)
    children = [session.get(Pupil, pupil_id).first_name for pupil_id in person.pupil_ids]
    return f"{parent.name}, parent or carer of {' and '.join(children)}"


def _link(channel: str, sender: str, code: str) -> tuple[str, Optional[accounts.Person], str, int]:
    with sessions().begin() as session:
        result = accounts.redeem_code(session, channel, sender, code)
        described = _describe(session, result.linked) if result.linked else ""
        left = accounts.tries_left(session, channel, sender)
    return result.reason, result.linked, described, left


def link_reply(reason: str, person: Optional[accounts.Person], described: str, tries_left: int) -> str:
    if reason == "linked" and person is not None:
        if person.kind == "staff":
            return (
                f"Thank you, you're now linked as {described}. You can ask, for example, "
                '"which reviews are overdue?", "reviews due in the next 2 weeks" or '
                '"when is Amy\'s next review?". Say "forget me on this device" to unlink.'
            )
        return (
            f"Thank you, you're now linked as {described}. You can ask \"what's in my child's plan?\", "
            '"what are the targets?" or "when\'s the next review?". Say "forget me on this device" to unlink.'
        )
    if reason == "throttled":
        return (
            "There have been too many wrong codes from this chat, so I've paused code checks for "
            f"{int(accounts.THROTTLE_WINDOW.total_seconds() // 60)} minutes. Please try again later, "
            "or ask the school for a new code."
        )
    if reason == "used":
        return "That code has already been used; each code works once. Please ask the school for a new one."
    if reason == "expired":
        return "That code has expired. Please ask the school for a new one."
    tries = "one more try" if tries_left == 1 else f"{tries_left} more tries"
    pause = f" You have {tries} before a short pause." if tries_left else ""
    return (
        f"Sorry, I don't recognise that code. Please check it and type it again, exactly as it was given to you.{pause}"
    )


class ActionLinkAccount(Action):
    """Links this chat user to a member of staff or a parent, with a one-time code."""

    def name(self) -> str:
        return "action_link_account"

    @store_guard
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        code = find_code(tracker.latest_message.get("text") or "")
        if code is None:
            dispatcher.utter_message(
                text="To link this chat, please type your code as it was given to you, for example "
                '"my code is ABCD-1234". ' + HOW_TO_LINK.split(". ")[0] + "."
            )
            return []
        reason, person, described, left = await in_thread(_link, channel_of(tracker), tracker.sender_id, code)
        dispatcher.utter_message(text=link_reply(reason, person, described, left))
        if reason == "linked" and person is not None and person.kind == "staff":
            from actions.session import tell_reminders

            await tell_reminders(dispatcher, tracker)
        return [SlotSet("pupil_ref", None)] if reason == "linked" else []


def _unlink(channel: str, sender: str) -> bool:
    with sessions().begin() as session:
        return accounts.unlink(session, channel, sender)


class ActionUnlinkAccount(Action):
    """Forgets this chat user's link on this channel ("forget me on this device")."""

    def name(self) -> str:
        return "action_unlink_account"

    @links_codes_first
    @store_guard
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        had_link = await in_thread(_unlink, channel_of(tracker), tracker.sender_id)
        if had_link:
            dispatcher.utter_message(
                text="Done: this chat is no longer linked, and I won't show any pupil's records here. "
                "You can link again at any time with a new code from the school."
            )
        else:
            dispatcher.utter_message(text="This chat isn't linked to anyone, so there's nothing to forget.")
        return [SlotSet("pupil_ref", None)]


def _whoami(channel: str, sender: str) -> str:
    with sessions().begin() as session:
        person = accounts.who_is(session, channel, sender)
        return _describe(session, person) if person else ""


class ActionWhoAmI(Action):
    """Says who this chat is linked as, if anyone."""

    def name(self) -> str:
        return "action_whoami"

    @links_codes_first
    @store_guard
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        described = await in_thread(_whoami, channel_of(tracker), tracker.sender_id)
        if described:
            dispatcher.utter_message(
                text=f'This chat is linked as {described}. Say "forget me on this device" to unlink.'
            )
        else:
            dispatcher.utter_message(text=f"This chat isn't linked to anyone. {HOW_TO_LINK}")
        return []


def button_pupil_id(tracker: Tracker) -> Optional[int]:
    """The pupil id a button carried, if any; a hand-typed id that is not a number becomes -1, refused like any other."""
    entity = next(tracker.get_latest_entity_values("pupil_id"), None)
    if entity is None:
        return None
    number = _pupil_id(entity)
    return -1 if number is None else number


def school_name(session: Any, viewer: records.Viewer) -> str:
    """The name of the linked member of staff's school."""
    return session.get(Staff, viewer.person.id).school.name  # type: ignore[union-attr]


def _pupil_id(value: Any) -> Optional[int]:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


class PupilLookup(Action):
    """A question about one pupil: which pupil, may this person see them, then the answer."""

    action_name = ""
    audit_action = ""
    intent = ""

    def name(self) -> str:
        return self.action_name

    def answer(self, record: records.PupilRecord, viewer: records.Viewer) -> str:
        raise NotImplementedError

    def answer_with(self, session: Any, record: records.PupilRecord, viewer: records.Viewer) -> str:
        """The reply, for answers that need the store again (such as making a link)."""
        return self.answer(record, viewer)

    def unlinked_text(self) -> str:
        return (
            "I can only show a pupil's records to school staff and parents who have linked this chat. "
            f"{HOW_TO_LINK} Meanwhile I'm happy to answer general questions about SEN support."
        )

    def _look_up(self, tracker: Tracker, button_id: Optional[int], context_id: Optional[int]) -> dict[str, Any]:
        with sessions().begin() as session:
            viewer = viewer_of(session, tracker)
            found = records.find_pupil(
                session, viewer, tracker.latest_message.get("text") or "", self.audit_action, button_id, context_id
            )
            reply: dict[str, Any] = {"outcome": found.outcome, "viewer": viewer}
            record = (
                records.read_record(session, viewer, found.pupil.id, self.audit_action)
                if found.outcome == "found"
                else None
            )
            if record is not None:
                reply["text"] = self.answer_with(session, record, viewer)
                reply["pupil_id"] = found.pupil.id
            elif found.outcome == "found":
                reply["outcome"] = "other_child" if viewer.is_parent else "not_found"
            elif found.outcome in ("ambiguous", "no_name"):
                reply["choices"] = [(pupil.id, pupil.label or pupil.full_name) for pupil in found.pupils]
            if reply["outcome"] == "not_found":
                reply["school"] = school_name(session, viewer)
            if reply["outcome"] == "other_child":
                reply["children"] = [session.get(Pupil, pid).first_name for pid in viewer.person.pupil_ids]  # type: ignore[union-attr]
            return reply

    def _button(self, pupil_id: int, label: str) -> dict[str, str]:
        return {"title": label, "payload": f"/{self.intent}{json.dumps({'pupil_id': str(pupil_id)})}"}

    @links_codes_first
    @store_guard
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        button_id = button_pupil_id(tracker)
        context_id = _pupil_id(tracker.get_slot("pupil_ref"))
        reply = await in_thread(self._look_up, tracker, button_id, context_id)
        outcome = reply["outcome"]
        if outcome == "found":
            dispatcher.utter_message(text=reply["text"])
            return [SlotSet("pupil_ref", str(reply["pupil_id"]))]
        if outcome == "unlinked":
            dispatcher.utter_message(text=self.unlinked_text())
        elif outcome == "ambiguous":
            dispatcher.utter_message(
                text="I found more than one pupil with that name. Which one do you mean?",
                buttons=[self._button(pupil_id, label) for pupil_id, label in reply["choices"]],
            )
        elif outcome == "no_name" and reply.get("choices"):
            dispatcher.utter_message(
                text="Which of your children do you mean?",
                buttons=[self._button(pupil_id, label) for pupil_id, label in reply["choices"]],
            )
        elif outcome == "no_name":
            dispatcher.utter_message(
                text='Which pupil do you mean? Please include their name, for example "Amy Carter".'
            )
        elif outcome == "not_found":
            dispatcher.utter_message(
                text=f"I couldn't find a pupil by that name at {reply['school']}. Please check the spelling, "
                "or try their full name."
            )
        else:
            children = " and ".join(reply.get("children") or []) or "your child"
            dispatcher.utter_message(
                text=f"Sorry, I can only share the records of the child your access code is for ({children}). "
                "If you look after another child at the school, please ask the school for a separate code."
            )
        return [SlotSet("pupil_ref", None)] if outcome != "ambiguous" else []


def _review_sentences(record: records.PupilRecord, viewer: records.Viewer) -> list[str]:
    name = record.pupil.full_name if viewer.is_staff else record.pupil.first_name
    timing = record.timing
    lines: list[str] = []
    if timing.next_booked and not timing.overdue:
        lines.append(
            f"{name}'s next review is on {dates.long_date(timing.next_booked)} ({dates.relative(timing.next_booked)})."
        )
    elif timing.overdue:
        lines.append(
            f"{name}'s review was due on {dates.long_date(timing.next_booked)} "  # type: ignore[arg-type]
            f"({dates.relative(timing.next_booked)}) and hasn't been recorded as held yet."  # type: ignore[arg-type]
        )
    else:
        lines.append(f"There's no review booked for {name} at the moment.")
    if timing.last_held:
        lines.append(f"The last review was on {dates.long_date(timing.last_held)}.")
    if viewer.is_staff and (timing.none_booked or timing.long_gap or timing.overdue):
        lines.append(
            "The Code of Practice expects reviews with parents at least three times a year (paragraph 6.65), "
            "so "
            + (
                "please book one."
                if timing.none_booked
                else "please hold it or book a new date."
                if timing.overdue
                else "that is more than about four months after the last one: consider an earlier date."
            )
        )
    elif viewer.is_parent and (timing.none_booked or timing.overdue):
        lines.append(
            "Schools should meet parents at least three times a year (SEND Code of Practice, paragraph 6.65). "
            "You could ask the class teacher or the SENCO for a date."
        )
    return lines


class ActionNextReview(PupilLookup):
    action_name = "action_next_review"
    audit_action = "read_next_review"
    intent = "lookup_next_review"

    def answer(self, record: records.PupilRecord, viewer: records.Viewer) -> str:
        return " ".join(_review_sentences(record, viewer))


def _targets_text(record: records.PupilRecord, with_progress: bool = True) -> list[str]:
    lines = []
    for target in record.plan.targets if record.plan else []:
        provision = ", ".join(
            part for part in (target.provision_what, target.provision_who, target.provision_how_often) if part
        )
        line = f"{target.position}. {target.outcome}"
        if provision:
            line += f"\n   Support: {provision}."
        if with_progress and target.progress:
            line += f"\n   Progress: {PROGRESS_NAMES[target.progress]}"
            line += f" ({target.progress_notes.rstrip('.')})." if target.progress_notes else "."
        lines.append(line)
    return lines


def _no_plan(record: records.PupilRecord) -> str:
    return (
        f"There's no agreed SEN Support Plan on record for {record.pupil.first_name} yet. "
        "A plan in progress becomes visible once the SENCO has agreed it."
    )


class ActionPupilTargets(PupilLookup):
    action_name = "action_pupil_targets"
    audit_action = "read_targets"
    intent = "lookup_pupil_targets"

    def answer(self, record: records.PupilRecord, viewer: records.Viewer) -> str:
        if record.plan is None:
            return _no_plan(record)
        lines = _targets_text(record)
        if not lines:
            return f"{record.pupil.first_name}'s current plan has no targets recorded."
        return (
            f"{record.pupil.first_name}'s targets (plan agreed on {dates.long_date(record.plan.agreed_on)}):\n"
            + "\n".join(lines)
        )


class ActionPupilSupport(PupilLookup):
    action_name = "action_pupil_support"
    audit_action = "read_support"
    intent = "lookup_pupil_support"

    def answer(self, record: records.PupilRecord, viewer: records.Viewer) -> str:
        plan = record.plan
        if plan is None:
            return _no_plan(record)
        parts = [f"Support for {record.pupil.first_name} in the current plan:"]
        if plan.main_area_of_need:
            parts.append(f"Main area of need: {AREA_NAMES[plan.main_area_of_need]}.")
        if plan.interventions:
            parts.append(f"Interventions and adjustments: {plan.interventions}")
        for target in plan.targets:
            bits = [
                b
                for b in (
                    target.provision_what,
                    target.provision_who,
                    target.provision_when,
                    target.provision_how_often,
                )
                if b
            ]
            if bits:
                parts.append(f"• {', '.join(bits)}.")
        if plan.class_teacher_role:
            parts.append(f"The class teacher will: {plan.class_teacher_role}")
        return "\n".join(parts)


class ActionPupilPlan(PupilLookup):
    action_name = "action_pupil_plan"
    audit_action = "read_plan"
    intent = "lookup_pupil_plan"

    def answer(self, record: records.PupilRecord, viewer: records.Viewer) -> str:
        plan = record.plan
        if plan is None:
            return _no_plan(record)
        level = "an EHC plan" if plan.level_of_need == LevelOfNeed.ehcp else "SEN support"
        sections = [
            f"{record.pupil.first_name}'s SEN Support Plan (version {plan.version}, agreed by {plan.agreed_by_senco_name} "
            f"on {dates.long_date(plan.agreed_on)}):",
            f"Level of need: {level}.",
        ]
        if plan.main_area_of_need:
            sections.append(f"Main area of need: {AREA_NAMES[plan.main_area_of_need]}.")
        for title, value in (
            ("Strengths", plan.strengths),
            ("You'll know I'm finding things hard when", plan.finding_things_hard_when),
            ("How I like to be supported", plan.how_i_like_support),
            ("Current support", plan.interventions),
            ("Parent's role", plan.parent_role),
            ("Child's role", plan.child_role),
            ("Class teacher's role", plan.class_teacher_role),
        ):
            if value:
                sections.append(f"{title}: {value}")
        targets = _targets_text(record)
        if targets:
            sections.append("Targets:\n" + "\n".join(targets))
        sections.append(" ".join(_review_sentences(record, viewer)))
        return "\n".join(sections)


def _agenda(tracker: Tracker, days: int) -> dict[str, Any]:
    with sessions().begin() as session:
        viewer = viewer_of(session, tracker)
        found = records.agenda(session, viewer, days)
        if found is None:
            return {"staff": False, "linked": viewer.person is not None}
        school = school_name(session, viewer)
        return {"staff": True, "school": school, "agenda": found}


def agenda_text(school: str, agenda: records.Agenda, overdue_first: bool) -> str:
    def when(day: Any) -> str:
        return f"{dates.long_date(day)} ({dates.relative(day)})"

    def more(shown: int, total: int) -> list[str]:
        return [f"…and {total - shown} more."] if total > shown else []

    due = [f"• {pupil.label}: {when(day)}" for pupil, day in agenda.due] + more(len(agenda.due), agenda.due_total)
    overdue = [f"• {pupil.label}: was due {when(day)}" for pupil, day in agenda.overdue]
    overdue += more(len(agenda.overdue), agenda.overdue_total)
    flagged = [f"• {pupil.label}: no review booked" for pupil in agenda.none_booked]
    flagged += more(len(agenda.none_booked), agenda.none_booked_total)
    flagged += [
        f"• {pupil.label}: next review {dates.long_date(booked)}, more than four months after {dates.long_date(start)}"
        for pupil, start, booked in agenda.long_gap
    ] + more(len(agenda.long_gap), agenda.long_gap_total)
    due_block = (
        f"Reviews due at {school} in the next {agenda.days} days ({agenda.due_total}):\n" + "\n".join(due)
        if due
        else f"No reviews are due at {school} in the next {agenda.days} days."
    )
    overdue_block = (
        f"Overdue reviews, not yet recorded as held ({agenda.overdue_total}):\n" + "\n".join(overdue)
        if overdue
        else "No reviews are overdue."
    )
    blocks = [overdue_block, due_block] if overdue_first else [due_block, overdue_block]
    if flagged:
        blocks.append(
            "Needing attention, since the Code of Practice expects reviews at least three times a year "
            "(paragraph 6.65):\n" + "\n".join(flagged)
        )
    return "\n\n".join(blocks)


class ActionReviewsDue(Action):
    """Staff: reviews due soon, overdue ones, and pupils whose reviews are not on time."""

    def name(self) -> str:
        return "action_reviews_due"

    @links_codes_first
    @store_guard
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        text = tracker.latest_message.get("text") or ""
        days = dates.days_asked(text)
        reply = await in_thread(_agenda, tracker, days)
        if not reply["staff"]:
            if reply["linked"]:
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
        dispatcher.utter_message(text=agenda_text(reply["school"], reply["agenda"], overdue_first))
        return []


def document_addresses(token: str) -> str:
    base = f"{settings.public_url()}/documents/{token}"
    return f"{base}.pdf (or as a web page: {base}.html)"


class ActionPlanDocument(PupilLookup):
    """A private link to the printable plan, for the pupil's school staff or their parent."""

    action_name = "action_plan_document"
    audit_action = "read_plan"
    intent = "lookup_plan_document"

    def answer(self, record: records.PupilRecord, viewer: records.Viewer) -> str:
        return _no_plan(record)

    def answer_with(self, session: Any, record: records.PupilRecord, viewer: records.Viewer) -> str:
        if record.plan is None:
            return _no_plan(record)
        token = document_links.issue_link(session, viewer, record.plan.id)
        if token is None:
            return _no_plan(record)
        return (
            f"Here is {record.pupil.first_name}'s plan (version {record.plan.version}) to read or print: "
            f"{document_addresses(token)}. The link is private to you and works for "
            f"{document_links.LINK_LIFETIME.days} days."
        )
