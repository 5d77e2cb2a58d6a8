"""Sentences shown to people about plans and reviews, written once.

The chat's answers, the admin digest, the reminder schedule and the documents
describe the same things (a target's support, a school's reviews, a review's
decision); they take the words from here, so that they never drift apart.
Functions take plain values, or anything with the attributes they read
(a plan or review from the store, or an evidence summary's row).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from bot.core import dates
from bot.core.review_template import ACHIEVED, DECISIONS, NEXT_STEPS
from bot.core.review_timing import Agenda, Timing
from bot.core.vocabulary import AreaOfNeed, NextStep, TargetProgress

AREA_NAMES = {
    AreaOfNeed.cognition_learning: "cognition and learning",
    AreaOfNeed.communication_interaction: "communication and interaction",
    AreaOfNeed.sensory_physical: "sensory and/or physical needs",
    AreaOfNeed.semh: "social, emotional and mental health",
    AreaOfNeed.medical: "medical needs",
}
PROGRESS_NAMES = {
    TargetProgress.achieved: "achieved",
    TargetProgress.progress: "some progress",
    TargetProgress.not_achieved: "not yet achieved",
}
# The review walk's buttons, so that a summary says what the member of staff chose.
CHOICE_TITLES = {
    name: {choice.value: choice.title for choice in choices}
    for name, choices in (("achieved", ACHIEVED), ("next_step", NEXT_STEPS), ("decision", DECISIONS))
}


class HasProvision(Protocol):
    """Anything that records provision: a plan's target, a review's target, an evidence summary's row.

    The parts are only read, so they are declared read-only, which the summary's frozen dataclasses also satisfy.
    """

    @property
    def provision_who(self) -> str | None: ...
    @property
    def provision_what(self) -> str | None: ...
    @property
    def provision_when(self) -> str | None: ...
    @property
    def provision_how_often(self) -> str | None: ...


def provision_parts(item: HasProvision) -> list[str]:
    """Who, what, when and how often, those that are recorded, in that order."""
    parts = (item.provision_who, item.provision_what, item.provision_when, item.provision_how_often)
    return [part for part in parts if part]


def provision_line(item: HasProvision) -> str:
    """Who, what, when and how often on one line ("" when none is recorded)."""
    return ", ".join(provision_parts(item))


def choice_title(field: str, value: Any) -> str:
    """A recorded choice as its button said it ("Some progress")."""
    raw = getattr(value, "value", value)
    return CHOICE_TITLES[field].get(raw, str(raw))


def when(day: dt.date, today: dt.date | None = None) -> str:
    """A date in full with how far away it is: "Tuesday 14 January 2025 (in 3 days)"."""
    return f"{dates.long_date(day)} ({dates.relative(day, today)})"


# A pupil's reviews ------------------------------------------------------------

# Why reviews are flagged to staff. The Code sets no number of reviews a year: a review falls on
# the date agreed in the plan (6.54). It does expect schools to meet parents at least three times
# a year (6.65), so more than about four months between reviews probably means a meeting is missing.
CODE_TIMING = (
    "A review is due on the date agreed in the pupil's plan (Code of Practice, paragraph 6.54), and the Code "
    "expects schools to meet parents at least three times a year (paragraph 6.65)."
)


def review_sentences(name: str, timing: Timing, for_staff: bool, for_parent: bool) -> list[str]:
    """When a pupil's next review is, when the last was, and what the Code expects if either is late."""
    lines: list[str] = []
    if timing.next_booked and not timing.overdue:
        lines.append(f"{name}'s next review is on {when(timing.next_booked)}.")
    elif timing.next_booked and timing.overdue:
        lines.append(f"{name}'s review was due on {when(timing.next_booked)} and hasn't been recorded as held yet.")
    else:
        lines.append(f"There's no review booked for {name} at the moment.")
    if timing.last_held:
        lines.append(f"The last review was on {dates.long_date(timing.last_held)}.")
    if for_staff and (timing.none_booked or timing.long_gap or timing.overdue):
        if timing.none_booked:
            advice = "No date is agreed yet, so please book one."
        elif timing.overdue:
            advice = "That date has passed, so please hold it or book a new date."
        else:
            advice = (
                "The next one is more than about four months after the last, so a meeting with parents is "
                "probably missing: consider an earlier date."
            )
        lines.append(f"{CODE_TIMING} {advice}")
    elif for_parent and (timing.none_booked or timing.overdue):
        lines.append(
            "Your child's review should happen on the date agreed in their plan (SEND Code of Practice, "
            "paragraph 6.54), and schools should meet parents at least three times a year (paragraph 6.65). "
            "You could ask the class teacher or the SENCO for a date."
        )
    return lines


def reminder_span(days: int) -> str:
    if days < 28:
        return "1 day" if days == 1 else f"{days} days"
    return f"{round(days / 7)} weeks"


def reminder_text(pupil_name: str, due_on: dt.date, today: dt.date | None = None) -> str:
    """A review reminder as the member of staff reads it."""
    today = today or dates.today()
    start = f'Say "start {pupil_name}\'s review"'
    delta = (due_on - today).days
    if delta > 0:
        soon = "tomorrow" if delta == 1 else f"in {reminder_span(delta)}"
        return f"Reminder: {pupil_name}'s review is due on {dates.long_date(due_on)} ({soon}). {start} when you meet."
    if delta == 0:
        return f"Reminder: {pupil_name}'s review is due today, {dates.long_date(due_on)}. {start} when you meet."
    return (
        f"Reminder: {pupil_name}'s review was due on {dates.long_date(due_on)} and is {reminder_span(-delta)} overdue. "
        f"Book a new date, or {start[0].lower()}{start[1:]} when you meet. {CODE_TIMING}"
    )


