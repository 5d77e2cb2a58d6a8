"""What plan recording and review capture share: a form that walks a document's sections.

Each message during the form goes to the form's validation, which lets the
walker read it, saves any answer to the store at once and puts the next
question in ``<noun>_prompt`` for ``action_ask_<noun>_answer``. Where the walk
is lives with the document in the store, not in the conversation, so it
survives restarts and moves between channels. A ``Recording`` says how one
kind of document is loaded, saved and finished.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

import knowledge
from actions.linking import HOW_TO_LINK
from actions.support import Caller, Events, StoreUnavailable, in_thread, pupil_buttons, school_name
from actions.topics import first_reply
from bot.core.names import Candidate
from bot.core.walker import Turn, Walk, agreement, is_command
from bot.store import access, records, revisions
from bot.store.access import Viewer
from bot.store.db import sessions
from bot.store.records import Found

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

    def load(self, session: Session, viewer: Viewer, document_id: int) -> Loaded | None:
        raise NotImplementedError

    def save_answer(
        self, session: Session, viewer: Viewer, document_id: int, seen: int, turn: Turn
    ) -> revisions.SaveResult:
        raise NotImplementedError

    def save_state(self, session: Session, viewer: Viewer, document_id: int, state: dict[str, Any]) -> int:
        raise NotImplementedError

    def finish(self, session: Session, viewer: Viewer, document_id: int, name: str) -> list[str]:
        """Agree or complete the document; what to tell the user."""
        raise NotImplementedError

    def summary(self, loaded: Loaded) -> str:
        raise NotImplementedError

    confirm_buttons: ClassVar[list[dict[str, str]]] = []

    def shown_choice(self, field: str, value: str | None) -> str | None:
        step = self.walk.steps.get(field)
        title = next((c.title for c in step.choices if c.value == value), None) if step else None
        return title or value


def saved_values(turn: Turn) -> dict[str, Any]:
    """What a turn saved, keyed by walk step id."""
    if turn.target_position is None:
        return dict(turn.save)
    return {f"{turn.group}.{turn.target_position}.{key}": value for key, value in turn.save.items()}


class Result(str, enum.Enum):
    """Where a message left the walk."""

    carry_on = "continue"
    stopped = "stopped"  # "stop for now": the document is kept, to carry on later
    agreed = "agreed"  # agreed (a plan) or confirmed as held (a review)
    gone = "gone"  # no longer open for editing here (agreed elsewhere, or access ended)


@dataclass(frozen=True)
class TakeReply:
    """What to say after one message of the walk, and what the conversation keeps for the next."""

    result: Result
    say: list[str] = field(default_factory=list)
    prompt: str = ""
    buttons: list[dict[str, str]] = field(default_factory=list)
    revision: int = 0
    asked: str | None = None


def take(recording: Recording, caller: Caller, document_id: int, seen: int, asked: str | None) -> TakeReply:
    """One message of the walk: read it, save what it answers, and say what comes next."""
    walk = recording.walk
    text = caller.text
    with sessions().begin() as session:
        viewer = caller.viewer(session)
        try:
            loaded = recording.load(session, viewer, document_id)
        except access.NotAllowed:
            loaded = None
        if loaded is None:
            return TakeReply(Result.gone)
        name, state, values = loaded.name, loaded.state, loaded.values
        if state.get("confirming"):
            meant = agreement(text)
            if meant:
                return TakeReply(Result.agreed, recording.finish(session, viewer, document_id, name))
            if meant is None:
                return TakeReply(
                    Result.carry_on,
                    [],
                    f"I'm not sure whether to save it yet. Shall I save it as {name}'s {recording.noun}? Say \"yes\", "
                    'or "change ..." to change a section first.',
                    recording.confirm_buttons,
                    seen,
                )
            state.pop("confirming")
        view = walk.view_for(state, asked)
        turn = walk.handle(view, text, name, values, fields=list(caller.fields))
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
                theirs = recording.shown_choice(conflict.field, conflict.value)
                return TakeReply(
                    Result.carry_on,
                    [
                        f'{conflict.by} changed this answer a moment ago, to "{theirs}". I haven\'t overwritten it. '
                        'Say "keep" to keep theirs, or type your answer again to replace it.'
                    ],
                    "\n".join(again.say),
                    again.buttons,
                    result.revision,
                    again.asked,
                )
            revision = result.revision
            if result.others:
                notes.append(
                    f"Note: {' and '.join(result.others)} also changed this {recording.noun} just now "
                    f"({', '.join(result.others_changed)})."
                )
        else:
            revision = recording.save_state(session, viewer, document_id, turn.state)
        if turn.finished == "stopped":
            return TakeReply(Result.stopped, turn.say + notes)
        if turn.finished == "ready":
            turn.state["confirming"] = True
            revision = recording.save_state(session, viewer, document_id, turn.state)
            session.flush()
            reloaded = recording.load(session, viewer, document_id)
            assert reloaded is not None
            prompt = recording.summary(reloaded)
            skipped = walk.unanswered(turn.state)
            if skipped:
                prompt += (
                    f"\n{len(skipped)} question(s) have no answer yet; say \"carry on with {name}'s "
                    f'{recording.noun}" later to fill them.'
                )
            return TakeReply(Result.carry_on, turn.say[:-1] + notes, prompt, recording.confirm_buttons, revision)
        return TakeReply(
            Result.carry_on,
            turn.say[:-1] + notes,
            turn.say[-1] if turn.say else "",
            turn.buttons,
            revision,
            turn.asked or asked,
        )


class Opening(str, enum.Enum):
    """Why a pupil's plan or review could not be opened for the walk, or that it was."""

    opened = "opened"
    not_staff = "not_staff"
    ambiguous = "ambiguous"
    no_name = "no_name"
    not_found = "not_found"
    no_draft = "no_draft"  # "carry on with ..." when nothing is in progress


