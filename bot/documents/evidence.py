"""The evidence summary for an EHC needs assessment request: one pupil's whole graduated approach, as HTML and PDF.

Written for a reader at the council's SEN team: the pupil, a summary of
every cycle (dates, targets achieved, partly achieved and not achieved,
professionals, the latest decision), then each cycle in order with its
needs, provision, targets and outcomes, reviews, and the views of the
parents and the pupil, and last what the request involves in plain English.
The layout is the template ``templates/evidence.html.j2``; this module turns
the history into plain text values for it. The template escapes every value
it prints, so what staff and parents typed is shown as text, never as markup.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import knowledge
from bot.core import dates
from bot.core.wording import provision_line, provision_parts
from bot.documents.plan import AREAS, TEMPLATES, plain
from bot.store.evidence import Counts, Cycle, HeldReview, History, PlannedTarget

TITLE = "Graduated approach: evidence for an EHC needs assessment request"
RESULT_LABELS = {"achieved": "Achieved", "progress": "Partly achieved", "not_achieved": "Not achieved"}
NEXT_STEP_LABELS = {"carry_on": "Carry on", "new_target": "New target", "different_provision": "Different provision"}
DECISION_LABELS = {
    "carry_on": "Carry on with SEN support",
    "no_longer_needed": "SEN support no longer needed",
    "consider_ehc_assessment": "Consider an EHC needs assessment",
}
LEVEL_LABELS = {"sen_support": "SEN support", "ehcp": "EHC plan"}
AREA_LABELS = {area.value: label for area, label in AREAS}

# The pupil's own words on the plan; a cycle that kept them unchanged says so rather than repeat them.
OWN_WORDS = ("strengths", "finding_things_hard_when", "how_i_like_support")

# The law and guidance the "About the request" page cites, by what each citation backs up.
CITATIONS = {
    "who_can_ask": ("cfa", "s36"),
    "legal_test": ("cfa", "s36(8)"),
    "expected_progress": ("cop", "9.14"),
    "six_weeks": ("regs", "regs 4-5"),
}


def _label(labels: dict[str, str], value: str | None, missing: str = "Not recorded") -> str:
    return labels.get(value or "", missing)


def _fields(item: Any) -> dict[str, Any]:
    """The single values of a history record as text; its rows (tuples) are laid out separately."""
    values = ((field.name, getattr(item, field.name)) for field in dataclasses.fields(item))
    return {name: plain(value) for name, value in values if not isinstance(value, tuple)}


def _counts(counts: Counts) -> dict[str, int]:
    return {
        "achieved": counts.achieved,
        "progress": counts.progress,
        "not_achieved": counts.not_achieved,
        "not_recorded": counts.not_recorded,
        "total": counts.total,
    }


def _target(target: PlannedTarget) -> dict[str, Any]:
    return {
        **_fields(target),
        "provision": provision_parts(target),
        "result": _label(RESULT_LABELS, target.result),
        "next_step": NEXT_STEP_LABELS.get(target.next_step or "", target.next_step or ""),
    }


def _review(review: HeldReview, is_last: bool) -> dict[str, Any]:
    # The last review of a cycle is already in the cycle's targets table, so of its
    # reviewed targets only those whose provision it changed are shown again.
    reviewed = [row for row in review.reviewed if not is_last or provision_line(row)]
    return {
        **_fields(review),
        "is_last": is_last,
        "decision": _label(DECISION_LABELS, review.decision),
        "reviewed": [
            {
                **_fields(row),
                "result": _label(RESULT_LABELS, row.achieved),
                "next_step": _label(NEXT_STEP_LABELS, row.next_step, ""),
                "provision": provision_parts(row),
            }
            for row in reviewed
        ],
        # A new target is listed on one line, its provision in brackets after it.
        "new_targets": [
            {"text": plain(row.outcome) or plain(row.difficulty), "provision": provision_line(row)}
            for row in review.new_targets
        ],
        "notes": [{"at": plain(note.at), "text": plain(note.text)} for note in review.notes],
    }


def _cycle(cycle: Cycle, previous: Cycle | None) -> dict[str, Any]:
    last = cycle.last_review
    unchanged = previous if previous and all(getattr(cycle, n) == getattr(previous, n) for n in OWN_WORDS) else None
    return {
        **_fields(cycle),
        "level_of_need": LEVEL_LABELS.get(cycle.level_of_need or "", ""),
        "main_area_of_need": AREA_LABELS.get(cycle.main_area_of_need or "", ""),
        "reviewed_on": plain(last.held_on if last else None),
        "decision": _label(DECISION_LABELS, last.decision if last else None, "No review yet"),
        "counts": _counts(cycle.counts),
        "own_words_as_in": unchanged.number if unchanged else None,
        "targets": [_target(target) for target in cycle.targets],
        "reviews": [_review(review, is_last=review is last) for review in cycle.reviews],
    }


def evidence_values(
    history: History, council: knowledge.Council, help_lines: Sequence[str], today: dt.date | None = None
) -> dict[str, Any]:
    """Everything the evidence template shows, as plain text, numbers and flags."""
    pupil = history.pupil
    latest_plan = history.cycles[-1] if history.cycles else None
    latest = history.latest_review
    return {
        "title": TITLE,
        "made": dates.long_date(today or dates.today()),
        "council": {
            "name": council.name,
            "local_offer_name": council.local_offer["name"],
            "local_offer_url": council.contact("local_offer", "url"),
        },
        "cite": {key: knowledge.Source(doc, ref).cite() for key, (doc, ref) in CITATIONS.items()},
        "help_lines": list(help_lines),
        "pupil": {
            **_fields(pupil),
            "full_name": pupil.full_name,
            "year": pupil.year_group + (f" / {pupil.form}" if pupil.form else ""),
            "main_area_of_need": AREA_LABELS.get(latest_plan.main_area_of_need or "", "") if latest_plan else "",
            "first_plan_date": plain(history.first_plan_date),
        },
        "counts": _counts(history.counts),
        "latest": {
            "held_on": plain(latest.held_on),
            "decision": _label(DECISION_LABELS, latest.decision),
            "next_review_date": plain(latest.next_review_date),
        }
        if latest
        else None,
        "professionals": [{"name": person.name, "cycles": list(person.cycles)} for person in history.professionals],
        "cycles": [
            _cycle(cycle, history.cycles[index - 1] if index else None) for index, cycle in enumerate(history.cycles)
        ],
    }


def evidence_html(
    history: History, council: knowledge.Council, help_lines: Sequence[str], today: dt.date | None = None
) -> str:
    """The whole evidence summary as one HTML page."""
    return TEMPLATES.get_template("evidence.html.j2").render(evidence_values(history, council, help_lines, today))
