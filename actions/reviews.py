"""Review meetings by chat: capturing one as it happens, quick notes, and what it decided.

"start Amy's review" (or "carry on with Amy's review") opens the pupil's
review in the store and starts ``review_form``, walked like a plan
(actions/walks.py). "note: mum says sleep has improved" attaches a note to
the review open in this conversation, or to the one this member of staff
was last capturing. A linked parent asks "how did the last review go?" or
"what happens next?" and gets the agreed outcome in plain words.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

import knowledge
from actions.linking import HOW_TO_LINK, links_codes_first
from actions.lookups import PupilLookup, document_addresses
from actions.support import Caller, Events, button_pupil_id, in_thread, store_guard
from actions.topics import current_council
from actions.walks import (
    AskWalkAnswer,
    Loaded,
    Recording,
    Refused,
    ValidateWalkForm,
    WalkFinished,
    pupil_to_open,
    say_refused,
    start_walk,
)
from bot.core import dates, wording
from bot.core.review_template import REVIEW_WALK, TOTAL_SECTIONS
from bot.core.vocabulary import ReviewDecision
from bot.core.walker import Turn
from bot.store import access, document_links, records, reviews
from bot.store.access import Viewer
from bot.store.db import sessions
from bot.store.models import Review

NOTE = re.compile(
    r"^\s*(?:(?:add|make)\s+(?:a\s+)?note|quick\s+note|jot\s+down|notes?|nb)\b(?:\s+that\b)?[\s:,.\-]*", re.IGNORECASE
)


def note_text(text: str) -> str | None:
    """The note in "note: mum says sleep has improved", or None if the message is not a note."""
    match = NOTE.match(text or "")
    if not match:
        return None
    note = " ".join(text[match.end() :].split())
    return note or None


def _prepare(state: dict[str, Any], review: Review) -> dict[str, Any]:
    state = dict(state)
    state.setdefault("answered", [])
    state.setdefault("choices", {})
    state.setdefault("reviewed", sum(1 for row in review.targets if row.kind == "reviewed"))
    return state


class ReviewRecording(Recording):
    """Reviews as the walk captures them: saved answer by answer, recorded as held at the end."""

    noun = "review"
    walk = REVIEW_WALK
    confirm_buttons: ClassVar[list[dict[str, str]]] = [
        {"title": "Save the review", "payload": "confirm"},
        {"title": "Stop for now", "payload": "stop for now"},
    ]

    def load(self, session: Session, viewer: Viewer, document_id: int) -> Loaded | None:
        review = reviews.load_review(session, viewer, document_id)
        state = _prepare(json.loads(review.draft_state or "{}"), review)
        return Loaded(review, review.pupil.first_name, state, reviews.review_values(review))

    def save_answer(self, session: Session, viewer: Viewer, document_id: int, seen: int, turn: Turn) -> Any:
        return reviews.save_answer(
            session, viewer, document_id, seen, turn.save, turn.group, turn.target_position, turn.state
        )

    def save_state(self, session: Session, viewer: Viewer, document_id: int, state: dict[str, Any]) -> int:
        return reviews.save_state(session, viewer, document_id, state)

    def finish(self, session: Session, viewer: Viewer, document_id: int, name: str) -> list[str]:
        review = reviews.complete(session, viewer, document_id)
        said = [
            f"Saved: {name}'s review of {dates.long_date(review.held_on)} is recorded as held, and each target's "
            "progress and next step is on the plan."
        ]
        if review.next_review_date and review.decision != ReviewDecision.no_longer_needed:
            said.append(f"The next review is booked for {dates.long_date(review.next_review_date)}.")
        if any(row.kind == "new" for row in review.targets):
            said.append(
                f'The new targets are kept with the review; say "update {name}\'s plan" to add them to a new '
                "version of the plan."
            )
        if review.decision == ReviewDecision.consider_ehc_assessment:
            said.append(
                f'For a request for an EHC needs assessment, say "evidence summary for {name}" to get the '
                "history of every cycle as a document."
            )
        return [" ".join(said)]

    def summary(self, loaded: Loaded) -> str:
        return wording.review_summary(loaded.document, loaded.name) + (
            '\nIs this right? Say "confirm" to save it as held, or "change ..." to change a section.'
        )


@dataclass(frozen=True)
class OpenedReview:
    draft: reviews.ReviewDraft
    revision: int
    turn: Turn
    targets: int  # the current plan's targets, looked back on


def _open(caller: Caller, pupil_id: int | None) -> OpenedReview | Refused:
    with sessions().begin() as session:
        viewer, pupil = pupil_to_open(session, caller, pupil_id, "open_review")
        if isinstance(pupil, Refused):
            return pupil
        draft = reviews.open_review(session, viewer, pupil.id)
        state = REVIEW_WALK.resume(draft.state) if draft.resumed else draft.state
        revision = reviews.save_state(session, viewer, draft.review_id, state)
        review = reviews.load_review(session, viewer, draft.review_id)
        turn = REVIEW_WALK.ask(_prepare(state, review), draft.pupil_name, reviews.review_values(review))
        return OpenedReview(draft, revision, turn, state.get("reviewed", 0))


class ActionStartReview(Action):
    """Opens a pupil's review for capture (new or carrying on) and starts the form."""

    def name(self) -> str:
        return "action_start_review"

    @links_codes_first
    @store_guard
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        reply = await in_thread(_open, Caller.of(tracker), button_pupil_id(tracker))
        if isinstance(reply, Refused):
            say_refused(dispatcher, reply, "start_review", "review", "start Amy Carter's review")
            return []
        draft, turn = reply.draft, reply.turn
        if draft.resumed:
            opening = f"Carrying on with {draft.pupil_name}'s review, where it was left."
        else:
            targets = reply.targets
            opening = (
                f"Starting {draft.pupil_name}'s review (booked for {dates.long_date(draft.scheduled_for)}), in "
                f"{TOTAL_SECTIONS} sections, looking back on "
                + (
                    f"the {targets} target{'s' if targets != 1 else ''} of the current plan."
                    if targets
                    else "the support so far (there is no agreed plan with targets)."
                )
            )
        dispatcher.utter_message(
            text=(
                f'{opening} Every answer is saved as you go. Type "note: ..." at any time to add a quick note, and say '
                '"skip", "back", "change the parents\' views", "where am I" or "stop for now" whenever you like.'
            )
        )
        return start_walk("review", draft.review_id, reply.revision, turn)


