"""The evidence summary for an EHC needs assessment request: one pupil's whole graduated approach, as HTML and PDF.

Written for a reader at the council's SEN team: the pupil, a summary of
every cycle (dates, targets achieved, partly achieved and not achieved,
professionals, the latest decision), then each cycle in order with its
needs, provision, targets and outcomes, reviews, and the views of the
parents and the pupil, and last what the request involves in plain English.
Every value is escaped: what staff and parents typed is shown as text, never
as markup.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any, Iterable, Optional, Sequence

import knowledge
from bot.core import dates
from bot.documents.plan import AREAS, plan_pdf
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

STYLE = """
@page {
  size: A4; margin: 16mm 14mm 18mm;
  @bottom-left { content: "Evidence summary: " string(pupil); font: 8pt "DejaVu Sans", Arial, sans-serif; color: #555; }
  @bottom-right { content: "Page " counter(page) " of " counter(pages); font: 8pt "DejaVu Sans", Arial, sans-serif; color: #555; }
}
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10pt; line-height: 1.35; color: #111; }
h1 { font-size: 17pt; margin: 0 0 4pt; color: #1f3a5f; }
h2 { font-size: 13.5pt; margin: 16pt 0 6pt; padding-bottom: 2pt; border-bottom: 2px solid #1f3a5f; color: #1f3a5f;
     break-after: avoid; }
h3 { font-size: 11pt; margin: 10pt 0 4pt; break-after: avoid; }
h2.new-page { break-before: page; }
.pupil-name { string-set: pupil content(); }
table { border-collapse: collapse; width: 100%; margin: 0 0 8pt; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
th, td { border: 1px solid #777; padding: 3pt 4pt; vertical-align: top; text-align: left; overflow-wrap: break-word; }
th { background: #e6ecf3; font-weight: bold; }
th.side { width: 28%; }
td.number { text-align: center; }
table.fixed { table-layout: fixed; }
table.counts th { font-size: 8.5pt; }
tr.total td { font-weight: bold; background: #f3f3f3; }
.decision { border: 2px solid #1f3a5f; background: #eef3f9; padding: 6pt 8pt; margin: 8pt 0; break-inside: avoid; }
.review { border-left: 3px solid #1f3a5f; padding-left: 8pt; margin: 10pt 0; }
.quote { font-style: italic; }
.small { font-size: 8.5pt; color: #333; }
ul { margin: 2pt 0 6pt 14pt; padding: 0; }
p { margin: 3pt 0 6pt; }
"""


def _text(value: Any) -> str:
    """A value as safe HTML text; dates the English way, line breaks kept."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return escape(dates.long_date(value))
    return escape(str(value)).replace("\n", "<br>")


def _or_none(value: Any, missing: str = "Not recorded") -> str:
    return _text(value) or f"<span class='small'>{escape(missing)}</span>"


def _rows(pairs: Iterable[tuple[str, Any]]) -> str:
    return "".join(
        f"<tr><th class='side'>{escape(label)}</th><td>{_or_none(value)}</td></tr>" for label, value in pairs
    )


def _provision(item: Any) -> str:
    parts = (item.provision_who, item.provision_what, item.provision_when, item.provision_how_often)
    return "<br>".join(_text(part) for part in parts if part)


def _label(labels: dict[str, str], value: Optional[str], missing: str = "Not recorded") -> str:
    return escape(labels.get(value or "", missing))


def _cite(doc: str, ref: str) -> str:
    return escape(knowledge.Source(doc, ref).cite())


def _pupil_table(history: History) -> str:
    pupil = history.pupil
    latest = history.cycles[-1] if history.cycles else None
    year = pupil.year_group + (f" / {pupil.form}" if pupil.form else "")
    return f"""<table>
<tr><th class="side">Name</th><td><span class="pupil-name">{escape(pupil.full_name)}</span></td></tr>
{
        _rows(
            (
                ("Date of birth", pupil.date_of_birth),
                ("Year group / form", year),
                ("School", pupil.school),
                (
                    "Main area of need (latest plan)",
                    AREA_LABELS.get(latest.main_area_of_need or "") if latest else None,
                ),
                ("On SEN support since (first plan agreed)", history.first_plan_date),
            )
        )
    }
</table>"""


def _count_cells(counts: Counts) -> str:
    return "".join(
        f"<td class='number'>{number}</td>"
        for number in (counts.achieved, counts.progress, counts.not_achieved, counts.total)
    )


def _summary_table(history: History) -> str:
    rows = []
    for cycle in history.cycles:
        review = cycle.last_review
        rows.append(
            "<tr>"
            f"<td>Cycle {cycle.number}<br><span class='small'>plan version {cycle.version}</span></td>"
            f"<td>{_or_none(cycle.agreed_on)}</td>"
            f"<td>{_or_none(review.held_on if review else None, 'Not yet reviewed')}</td>"
            f"{_count_cells(cycle.counts)}"
            f"<td>{_label(DECISION_LABELS, review.decision if review else None, 'No review yet')}</td>"
            "</tr>"
        )
    total = f"<tr class='total'><td colspan='3'>All cycles</td>{_count_cells(history.counts)}<td></td></tr>"
    return (
        "<table class='fixed counts'><colgroup><col style='width:11%'><col style='width:16%'><col style='width:16%'>"
        "<col style='width:11%'><col style='width:9%'><col style='width:11%'><col style='width:9%'><col></colgroup>"
        "<thead><tr><th>Cycle</th><th>Plan agreed</th><th>Reviewed</th><th>Achieved</th><th>Partly</th>"
        "<th>Not achieved</th><th>Targets</th><th>Decision at the review</th></tr></thead>"
        f"<tbody>{''.join(rows)}{total}</tbody></table>"
    )


def _professionals(history: History) -> str:
    people = history.professionals
    if not people:
        return "<p>No professionals from outside the school are recorded in the plans.</p>"
    items = "".join(
        f"<li>{escape(person.name)}: cycle{'s' if len(person.cycles) > 1 else ''} "
        f"{escape(', '.join(str(number) for number in person.cycles))}</li>"
        for person in people
    )
    return f"<ul>{items}</ul>"


def _summary(history: History) -> str:
    pupil = history.pupil
    count = len(history.cycles)
    counts = history.counts
    since = f" since {_text(history.first_plan_date)}" if history.first_plan_date else ""
    unrecorded = (
        f"; {counts.not_recorded} {'has' if counts.not_recorded == 1 else 'have'} no result recorded"
        if counts.not_recorded
        else ""
    )
    opening = (
        f"<p>{escape(pupil.first_name)} has had {count} cycle{'s' if count != 1 else ''} of SEN support "
        f"(assess, plan, do, review){since}. Of the {counts.total} targets set, {counts.achieved} "
        f"{'was' if counts.achieved == 1 else 'were'} achieved, {counts.progress} partly achieved and "
        f"{counts.not_achieved} not achieved{unrecorded}.</p>"
    )
    latest = history.latest_review
    decision = (
        f"<div class='decision'><b>Latest review, {_text(latest.held_on)}:</b> "
        f"{_label(DECISION_LABELS, latest.decision)}."
        + (f" Next review: {_text(latest.next_review_date)}." if latest.next_review_date else "")
        + "</div>"
        if latest
        else "<div class='decision'>No review has been held yet.</div>"
    )
    return (
        f"<h2>Summary</h2>{opening}{decision}{_summary_table(history)}"
        f"<h3>Professionals involved</h3>{_professionals(history)}"
    )


def _targets_table(targets: Sequence[PlannedTarget]) -> str:
    if not targets:
        return "<p>No targets recorded.</p>"
    rows = "".join(
        "<tr>"
        f"<td>{target.position}. {_text(target.difficulty)}</td>"
        f"<td>{_provision(target)}</td>"
        f"<td>{_text(target.outcome)}</td>"
        f"<td><b>{_label(RESULT_LABELS, target.result)}</b></td>"
        f"<td>{_text(target.evidence)}</td>"
        f"<td>{escape(NEXT_STEP_LABELS.get(target.next_step or '', target.next_step or ''))}</td>"
        "</tr>"
        for target in targets
    )
    return (
        "<table class='fixed'><colgroup><col style='width:16%'><col style='width:20%'><col style='width:21%'>"
        "<col style='width:12%'><col style='width:20%'><col style='width:11%'></colgroup>"
        "<thead><tr><th>Difficulty</th><th>Provision (who, what, when, how often)</th>"
        "<th>Target (outcome)</th><th>Result at the review</th><th>Evidence</th><th>Next step</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _reviewed_table(review: HeldReview, in_targets_above: bool) -> str:
    """How the review judged each target; the last review of a cycle is already in the targets table,
    so only the provision it changed is shown again."""
    rows = [row for row in review.reviewed if not in_targets_above or _provision(row)]
    if not rows:
        return ""
    cells = "".join(
        "<tr>"
        f"<td>{row.position}. {_text(row.outcome)}</td>"
        f"<td><b>{_label(RESULT_LABELS, row.achieved)}</b></td>"
        f"<td>{_text(row.evidence)}</td>"
        f"<td>{_label(NEXT_STEP_LABELS, row.next_step, '')}"
        + (f"<br>{_provision(row)}" if _provision(row) else "")
        + "</td></tr>"
        for row in rows
    )
    heading = "Provision changed at the review" if in_targets_above else "Targets reviewed"
    return (
        f"<p><b>{heading}</b></p><table class='fixed'><colgroup><col style='width:32%'><col style='width:13%'>"
        "<col style='width:30%'><col></colgroup>"
        "<thead><tr><th>Target</th><th>Achieved?</th><th>Evidence</th><th>Next step</th></tr></thead>"
        f"<tbody>{cells}</tbody></table>"
    )


def _review(review: HeldReview, in_targets_above: bool) -> str:
    new = "".join(
        f"<li>{_text(row.outcome) or _text(row.difficulty)}"
        + (f" <span class='small'>({_provision(row)})</span>" if _provision(row) else "")
        + "</li>"
        for row in review.new_targets
    )
    notes = "".join(f"<li>{_text(note.at)}: {_text(note.text)}</li>" for note in review.notes)
    return f"""<div class="review">
<h3>Review held on {_text(review.held_on)}</h3>
<table>{
        _rows(
            (
                ("Who attended", review.attendees),
                ("Parents' views", review.parent_views),
                ("The pupil's views", review.pupil_views),
                ("New information", review.new_information),
                ("Outcome", review.outcomes),
            )
        )
    }
<tr><th class="side">Decision</th><td><b>{_label(DECISION_LABELS, review.decision)}</b></td></tr>
<tr><th class="side">Next review</th><td>{_or_none(review.next_review_date)}</td></tr>
</table>
{_reviewed_table(review, in_targets_above)}
{f"<p><b>New targets set at the review</b></p><ul>{new}</ul>" if new else ""}
{f"<p><b>Notes taken during the meeting</b></p><ul>{notes}</ul>" if notes else ""}
</div>"""


OWN_WORDS = (
    ("My strengths and what I like doing", "strengths"),
    ("You will know I'm finding things hard when", "finding_things_hard_when"),
    ("How I like to be supported", "how_i_like_support"),
)


def _own_words(cycle: Cycle, previous: Optional[Cycle], first_name: str) -> str:
    heading = f"<h3>In {escape(first_name)}'s own words</h3>"
    if previous and all(getattr(cycle, name) == getattr(previous, name) for _, name in OWN_WORDS):
        return f"{heading}<p>As in cycle {previous.number}.</p>"
    return f"{heading}<table>{_rows((label, getattr(cycle, name)) for label, name in OWN_WORDS)}</table>"


def _cycle(cycle: Cycle, previous: Optional[Cycle], first_name: str) -> str:
    reviewed = cycle.last_review.held_on if cycle.last_review else None
    reviews = (
        "".join(_review(review, in_targets_above=review is cycle.last_review) for review in cycle.reviews)
        or "<p>No review has been held for this plan yet.</p>"
    )
    agreed = f"agreed on {_text(cycle.agreed_on)}" if cycle.agreed_on else "agreement date not recorded"
    return f"""<h2 class="new-page">Cycle {cycle.number}: plan version {cycle.version}, {agreed}</h2>
<table>{
        _rows(
            (
                ("Plan agreed on", cycle.agreed_on),
                ("Agreed by", cycle.agreed_by),
                ("Parents told on", cycle.parents_notified_on),
                ("Review planned for", cycle.review_date),
                ("Reviewed on", reviewed),
            )
        )
    }</table>
<h3>Needs</h3>
<table>{
        _rows(
            (
                ("Level of need", LEVEL_LABELS.get(cycle.level_of_need or "")),
                ("Main area of need", AREA_LABELS.get(cycle.main_area_of_need or "")),
                ("How needs were identified and assessed", cycle.how_needs_identified),
                ("Professionals involved", cycle.professionals_involved),
                ("Previous attainment", cycle.previous_attainment),
                ("Previous progress", cycle.previous_progress),
                ("Current attainment", cycle.current_attainment),
                ("Expected attainment", cycle.expected_attainment),
                ("Current progress", cycle.current_progress),
                ("New information from parents and carers", cycle.parent_new_information),
            )
        )
    }</table>
<h3>Provision</h3>
<table>{_rows((("Interventions, adjustments and support", cycle.interventions),))}</table>
<h3>Targets and outcomes</h3>
{_targets_table(cycle.targets)}
{_own_words(cycle, previous, first_name)}
<h3>Review</h3>
{reviews}"""


def _about_request(council: knowledge.Council, help_lines: Sequence[str]) -> str:
    offer = council.local_offer
    help_html = "".join(f"<p>{escape(line)}</p>" for line in help_lines)
    return f"""<h2 class="new-page">About the request</h2>
<h3>Who can ask</h3>
<p>A parent can ask the council for an EHC needs assessment and does not need the school's agreement. The school
can also ask, normally with the parents' knowledge and agreement, and a young person aged 16 to 25 can ask for
themselves ({_cite("cfa", "s36")}).</p>
<h3>The legal test</h3>
<p>The council must carry out an assessment if the child has or may have special educational needs and it may be
necessary for special educational provision to be made through an EHC plan ({_cite("cfa", "s36(8)")}). It should
consider whether the child has not made expected progress despite relevant, purposeful action by the school
({_cite("cop", "9.14")}). This summary sets out that action and the progress made, cycle by cycle. No set number of
cycles, hours or spending is needed before asking.</p>
<h3>Where to send it</h3>
<p>Write to the SEN team of {escape(council.name)} (email is fine). Say you are asking for an EHC needs assessment
under section 36 of the Children and Families Act 2014, attach this summary and any reports, and keep a dated copy.
How to reach the SEN team is on the {escape(offer["name"])}: {escape(offer["url"])}.</p>
<p>The council must tell you within 6 weeks of receiving the request whether it will carry out an assessment
({_cite("regs", "regs 4-5")}).</p>
<h3>Help with the request</h3>
{help_html}"""


def evidence_html(
    history: History, council: knowledge.Council, help_lines: Sequence[str], today: Optional[dt.date] = None
) -> str:
    """The whole evidence summary as one HTML page."""
    made = dates.long_date(today or dates.today())
    cycles = "".join(
        _cycle(cycle, history.cycles[index - 1] if index else None, history.pupil.first_name)
        for index, cycle in enumerate(history.cycles)
    ) or ("<h2>Cycles</h2><p>No plan has been agreed yet, so there is no cycle to show.</p>")
    return f"""<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><title>{escape(TITLE)}</title><style>{STYLE}</style></head>
<body>
<h1>{escape(TITLE)}</h1>
<p class="small">Made on {escape(made)} by the SEN Support Assistant for {escape(council.name)}, from the records
of {escape(history.pupil.school)}. It holds personal information about a child: share it only with the council
and those helping with the request.</p>
<h2>Pupil</h2>
{_pupil_table(history)}
{_summary(history)}
{cycles}
{_about_request(council, help_lines)}
</body></html>"""


def evidence_pdf(html: str) -> bytes:
    """The same summary as PDF."""
    return plan_pdf(html)