@dataclass(frozen=True)
class Refused:
    """A pupil's document not opened, and what the reply needs to say why."""

    why: Opening
    linked: bool = False
    school: str = ""
    choices: tuple[Candidate, ...] = ()


def pupil_to_open(
    session: Session, caller: Caller, pupil_id: int | None, action: str
) -> tuple[Viewer, Candidate | Refused]:
    """The pupil whose document staff asked to open, or why it cannot be opened (refusals audited)."""
    viewer = caller.viewer(session)
    if not viewer.is_staff:
        access.refuse(session, viewer, action, "not staff")
        return viewer, Refused(Opening.not_staff, linked=viewer.person is not None)
    found = records.find_pupil(session, viewer, caller.text, action, pupil_id)
    if found.outcome == Found.found:
        return viewer, found.pupil
    why = {Found.ambiguous: Opening.ambiguous, Found.no_name: Opening.no_name}.get(found.outcome, Opening.not_found)
    return viewer, Refused(why, linked=True, school=school_name(session, viewer), choices=found.pupils)


def say_refused(dispatcher: CollectingDispatcher, refused: Refused, intent: str, noun: str, example: str) -> None:
    """Tell staff (or someone else) why the plan or review was not opened."""
    if refused.why == Opening.not_staff:
        what, parents = STAFF_ONLY[noun]
        dispatcher.utter_message(
            text=f"{what} is for school staff who have linked this chat. "
            + (parents if refused.linked else HOW_TO_LINK)
        )
    elif refused.why == Opening.ambiguous:
        dispatcher.utter_message(
            text="I found more than one pupil with that name. Which one do you mean?",
            buttons=pupil_buttons(intent, refused.choices),
        )
    elif refused.why == Opening.no_name:
        dispatcher.utter_message(text=f'Whose {noun}? Please include the pupil\'s name, for example "{example}".')
    else:
        dispatcher.utter_message(
            text=f"I couldn't find a pupil by that name at {refused.school}. Please check the spelling."
        )


STAFF_ONLY = {
    "plan": ("Recording SEN Support Plans", "Parents can ask \"what's in my child's plan?\"."),
    "review": ("Capturing review meetings", 'Parents can ask "how did the last review go?".'),
}


def looks_like_question(tracker: Tracker) -> str | None:
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


def start_walk(noun: str, document_id: int, revision: int, turn: Turn) -> Events:
    """The events that open a document for the walk and start its form, with the first question."""
    return [
        SlotSet(f"{noun}_id", str(document_id)),
        SlotSet(f"{noun}_revision", str(revision)),
        SlotSet(f"{noun}_prompt", "\n".join(turn.say)),
        SlotSet(f"{noun}_buttons", buttons_slot(turn.buttons)),
        SlotSet(f"{noun}_step", turn.asked),
        SlotSet(f"{noun}_result", None),
        FollowupAction(f"{noun}_form"),
    ]


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
        if topic is None:  # not reached: ``looks_like_question`` gives only intents that have a topic
            return False
        dispatcher.utter_message(text=first_reply(tracker, topic))
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
                dataclasses.replace(Caller.of(tracker), text=str(slot_value or "")),
                document_id,
                seen,
                tracker.get_slot(self.slot("step")),
            )
        except StoreUnavailable:
            dispatcher.utter_message(text="Sorry, I couldn't save that just now. Please send it again in a moment.")
            return {answer: None}
        for line in reply.say:
            dispatcher.utter_message(text=line)
        if reply.result == Result.gone:
            dispatcher.utter_message(text=f"That {self.recording.noun} is no longer open for editing here.")
            return {answer: "closed", self.slot("result"): "closed"}
        if reply.result in (Result.stopped, Result.agreed):
            return {answer: reply.result.value, self.slot("result"): reply.result.value}
        return {
            answer: None,
            self.slot("revision"): str(reply.revision),
            self.slot("prompt"): reply.prompt,
            self.slot("buttons"): buttons_slot(reply.buttons),
            self.slot("step"): reply.asked,
        }


class AskWalkAnswer(Action, ABC):
    """Puts the walk's current question, with its buttons."""

    noun = ""

    @abstractmethod
    def name(self) -> str: ...

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
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

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        return [
            SlotSet(f"{self.noun}_{part}", None) for part in ("id", "revision", "prompt", "buttons", "step", "answer")
        ]
