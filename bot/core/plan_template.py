"""The sections of an SEN Support Plan, in the order of the template, and how to read answers.

Each ``Step`` is one question. Steps are grouped into numbered sections
("section 4 of 14"); the targets section repeats its steps for each target.
``interpret`` turns what someone typed into the value to store, or explains
kindly what it needs instead.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from bot.core import dates
from bot.core.review_timing import REVIEW_GAP_LIMIT
from bot.core.smart import check_outcome, parse_provision

SECTIONS = (
    "Level of need",
    "Main area of need",
    "Cluster funding",
    "Attainment and progress",
    "Current interventions and adjustments",
    "How needs were identified",
    "New information from parents",
    "Strengths and what {name} likes doing",
    "You'll know I'm finding things hard when",
    "How I like to be supported",
    "Roles of the parent, {name} and the class teacher",
    "Targets",
    "Plan agreed by the SENCO",
    "Review date",
)


@dataclass(frozen=True)
class Choice:
    value: str
    title: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class Step:
    key: str
    section: int
    question: str
    kind: str = "text"  # text, choice, date, provision, outcome, yes_no
    choices: tuple[Choice, ...] = ()
    prefer: str = "future"
    only_if: tuple[str, str] | None = None  # (step key, value) that must have been answered
    review_gap: bool = False  # a review date: from today on, and questioned when far off (CoP 6.54, 6.65)
    suggest_weeks: int | None = None  # offer the date this many weeks ahead as a button
    stored: bool = True  # False for a question that only steers the walk ("any new targets?")
    person: bool = False  # the answer is a person: "Mr Patel signed it off" stores "Mr Patel"
    also_date: str | None = None  # a date step the same sentence may answer ("... on the 4th")

    @property
    def group(self) -> str | None:
        """The repeated group a step belongs to ("target" in "target.outcome"), if any."""
        return self.key.split(".")[0] if "." in self.key else None

    @property
    def is_target_step(self) -> bool:
        return self.group == "target"


LEVELS = (
    Choice("sen_support", "SEN support", ("sen support", "support", "sen", "k", "school support")),
    Choice("ehcp", "EHC plan", ("ehcp", "ehc plan", "echp", "ehc", "education health and care", "plan", "statement")),
)
AREAS = (
    Choice(
        "cognition_learning",
        "Cognition and learning",
        ("cognition", "learning", "c&l", "c and l", "mld", "sld", "spld", "dyslexia", "literacy"),
    ),
    Choice(
        "communication_interaction",
        "Communication and interaction",
        ("communication", "interaction", "c&i", "c and i", "speech", "language", "slcn", "autism", "asd", "asc"),
    ),
    Choice(
        "semh",
        "Social, emotional and mental health",
        ("semh", "social", "emotional", "mental health", "behaviour", "adhd", "anxiety"),
    ),
    Choice(
        "sensory_physical",
        "Sensory and/or physical",
        ("sensory", "physical", "hearing", "vision", "visual", "deaf", "pd", "motor"),
    ),
    Choice("medical", "Medical", ("medical", "health", "medicine", "condition", "epilepsy", "diabetes")),
)
FUNDING = (
    Choice("yes", "Yes", ("yes", "y", "yeah", "yep", "we have", "has")),
    Choice("no", "No", ("no", "n", "nope", "none", "not")),
    Choice("requested", "Requested", ("requested", "applied", "asked", "pending", "waiting", "request")),
)
YES_NO = (
    Choice("yes", "Yes", ("yes", "y", "yeah", "yep", "sure", "ok", "okay", "another", "add")),
    Choice(
        "no",
        "No",
        (
            "no",
            "n",
            "nope",
            "done",
            "that's all",
            "thats all",
            "no more",
            "finished",
            "that's everything",
            "all done",
            # Meant for the summary that comes after the last target: the targets are finished.
            "save it",
            "agree",
            "that's right",
            "looks good",
        ),
    ),
)

STEPS: tuple[Step, ...] = (
    Step("level_of_need", 1, "Is {name} on SEN support, or does {name} have an EHC plan?", "choice", LEVELS),
    Step("main_area_of_need", 2, "What is {name}'s main area of need?", "choice", AREAS),
    Step("cluster_funding", 3, "Does {name} have cluster (top-up) funding?", "choice", FUNDING),
    Step(
        "cluster_funding_details",
        3,
        "What is the cluster funding for, and how much?",
        only_if=("cluster_funding", "yes"),
    ),
    Step(
        "cluster_funding_requested_on",
        3,
        "When was the cluster funding requested?",
        "date",
        prefer="past",
        only_if=("cluster_funding", "requested"),
    ),
    Step("previous_attainment", 4, "What was {name}'s previous attainment?"),
    Step("previous_progress", 4, "And {name}'s previous progress?"),
    Step("current_attainment", 4, "What is {name}'s current attainment?"),
    Step("current_progress", 4, "And {name}'s current progress?"),
    Step("expected_attainment", 4, "What attainment is expected by the end of the year?"),
    Step("interventions", 5, "What interventions and adjustments are in place for {name} now?"),
    Step("how_needs_identified", 6, "How were {name}'s needs identified (assessments, observations, reports)?"),
    Step(
        "professionals_involved",
        6,
        "Which professionals are involved, if any (for example an educational psychologist)?",
    ),
    Step("parent_new_information", 7, "What new information have the parents given?"),
    Step("strengths", 8, "What are {name}'s strengths, and what does {name} like doing?"),
    Step("finding_things_hard_when", 9, "In {name}'s words: \"You'll know I'm finding things hard when...\""),
    Step("how_i_like_support", 10, 'In {name}\'s words: "I like to be supported by..."'),
    Step("parent_role", 11, "What will the parent or carer do?"),
    Step("child_role", 11, "What will {name} do?"),
    Step("class_teacher_role", 11, "What will the class teacher do?"),
    Step("target.difficulty", 12, "Target {target}: what is the difficulty it addresses?"),
    Step(
        "target.provision",
        12,
        "What provision will there be for it: who, what, when and how often? "
        'For example "TA, phonics group, mornings, 3 times a week".',
        "provision",
    ),
    Step(
        "target.outcome",
        12,
        "What is the SMART outcome: what will {name} be able to do, measured how, by when?",
        "outcome",
    ),
    Step("target.more", 12, "Would you like to add another target?", "yes_no", YES_NO),
    Step("agreed_by_senco_name", 13, "Which SENCO agreed the plan? (Their name.)", person=True, also_date="agreed_on"),
    Step("agreed_on", 13, "On what date was the plan agreed?", "date", prefer="past"),
    Step("review_date", 14, "When is the plan's review date?", "date", review_gap=True),
)
STEP_BY_KEY = {step.key: step for step in STEPS}
TOTAL_SECTIONS = len(SECTIONS)


# A person as staff write one in a record: a title and a surname, perhaps a first name between.
PERSON = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr)\.?\s+(?:[A-Z][\w'-]+\s+)?[A-Z][\w'-]+")


@dataclass(frozen=True)
class Reading:
    """What an answer means: a value to store, or a kind explanation of what is needed.

    ``confirm`` asks the user to confirm before storing (a far-off review date,
    a suggested rewrite of a target). ``extra`` carries parts of the answer
    stored elsewhere (the pieces of a target's provision).
    """

    value: Any = None
    problem: str | None = None
    confirm: str | None = None
    suggestion: str | None = None
    extra: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def question(step: Step, name: str, target: int = 1, outcome: str = "") -> str:
    return step.question.format(name=name, target=target, outcome=outcome)


def _said(text: str) -> str:
    return " ".join(re.sub(r"[^\w&' ]", " ", text.lower()).split())


def choices_meant(step: Step, text: str) -> list[Choice]:
    """The choices a free answer may mean, best first: one exact title, or those whose words appear most.

    "nope, still waiting to hear, we applied on the 2nd" has one "no" word and two "requested" words,
    so it means Requested; a tie ("not yet, we applied") gives both, for the walk to ask which.
    """
    said = _said(text)
    for choice in step.choices:
        if said in (choice.value, choice.title.lower()):
            return [choice]
    counted = [
        (sum(bool(re.search(rf"(?<!\w){re.escape(word)}(?!\w)", said)) for word in choice.words), choice)
        for choice in step.choices
    ]
    best = max((count for count, _ in counted), default=0)
    return [choice for count, choice in counted if count == best] if best else []


def leading_choice_words(step: Step, choice: Choice, text: str) -> str:
    """What follows a choice's word at the start of an answer ("yes, £3,000 for a TA" gives "£3,000 for a TA")."""
    for word in sorted(choice.words, key=len, reverse=True):
        found = re.match(rf"^\s*{re.escape(word)}(?!\w)[\s,.;:!-]*", text, re.IGNORECASE)
        if found:
            return text[found.end() :].strip()
    return ""


def interpret(step: Step, text: str, name: str, today: dt.date | None = None, deadline: str | None = None) -> Reading:
    """Read one answer to ``step``."""
    today = today or dates.today()
    answer = " ".join((text or "").split())
    if not answer:
        return Reading(
            problem='I didn\'t catch an answer there. You can type it, or say "skip" to come back to it later.'
        )
    if step.kind in ("choice", "yes_no"):
        meant = choices_meant(step, answer)
        if not meant:
            options = ", ".join(c.title for c in step.choices)
            return Reading(problem=f"Sorry, I didn't recognise that. Please choose one of: {options}.")
        if len(meant) > 1:
            either = " or ".join(c.title for c in meant)
            return Reading(problem=f"I can read that two ways: did you mean {either}?")
        return Reading(value=meant[0].value)
    if step.kind == "date":
        impossible = dates.impossible_date(answer)
        if impossible:
            return Reading(problem=f"{impossible} Please give the date again.")
        day = dates.parse_date(answer, step.prefer, today)
        if day is None:
            return Reading(problem='I couldn\'t read that as a date. Try "14 March 2025", "14/3" or "next Tuesday".')
        if step.review_gap:
            if day < today:
                return Reading(
                    problem=f"{dates.long_date(day)} is in the past. Please give a review date from today on."
                )
            if day - today > REVIEW_GAP_LIMIT:
                return Reading(
                    value=day,
                    confirm=(
                        f"{dates.long_date(day)} is more than about four months away. The review can be on any date "
                        "you agree (Code of Practice, paragraph 6.54), but the Code expects schools to meet parents "
                        "at least three times a year (paragraph 6.65), so check a meeting with parents comes before "
                        "it. Keep this date anyway?"
                    ),
                )
        elif day > today:
            return Reading(problem=f"{dates.long_date(day)} is in the future. Please give the date it happened.")
        return Reading(value=day)
    if step.kind == "provision":
        provision = parse_provision(answer)
        return Reading(value=answer, extra=provision.__dict__)
    if step.kind == "outcome":
        check = check_outcome(answer, name, deadline or "the next review")
        if check.ok:
            return Reading(value=answer)
        missing = " and ".join(
            part for part, fine in (("measurable", check.measurable), ("time-bound", check.time_bound)) if not fine
        )
        return Reading(
            value=answer,
            suggestion=check.suggestion,
            confirm=(
                f'That target isn\'t yet {missing}. How about: "{check.suggestion}" '
                "You can use this, keep yours, or type a new version."
            ),
        )
    if step.person:
        named = PERSON.search(answer)
        if named and named.group(0) != answer:
            return Reading(value=named.group(0))
    return Reading(value=answer)