class ActionAskReviewAnswer(AskWalkAnswer):
    """Puts the review's current question, with its buttons."""

    noun = "review"

    def name(self) -> str:
        return "action_ask_review_answer"


class Noted(str, enum.Enum):
    noted = "noted"
    no_review = "no_review"
    not_staff = "not_staff"


def _add_note(caller: Caller, text: str, review_id: int | None) -> tuple[Noted, str]:
    """Whether the note was kept, and the pupil's first name when it was."""
    with sessions().begin() as session:
        viewer = caller.viewer(session)
        if not viewer.is_staff:
            access.refuse(session, viewer, "note_review", "not staff")
            return Noted.not_staff, ""
        review = reviews.open_review_for_notes(session, viewer, review_id)
        if review is None:
            return Noted.no_review, ""
        reviews.add_note(session, viewer, review.id, text)
        return Noted.noted, review.pupil.first_name


NOTE_NOT_SAVED = {
    Noted.no_review: (
        "There's no review meeting in progress for you to add that note to, so I haven't saved it. "
        'Start one with, for example, "start Amy Carter\'s review", then send the note again.'
    ),
    Noted.not_staff: (
        "Notes on review meetings are for school staff who have linked this chat, so I haven't saved it. " + HOW_TO_LINK
    ),
}


def _noted(name: str, note: str) -> str:
    return f'Noted on {name}\'s review: "{note}"'


