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
from typing import Any, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import latest_intent
from actions.records import (
    HOW_TO_LINK,
    links_codes_first,
    button_pupil_id,
    document_addresses,
    in_thread,
    school_name,
    store_guard,
    viewer_of,
)
from actions.walks import AskWalkAnswer, Loaded, Recording, ValidateWalkForm, WalkFinished, buttons_slot
from bot.core import dates
from bot.core import walker
from bot.core.plan_template import TOTAL_SECTIONS
from bot.store import document_links, drafts, records
from bot.store.db import sessions
from bot.store.models import SupportPlan


def plan_values(plan: SupportPlan) -> dict[str, Any]:
    """The plan's answers keyed by walk step id, for "at the moment" and for summaries."""
    values: dict[str, Any] = {name: getattr(plan, name) for name in drafts.PLAN_FIELDS}
    for target in plan.targets:
        values[f"target.{target.position}.difficulty"] = target.difficulty
        parts = [target.provision_who, target.provision_what, target.provision_when, target.provision_how_often]
        values[f"target.{target.position}.provision"] = ", ".join(part for part in parts if part) or None
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


def _open(tracker: Tracker, pupil_id: Optional[int], resume_only: bool) -> dict[str, Any]:
    with sessions().begin() as session:
        viewer = viewer_of(session, tracker)
        if not viewer.is_staff:
            records.refuse(session, viewer, "open_plan", "not staff")
            return {"outcome": "not_staff", "linked": viewer.person is not None}
        found = records.find_pupil(session, viewer, tracker.latest_message.get("text") or "", "open_plan", pupil_id)
        if found.outcome != "found":
            school = school_name(session, viewer)
            return {
                "outcome": found.outcome,
                "school": school,
                "choices": [(p.id, p.label or p.full_name) for p in found.pupils],
            }
        if resume_only and drafts.find_draft(session, viewer, found.pupil.id) is None:
            return {"outcome": "no_draft", "name": found.pupil.first_name, "pupil_id": found.pupil.id}
        draft = drafts.open_draft(session, viewer, found.pupil.id)
        plan = drafts.load_plan(session, viewer, draft.plan_id)
        state = _prepare(walker.resume(draft.state) if draft.resumed else draft.state, plan)
        revision = drafts.save_state(session, viewer, draft.plan_id, state)
        turn = walker.ask(state, draft.pupil_name, plan_values(plan))
        return {
            "outcome": "opened",
            "draft": draft,
            "revision": revision,
            "turn": turn,
            "state": state,
            "left": len(walker.unanswered(state)),
        }


class ActionStartPlan(Action):
    """Opens a pupil's plan for recording (new, update or carry on) and starts the form."""

    def name(self) -> str:
        return "action_start_plan"

    @links_codes_first
    @store_guard
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        pupil_id = button_pupil_id(tracker)
        resume_only = latest_intent(tracker) == "resume_plan"
        reply = await in_thread(_open, tracker, pupil_id, resume_only)
        outcome = reply["outcome"]
        if outcome == "not_staff":
            dispatcher.utter_message(
                text=(
                    "Recording SEN Support Plans is for school staff who have linked this chat. "
                    + (HOW_TO_LINK if not reply["linked"] else "Parents can ask \"what's in my child's plan?\".")
                )
            )
            return []
        if outcome == "ambiguous":
            intent = latest_intent(tracker) or "start_plan"
            dispatcher.utter_message(
                text="I found more than one pupil with that name. Which one do you mean?",
                buttons=[
                    {"title": label, "payload": f'/{intent}{{"pupil_id": "{pid}"}}'} for pid, label in reply["choices"]
                ],
            )
            return []
        if outcome == "no_name":
            dispatcher.utter_message(
                text='Whose plan? Please include the pupil\'s name, for example "new plan for Amy Carter".'
            )
            return []
        if outcome in ("not_found", "other_child"):
            dispatcher.utter_message(
                text=f"I couldn't find a pupil by that name at {reply.get('school')}. Please check the spelling."
            )
            return []
        if outcome == "no_draft":
            dispatcher.utter_message(
                text=f"There's no plan in progress for {reply['name']}. Would you like to start one?",
                buttons=[
                    {
                        "title": f"Start {reply['name']}'s plan",
                        "payload": f'/start_plan{{"pupil_id": "{reply["pupil_id"]}"}}',
                    }
                ],
            )
            return []
        draft: drafts.Draft = reply["draft"]
        turn: walker.Turn = reply["turn"]
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
        prompt = "\n".join(turn.say) if turn.say else ""
        return [
            SlotSet("plan_id", str(draft.plan_id)),
            SlotSet("plan_revision", str(reply["revision"])),
            SlotSet("plan_prompt", prompt),
            SlotSet("plan_buttons", buttons_slot(turn.buttons)),
            SlotSet("plan_step", turn.asked),
            SlotSet("plan_result", None),
            FollowupAction("plan_form"),
        ]


