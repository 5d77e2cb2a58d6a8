"""Review meetings by chat: capturing one as it happens, quick notes, and what it decided.

"start Amy's review" (or "carry on with Amy's review") opens the pupil's
review in the store and starts ``review_form``, walked like a plan
(actions/walks.py). "note: mum says sleep has improved" attaches a note to
the review open in this conversation, or to the one this member of staff
was last capturing. A linked parent asks "how did the last review go?" or
"what happens next?" and gets the agreed outcome in plain words.
"""

from __future__ import annotations

import json
import re
from typing import Any, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

import knowledge
from actions.common import current_council
from actions.records import (
    HOW_TO_LINK,
    links_codes_first,
    PupilLookup,
    button_pupil_id,
    document_addresses,
    in_thread,
    school_name,
    store_guard,
    viewer_of,
)
from actions.walks import AskWalkAnswer, Loaded, Recording, ValidateWalkForm, WalkFinished, buttons_slot
from bot.core import dates
from bot.core.walker import Turn
from bot.core.review_template import ACHIEVED, DECISIONS, NEXT_STEPS, REVIEW_WALK, TOTAL_SECTIONS
from bot.store import document_links, records, reviews
from bot.store.db import sessions
from bot.store.models import Review, ReviewDecision

NOTE = re.compile(
    r"^\s*(?:(?:add|make)\s+(?:a\s+)?note|quick\s+note|jot\s+down|notes?|nb)\b(?:\s+that\b)?[\s:,.\-]*", re.IGNORECASE
)
TITLES = {
    name: {choice.value: choice.title for choice in choices}
    for name, choices in (("achieved", ACHIEVED), ("next_step", NEXT_STEPS), ("decision", DECISIONS))
}


def note_text(text: str) -> Optional[str]:
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


def _title(field: str, value: Any) -> str:
    raw = getattr(value, "value", value)
    return TITLES[field].get(raw, str(raw))


def review_summary(review: Review, name: str) -> str:
    """The review as captured, for checking before it is saved as held."""
    lines = [f"Here is {name}'s review:"]
    if review.held_on:
        lines.append(
            f"• Held on {dates.long_date(review.held_on)}" + (f" with {review.attendees}" if review.attendees else "")
        )
    for row in review.targets:
        if row.kind == "reviewed":
            result = _title("achieved", row.achieved) if row.achieved else "(not answered)"
            step = f"; next: {_title('next_step', row.next_step).lower()}" if row.next_step else ""
            lines.append(f'• Target {row.position} "{row.outcome or row.difficulty}": {result}{step}')
    for label, value in (
        ("Parents' views", review.parent_views),
        (f"{name}'s views", review.pupil_views),
        ("New information", review.new_information),
    ):
        if value:
            lines.append(f"• {label}: {value}")
    for row in review.targets:
        if row.kind == "new" and (row.outcome or row.difficulty):
            lines.append(f"• New target {row.position}: {row.outcome or row.difficulty}")
    if review.decision:
        lines.append(f"• Outcome: {_title('decision', review.decision)}")
    if review.next_review_date:
        lines.append(f"• Next review: {dates.long_date(review.next_review_date)}")
    if review.notes:
        lines.append(f"• Notes: {len(review.notes)}")
    return "\n".join(lines)


class ReviewRecording(Recording):
    """Reviews as the walk captures them: saved answer by answer, recorded as held at the end."""

    noun = "review"
    walk = REVIEW_WALK
    confirm_buttons = [
        {"title": "Save the review", "payload": "confirm"},
        {"title": "Stop for now", "payload": "stop for now"},
    ]

    def load(self, session: Any, viewer: records.Viewer, document_id: int) -> Optional[Loaded]:
        review = reviews.load_review(session, viewer, document_id)
        state = _prepare(json.loads(review.draft_state or "{}"), review)
        return Loaded(review, review.pupil.first_name, state, reviews.review_values(review))

    def save_answer(self, session: Any, viewer: records.Viewer, document_id: int, seen: int, turn: Turn) -> Any:
        return reviews.save_answer(
            session, viewer, document_id, seen, turn.save, turn.group, turn.target_position, turn.state
        )

    def save_state(self, session: Any, viewer: records.Viewer, document_id: int, state: dict[str, Any]) -> int:
        return reviews.save_state(session, viewer, document_id, state)

    def finish(self, session: Any, viewer: records.Viewer, document_id: int, name: str) -> list[str]:
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
        return review_summary(loaded.document, loaded.name) + (
            '\nIs this right? Say "confirm" to save it as held, or "change ..." to change a section.'
        )


def _open(tracker: Tracker, pupil_id: Optional[int]) -> dict[str, Any]:
    with sessions().begin() as session:
        viewer = viewer_of(session, tracker)
        if not viewer.is_staff:
            records.refuse(session, viewer, "open_review", "not staff")
            return {"outcome": "not_staff", "linked": viewer.person is not None}
        found = records.find_pupil(session, viewer, tracker.latest_message.get("text") or "", "open_review", pupil_id)
        if found.outcome != "found":
            return {
                "outcome": found.outcome,
                "school": school_name(session, viewer),
                "choices": [(p.id, p.label or p.full_name) for p in found.pupils],
            }
        draft = reviews.open_review(session, viewer, found.pupil.id)
        state = REVIEW_WALK.resume(draft.state) if draft.resumed else draft.state
        revision = reviews.save_state(session, viewer, draft.review_id, state)
        review = reviews.load_review(session, viewer, draft.review_id)
        turn = REVIEW_WALK.ask(_prepare(state, review), draft.pupil_name, reviews.review_values(review))
        return {
            "outcome": "opened",
            "draft": draft,
            "revision": revision,
            "turn": turn,
            "targets": state.get("reviewed", 0),
        }


