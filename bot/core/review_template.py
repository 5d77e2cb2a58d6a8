"""The review meeting, section by section: what staff capture as it happens.

The Review step closes each cycle of the graduated approach (Code of Practice
6.54-6.56): how each target went and what shows it, the parents' and the
pupil's views, what is new at home, next steps, new targets, the outcome and
the date of the next review, agreed at the meeting (6.54; schools should also meet
parents at least three times a year, 6.65, so a date more than about four months
away is questioned). The same ``Walk`` as the plan's goes through these steps,
with the same commands.

Step ids: ``reviewed.N.part`` for the N-th target of the plan under review,
``new.N.part`` for targets set at the meeting.
"""

from __future__ import annotations

from typing import Any

from bot.core.plan_template import YES_NO, Choice, Step
from bot.core.walker import Template, Walk, applies, count_of

SECTIONS = (
    "The meeting",
    "How the targets went",
    "The parents' views",
    "{name}'s views",
    "New information from home",
    "New targets",
    "The outcome",
    "Next review",
)

ACHIEVED = (
    Choice("achieved", "Achieved", ("achieved", "met", "yes", "done", "reached", "got there")),
    Choice(
        "progress", "Some progress", ("some progress", "progress", "partly", "partially", "nearly", "almost", "some")
    ),
    Choice("not_achieved", "Not achieved", ("not achieved", "not met", "no", "not yet", "none", "no progress")),
)
NEXT_STEPS = (
    Choice("carry_on", "Carry on", ("carry on", "continue", "keep going", "same", "keep it")),
    Choice("new_target", "New target", ("new target", "new", "replace", "change the target", "next target")),
    Choice(
        "different_provision",
        "Different provision",
        ("different provision", "different", "provision", "change the support", "other support", "new support"),
    ),
)
DECISIONS = (
    Choice("carry_on", "Carry on with SEN support", ("carry on", "continue", "keep going", "stay on", "another cycle")),
    Choice(
        "no_longer_needed",
        "No longer needs SEN support",
        ("no longer", "not needed", "doesn't need", "does not need", "off the register", "come off", "remove"),
    ),
    Choice(
        "consider_ehc_assessment",
        "Consider an EHC needs assessment",
        ("ehc", "ehcp", "needs assessment", "more than the school", "request", "assessment"),
    ),
)

STEPS: tuple[Step, ...] = (
    Step("held_on", 1, 'On what date is the meeting being held? Say "today" if it\'s now.', "date", prefer="past"),
    Step("attendees", 1, "Who is at the meeting (for example Mum, the class teacher, the SENCO and {name})?"),
    Step("reviewed.achieved", 2, 'Target {target}: "{outcome}"\nWas it achieved?', "choice", ACHIEVED),
    Step("reviewed.evidence", 2, "What shows this (for example assessment results, work samples or observations)?"),
    Step("reviewed.next_step", 2, "What next for this target?", "choice", NEXT_STEPS),
    Step("reviewed.provision", 2, "What will the new provision be: who, what, when and how often?", "provision"),
    Step("parent_views", 3, "What do the parents think about how things have gone?"),
    Step("pupil_views", 4, "What does {name} think? In {name}'s own words if you can."),
    Step(
        "new_information",
        5,
        "Is there new information from home (health, sleep, changes in the family, other services)?",
    ),
    Step("new_targets", 6, "Are there new targets to add?", "yes_no", YES_NO, stored=False),
    Step("new.difficulty", 6, "New target {target}: what is the difficulty it addresses?"),
    Step("new.provision", 6, "What provision will there be for it: who, what, when and how often?", "provision"),
    Step(
        "new.outcome", 6, "What is the SMART outcome: what will {name} be able to do, measured how, by when?", "outcome"
    ),
    Step("new.more", 6, "Would you like to add another new target?", "yes_no", YES_NO),
    Step("decision", 7, "What was decided?", "choice", DECISIONS),
    Step(
        "next_review_date",
        8,
        "When is the next review? I'd suggest within about twelve weeks.",
        "date",
        review_gap=True,
        suggest_weeks=12,
    ),
)
WORDS_FOR = {
    "held_on": ("date", "meeting date", "meeting"),
    "attendees": ("attendees", "who was there", "who is there", "people"),
    "reviewed": ("targets", "target", "how the targets went"),
    "parent_views": ("parent's views", "parents' views", "parents views", "parent views", "parents"),
    "pupil_views": ("pupil's views", "pupil views", "child's views", "their views", "views"),
    "new_information": ("new information", "information from home", "home"),
    "new_targets": ("new targets", "new target"),
    "decision": ("outcome", "decision"),
    "next_review_date": ("next review", "review date", "next review date"),
}
STEP_BY_KEY = {step.key: step for step in STEPS}


def review_sequence(state: dict[str, Any]) -> list[str]:
    """Every step id of this review, in order.

    The targets looked back on are the plan's (``reviewed`` in the state,
    fixed when the review opens); new provision is asked only for targets
    whose next step is different provision; new targets only if there are
    any; the next review date unless the pupil no longer needs SEN support.
    """
    choices = state.get("choices", {})
    ids = ["held_on", "attendees"]
    for number in range(1, int(state.get("reviewed", 0)) + 1):
        ids += [f"reviewed.{number}.achieved", f"reviewed.{number}.evidence", f"reviewed.{number}.next_step"]
        if choices.get(f"reviewed.{number}.next_step") == "different_provision":
            ids.append(f"reviewed.{number}.provision")
    ids += ["parent_views", "pupil_views", "new_information", "new_targets"]
    if choices.get("new_targets") == "yes":
        count = count_of(state, "new_targets_count")
        for number in range(1, count + 1):
            parts = ["difficulty", "provision", "outcome"] + (["more"] if number == count else [])
            ids += [f"new.{number}.{part}" for part in parts]
    ids.append("decision")
    if choices.get("decision") != "no_longer_needed" and applies(STEP_BY_KEY["next_review_date"], choices):
        ids.append("next_review_date")
    return ids


REVIEW = Template(
    noun="review",
    sections=SECTIONS,
    steps=STEPS,
    sequence=review_sequence,
    words_for=WORDS_FOR,
    numbered=("reviewed", "achieved"),
    counts={"new": "new_targets_count"},
    deadline="next_review_date",
    labels={
        "held_on": "the meeting's date",
        "attendees": "who is at the meeting",
        "parent_views": "the parents' views",
        "pupil_views": "{name}'s views",
        "new_information": "new information from home",
        "decision": "the outcome",
        "next_review_date": "the next review date",
    },
)
REVIEW_WALK = Walk(REVIEW)
TOTAL_SECTIONS = len(SECTIONS)