class ActionAskPlanAnswer(AskWalkAnswer):
    """Puts the plan's current question, with its buttons."""

    noun = "plan"

    def name(self) -> str:
        return "action_ask_plan_answer"


def _summary(plan: SupportPlan, name: str) -> str:
    values = plan_values(plan)
    lines = [f"Here is {name}'s plan (version {plan.version}):"]
    labels = {
        "level_of_need": "Level of need",
        "main_area_of_need": "Main area of need",
        "cluster_funding": "Cluster funding",
        "interventions": "Interventions",
        "strengths": "Strengths",
        "finding_things_hard_when": "Finding things hard when",
        "how_i_like_support": "How I like to be supported",
        "agreed_by_senco_name": "Agreed by",
        "agreed_on": "Agreed on",
        "review_date": "Review date",
    }
    for key, label in labels.items():
        value = values.get(key)
        if value is not None:
            shown = dates.long_date(value) if hasattr(value, "isoformat") else getattr(value, "value", value)
            lines.append(f"• {label}: {shown}")
    for target in plan.targets:
        lines.append(f"• Target {target.position}: {target.outcome or '(no outcome yet)'}")
    return "\n".join(lines)


class PlanRecording(Recording):
    """Plans as the walk records them: drafts, agreed at the end with a link to the printable plan."""

    noun = "plan"
    walk = walker.PLAN_WALK
    confirm_buttons = [
        {"title": "Agree and save", "payload": "agree"},
        {"title": "Stop for now", "payload": "stop for now"},
    ]

    def load(self, session: Any, viewer: records.Viewer, document_id: int) -> Optional[Loaded]:
        plan = drafts.load_plan(session, viewer, document_id)
        if plan.status.value != "draft":
            return None
        state = _prepare(json.loads(plan.draft_state or "{}"), plan)
        return Loaded(plan, plan.pupil.first_name, state, plan_values(plan))

    def save_answer(
        self, session: Any, viewer: records.Viewer, document_id: int, seen: int, turn: walker.Turn
    ) -> drafts.SaveResult:
        return drafts.save_answer(session, viewer, document_id, seen, turn.save, turn.target_position, turn.state)

    def save_state(self, session: Any, viewer: records.Viewer, document_id: int, state: dict[str, Any]) -> int:
        return drafts.save_state(session, viewer, document_id, state)

    def finish(self, session: Any, viewer: records.Viewer, document_id: int, name: str) -> list[str]:
        agreed = drafts.agree(session, viewer, document_id)
        token = document_links.issue_link(session, viewer, agreed.id)
        return [
            f"Saved: version {agreed.version} is now {name}'s agreed plan, and the earlier version is kept. "
            f"I've recorded that the parents were told on {dates.long_date(agreed.parents_notified_on)}.",
            f"The printable plan, to share with the parents: {document_addresses(token)}. The link works for "
            f"{document_links.LINK_LIFETIME.days} days; linked parents can also ask me for it.",
        ]

    def summary(self, loaded: Loaded) -> str:
        return _summary(loaded.document, loaded.name) + (
            '\nIs this right? Say "agree" to save it as the agreed plan, or "change ..." to change a section.'
        )


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
