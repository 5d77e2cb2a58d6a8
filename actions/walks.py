"""What plan recording and review capture share: a form that walks a document's sections.

Each message during the form goes to the form's validation, which lets the
walker read it, saves any answer to the store at once and puts the next
question in ``<noun>_prompt`` for ``action_ask_<noun>_answer``. Where the walk
is lives with the document in the store, not in the conversation, so it
survives restarts and moves between channels. A ``Recording`` says how one
kind of document is loaded, saved and finished.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

import knowledge
from actions.common import current_council
from actions.records import StoreUnavailable, in_thread, viewer_of
from bot.core.walker import YES, Turn, Walk, is_command
from bot.store import drafts
from bot.store.db import sessions
from bot.store.records import Viewer

QUESTION_START = re.compile(
    r"^(?:what|whats|what's|how|why|who|when|where|which|can|could|do|does|is|are|should|must|will|would|may)\b",
    re.IGNORECASE,
)
QUESTION_CONFIDENCE = 0.7


@dataclass
class Loaded:
    """A document open for the walk: its pupil's first name, the walk's state and the answers so far."""

    document: Any
    name: str
    state: dict[str, Any]
    values: dict[str, Any]


class Recording:
    """How one kind of document is walked: override the store calls."""

    noun = ""
    walk: Walk

    def load(self, session: Any, viewer: Viewer, document_id: int) -> Optional[Loaded]:
        raise NotImplementedError

    def save_answer(self, session: Any, viewer: Viewer, document_id: int, seen: int, turn: Turn) -> drafts.SaveResult:
        raise NotImplementedError

    def save_state(self, session: Any, viewer: Viewer, document_id: int, state: dict[str, Any]) -> int:
        raise NotImplementedError

    def finish(self, session: Any, viewer: Viewer, document_id: int, name: str) -> list[str]:
        """Agree or complete the document; what to tell the user."""
        raise NotImplementedError

    def summary(self, loaded: Loaded) -> str:
        raise NotImplementedError

    confirm_buttons: list[dict[str, str]] = []

    def shown_choice(self, field: str, value: Optional[str]) -> Optional[str]:
        step = self.walk.steps.get(field)
        title = next((c.title for c in step.choices if c.value == value), None) if step else None
        return title or value


def saved_values(turn: Turn) -> dict[str, Any]:
    """What a turn saved, keyed by walk step id."""
    if turn.target_position is None:
        return dict(turn.save)
    return {f"{turn.group}.{turn.target_position}.{key}": value for key, value in turn.save.items()}


def take(
    recording: Recording, tracker: Tracker, text: str, document_id: int, seen: int, asked: Optional[str]
) -> dict[str, Any]:
    """One message of the walk: read it, save what it answers, and say what comes next."""
    walk = recording.walk
    with sessions().begin() as session:
        viewer = viewer_of(session, tracker)
        try:
            loaded = recording.load(session, viewer, document_id)
        except drafts.NotAllowed:
            loaded = None
        if loaded is None:
            return {"result": "gone"}
        name, state, values = loaded.name, loaded.state, loaded.values
        if state.get("confirming"):
            if YES.match(text.strip().lower()):
                return {"result": "agreed", "say": recording.finish(session, viewer, document_id, name)}
            state.pop("confirming")
        view = walk.view_for(state, asked)
        turn = walk.handle(view, text, name, values)
        turn.state = walk.merge(state, view, turn.state)
        if turn.asked and walk.current(turn.state) != turn.asked and "pending" not in turn.state and not turn.finished:
            # Someone else answered the next question meanwhile: ask what is really next.
            turn.say, turn.buttons = turn.say[:-1], []
            turn = walk.ask(turn.state, name, {**values, **saved_values(turn)}, turn)
        notes: list[str] = []
        if turn.save:
            result = recording.save_answer(session, viewer, document_id, seen, turn)
            if not result.saved and result.conflict:
                conflict = result.conflict
                again = walk.ask(walk.view_for(state, asked), name, values)
                return {
                    "result": "continue",
                    "revision": result.revision,
                    "asked": again.asked,
                    "say": [
                        f'{conflict.by} changed this answer a moment ago, to "{recording.shown_choice(conflict.field, conflict.value)}". '
                        'I haven\'t overwritten it. Say "keep" to keep theirs, or type your answer again to replace it.'
                    ],
                    "prompt": "\n".join(again.say),
                    "buttons": again.buttons,
                }
            revision = result.revision
            if result.others:
                notes.append(
                    f"Note: {' and '.join(result.others)} also changed this {recording.noun} just now "
                    f"({', '.join(result.others_changed)})."
                )
        else:
            revision = recording.save_state(session, viewer, document_id, turn.state)
        if turn.finished == "stopped":
            return {"result": "stopped", "say": turn.say + notes}
        if turn.finished == "ready":
            turn.state["confirming"] = True
            revision = recording.save_state(session, viewer, document_id, turn.state)
            session.flush()
            reloaded = recording.load(session, viewer, document_id)
            prompt = recording.summary(reloaded)  # type: ignore[arg-type]
            skipped = walk.unanswered(turn.state)
            if skipped:
                prompt += (
                    f'\n{len(skipped)} question(s) have no answer yet; say "carry on with {name}\'s {recording.noun}" '
                    "later to fill them."
                )
            return {
                "result": "continue",
                "revision": revision,
                "say": turn.say[:-1] + notes,
                "prompt": prompt,
                "buttons": recording.confirm_buttons,
            }
        return {
            "result": "continue",
            "revision": revision,
            "say": turn.say[:-1] + notes,
            "prompt": turn.say[-1] if turn.say else "",
            "buttons": turn.buttons,
            "asked": turn.asked or asked,
        }


def looks_like_question(tracker: Tracker) -> Optional[str]:
    """The question intent of a message sent midway through a walk, if it is a question about SEN support."""
    intent = tracker.latest_message.get("intent") or {}
    text = (tracker.latest_message.get("text") or "").strip()
    if knowledge.topic_for_intent(intent.get("name")) is None or (intent.get("confidence") or 0) < QUESTION_CONFIDENCE:
        return None
    if is_command(text):
        return None
    return intent.get("name") if text.endswith("?") or QUESTION_START.match(text) else None


def buttons_slot(buttons: list[dict[str, str]]) -> str:
    return json.dumps(buttons)


class ValidateWalkForm(FormValidationAction):
    """Takes each message of a walk: an answer, a command, or a question asked midway."""

    recording: Recording

    @abstractmethod
    def name(self) -> str: ...

    def slot(self, part: str) -> str:
        return f"{self.recording.noun}_{part}"

    async def aside(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
        """Handle a message that is not for the walk (True if handled)."""
        question_intent = looks_like_question(tracker)
        if not question_intent:
            return False
        topic = knowledge.topic_for_intent(question_intent)
        dispatcher.utter_message(text=knowledge.answer_text(topic, current_council()))  # type: ignore[arg-type]
        dispatcher.utter_message(text=f"Now, back to the {self.recording.noun}.")
        return True

    async def take_answer(self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
        answer = self.slot("answer")
        document_id = int(tracker.get_slot(self.slot("id")) or 0)
        seen = int(tracker.get_slot(self.slot("revision")) or 0)
        if await self.aside(dispatcher, tracker):
            return {answer: None}
        try:
            reply = await in_thread(
                take,
                self.recording,
                tracker,
                str(slot_value or ""),
                document_id,
                seen,
                tracker.get_slot(self.slot("step")),
            )
        except StoreUnavailable:
            dispatcher.utter_message(text="Sorry, I couldn't save that just now. Please send it again in a moment.")
            return {answer: None}
        for line in reply.get("say", []):
            dispatcher.utter_message(text=line)
        if reply["result"] == "gone":
            dispatcher.utter_message(text=f"That {self.recording.noun} is no longer open for editing here.")
            return {answer: "closed", self.slot("result"): "closed"}
        if reply["result"] in ("stopped", "agreed"):
            return {answer: reply["result"], self.slot("result"): reply["result"]}
        return {
            answer: None,
            self.slot("revision"): str(reply["revision"]),
            self.slot("prompt"): reply["prompt"],
            self.slot("buttons"): buttons_slot(reply["buttons"]),
            self.slot("step"): reply.get("asked"),
        }


class AskWalkAnswer(Action, ABC):
    """Puts the walk's current question, with its buttons."""

    noun = ""

    @abstractmethod
    def name(self) -> str: ...

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        prompt = tracker.get_slot(f"{self.noun}_prompt")
        buttons = json.loads(tracker.get_slot(f"{self.noun}_buttons") or "[]")
        if prompt:
            dispatcher.utter_message(text=prompt, buttons=buttons)
        return []


class WalkFinished(Action, ABC):
    """After a walk ends: forget the open document in this conversation."""

    noun = ""

    @abstractmethod
    def name(self) -> str: ...

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        return [
            SlotSet(f"{self.noun}_{part}", None) for part in ("id", "revision", "prompt", "buttons", "step", "answer")
        ]