class ValidateReviewForm(ValidateWalkForm):
    """Takes each message of the review: an answer, a command, a quick note, or a question asked midway."""

    recording = ReviewRecording()

    def name(self) -> str:
        return "validate_review_form"

    async def aside(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
        note = note_text(tracker.latest_message.get("text") or "")
        if note is None:
            return await super().aside(dispatcher, tracker)
        outcome, name = await in_thread(
            _add_note, Caller.of(tracker), note, int(tracker.get_slot("review_id") or 0) or None
        )
        dispatcher.utter_message(text=_noted(name, note) if outcome == Noted.noted else NOTE_NOT_SAVED[outcome])
        return True

    async def validate_review_answer(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return await self.take_answer(slot_value, dispatcher, tracker)


class ActionReviewFinished(WalkFinished):
    """After the review walk ends: forget the open review in this conversation."""

    noun = "review"

    def name(self) -> str:
        return "action_review_finished"


class ActionReviewNote(Action):
    """A quick note outside the review form: attached to this person's review in progress."""

    def name(self) -> str:
        return "action_review_note"

    @links_codes_first
    @store_guard
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        text = tracker.latest_message.get("text") or ""
        note = note_text(text) or " ".join(text.split())
        outcome, name = await in_thread(
            _add_note, Caller.of(tracker), note, int(tracker.get_slot("review_id") or 0) or None
        )
        dispatcher.utter_message(text=_noted(name, note) if outcome == Noted.noted else NOTE_NOT_SAVED[outcome])
        return []


def outcome_words(name: str, review: Review, next_booked: Any) -> list[str]:
    """What the review decided, in plain words, with its source and the next review."""
    decision = review.decision
    if decision == ReviewDecision.no_longer_needed:
        text = (
            f"The school decided that {name} no longer needs SEN support: the help that teachers give every pupil "
            f"should now be enough. The school should keep an eye on how {name} gets on; if you're worried, "
            "talk to the SENCO."
        )
        topic = "review_stage"
    elif decision == ReviewDecision.consider_ehc_assessment:
        text = (
            f"The review found that {name} may need more help than the school can provide from its own resources, "
            "so the next step is to consider asking the council for an EHC needs assessment. You or the school "
            "can make the request; the school keeps giving SEN support meanwhile."
        )
        topic = "ehc_request"
    elif decision == ReviewDecision.carry_on:
        text = f"{name} carries on with SEN support, with the changes agreed at the review."
        topic = "review_stage"
    else:
        text = f"What was decided: {review.outcomes}" if review.outcomes else "No decision was recorded at that review."
        topic = "review_stage"
    if next_booked:
        text += f" The next review is booked for {dates.long_date(next_booked)}."
    elif decision != ReviewDecision.no_longer_needed:
        text += (
            " No date is booked for the next review yet. A review happens on the date agreed in the plan, and "
            "schools should also meet parents at least three times a year."
        )
    place = current_council()
    cited = knowledge.topics()[topic]
    return [text, f"Source: {cited.citation()}\n{knowledge.local_help(place)}"]


class ReviewLookup(PupilLookup):
    """A question about a pupil's last review, answered from the store for those entitled."""

    def reply(self, name: str, held: reviews.HeldReview) -> str:
        raise NotImplementedError

    def answer_with(self, session: Session, record: records.PupilRecord, viewer: Viewer) -> str:
        held = reviews.latest_held(session, viewer, record.pupil.id)
        name = record.pupil.full_name if viewer.is_staff else record.pupil.first_name
        if held is None or held.review is None:
            booked = (
                f" The first is booked for {dates.long_date(held.next_booked)}." if held and held.next_booked else ""
            )
            return f"There's no review of {name}'s support recorded yet.{booked}"
        return self.reply(name, held)


class ActionLastReview(ReviewLookup):
    """ "How did the last review go?": when it was, how each target went, and what was decided."""

    action_name = "action_last_review"
    audit_action = "read_review"
    intent = "lookup_last_review"

    def reply(self, name: str, held: reviews.HeldReview) -> str:
        review = held.review
        assert review is not None, "answer_with replies only about a review that was held"
        lines = [
            f"{name}'s last review was on {dates.long_date(review.held_on)}"
            + (f", with {review.attendees}." if review.attendees else ".")
        ]
        looked_back = [row for row in review.targets if row.kind == "reviewed"]
        if looked_back:
            lines.append("How the targets went:")
            for row in looked_back:
                result = wording.choice_title("achieved", row.achieved).lower() if row.achieved else "not recorded"
                evidence = f" ({row.evidence})" if row.evidence else ""
                lines.append(f'• "{row.outcome or row.difficulty}": {result}{evidence}')
        if review.parent_views:
            lines.append(f"Your views, as recorded: {review.parent_views}")
        if review.pupil_views:
            lines.append(f"{name.split()[0]}'s views: {review.pupil_views}")
        lines.extend(outcome_words(name.split()[0], review, held.next_booked))
        return "\n".join(lines)


class ActionNextSteps(ReviewLookup):
    """ "What happens next?": each target's next step, new targets and the decision, from the last review."""

    action_name = "action_next_steps"
    audit_action = "read_review"
    intent = "lookup_next_steps"

    def unlinked_text(self) -> str:
        topic = knowledge.topics()["review_stage"]
        return (
            f"{knowledge.answer_text(topic, current_council())}\n\nIf you link this chat with the access code "
            "from your child's school, I can tell you what was agreed for your child."
        )

    def reply(self, name: str, held: reviews.HeldReview) -> str:
        review = held.review
        assert review is not None, "answer_with replies only about a review that was held"
        first = name.split()[0]
        lines = [f"At {first}'s review on {dates.long_date(review.held_on)}, the school agreed:"]
        for row in review.targets:
            if row.kind == "reviewed" and row.next_step:
                lines.append(f'• "{row.outcome or row.difficulty}": {wording.next_step_words(row)}')
        for row in review.targets:
            if row.kind == "new" and (row.outcome or row.difficulty):
                lines.append(f"• A new target: {row.outcome or row.difficulty}")
        if len(lines) == 1:
            lines = [f"At {first}'s review on {dates.long_date(review.held_on)}:"]
        lines.extend(outcome_words(first, review, held.next_booked))
        return "\n".join(lines)


class ActionEvidenceSummary(PupilLookup):
    """A private link to the pupil's graduated-approach history, to go with an EHC needs assessment request."""

    action_name = "action_evidence_summary"
    audit_action = "read_evidence"
    intent = "evidence_summary"

    def answer_with(self, session: Session, record: records.PupilRecord, viewer: Viewer) -> str:
        name = record.pupil.first_name
        token = document_links.issue_evidence_link(session, viewer, record.pupil.id)
        if token is None:
            return f"I can't make that document for {name}."
        return (
            f"Here is the evidence summary for {name}: every cycle of assess, plan, do and review, with needs, "
            f"provision, targets, outcomes, professionals, dates and parents' views, ready to go with a request for an "
            f"EHC needs assessment: {document_addresses(token)}. The link is private to you and works for "
            f"{document_links.LINK_LIFETIME.days} days."
        )