VISIT_LIMIT = 5  # reminders shown one by one at the start of a visit; the rest are counted


def visit_reminders(due: Sequence[tuple[str, dt.date]], today: dt.date | None = None) -> list[str]:
    """What a member of staff is told of their reminders (pupil's name, review date) when they come to the chat."""
    texts = [reminder_text(name, day, today) for name, day in due[:VISIT_LIMIT]]
    more = len(due) - VISIT_LIMIT
    if more > 0:
        texts.append(
            f'…and {more} more review{"s" if more != 1 else ""} due soon or overdue. Ask "which reviews are overdue?" '
            'or "reviews due in the next 2 weeks" to see them all.'
        )
    return texts


# A school's reviews -------------------------------------------------------------


def agenda_text(school: str, agenda: Agenda, overdue_first: bool, today: dt.date | None = None) -> str:
    """A school's reviews due, overdue and flagged, as staff read them in the chat and in the admin digest."""

    def more(shown: int, total: int) -> list[str]:
        return [f"…and {total - shown} more."] if total > shown else []

    due = [f"• {pupil.label}: {when(day, today)}" for pupil, day in agenda.due]
    due += more(len(agenda.due), agenda.due_total)
    overdue = [f"• {pupil.label}: was due {when(day, today)}" for pupil, day in agenda.overdue]
    overdue += more(len(agenda.overdue), agenda.overdue_total)
    flagged = [f"• {pupil.label}: no review booked" for pupil in agenda.none_booked]
    flagged += more(len(agenda.none_booked), agenda.none_booked_total)
    flagged += [
        f"• {pupil.label}: next review {dates.long_date(booked)}, more than four months after {dates.long_date(start)}"
        for pupil, start, booked in agenda.long_gap
    ]
    flagged += more(len(agenda.long_gap), agenda.long_gap_total)
    due_block = (
        f"Reviews due at {school} in the next {agenda.days} days ({agenda.due_total}):\n" + "\n".join(due)
        if due
        else f"No reviews are due at {school} in the next {agenda.days} days."
    )
    overdue_block = (
        f"Overdue reviews, not yet recorded as held ({agenda.overdue_total}):\n" + "\n".join(overdue)
        if overdue
        else "No reviews are overdue."
    )
    blocks = [overdue_block, due_block] if overdue_first else [due_block, overdue_block]
    if flagged:
        blocks.append(
            "Needing attention, since a review is due on the date agreed in the plan (Code of Practice, paragraph "
            "6.54) and schools should meet parents at least three times a year (paragraph 6.65), so more than "
            "about four months between reviews probably means a meeting with parents is missing:\n" + "\n".join(flagged)
        )
    return "\n\n".join(blocks)


# Plans --------------------------------------------------------------------------

PLAN_SUMMARY_LABELS = {
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


def plan_summary(name: str, version: int, values: Mapping[str, Any], targets: Iterable[Any]) -> str:
    """A plan's main answers and its targets, for checking before it is agreed."""
    lines = [f"Here is {name}'s plan (version {version}):"]
    for key, label in PLAN_SUMMARY_LABELS.items():
        value = values.get(key)
        if value is not None:
            shown = dates.long_date(value) if isinstance(value, dt.date) else getattr(value, "value", value)
            lines.append(f"• {label}: {shown}")
    for target in targets:
        lines.append(f"• Target {target.position}: {target.outcome or '(no outcome yet)'}")
    return "\n".join(lines)


def target_lines(targets: Sequence[Any], with_progress: bool = True) -> list[str]:
    """A plan's targets, each with its support and, once reviewed, its progress."""
    lines = []
    for target in targets:
        line = f"{target.position}. {target.outcome}"
        provision = provision_line(target)
        if provision:
            line += f"\n   Support: {provision}."
        if with_progress and target.progress:
            line += f"\n   Progress: {PROGRESS_NAMES[target.progress]}"
            line += f" ({target.progress_notes.rstrip('.')})." if target.progress_notes else "."
        lines.append(line)
    return lines


# Reviews ------------------------------------------------------------------------


def next_step_words(row: Any) -> str | None:
    """A reviewed target's next step in plain words."""
    if row.next_step == NextStep.carry_on:
        return "Carry on with this target."
    if row.next_step == NextStep.new_target:
        return "Replace it with a new target."
    if row.next_step == NextStep.different_provision:
        described = provision_line(row)
        if described:
            return f"Keep the target with different support: {described}."
        return "Keep the target with different support."
    return None


def review_summary(review: Any, name: str) -> str:
    """A review as captured, for checking before it is saved as held."""
    lines = [f"Here is {name}'s review:"]
    if review.held_on:
        attended = f" with {review.attendees}" if review.attendees else ""
        lines.append(f"• Held on {dates.long_date(review.held_on)}{attended}")
    for row in review.targets:
        if row.kind == "reviewed":
            result = choice_title("achieved", row.achieved) if row.achieved else "(not answered)"
            step = f"; next: {choice_title('next_step', row.next_step).lower()}" if row.next_step else ""
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
        lines.append(f"• Outcome: {choice_title('decision', review.decision)}")
    if review.next_review_date:
        lines.append(f"• Next review: {dates.long_date(review.next_review_date)}")
    if review.notes:
        lines.append(f"• Notes: {len(review.notes)}")
    return "\n".join(lines)
