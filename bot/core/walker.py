"""Walking through a document's sections, one answer at a time.

The walker is the conversation's logic without the chat or the database: it
takes the draft's state, the document's current values and what the user
typed, and says what to store, what to say next and where the walk now is.
The state is plain JSON, kept with the draft, so a walk can stop anywhere and
carry on later from another device.

A ``Template`` says what is walked: the sections, the questions and their
order. The plan (here) and the review meeting (``bot.core.review_template``)
are two templates walked by the same ``Walk``. Step ids are a step's key,
or ``group.N.part`` for the N-th of a repeated group (targets).

Besides answers it understands "skip", "back", "keep" (when updating),
"change the strengths" (any section by name), "where am I" and
"stop for now".
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.core import dates
from bot.core.plan_template import SECTIONS, STEPS, Step, interpret, leading_choice_words, question

SKIP = re.compile(
    r"^(?:skip|skip (?:it|this|this one|for now)|pass|next|later|come back to (?:it|this)(?: later)?|"
    r"not sure|don'?t know|dont know|dunno)(?:\s*[-–,:;(]\s*.*|\s+(?:for now|till later|until later).*)?$"
    r"|^[^,]{0,40},\s*(?:skip|skip it|skip for now|skip this)$"
)
BACK = re.compile(r"^(?:back|go back|previous|undo|back one)$")
UNDO = re.compile(r"^(?:undo|undo that|no,? that'?s wrong|that'?s wrong|wrong place|not there)$")
KEEP = re.compile(r"^(?:keep|keep it|keep (?:that|this|the same|as is)|same|no change|unchanged)$")
STOP = re.compile(
    r"^(?:stop|stop for now|pause|finish later|save and stop|carry on later|i'?ll finish later|"
    r"that'?s enough for now|quit)$"
)
WHERE = re.compile(r"^(?:where am i|where are we|progress|how far (?:am i|have i got)|what section)\??$")
LEFT = re.compile(
    r"^(?:what'?s left|what is left|what'?s still to do|what else|what'?s missing|what have i missed|"
    r"anything (?:left|missing)|how much more)\??$"
)
# Changing or adding to any section by name, from anywhere in the walk, with the new words in the same message.
ADD_TO = re.compile(
    r"^(?:also\s+|and\s+|please\s+)?add\s+(?:this\s+)?(?:to|under)\s+(?:the\s+)?(?P<what>[^:]+?)\s*:\s*(?P<value>.+)$",
    re.IGNORECASE | re.DOTALL,
)
CHANGE_TO = re.compile(
    r"^(?:please\s+)?(?:change|replace|set|update)\s+(?:the\s+)?(?P<what>.+?)\s+to\s*:?\s+(?P<value>.+)$",
    re.IGNORECASE | re.DOTALL,
)
CHANGE = re.compile(r"^(?:change|edit|update|redo|go back to|fix)\s+(?:the\s+|my\s+|section\s+)?(?P<what>.+)$")
YES = re.compile(
    r"^(?:yes|y|yeah|yep|ok|okay|sure|agree|agreed|confirm|use (?:it|this|that|the suggestion)|"
    r"that'?s right|correct|save it)\b"
)
NO = re.compile(r"^(?:no|n|nope|not yet|keep mine|keep my version|mine)\b")

# At the summary: agreement said any way people say it, and second thoughts said anywhere in the message.
AGREEMENT = re.compile(
    r"\b(?:yes|yep|yeah|ok|okay|agree|agreed|save|save it|confirm|confirmed|correct|perfect|go ahead|"
    r"that'?s (?:right|correct|fine|it|all|great)|looks? (?:good|right|fine|great)|all good|spot on)\b"
)
SECOND_THOUGHTS = re.compile(
    r"\b(?:no|not|nope|don'?t|wait|hang on|hold on|change|wrong|isn'?t|missing|before you|but)\b"
)


def agreement(text: str) -> bool | None:
    """Whether a reply to the summary agrees (True), does not (False), or could be either (None): then ask."""
    said = " ".join((text or "").strip().lower().rstrip(".!").split())
    agrees, doubts = bool(AGREEMENT.search(said)), bool(SECOND_THOUGHTS.search(said))
    if agrees and doubts:
        return None
    return agrees


PLAN_STEPS_BEFORE = [step for step in STEPS if not step.is_target_step and step.section < 12]
PLAN_STEPS_AFTER = [step for step in STEPS if not step.is_target_step and step.section > 12]
WORDS_FOR = {
    "level_of_need": ("level", "level of need"),
    "main_area_of_need": ("area", "area of need", "main area"),
    "cluster_funding": ("cluster", "funding", "cluster funding"),
    "previous_attainment": ("attainment", "previous attainment", "progress"),
    "interventions": ("interventions", "adjustments", "support"),
    "how_needs_identified": ("how needs were identified", "identified", "identification"),
    "parent_new_information": ("parent information", "new information", "information from parents"),
    "strengths": ("strengths", "likes", "what she likes", "what he likes"),
    "finding_things_hard_when": ("finding things hard", "hard when", "you'll know"),
    "how_i_like_support": ("how i like to be supported", "like to be supported", "supported"),
    "parent_role": ("roles", "parent's role", "parent role"),
    "child_role": ("child's role", "child role"),
    "class_teacher_role": ("teacher's role", "class teacher role"),
    "target": ("targets", "target"),
    "agreed_by_senco_name": ("senco", "agreed by", "agreement"),
    "agreed_on": ("agreed date", "date agreed"),
    "review_date": ("review date", "review"),
}


@dataclass(frozen=True)
class Template:
    """What a walk goes through.

    ``sequence`` lists every step id of one document in order, from the
    walk's state. ``numbered`` is the repeated group that "change target 2"
    means, with the part it starts at; ``counts`` names the state key that
    holds how many of a growing group there are ("another target?").
    """

    noun: str  # "plan" or "review": also the template's name in a message's field readings
    sections: tuple[str, ...]
    steps: tuple[Step, ...]
    sequence: Callable[[dict[str, Any]], list[str]]
    words_for: dict[str, tuple[str, ...]]
    numbered: tuple[str, str]
    counts: dict[str, str]
    deadline: str
    labels: dict[str, str] = field(default_factory=dict)  # how a step is named back ("current attainment")

    @property
    def step_by_key(self) -> dict[str, Step]:
        return {step.key: step for step in self.steps}


@dataclass
class Turn:
    """What one message leads to."""

    say: list[str] = field(default_factory=list)
    buttons: list[dict[str, str]] = field(default_factory=list)
    save: dict[str, Any] = field(default_factory=dict)
    target_position: int | None = None
    state: dict[str, Any] = field(default_factory=dict)
    finished: str | None = None  # "stopped", "ready" (all answered, awaiting agreement), "agreed"
    asked: str | None = None  # the step id of the question put, which the next message answers
    group: str | None = None  # the repeated group ``target_position`` counts in


SURE = 0.6  # how sure the field reader must be to file a part away from the step asked
ASKED_LIKELY = 0.15  # a part this likely for the step asked stays with it
# A part filed away must say something: "none yet" or "no" could answer almost any question.
MIN_WORDS_AWAY = 4


def filing_plan(
    parts: list[tuple[str, list[list[Any]]]], asked: str, fillable: set[str], neighbours: frozenset[str] = frozenset()
) -> dict[str, str] | None:
    """Which step each part of a message goes to, as ``{step id: the parts' words}``; None when all go to ``asked``.

    ``parts`` are (words, [[step, probability], ...] best first). A part stays with the step asked when that
    step is likely for it, or when no other step is sure; otherwise it goes to the step the reader is sure of.
    ``neighbours`` are the other steps of the asked step's section (previous, current and expected attainment),
    which read alike: a one-part answer is never moved to one of them.
    """
    if len(parts) == 1:
        fillable = fillable - neighbours
    placed: dict[str, list[str]] = {}
    for words, readings in parts:
        chances = {str(step): float(chance) for step, chance in readings}
        best = next((str(step) for step, _ in readings if str(step) in fillable), None)
        short = len(words.split()) < MIN_WORDS_AWAY
        if best is None or short or chances.get(asked, 0.0) >= ASKED_LIKELY or chances.get(best, 0.0) < SURE:
            placed.setdefault(asked, []).append(words)
        else:
            placed.setdefault(best, []).append(words)
    if set(placed) <= {asked}:
        return None
    return {step_id: _joined(words) for step_id, words in placed.items()}


def _joined(parts: list[str]) -> str:
    text = parts[0]
    for part in parts[1:]:
        text += (" " if text.rstrip().endswith((".", "!", "?", ";")) else ", ") + part
    return text


def is_command(text: str) -> bool:
    """Whether the message is one of the walk's own commands ("where am I", "skip", ...)."""
    said = " ".join((text or "").strip().lower().rstrip(".!").split())
    return any(pattern.match(said) for pattern in (STOP, WHERE, LEFT, CHANGE, SKIP, BACK, KEEP, YES, NO))


def provision_question(part: str) -> str:
    return {
        "who": "Who will provide it (for example the class teacher, a TA or a speech and language therapist)?",
        "how often": "How often will it happen (for example daily, or three times a week)?",
    }[part]


def count_of(state: dict[str, Any], key: str) -> int:
    """How many of a growing group there are (at least one)."""
    return max(1, int(state.get(key, 1)))


def applies(step: Step, choices: dict[str, Any]) -> bool:
    return step.only_if is None or choices.get(step.only_if[0]) == step.only_if[1]


def plan_sequence(state: dict[str, Any]) -> list[str]:
    """Every step id of this plan, in order (cluster questions only when they apply)."""
    choices = state.get("choices", {})
    ids = [step.key for step in PLAN_STEPS_BEFORE if applies(step, choices)]
    count = count_of(state, "targets")
    for number in range(1, count + 1):
        parts = ["difficulty", "provision", "outcome"] + (["more"] if number == count else [])
        ids += [f"target.{number}.{part}" for part in parts]
    ids += [step.key for step in PLAN_STEPS_AFTER]
    return ids


PLAN = Template(
    noun="plan",
    sections=SECTIONS,
    steps=STEPS,
    sequence=plan_sequence,
    words_for=WORDS_FOR,
    numbered=("target", "difficulty"),
    counts={"target": "targets"},
    deadline="review_date",
    labels={
        "level_of_need": "level of need",
        "main_area_of_need": "main area of need",
        "cluster_funding": "cluster funding",
        "cluster_funding_details": "what the cluster funding is for",
        "cluster_funding_requested_on": "when cluster funding was requested",
        "previous_attainment": "previous attainment",
        "previous_progress": "previous progress",
        "current_attainment": "current attainment",
        "current_progress": "current progress",
        "expected_attainment": "expected attainment",
        "interventions": "interventions and adjustments",
        "how_needs_identified": "how needs were identified",
        "professionals_involved": "professionals involved",
        "parent_new_information": "new information from parents",
        "strengths": "strengths",
        "finding_things_hard_when": "\"you'll know I'm finding things hard when\"",
        "how_i_like_support": '"how I like to be supported"',
        "parent_role": "the parent's role",
        "child_role": "{name}'s role",
        "class_teacher_role": "the class teacher's role",
        "agreed_by_senco_name": "the SENCO who agreed it",
        "agreed_on": "the date it was agreed",
        "review_date": "the review date",
    },
)


class Walk:
    """The walk through one template's steps."""

    def __init__(self, template: Template) -> None:
        self.template = template
        self.steps = template.step_by_key

    def sequence(self, state: dict[str, Any]) -> list[str]:
        return self.template.sequence(state)

    def step_of(self, step_id: str) -> tuple[Step, int | None]:
        if step_id.count(".") == 2:
            group, number, part = step_id.split(".")
            return self.steps[f"{group}.{part}"], int(number)
        return self.steps[step_id], None

    @property
    def total(self) -> int:
        return len(self.template.sections)

    def title(self, step: Step, name: str) -> str:
        return self.template.sections[step.section - 1].format(name=name)

    def current(self, state: dict[str, Any]) -> str | None:
        done = set(state.get("answered", [])) | set(state.get("skipped", []))
        return next((step_id for step_id in self.sequence(state) if step_id not in done), None)

    def unanswered(self, state: dict[str, Any]) -> list[str]:
        answered = set(state.get("answered", []))
        return [
            step_id for step_id in self.sequence(state) if step_id not in answered and not step_id.endswith(".more")
        ]

    def resume(self, state: dict[str, Any]) -> dict[str, Any]:
        """Carrying on later starts at the first unanswered step, skipped ones included."""
        fresh = copy.deepcopy(state)
        fresh["skipped"] = []
        fresh.pop("pending", None)
        return fresh

    def view_for(self, state: dict[str, Any], asked: str | None) -> dict[str, Any]:
        """The walk as one user last saw it: the step they were asked is the current one.

        When two people work on one draft, the other may have answered that step
        (or moved on) since; the answer still belongs to the question shown.
        """
        ids = self.sequence(state)
        if not asked or asked not in ids or self.current(state) == asked:
            return copy.deepcopy(state)
        view = copy.deepcopy(state)
        view["answered"] = [s for s in view.get("answered", []) if s != asked]
        done = set(view["answered"])
        view["skipped"] = [s for s in ids[: ids.index(asked)] if s not in done]
        view["synthetic"] = [s for s in view["skipped"] if s not in state.get("skipped", [])]
        view.pop("pending", None)
        return view

    def merge(self, shared: dict[str, Any], seen: dict[str, Any], mine: dict[str, Any]) -> dict[str, Any]:
        """Progress after one user's turn (from ``seen`` to ``mine``), keeping what others have answered meanwhile.

        Steps this user reopened ("back", "change ...") stay open.
        """
        merged = copy.deepcopy(mine)
        synthetic = set(merged.pop("synthetic", []))
        reopened = set(seen.get("answered", [])) - set(mine.get("answered", []))
        answered = (set(shared.get("answered", [])) | set(mine.get("answered", []))) - reopened
        order = {step_id: index for index, step_id in enumerate(self.sequence(merged))}
        merged["answered"] = sorted(answered, key=lambda s: order.get(s, len(order)))
        merged["skipped"] = [
            s
            for s in mine.get("skipped", [])
            if s not in answered and (s not in synthetic or s in shared.get("skipped", []))
        ]
        merged["choices"] = {**shared.get("choices", {}), **mine.get("choices", {})}
        for key in self.template.counts.values():
            merged[key] = max(count_of(shared, key), count_of(mine, key))
        return merged

    def progress(self, state: dict[str, Any], name: str) -> str:
        step_id = self.current(state)
        if step_id is None:
            return f"Every section of {name}'s {self.template.noun} has an answer."
        step, _ = self.step_of(step_id)
        left = len(self.unanswered(state))
        questions = "question" if left == 1 else "questions"
        return f"Section {step.section} of {self.total}: {self.title(step, name)}. {left} {questions} still to answer."

    def still_to_answer(self, state: dict[str, Any], name: str) -> str:
        """The sections with a question still to answer, skipped ones included, in order."""
        left = self.unanswered(state)
        if not left:
            return f"Nothing is left: every section of {name}'s {self.template.noun} has an answer."
        sections: list[str] = []
        for step_id in left:
            step, number = self.step_of(step_id)
            shown = self.title(step, name) + (f" (target {number})" if number is not None else "")
            if shown not in sections:
                sections.append(shown)
        questions = "question" if len(left) == 1 else "questions"
        return f"Still to answer: {len(left)} {questions}, in {'; '.join(sections)}."

    @staticmethod
    def _shown_value(value: Any) -> str:
        if isinstance(value, dt.date):
            return dates.long_date(value)
        return str(getattr(value, "value", value))

    def ask(self, state: dict[str, Any], name: str, values: dict[str, Any], turn: Turn | None = None) -> Turn:
        """Put the current question (with where we are, and any answer already there)."""
        turn = turn or Turn(state=state)
        step_id = self.current(state)
        if step_id is None:
            turn.finished = "ready"
            return turn
        turn.asked = step_id
        step, number = self.step_of(step_id)
        group = step.group
        outcome = str(values.get(f"{group}.{number}.outcome") or "") if number is not None else ""
        heading = f"Section {step.section} of {self.total}: {self.title(step, name)}."
        text = f"{heading}\n{question(step, name, number or 1, outcome)}"
        turn.buttons = [{"title": choice.title, "payload": choice.title} for choice in step.choices]
        if step.suggest_weeks and values.get(step_id) in (None, ""):
            suggested = dates.today() + dt.timedelta(weeks=step.suggest_weeks)
            turn.buttons.append({"title": dates.long_date(suggested), "payload": suggested.strftime("%d/%m/%Y")})
        known = values.get(step_id)
        if known not in (None, ""):
            shown = next(
                (c.title for c in step.choices if c.value == getattr(known, "value", known)), None
            ) or self._shown_value(known)
            text += f'\nAt the moment: "{shown}". Type a new answer, or say "keep".'
            turn.buttons.append({"title": "Keep", "payload": "keep"})
        turn.say.append(text)
        turn.buttons.append({"title": "Skip for now", "payload": "skip"})
        return turn

    def _matches_section(self, what: str, state: dict[str, Any]) -> str | None:
        what = what.strip(" ?.!").lower()
        number = re.fullmatch(r"(?:section\s+)?(\d{1,2})", what)
        ids = self.sequence(state)
        if number:
            wanted = int(number.group(1))
            return next((step_id for step_id in ids if self.step_of(step_id)[0].section == wanted), None)
        group, first_part = self.template.numbered
        target = re.fullmatch(r"target\s*(\d+)(?:'?s)?(?:\s+(\w+))?", what)
        if target:
            candidate = f"{group}.{target.group(1)}.{target.group(2) or first_part}"
            return candidate if candidate in ids else None
        for key, words in self.template.words_for.items():
            if any(what == word or what.startswith(word) for word in words):
                if key in self.template.counts or key == group:
                    return next((step_id for step_id in ids if step_id.startswith(f"{key}.")), None)
                return key if key in ids else None
        for index, title in enumerate(self.template.sections, 1):
            if what in title.lower():
                return next((step_id for step_id in ids if self.step_of(step_id)[0].section == index), None)
        return None

    def handle(
        self,
        state: dict[str, Any],
        text: str,
        name: str,
        values: dict[str, Any],
        today: dt.date | None = None,
        fields: list[dict[str, Any]] | None = None,
    ) -> Turn:
        """Take one message during the walk; ``fields`` are its parts as the field reader read them."""
        state = copy.deepcopy(state)
        state.setdefault("answered", [])
        state.setdefault("skipped", [])
        state.setdefault("choices", {})
        said = " ".join((text or "").strip().lower().rstrip(".!").split())
        turn = Turn(state=state)
        pending = state.get("pending")
        step_id = self.current(state)
        # "undo" takes back only the message just before it.
        last_filing = state.pop("undo", None)
        if last_filing and UNDO.match(said):
            return self._undo(state, last_filing, name, values, turn)

        if STOP.match(said):
            state.pop("pending", None)
            turn.finished = "stopped"
            turn.say.append(
                f'Everything so far is saved. Say "carry on with {name}\'s {self.template.noun}" whenever '
                "you're ready, here or on another device, and I'll pick up where we left off."
            )
            return turn
        if WHERE.match(said):
            turn.say.append(self.progress(state, name))
            return self.ask(state, name, values, turn) if step_id else turn
        if LEFT.match(said):
            turn.say.append(self.still_to_answer(state, name))
            return self._carry_on(state, name, values, turn) if step_id else turn
        edit = ADD_TO.match(text.strip()) or CHANGE_TO.match(text.strip())
        target_of_edit = self._matches_section(edit.group("what"), state) if edit else None
        if edit and target_of_edit:
            adding = edit.re is ADD_TO
            return self._edit(state, target_of_edit, edit.group("value").strip(), adding, name, values, turn, today)
        change = CHANGE.match(said)
        if change:
            target_id = self._matches_section(change.group("what"), state)
            if target_id is None:
                turn.say.append(
                    "I'm not sure which section you mean. You can say, for example, "
                    '"change the strengths" or "change section 8".'
                )
                return self.ask(state, name, values, turn)
            state.pop("pending", None)
            state["answered"] = [s for s in state["answered"] if s != target_id]
            state["skipped"] = [s for s in state["skipped"] if s != target_id]
            ids = self.sequence(state)
            # Everything between the section to change and where we were stays answered.
            state["skipped"] += [
                s for s in ids[: ids.index(target_id)] if s not in state["answered"] and s not in state["skipped"]
            ]
            return self.ask(state, name, values, turn)
        if step_id is None:
            return self.ask(state, name, values, turn)
        if SKIP.match(said):
            state.pop("pending", None)
            state["skipped"].append(step_id)
            turn.say.append("Skipped for now; I'll come back to it at the end.")
            return self.ask(state, name, values, turn)
        if BACK.match(said):
            state.pop("pending", None)
            ids = self.sequence(state)
            earlier = ids[: ids.index(step_id)]
            if not earlier:
                turn.say.append("This is the first question, so there's nothing to go back to.")
                return self.ask(state, name, values, turn)
            previous_id = earlier[-1]
            state["answered"] = [s for s in state["answered"] if s != previous_id]
            state["skipped"] = [s for s in state["skipped"] if s != previous_id]
            return self.ask(state, name, values, turn)
        if KEEP.match(said) and values.get(step_id) not in (None, ""):
            state["answered"].append(step_id)
            return self.ask(state, name, values, turn)

        if pending and "asking" in pending and pending.get("step") != step_id:
            # A change elsewhere opened an earlier question; the follow-up on screen is answered first.
            step_id = pending["step"]
        step, number = self.step_of(step_id)
        deadline = values.get(self.template.deadline)
        if pending and pending.get("step") == step_id:
            return self._answer_pending(state, pending, said, text, step, number, name, values, turn, today, deadline)
        filed = self._file_parts(state, step_id, fields, name, values, turn, today) if number is None else None
        if filed is not None:
            return filed
        reading = interpret(
            step, text, name, today, dates.long_date(deadline) if isinstance(deadline, dt.date) else None
        )
        if reading.problem is not None:  # not ``reading.ok``
            turn.say.append(reading.problem)
            return self.ask(state, name, values, turn)
        if reading.confirm:
            state["pending"] = {
                "step": step_id,
                "value": self._jsonable(reading.value),
                "suggestion": reading.suggestion,
            }
            turn.say.append(reading.confirm)
            turn.buttons = (
                [
                    {"title": "Use the suggestion", "payload": "use the suggestion"},
                    {"title": "Keep mine", "payload": "keep mine"},
                ]
                if reading.suggestion
                else [{"title": "Yes, keep it", "payload": "yes"}, {"title": "No, change it", "payload": "no"}]
            )
            return turn
        if step.kind == "provision":
            missing = [part for part in (reading.extra or {}).get("missing", []) if part in ("who", "how often")]
            if missing:
                state["pending"] = {
                    "step": step_id,
                    "value": reading.value,
                    "provision": reading.extra,
                    "asking": missing[0],
                }
                turn.say.append(provision_question(missing[0]))
                return turn
        return self._store(
            state, step_id, step, number, reading.value, reading.extra, name, values, turn, text=text, today=today
        )

    def _file_parts(
        self,
        state: dict[str, Any],
        asked: str,
        fields: list[dict[str, Any]] | None,
        name: str,
        values: dict[str, Any],
        turn: Turn,
        today: dt.date | None,
    ) -> Turn | None:
        """File a message that speaks to other sections than the one asked, or to several; None to read it as usual.

        Each part goes to the step the field reader is sure of, unless the step asked is likely too: then
        the step asked keeps it. Nothing goes anywhere silently: the reply names every step filed.
        """
        section = self.step_of(asked)[0].section
        fillable = self._fillable(state)
        plan = filing_plan(
            [(str(part.get("text") or ""), part.get(self.template.noun) or []) for part in fields or []],
            asked,
            fillable,
            frozenset(step_id for step_id in fillable if self.step_of(step_id)[0].section == section),
        )
        if plan is None:
            return None
        today = today or dates.today()
        saved: dict[str, Any] = {}
        said: list[str] = []
        for step_id, text in plan.items():
            step, _ = self.step_of(step_id)
            old = values.get(step_id)
            if step.kind == "text" and old not in (None, "") and step_id != asked:
                text = f"{self._shown_value(old)}; {text}"  # added to what is there, never replacing it
            reading = interpret(step, text, name, today)
            if reading.problem is not None or reading.confirm:
                if step_id == asked:
                    return None  # the step asked reads it as usual, problems and all
                continue
            saved[step_id] = reading.value
            said.append(self.label(step_id, name))
            if step.kind in ("choice", "yes_no"):
                state["choices"][step_id] = reading.value
            if step_id not in state["answered"]:
                state["answered"].append(step_id)
            state["skipped"] = [s for s in state.get("skipped", []) if s != step_id]
        if not saved or set(saved) == {asked}:
            return None
        state["undo"] = {"values": {key: self._jsonable(values.get(key)) for key in saved}, "asked": asked}
        turn.save = saved
        where = ", ".join(said[:-1]) + (" and " if len(said) > 1 else "") + said[-1]
        if asked in saved:
            turn.say.append(f'Put under {where}. (Say "undo" if that\'s not right.)')
        else:
            turn.say.append(
                f"That sounds like {where}, so I've put it there (say \"undo\" if it isn't). Now, the question I asked:"
            )
        return self.ask(state, name, {**values, **saved}, turn)

    def _undo(self, state: dict[str, Any], undo: dict[str, Any], name: str, values: dict[str, Any], turn: Turn) -> Turn:
        """Take back the last message's filing: each step gets its value from before, and is open again if it was."""
        restored: dict[str, Any] = {}
        for step_id, before in undo["values"].items():
            step, _ = self.step_of(step_id)
            restored[step_id] = dt.date.fromisoformat(before) if step.kind == "date" and before else before
            if before in (None, ""):
                state["answered"] = [s for s in state["answered"] if s != step_id]
                state["choices"].pop(step_id, None)
        turn.save = restored
        turn.say.append("Done: I've taken that back. " + ("Here's the question again:" if restored else ""))
        return self.ask(state, name, {**values, **restored}, turn)

    def _fillable(self, state: dict[str, Any]) -> set[str]:
        """The steps a part may be filed under: this document's own free-text steps, outside targets.

        Choices and dates are left to the question that asks them: a date or "no" fits too many.
        """
        return {
            step_id
            for step_id in self.sequence(state)
            if step_id.count(".") == 0 and self.step_of(step_id)[0].kind == "text"
        }

    def label(self, step_id: str, name: str) -> str:
        """How a step is named back to the user: its section, or "target 2's provision"."""
        step, number = self.step_of(step_id)
        if number is not None:
            return f"{step.group} {number}'s {step.key.split('.')[1]}"
        if step.key in self.template.labels:
            return self.template.labels[step.key].format(name=name)
        return self.title(step, name).lower()

    def _edit(
        self,
        state: dict[str, Any],
        step_id: str,
        typed: str,
        adding: bool,
        name: str,
        values: dict[str, Any],
        turn: Turn,
        today: dt.date | None,
    ) -> Turn:
        """ "add to strengths: ..." appends to what is there; "change target 2's provision to ..." replaces it.

        Either is said back, the old value with it, and the walk carries on with the question it was on.
        """
        step, number = self.step_of(step_id)
        old = values.get(step_id)
        shown_old = self._shown_value(old) if old not in (None, "") else ""
        new_text = f"{shown_old}; {typed}" if adding and step.kind == "text" and shown_old else typed
        deadline = values.get(self.template.deadline)
        reading = interpret(
            step, new_text, name, today, dates.long_date(deadline) if isinstance(deadline, dt.date) else None
        )
        label = self.label(step_id, name)
        if reading.problem is not None:
            turn.say.append(f"For {label}: {reading.problem}")
            return self._carry_on(state, name, values, turn)
        shown_new = self._shown_value(reading.value)
        if adding and shown_old:
            turn.say.append(f'Added to {label}. It now reads: "{shown_new}".')
        elif shown_old:
            turn.say.append(f'Changed {label} from "{shown_old}" to "{shown_new}".')
        else:
            turn.say.append(f'Put "{shown_new}" under {label}.')
        pending = state.get("pending")
        stored = self._store(state, step_id, step, number, reading.value, reading.extra, name, values, turn)
        if pending and pending.get("step") != step_id:
            # A follow-up question was open: put it again, so the next answer goes where it was meant.
            stored.state["pending"] = pending
            stored.say = [*stored.say[:-1]]
            stored.buttons = []
            return self._carry_on(stored.state, name, {**values, step_id: reading.value}, stored)
        return stored

    def _carry_on(self, state: dict[str, Any], name: str, values: dict[str, Any], turn: Turn) -> Turn:
        """Put again whatever was asked last: an open follow-up question, or the current step."""
        pending = state.get("pending")
        if pending and "asking" in pending:
            turn.say.append(provision_question(pending["asking"]))
            return turn
        return self.ask(state, name, values, turn)

    @staticmethod
    def _jsonable(value: Any) -> Any:
        return value.isoformat() if isinstance(value, dt.date) else value

    def _answer_pending(
        self,
        state: dict[str, Any],
        pending: dict[str, Any],
        said: str,
        text: str,
        step: Step,
        number: int | None,
        name: str,
        values: dict[str, Any],
        turn: Turn,
        today: dt.date | None,
        deadline: Any,
    ) -> Turn:
        step_id = pending["step"]
        if "asking" in pending:
            provision = dict(pending["provision"])
            field_name = "who" if pending["asking"] == "who" else "how_often"
            provision[field_name] = " ".join(text.split())
            still = [part for part in ("who", "how often") if not provision.get(part.replace(" ", "_"))]
            if still:
                state["pending"] = {**pending, "provision": provision, "asking": still[0]}
                turn.say.append(provision_question(still[0]))
                return turn
            state.pop("pending", None)
            return self._store(state, step_id, step, number, pending["value"], provision, name, values, turn)
        if pending.get("suggestion"):
            if YES.match(said):
                if "[" in pending["suggestion"]:
                    state["pending"] = {**pending, "suggestion": None}
                    turn.say.append("Please type the target with your measure in place of the part in brackets.")
                    turn.say.append(pending["suggestion"])
                    return turn
                chosen = pending["suggestion"]
            elif NO.match(said):
                chosen = pending["value"]
            else:
                state.pop("pending", None)
                return self.handle(state, text, name, values, today)
            state.pop("pending", None)
            return self._store(state, step_id, step, number, chosen, None, name, values, turn)
        if YES.match(said):
            state.pop("pending", None)
            value = pending["value"]
            if step.kind == "date" and isinstance(value, str):
                value = dt.date.fromisoformat(value)
            return self._store(state, step_id, step, number, value, None, name, values, turn)
        state.pop("pending", None)
        if NO.match(said):
            turn.say.append("No problem.")
            return self.ask(state, name, values, turn)
        return self.handle(state, text, name, values, today)

    def _store(
        self,
        state: dict[str, Any],
        step_id: str,
        step: Step,
        number: int | None,
        value: Any,
        extra: dict[str, Any] | None,
        name: str,
        values: dict[str, Any],
        turn: Turn,
        text: str = "",
        today: dt.date | None = None,
    ) -> Turn:
        if step.kind in ("choice", "yes_no"):
            state["choices"][step_id] = value
        if step_id.endswith(".more"):
            if value == "yes":
                assert step.group is not None, "a step asking for another of something is in a repeated group"
                key = self.template.counts[step.group]
                state[key] = count_of(state, key) + 1
        elif not step.stored:
            pass
        elif number is not None:
            turn.target_position = number
            turn.group = step.group
            part = step.key.split(".")[1]
            if part == "provision":
                parts = extra or {}
                turn.save = {
                    "provision_who": parts.get("who"),
                    "provision_what": parts.get("what") or value,
                    "provision_when": parts.get("when"),
                    "provision_how_often": parts.get("how_often"),
                }
            else:
                turn.save = {part: value}
        else:
            turn.save = {step.key: value}
            if text and (step.kind == "choice" or step.also_date):
                values = {**values, **self._fill_follow_ups(state, step, value, text, turn, today)}
        state["answered"].append(step_id)
        state["skipped"] = [s for s in state.get("skipped", []) if s != step_id]
        values = {**values, step_id: value}
        return self.ask(state, name, values, turn)

    def _fill_follow_ups(
        self, state: dict[str, Any], step: Step, value: Any, text: str, turn: Turn, today: dt.date | None
    ) -> dict[str, Any]:
        """What a choice's answer also says for the questions that follow from it ("we applied on the 2nd").

        Each is stored, marked answered and named in the reply, so nothing typed is lost or asked again.
        """
        today = today or dates.today()
        choice = next((c for c in step.choices if c.value == value), None)
        filled: dict[str, Any] = {}
        for follow in self.template.steps:
            follows = follow.only_if == (step.key, value) or follow.key == step.also_date
            if not follows or follow.key in state["answered"] or follow.group:
                continue
            found: Any = None
            if follow.kind == "date":
                dated = dates.find_date(text, follow.prefer, today)
                if dated and (follow.prefer != "past" or dated[1] <= today):
                    found = dated[1]
            elif follow.kind == "text" and choice is not None:
                rest = leading_choice_words(step, choice, text)
                found = rest if len(rest.split()) >= 3 else None
            if found is None:
                continue
            turn.save[follow.key] = found
            filled[follow.key] = found
            state["answered"].append(follow.key)
            shown = dates.long_date(found) if isinstance(found, dt.date) else found
            turn.say.append(f'Also noted from that, for "{follow.question}": {shown}.')
        return filled


PLAN_WALK = Walk(PLAN)
# The plan's walk, as the plan recording calls it.
sequence = PLAN_WALK.sequence
step_of = PLAN_WALK.step_of
current = PLAN_WALK.current
unanswered = PLAN_WALK.unanswered
resume = PLAN_WALK.resume
view_for = PLAN_WALK.view_for
merge = PLAN_WALK.merge
progress = PLAN_WALK.progress
ask = PLAN_WALK.ask
handle = PLAN_WALK.handle
