"""A plan as a document a parent can read: HTML laid out like the SEN Support Plan template, and PDF.

Every value is escaped: what staff typed is shown as text, never as markup.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any, Optional

from bot.core import dates
from bot.store.models import AreaOfNeed, LevelOfNeed, SupportPlan

AREAS = (
    (AreaOfNeed.cognition_learning, "Cognition and Learning"),
    (AreaOfNeed.communication_interaction, "Communication and Interaction"),
    (AreaOfNeed.sensory_physical, "Sensory and/or Physical"),
    (AreaOfNeed.semh, "Social, Emotional and Mental Health"),
    (AreaOfNeed.medical, "Medical"),
)
PROGRESS = {"achieved": "Yes", "not_achieved": "No", "progress": "Progress"}

STYLE = """
@page { size: A4; margin: 14mm; }
body { font-family: sans-serif; font-size: 10.5pt; color: #111; }
h1 { font-size: 16pt; margin: 0 0 6pt; }
h2 { font-size: 13pt; margin: 14pt 0 6pt; page-break-before: always; }
table { border-collapse: collapse; width: 100%; margin-bottom: 8pt; }
th, td { border: 1px solid #444; padding: 4pt; vertical-align: top; text-align: left; }
th { background: #e8eef4; }
.box { border: 1px solid #444; padding: 6pt; margin-bottom: 8pt; min-height: 30pt; }
.label { font-weight: bold; }
.small { font-size: 9pt; color: #333; }
"""


def _text(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, dt.date):
        return escape(dates.long_date(value))
    return escape(str(getattr(value, "value", value))).replace("\n", "<br>")


def _tick(on: bool, label: str) -> str:
    return f"{'☑' if on else '☐'} {escape(label)}"


def plan_html(
    plan: SupportPlan, school: str, class_teacher: Optional[str], council_name: str, help_lines: list[str]
) -> str:
    """The plan as a whole HTML page."""
    pupil = plan.pupil
    name = f"{pupil.first_name} {pupil.last_name}"
    year = pupil.year_group + (f" / {pupil.form}" if pupil.form else "")
    areas = "<br>".join(_tick(plan.main_area_of_need == area, label) for area, label in AREAS)
    level = "<br>".join(
        (
            _tick(plan.level_of_need == LevelOfNeed.sen_support, "SEN Support / Graduated approach"),
            _tick(plan.level_of_need == LevelOfNeed.ehcp, "EHCP"),
        )
    )
    funding = "<br>".join(
        (
            _tick(plan.cluster_funding == "yes", "Yes")
            + (
                f" <span class='label'>Details:</span> {_text(plan.cluster_funding_details)}"
                if plan.cluster_funding_details
                else ""
            ),
            _tick(plan.cluster_funding == "no", "No"),
            _tick(plan.cluster_funding == "requested", "Date requested")
            + (f": {_text(plan.cluster_funding_requested_on)}" if plan.cluster_funding_requested_on else ""),
        )
    )
    attainment = "<br>".join(
        f"<span class='label'>{label}:</span> {_text(value)}"
        for label, value in (
            ("Previous attainment", plan.previous_attainment),
            ("Previous progress", plan.previous_progress),
            ("Current attainment", plan.current_attainment),
            ("Expected attainment", plan.expected_attainment),
            ("Current progress", plan.current_progress),
        )
    )
    targets = (
        "".join(
            "<tr>"
            f"<td>{target.position}. {_text(target.difficulty)}</td>"
            f"<td>{'<br>'.join(_text(p) for p in (target.provision_who, target.provision_what, target.provision_when, target.provision_how_often) if p)}</td>"
            f"<td>{_text(target.outcome)}</td>"
            f"<td>{escape(PROGRESS.get(getattr(target.progress, 'value', ''), ''))} {_text(target.progress_notes)}</td>"
            f"<td>{_text(target.next_steps)}</td>"
            "</tr>"
            for target in plan.targets
        )
        or "<tr><td colspan='5'>No targets recorded.</td></tr>"
    )
    status = "Agreed plan" if plan.status.value == "agreed" else "Draft, not yet agreed"
    help_html = "".join(f"<p class='small'>{escape(line)}</p>" for line in help_lines)
    return f"""<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><title>SEN Support Plan</title><style>{STYLE}</style></head>
<body>
<h1>Special Educational Needs (SEN) Support Plan</h1>
<p class="small">{escape(status)}, version {plan.version}.</p>
<table>
<tr><th>Child's name</th><td>{escape(name)}</td><th>School</th><td>{escape(school)}</td></tr>
<tr><th>Year group / form</th><td>{escape(year)}</td><th>Date of birth</th><td>{_text(pupil.date_of_birth)}</td></tr>
</table>
<p class="label">Things that people like and admire about me (my strengths) and things I like doing are...</p>
<div class="box">{_text(plan.strengths)}</div>
<p class="label">You will know when I'm finding things hard when...</p>
<div class="box">{_text(plan.finding_things_hard_when)}</div>
<p class="label">How I like to be supported...</p>
<div class="box">{_text(plan.how_i_like_support)}</div>
<table>
<tr><th>My role as a parent will be to:</th><th>My role as child/young person will be to:</th><th>My role as the class teacher will be to:</th><th>Plan agreed by SENCO</th></tr>
<tr><td>{_text(plan.parent_role)}</td><td>{_text(plan.child_role)}</td><td>{_text(plan.class_teacher_role)}</td>
<td>Date: {_text(plan.agreed_on)}<br>Name: {_text(plan.agreed_by_senco_name)}<br><br>Review date: {_text(plan.review_date)}</td></tr>
</table>
{help_html}
<h2>SEN Support Plan: Assess, Plan, Do, Review</h2>
<table>
<tr><th>Child's name</th><th>Date of birth</th><th>Class teacher</th><th>Professionals involved</th></tr>
<tr><td>{escape(name)}</td><td>{_text(pupil.date_of_birth)}</td><td>{_text(class_teacher)}</td><td>{_text(plan.professionals_involved)}</td></tr>
<tr><th>Level of need</th><th>Main area of special educational need</th><th>Cluster funding</th><th>Attainment</th></tr>
<tr><td>{level}</td><td>{areas}</td><td>{funding}</td><td>{attainment}</td></tr>
</table>
<table>
<tr><th>Current interventions, adjustments and support</th><th>How needs have been identified and assessed</th><th>New information from parents and carers</th></tr>
<tr><td>{_text(plan.interventions)}</td><td>{_text(plan.how_needs_identified)}</td><td>{_text(plan.parent_new_information)}</td></tr>
</table>
<table>
<tr><th>Things I find difficult</th><th>Provision and strategies (who, what, when, how often)</th><th>Short-term targets (SMART outcomes)</th><th>Achieved, or progress made</th><th>Next steps</th></tr>
{targets}
</table>
<p class="small">Parents were told of this plan on {_text(plan.parents_notified_on) or "(not yet recorded)"}. Made by the SEN Support Assistant for {escape(council_name)}.</p>
</body></html>"""


def plan_pdf(html: str) -> bytes:
    """The same page as PDF."""
    from weasyprint import HTML

    return HTML(string=html).write_pdf()
