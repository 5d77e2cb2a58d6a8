"""Recording a pupil's SEN Support Plan by chat.

"new plan for Amy", "update Amy's plan" or "carry on with Amy's plan" opens
the pupil's draft (one per pupil, in the store) and starts ``plan_form``.
Every message during the form goes to ``validate_plan_form``, which lets the
walker (bot/core/walker.py) read it, saves any answer to the draft at once
and puts the next question in ``plan_prompt`` for ``action_ask_plan_answer``.
The walk's position is kept with the draft, not in the conversation, so it
survives restarts and moves between channels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.linking import links_codes_first
from actions.lookups import document_addresses
from actions.support import Caller, Events, button_pupil_id, in_thread, latest_intent, pupil_buttons, store_guard
from actions.walks import (
    AskWalkAnswer,
    Loaded,
    Opening,
    Recording,
    Refused,
    ValidateWalkForm,
    WalkFinished,
    pupil_to_open,
    say_refused,
    start_walk,
)
from bot.core import dates, walker, wording
from bot.core.plan_template import TOTAL_SECTIONS
from bot.store import document_links, drafts, revisions
from bot.store.access import Viewer
from bot.store.db import sessions
from bot.store.models import SupportPlan


def plan_values(plan: SupportPlan) -> dict[str, Any]:
    """The plan's answers keyed by walk step id, for "at the moment" and for summaries."""
    values: dict[str, Any] = {name: getattr(plan, name) for name in drafts.PLAN_FIELDS}
    for target in plan.targets:
        values[f"target.{target.position}.difficulty"] = target.difficulty
        values[f"target.{target.position}.provision"] = wording.provision_line(target) or None
        values[f"target.{target.position}.outcome"] = target.outcome
    return values


def _prepare(state: dict[str, Any], plan: SupportPlan) -> dict[str, Any]:
    state = dict(state)
    state.setdefault("answered", [])
    state.setdefault("choices", {})
    if plan.cluster_funding and "cluster_funding" not in state["choices"]:
        state["choices"]["cluster_funding"] = plan.cluster_funding
    if "targets" not in state:
        state["targets"] = max(1, len(plan.targets))
    return state


@dataclass(frozen=True)
class OpenedPlan:
    draft: drafts.Draft
    revision: int
    turn: walker.Turn


def _open(caller: Caller, pupil_id: int | None, resume_only: bool) -> OpenedPlan | Refused:
    with sessions().begin() as session:
        viewer, pupil = pupil_to_open(session, caller, pupil_id, "open_plan")
        if isinstance(pupil, Refused):
            return pupil
        if resume_only and drafts.find_draft(session, viewer, pupil.id) is None:
            return Refused(Opening.no_draft, linked=True, choices=(pupil,))
        draft = drafts.open_draft(session, viewer, pupil.id)
        plan = drafts.load_plan(session, viewer, draft.plan_id)
        state = _prepare(walker.resume(draft.state) if draft.resumed else draft.state, plan)
        revision = drafts.save_state(session, viewer, draft.plan_id, state)
        return OpenedPlan(draft, revision, walker.ask(state, draft.pupil_name, plan_values(plan)))


class ActionStartPlan(Action):
    """Opens a pupil's plan for recording (new, update or carry on) and starts the form."""

    def name(self) -> str:
        return "action_start_plan"

    @links_codes_first
    @store_guard
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        intent = latest_intent(tracker) or "start_plan"
        reply = await in_thread(_open, Caller.of(tracker), button_pupil_id(tracker), intent == "resume_plan")
        if isinstance(reply, Refused) and reply.why == Opening.no_draft:
            (pupil,) = reply.choices
            dispatcher.utter_message(
                text=f"There's no plan in progress for {pupil.first_name}. Would you like to start one?",
                buttons=[{**pupil_buttons("start_plan", [pupil])[0], "title": f"Start {pupil.first_name}'s plan"}],
            )
            return []
        if isinstance(reply, Refused):
            say_refused(dispatcher, reply, intent, "plan", "new plan for Amy Carter")
            return []
        draft, turn = reply.draft, reply.turn
        if draft.resumed:
            opening = f"Carrying on with {draft.pupil_name}'s plan (version {draft.version}), where it was left."
        elif draft.updating:
            opening = (
                f"Updating {draft.pupil_name}'s plan: version {draft.version}, starting from the current one. "
                'For each answer, say "keep" or type a new one.'
            )
        else:
            opening = f"Starting a new SEN Support Plan for {draft.pupil_name}, in {TOTAL_SECTIONS} sections."
        dispatcher.utter_message(
            text=(
                f'{opening} Every answer is saved as you go. You can say "skip", "back", "change the strengths", '
                '"where am I" or "stop for now" at any time.'
            )
        )
        return start_walk("plan", draft.plan_id, reply.revision, turn)


class ActionAskPlanAnswer(AskWalkAnswer):
    """Puts the plan's current question, with its buttons."""

    noun = "plan"

    def name(self) -> str:
        return "action_ask_plan_answer"


class PlanRecording(Recording):
    """Plans as the walk records them: drafts, agreed at the end with a link to the printable plan."""

    noun = "plan"
    walk = walker.PLAN_WALK
    confirm_buttons: ClassVar[list[dict[str, str]]] = [
        {"title": "Agree and save", "payload": "agree"},
        {"title": "Stop for now", "payload": "stop for now"},
    ]

    def load(self, session: Session, viewer: Viewer, document_id: int) -> Loaded | None:
        plan = drafts.load_plan(session, viewer, document_id)
        if plan.status.value != "draft":
            return None
        state = _prepare(json.loads(plan.draft_state or "{}"), plan)
        return Loaded(plan, plan.pupil.first_name, state, plan_values(plan))

    def save_answer(
        self, session: Session, viewer: Viewer, document_id: int, seen: int, turn: walker.Turn
    ) -> revisions.SaveResult:
        return drafts.save_answer(session, viewer, document_id, seen, turn.save, turn.target_position, turn.state)

    def save_state(self, session: Session, viewer: Viewer, document_id: int, state: dict[str, Any]) -> int:
        return drafts.save_state(session, viewer, document_id, state)

    def finish(self, session: Session, viewer: Viewer, document_id: int, name: str) -> list[str]:
        agreed = drafts.agree(session, viewer, document_id)
        token = document_links.issue_link(session, viewer, agreed.id)
        assert token is not None, "the member of staff who agreed the plan may have a link to it"
        return [
            f"Saved: version {agreed.version} is now {name}'s agreed plan, and the earlier version is kept. "
            f"I've recorded that the parents were told on {dates.long_date(agreed.parents_notified_on)}.",
            f"The printable plan, to share with the parents: {document_addresses(token)}. The link works for "
            f"{document_links.LINK_LIFETIME.days} days; linked parents can also ask me for it.",
        ]

    def summary(self, loaded: Loaded) -> str:
        return wording.plan_summary(
            loaded.name, loaded.document.version, plan_values(loaded.document), loaded.document.targets
        ) + ('\nIs this right? Say "agree" to save it as the agreed plan, or "change ..." to change a section.')


class ValidatePlanForm(ValidateWalkForm):
    """Takes each message of the plan walk: an answer, a command, or a question asked midway."""

    recording = PlanRecording()

    def name(self) -> str:
        return "validate_plan_form"

    async def validate_plan_answer(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return await self.take_answer(slot_value, dispatcher, tracker)


class ActionPlanFinished(WalkFinished):
    """After the plan walk ends: forget the open plan in this conversation."""

    noun = "plan"

    def name(self) -> str:
        return "action_plan_finished"
