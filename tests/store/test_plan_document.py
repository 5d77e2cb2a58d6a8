"""The printable plan: HTML laid out like the template, and a PDF whose text reads back."""

from __future__ import annotations

import datetime as dt
import io

from pypdf import PdfReader
from sqlalchemy.orm import sessionmaker

from bot.core import dates
from bot.documents.plan import plan_html, plan_pdf
from bot.store import demo, records


def _amy(factory: sessionmaker) -> tuple[str, bytes]:
    with factory.begin() as session:
        school = demo.seed(session)
        plan = records.current_plan(session, school.parent_pupil_id)
        plan.strengths = "Loves <b>drawing</b> & animals <script>alert('x')</script>"
        html = plan_html(plan, demo.DEMO_SCHOOL, "Mr Tom Ellery", "Norfolk", ["Norfolk SENDIASS: 01603 704070"])
    return html, plan_pdf(html)


def test_typed_text_is_shown_as_text_never_markup(factory: sessionmaker) -> None:
    html, _ = _amy(factory)
    assert "<script>" not in html and "<b>drawing</b>" not in html
    assert "Loves &lt;b&gt;drawing&lt;/b&gt; &amp; animals &lt;script&gt;" in html


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
    from bot.store.accounts import Person
    from bot.store.models import AuditEvent, PlanStatus, SupportPlan

    with factory.begin() as session:
        school = demo.seed(session)
        plan = records.current_plan(session, school.parent_pupil_id)
        draft = SupportPlan(pupil_id=school.parent_pupil_id, version=2, status=PlanStatus.draft)
        session.add(draft)
        session.flush()
        staff = records.Viewer(Person("staff", school.senco_id, school.school_id), "rest")
        parent = records.Viewer(Person("parent", school.parent_id, pupil_ids=(school.parent_pupil_id,)), "rest")
        other = records.Viewer(Person("staff", school.other_senco_id, school.other_school_id), "rest")
        staff_token = document_links.issue_link(session, staff, plan.id)
        parent_token = document_links.issue_link(session, parent, plan.id)
        assert document_links.issue_link(session, staff, draft.id) is not None, "staff may print a draft"
        assert document_links.issue_link(session, parent, draft.id) is None, "parents see agreed plans only"
        assert document_links.issue_link(session, other, plan.id) is None
        assert document_links.issue_link(session, records.Viewer(None, "rest"), plan.id) is None
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
