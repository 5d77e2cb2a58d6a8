"""Questions about one pupil's record: their plan, targets, support, next review and printable plan.

Each look-up finds which pupil the message means among those the person may
see, checks on that very call that they may see them (a pupil id from a
button or an earlier turn is checked again like any typed name), then
answers. Reviews held (``actions.reviews``) are asked the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.linking import HOW_TO_LINK, links_codes_first
from actions.support import Caller, Events, as_id, button_pupil_id, in_thread, pupil_buttons, school_name, store_guard
from bot import settings
from bot.core import dates, wording
from bot.core.names import Candidate
from bot.core.vocabulary import LevelOfNeed
from bot.store import document_links, records
from bot.store.access import Viewer
from bot.store.db import sessions
from bot.store.models import Pupil
from bot.store.records import Found


@dataclass(frozen=True)
class LookupReply:
    """What a look-up found, for the reply: the answer, or which pupils to choose between, or why not."""

    outcome: Found
    text: str = ""
    pupil_id: int | None = None
    choices: tuple[Candidate, ...] = ()
    school: str = ""  # for staff who named no pupil of theirs
    children: tuple[str, ...] = ()  # for a parent who named another child


def document_addresses(token: str) -> str:
    """The private link to a document, as PDF and as a web page."""
    base = f"{settings.public_url()}/documents/{token}"
    return f"{base}.pdf (or as a web page: {base}.html)"


class PupilLookup(Action):
    """A question about one pupil: which pupil, may this person see them, then the answer."""

    action_name = ""
    audit_action = ""
    intent = ""

    def name(self) -> str:
        return self.action_name

    def answer(self, record: records.PupilRecord, viewer: Viewer) -> str:
        raise NotImplementedError

    def answer_with(self, session: Session, record: records.PupilRecord, viewer: Viewer) -> str:
        """The reply, for answers that need the store again (such as making a link)."""
        return self.answer(record, viewer)

    def unlinked_text(self) -> str:
        return (
            "I can only show a pupil's records to school staff and parents who have linked this chat. "
            f"{HOW_TO_LINK} Meanwhile I'm happy to answer general questions about SEN support."
        )

    def look_up(self, caller: Caller, button_id: int | None, context_id: int | None) -> LookupReply:
        with sessions().begin() as session:
            viewer = caller.viewer(session)
            found = records.find_pupil(session, viewer, caller.text, self.audit_action, button_id, context_id)
            if found.outcome == Found.found:
                record = records.read_record(session, viewer, found.pupil.id, self.audit_action)
                if record is not None:
                    return LookupReply(Found.found, self.answer_with(session, record, viewer), found.pupil.id)
                outcome = Found.other_child if viewer.is_parent else Found.not_found
            else:
                outcome = found.outcome
            if outcome == Found.not_found:
                return LookupReply(outcome, school=school_name(session, viewer))
            if outcome == Found.other_child and viewer.person is not None:
                children = tuple(session.get(Pupil, pid).first_name for pid in viewer.person.pupil_ids)
                return LookupReply(outcome, children=children)
            return LookupReply(outcome, choices=found.pupils)

    @links_codes_first
    @store_guard
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        context_id = as_id(tracker.get_slot("pupil_ref"))
        reply = await in_thread(self.look_up, Caller.of(tracker), button_pupil_id(tracker), context_id)
        if reply.outcome == Found.found:
            dispatcher.utter_message(text=reply.text)
            return [SlotSet("pupil_ref", str(reply.pupil_id))]
        if reply.outcome == Found.unlinked:
            dispatcher.utter_message(text=self.unlinked_text())
        elif reply.outcome == Found.ambiguous:
            dispatcher.utter_message(
                text="I found more than one pupil with that name. Which one do you mean?",
                buttons=pupil_buttons(self.intent, reply.choices),
            )
            return []
        elif reply.outcome == Found.no_name and reply.choices:
            dispatcher.utter_message(
                text="Which of your children do you mean?", buttons=pupil_buttons(self.intent, reply.choices)
            )
        elif reply.outcome == Found.no_name:
            dispatcher.utter_message(
                text='Which pupil do you mean? Please include their name, for example "Amy Carter".'
            )
        elif reply.outcome == Found.not_found:
            dispatcher.utter_message(
                text=f"I couldn't find a pupil by that name at {reply.school}. Please check the spelling, "
                "or try their full name."
            )
        else:
            children = " and ".join(reply.children) or "your child"
            dispatcher.utter_message(
                text=f"Sorry, I can only share the records of the child your access code is for ({children}). "
                "If you look after another child at the school, please ask the school for a separate code."
            )
        return [SlotSet("pupil_ref", None)]


def review_sentences(record: records.PupilRecord, viewer: Viewer) -> list[str]:
    name = record.pupil.full_name if viewer.is_staff else record.pupil.first_name
    return wording.review_sentences(name, record.timing, viewer.is_staff, viewer.is_parent)


def no_plan(record: records.PupilRecord) -> str:
    return (
        f"There's no agreed SEN Support Plan on record for {record.pupil.first_name} yet. "
        "A plan in progress becomes visible once the SENCO has agreed it."
    )


class ActionNextReview(PupilLookup):
    action_name = "action_next_review"
    audit_action = "read_next_review"
    intent = "lookup_next_review"

    def answer(self, record: records.PupilRecord, viewer: Viewer) -> str:
        return " ".join(review_sentences(record, viewer))


class ActionPupilTargets(PupilLookup):
    action_name = "action_pupil_targets"
    audit_action = "read_targets"
    intent = "lookup_pupil_targets"

    def answer(self, record: records.PupilRecord, viewer: Viewer) -> str:
        if record.plan is None:
            return no_plan(record)
        lines = wording.target_lines(record.plan.targets)
        if not lines:
            return f"{record.pupil.first_name}'s current plan has no targets recorded."
        agreed = dates.long_date(record.plan.agreed_on)
        return f"{record.pupil.first_name}'s targets (plan agreed on {agreed}):\n" + "\n".join(lines)


class ActionPupilSupport(PupilLookup):
    action_name = "action_pupil_support"
    audit_action = "read_support"
    intent = "lookup_pupil_support"

    def answer(self, record: records.PupilRecord, viewer: Viewer) -> str:
        plan = record.plan
        if plan is None:
            return no_plan(record)
        parts = [f"Support for {record.pupil.first_name} in the current plan:"]
        if plan.main_area_of_need:
            parts.append(f"Main area of need: {wording.AREA_NAMES[plan.main_area_of_need]}.")
        if plan.interventions:
            parts.append(f"Interventions and adjustments: {plan.interventions}")
        for target in plan.targets:
            provision = wording.provision_line(target)
            if provision:
                parts.append(f"• {provision}.")
        if plan.class_teacher_role:
            parts.append(f"The class teacher will: {plan.class_teacher_role}")
        return "\n".join(parts)


class ActionPupilPlan(PupilLookup):
    action_name = "action_pupil_plan"
    audit_action = "read_plan"
    intent = "lookup_pupil_plan"

    def answer(self, record: records.PupilRecord, viewer: Viewer) -> str:
        plan = record.plan
        if plan is None:
            return no_plan(record)
        level = "an EHC plan" if plan.level_of_need == LevelOfNeed.ehcp else "SEN support"
        sections = [
            f"{record.pupil.first_name}'s SEN Support Plan (version {plan.version}, agreed by "
            f"{plan.agreed_by_senco_name} on {dates.long_date(plan.agreed_on)}):",
            f"Level of need: {level}.",
        ]
        if plan.main_area_of_need:
            sections.append(f"Main area of need: {wording.AREA_NAMES[plan.main_area_of_need]}.")
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
        targets = wording.target_lines(plan.targets)
        if targets:
            sections.append("Targets:\n" + "\n".join(targets))
        sections.append(" ".join(review_sentences(record, viewer)))
        return "\n".join(sections)


class ActionPlanDocument(PupilLookup):
    """A private link to the printable plan, for the pupil's school staff or their parent."""

    action_name = "action_plan_document"
    audit_action = "read_plan"
    intent = "lookup_plan_document"

    def answer(self, record: records.PupilRecord, viewer: Viewer) -> str:
        return no_plan(record)

    def answer_with(self, session: Session, record: records.PupilRecord, viewer: Viewer) -> str:
        if record.plan is None:
            return no_plan(record)
        token = document_links.issue_link(session, viewer, record.plan.id)
        if token is None:
            return no_plan(record)
        return (
            f"Here is {record.pupil.first_name}'s plan (version {record.plan.version}) to read or print: "
            f"{document_addresses(token)}. The link is private to you and works for "
            f"{document_links.LINK_LIFETIME.days} days."
        )