class ActionStartReview(Action):
    """Opens a pupil's review for capture (new or carrying on) and starts the form."""

    def name(self) -> str:
        return "action_start_review"

    @links_codes_first
    @store_guard
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        reply = await in_thread(_open, tracker, button_pupil_id(tracker))
        outcome = reply["outcome"]
        if outcome == "not_staff":
            dispatcher.utter_message(
                text=(
                    "Capturing review meetings is for school staff who have linked this chat. "
                    + (HOW_TO_LINK if not reply["linked"] else 'Parents can ask "how did the last review go?".')
                )
            )
            return []
        if outcome == "ambiguous":
            dispatcher.utter_message(
                text="I found more than one pupil with that name. Which one do you mean?",
                buttons=[
                    {"title": label, "payload": f'/start_review{{"pupil_id": "{pid}"}}'}
                    for pid, label in reply["choices"]
                ],
            )
            return []
        if outcome == "no_name":
            dispatcher.utter_message(
                text="Whose review? Please include the pupil's name, for example \"start Amy Carter's review\"."
            )
            return []
        if outcome != "opened":
            dispatcher.utter_message(
                text=f"I couldn't find a pupil by that name at {reply['school']}. Please check the spelling."
            )
            return []
        draft: reviews.ReviewDraft = reply["draft"]
        turn: Turn = reply["turn"]
        if draft.resumed:
            opening = f"Carrying on with {draft.pupil_name}'s review, where it was left."
        else:
            targets = reply["targets"]
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
        return [
            SlotSet("review_id", str(draft.review_id)),
            SlotSet("review_revision", str(reply["revision"])),
            SlotSet("review_prompt", "\n".join(turn.say)),
            SlotSet("review_buttons", buttons_slot(turn.buttons)),
            SlotSet("review_step", turn.asked),
            SlotSet("review_result", None),
            FollowupAction("review_form"),
        ]


class ActionAskReviewAnswer(AskWalkAnswer):
    """Puts the review's current question, with its buttons."""

    noun = "review"

    def name(self) -> str:
        return "action_ask_review_answer"


def _add_note(tracker: Tracker, text: str, review_id: Optional[int]) -> tuple[str, str]:
    """("noted", pupil's first name), ("no_review", "") or ("not_staff", "")."""
    with sessions().begin() as session:
        viewer = viewer_of(session, tracker)
        if not viewer.is_staff:
            records.refuse(session, viewer, "note_review", "not staff")
            return "not_staff", ""
        review = reviews.open_review_for_notes(session, viewer, review_id)
        if review is None:
            return "no_review", ""
        reviews.add_note(session, viewer, review.id, text)
        return "noted", review.pupil.first_name


NOTE_NOT_SAVED = {
    "no_review": (
        "There's no review meeting in progress for you to add that note to, so I haven't saved it. "
        'Start one with, for example, "start Amy Carter\'s review", then send the note again.'
    ),
    "not_staff": f"Notes on review meetings are for school staff who have linked this chat, so I haven't saved it. {HOW_TO_LINK}",
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
        outcome, name = await in_thread(_add_note, tracker, note, int(tracker.get_slot("review_id") or 0) or None)
        dispatcher.utter_message(text=_noted(name, note) if outcome == "noted" else NOTE_NOT_SAVED[outcome])
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
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        text = tracker.latest_message.get("text") or ""
        note = note_text(text) or " ".join(text.split())
        outcome, name = await in_thread(_add_note, tracker, note, int(tracker.get_slot("review_id") or 0) or None)
        dispatcher.utter_message(text=_noted(name, note) if outcome == "noted" else NOTE_NOT_SAVED[outcome])
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
        text += " No date is booked for the next review yet; reviews should happen at least three times a year."
    place = current_council()
    cited = knowledge.topics()[topic]
    return [text, f"Source: {cited.citation()}\n{knowledge.local_help(place)}"]


class ReviewLookup(PupilLookup):
    """A question about a pupil's last review, answered from the store for those entitled."""

    def reply(self, name: str, held: reviews.HeldReview) -> str:
        raise NotImplementedError

    def answer_with(self, session: Any, record: records.PupilRecord, viewer: records.Viewer) -> str:
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
        lines = [
            f"{name}'s last review was on {dates.long_date(review.held_on)}"
            + (f", with {review.attendees}." if review.attendees else ".")
        ]
        looked_back = [row for row in review.targets if row.kind == "reviewed"]
        if looked_back:
            lines.append("How the targets went:")
            for row in looked_back:
                result = _title("achieved", row.achieved).lower() if row.achieved else "not recorded"
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
        first = name.split()[0]
        lines = [f"At {first}'s review on {dates.long_date(review.held_on)}, the school agreed:"]
        for row in review.targets:
            if row.kind == "reviewed" and row.next_step:
                lines.append(f'• "{row.outcome or row.difficulty}": {reviews.next_step_words(row)}')
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

    def answer_with(self, session: Any, record: records.PupilRecord, viewer: records.Viewer) -> str:
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
