"""A plan as a document a parent can read: HTML laid out like the SEN Support Plan template, and PDF.

The layout lives in Jinja2 templates (``templates/``); this module only turns
the stored plan into plain text values for them. The templates escape every
value they print, so what staff typed is shown as text, never as markup, and
a value the template expects but is not given stops the rendering instead of
leaving a blank on a document a parent will read.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import jinja2

from bot.core import dates, wording
from bot.core.vocabulary import AreaOfNeed
from bot.store.models import SupportPlan

AREAS = (
    (AreaOfNeed.cognition_learning, "Cognition and Learning"),
    (AreaOfNeed.communication_interaction, "Communication and Interaction"),
    (AreaOfNeed.sensory_physical, "Sensory and/or Physical"),
    (AreaOfNeed.semh, "Social, Emotional and Mental Health"),
    (AreaOfNeed.medical, "Medical"),
)
PROGRESS = {"achieved": "Yes", "not_achieved": "No", "progress": "Progress"}

# One environment for both documents, found next to this file so that the
# templates load whatever the working directory is.
TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

# The fields of the plan the template prints as they were typed.
PLAN_FIELDS = (
    "strengths",
    "finding_things_hard_when",
    "how_i_like_support",
    "parent_role",
    "child_role",
    "class_teacher_role",
    "agreed_on",
    "agreed_by_senco_name",
    "review_date",
    "professionals_involved",
    "cluster_funding_details",
    "cluster_funding_requested_on",
    "previous_attainment",
    "previous_progress",
    "current_attainment",
    "expected_attainment",
    "current_progress",
    "interventions",
    "how_needs_identified",
    "parent_new_information",
    "parents_notified_on",
)


def plain(value: Any) -> str:
    """A stored value as the text a reader sees: empty when not recorded, dates the English way, choices by value."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return dates.long_date(value)
    return str(getattr(value, "value", value))


def plan_values(
    plan: SupportPlan, school: str, class_teacher: str | None, council_name: str, help_lines: list[str]
) -> dict[str, Any]:
    """Everything the plan template shows, as plain text, numbers and flags."""
    pupil = plan.pupil
    return {
        "status": "Agreed plan" if plan.status.value == "agreed" else "Draft, not yet agreed",
        "version": plan.version,
        "name": f"{pupil.first_name} {pupil.last_name}",
        "year": pupil.year_group + (f" / {pupil.form}" if pupil.form else ""),
        "date_of_birth": plain(pupil.date_of_birth),
        "school": school,
        "class_teacher": plain(class_teacher),
        "council_name": council_name,
        "help_lines": list(help_lines),
        "level": plain(plan.level_of_need),
        "areas": [(plan.main_area_of_need == area, label) for area, label in AREAS],
        "funding": plain(plan.cluster_funding),
        "plan": {name: plain(getattr(plan, name)) for name in PLAN_FIELDS},
        "targets": [
            {
                "position": target.position,
                "difficulty": plain(target.difficulty),
                "provision": wording.provision_parts(target),
                "outcome": plain(target.outcome),
                "progress": PROGRESS.get(plain(target.progress), ""),
                "progress_notes": plain(target.progress_notes),
                "next_steps": plain(target.next_steps),
            }
            for target in plan.targets
        ],
    }


def plan_html(
    plan: SupportPlan, school: str, class_teacher: str | None, council_name: str, help_lines: list[str]
) -> str:
    """The plan as a whole HTML page."""
    return TEMPLATES.get_template("plan.html.j2").render(
        plan_values(plan, school, class_teacher, council_name, help_lines)
    )
