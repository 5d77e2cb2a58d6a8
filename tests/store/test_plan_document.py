"""The printable plan: HTML laid out like the template, and a PDF whose text reads back."""

from __future__ import annotations

import copy
import datetime as dt
import functools
import io
import operator

import jinja2
import pytest
from pypdf import PdfReader
from sqlalchemy.orm import sessionmaker

from bot.core import dates
from bot.documents.pdf import pdf_from_html
from bot.documents.plan import TEMPLATES, plan_html, plan_values
from bot.store import access, demo, records


def _amy(factory: sessionmaker) -> tuple[str, bytes]:
    with factory.begin() as session:
        school = demo.seed(session)
        plan = records.current_plan(session, school.parent_pupil_id)
        plan.strengths = "Loves <b>drawing</b> & animals <script>alert('x')</script>"
        html = plan_html(plan, demo.DEMO_SCHOOL, "Mr Tom Ellery", "Norfolk", ["Norfolk SENDIASS: 01603 704070"])
    return html, pdf_from_html(html)


def test_typed_text_is_shown_as_text_never_markup(factory: sessionmaker) -> None:
    html, _ = _amy(factory)
    assert "<script>" not in html and "<b>drawing</b>" not in html
    assert "Loves &lt;b&gt;drawing&lt;/b&gt; &amp; animals &lt;script&gt;" in html


def test_a_name_and_fields_with_markup_are_escaped_everywhere(factory: sessionmaker) -> None:
    nasty = "<script>alert(1)</script> & Co"
    with factory.begin() as session:
        school = demo.seed(session)
        plan = records.current_plan(session, school.parent_pupil_id)
        plan.pupil.first_name = nasty
        plan.interventions = f"Phonics\n{nasty}"
        plan.targets[0].provision_who = nasty
        html = plan_html(plan, f"School {nasty}", nasty, nasty, [nasty])
    assert "<script>" not in html and "</script>" not in html and "& Co" not in html
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co"
    assert html.count(f"<td>{escaped} Carter</td>") == 2, "the name on both pages"
    assert f"<td>Phonics<br>{escaped}</td>" in html, "line breaks kept, the text escaped"
    assert f"<td>{escaped}<br>" in html, "the provision cell, one part to a line"
    assert f"<td>School {escaped}</td>" in html and f"<p class='small'>{escaped}</p>" in html
    assert f"Made by the SEN Support Assistant for {escaped}." in html
    assert "&amp;amp;" not in html and "&amp;lt;" not in html, "escaped once, not twice"


def test_a_value_missing_from_the_template_stops_the_rendering(factory: sessionmaker) -> None:
    template = TEMPLATES.get_template("plan.html.j2")
    with factory.begin() as session:
        school = demo.seed(session)
        plan = records.current_plan(session, school.parent_pupil_id)
        values = plan_values(plan, demo.DEMO_SCHOOL, "Mr Tom Ellery", "Norfolk", [])
    assert "Amy Carter" in template.render(values)
    for *within, name in (("school",), ("plan", "strengths"), ("targets", 0, "outcome")):
        broken = copy.deepcopy(values)
        del functools.reduce(operator.getitem, within, broken)[name]
        with pytest.raises(jinja2.UndefinedError, match=name):
            template.render(broken)
    with pytest.raises(jinja2.UndefinedError):
        template.render()


def test_the_pdf_reads_back_with_every_section(factory: sessionmaker) -> None:
    _, pdf = _amy(factory)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2
    # Table cells wrap, so compare without white space.
    text = "".join("".join(page.extract_text().split()) for page in reader.pages)
    for expected in (
        "Special Educational Needs (SEN) Support Plan",
        "Amy Carter",
        "Brambleway Primary School",
        "Year 3",
        "Loves <b>drawing</b> & animals",
        "I go quiet and rub my eyes",
        "Sitting near the front",
        "Read with Amy for ten",
        "Use my overlay",
        "Mrs Priya Ashdown",
        "Assess, Plan, Do, Review",
        "Cognition and Learning",
        "Small-group phonics",
        "Blending sounds",
        "40 of the 50 Phase 5 words",
        "Reads 28 of 50 words",
        "Norfolk SENDIASS: 01603 704070",
        "Mr Tom Ellery",
        dates.long_date(dates.today() + dt.timedelta(days=10)),
    ):
        assert "".join(expected.split()) in text, expected


def test_links_only_for_those_entitled_and_they_expire(factory: sessionmaker) -> None:
    import datetime as dt

    from sqlalchemy import select

    from bot.store import document_links
    from bot.store.access import Person
    from bot.store.models import AuditEvent, PlanStatus, SupportPlan

    with factory.begin() as session:
        school = demo.seed(session)
        plan = records.current_plan(session, school.parent_pupil_id)
        draft = SupportPlan(pupil_id=school.parent_pupil_id, version=2, status=PlanStatus.draft)
        session.add(draft)
        session.flush()
        staff = access.Viewer(Person("staff", school.senco_id, school.school_id), "rest")
        parent = access.Viewer(Person("parent", school.parent_id, pupil_ids=(school.parent_pupil_id,)), "rest")
        other = access.Viewer(Person("staff", school.other_senco_id, school.other_school_id), "rest")
        staff_token = document_links.issue_link(session, staff, plan.id)
        parent_token = document_links.issue_link(session, parent, plan.id)
        assert document_links.issue_link(session, staff, draft.id) is not None, "staff may print a draft"
        assert document_links.issue_link(session, parent, draft.id) is None, "parents see agreed plans only"
        assert document_links.issue_link(session, other, plan.id) is None
        assert document_links.issue_link(session, access.Viewer(None, "rest"), plan.id) is None
    assert staff_token and parent_token and staff_token != parent_token and len(staff_token) >= 40
    with factory.begin() as session:
        assert document_links.open_link(session, parent_token).id == plan.id
        assert document_links.open_link(session, parent_token[:-1] + "x") is None
        later = dt.datetime.utcnow() + document_links.LINK_LIFETIME + dt.timedelta(minutes=1)
        assert document_links.open_link(session, staff_token, now=later) is None
    with factory() as session:
        events = session.execute(
            select(AuditEvent.action, AuditEvent.allowed)
            .where(AuditEvent.action.like("%plan_document"))
            .order_by(AuditEvent.id)
        ).all()
    assert [tuple(e) for e in events] == [
        ("link_plan_document", True),
        ("link_plan_document", True),
        ("link_plan_document", True),
        ("link_plan_document", False),
        ("link_plan_document", False),
        ("link_plan_document", False),
        ("open_plan_document", True),
        ("open_plan_document", False),
        ("open_plan_document", False),
    ]
