"""The evidence summary for an EHC needs assessment request: the history, who may read it, the document and its links.

The history runs on SQLite and on the machine's PostgreSQL; the demo pupil
Oscar Bellamy has three cycles of little progress.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
from typing import Any

import jinja2
import pytest
from aiohttp.test_utils import TestClient, TestServer
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

import knowledge
from bot.core import dates
from bot.documents.evidence import TITLE, evidence_html, evidence_values
from bot.documents.pdf import pdf_from_html
from bot.documents.plan import TEMPLATES
from bot.ops import admin
from bot.store import access, demo, document_links, evidence, records
from bot.store.access import Person
from bot.store.db import sessions
from bot.store.models import (
    AuditEvent,
    Parent,
    ParentPupil,
    PlanStatus,
    Pupil,
    Review,
    ReviewDecision,
    ReviewNote,
    ReviewStatus,
    ReviewTarget,
    SupportPlan,
    Target,
    TargetProgress,
)
from bot.web import server as web_server

TODAY = dates.today()
NORFOLK = knowledge.council("norfolk")
HELP = [knowledge.local_help(NORFOLK), knowledge.sendiass_contact(NORFOLK)]


def _day(offset: int) -> dt.date:
    return TODAY + dt.timedelta(days=offset)


def _oscar_id(session: Any) -> int:
    first, last = demo.EVIDENCE_PUPIL
    return session.execute(select(Pupil.id).where(Pupil.first_name == first, Pupil.last_name == last)).scalar_one()


def _staff(school: demo.DemoSchool) -> access.Viewer:
    return access.Viewer(Person("staff", school.senco_id, school.school_id), "rest")


def _oscars_parent(session: Any) -> access.Viewer:
    parent = session.execute(select(Parent).where(Parent.name == demo.EVIDENCE_PARENT)).scalar_one()
    pupils = session.execute(select(ParentPupil.pupil_id).where(ParentPupil.parent_id == parent.id)).scalars().all()
    return access.Viewer(Person("parent", parent.id, pupil_ids=tuple(pupils)), "telegram")


def _events(factory: sessionmaker, action: str) -> list[AuditEvent]:
    with factory() as session:
        return (
            session.execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
            .scalars()
            .all()
        )


@pytest.fixture
def oscar(factory: sessionmaker) -> tuple[demo.DemoSchool, int]:
    with factory.begin() as session:
        school = demo.seed(session, today=TODAY)
        return school, _oscar_id(session)


def _history(factory: sessionmaker, school: demo.DemoSchool, pupil_id: int) -> evidence.History:
    with factory.begin() as session:
        token = document_links.issue_evidence_link(session, _staff(school), pupil_id)
        assert token is not None
        history = document_links.open_link(session, token)
    assert isinstance(history, evidence.History)
    return history


# The history ---------------------------------------------------------------


def test_three_cycles_of_little_progress(factory: sessionmaker, oscar: tuple[demo.DemoSchool, int]) -> None:
    school, pupil_id = oscar
    history = _history(factory, school, pupil_id)
    assert history.pupil.full_name == "Oscar Bellamy" and history.pupil.school == demo.DEMO_SCHOOL
    assert [(c.number, c.version, c.status) for c in history.cycles] == [
        (1, 1, "superseded"),
        (2, 2, "superseded"),
        (3, 3, "agreed"),
    ]
    assert [c.agreed_on for c in history.cycles] == [_day(-290), _day(-190), _day(-95)]
    assert [[r.held_on for r in c.reviews] for c in history.cycles] == [[_day(-190)], [_day(-95)], [_day(-12)]]
    assert [(c.counts.achieved, c.counts.progress, c.counts.not_achieved) for c in history.cycles] == [
        (0, 1, 2),
        (0, 1, 2),
        (1, 1, 1),
    ]
    assert history.counts == evidence.Counts(achieved=1, progress=3, not_achieved=5, not_recorded=0)
    assert [r.decision for c in history.cycles for r in c.reviews] == [
        "carry_on",
        "carry_on",
        "consider_ehc_assessment",
    ]
    assert history.latest_decision == "consider_ehc_assessment" and history.consider_ehc_assessment
    assert history.first_plan_date == _day(-290)
    assert [(p.name, p.cycles) for p in history.professionals] == [
        ("School nurse (hearing and vision checked, no concerns)", (1, 2)),
        ("Specialist teacher (Learning Support Service)", (2, 3)),
        ("Educational psychologist (assessment and report)", (3,)),
    ]
    first = history.cycles[0]
    assert first.targets[0].outcome == "By the review Oscar will read 30 of the 40 Phase 3 sounds."
    assert first.targets[0].provision_how_often == "Four times a week, 15 minutes"
    assert (first.targets[0].result, first.targets[0].evidence, first.targets[0].next_step) == (
        "not_achieved",
        "Reads 14 of 40 sounds (11 at the start).",
        "different_provision",
    )
    review = history.cycles[2].last_review
    assert review.next_review_date == _day(70) and "educational psychologist" in review.attendees
    assert review.pupil_views.startswith('"I like my tick list') and len(review.notes) == 2
    (opened,) = _events(factory, "open_evidence_document")
    assert opened.allowed and opened.pupil_id == pupil_id and opened.actor_id == school.senco_id


def test_the_demo_pupil_leaves_the_review_lists_as_they_were(
    factory: sessionmaker, oscar: tuple[demo.DemoSchool, int]
) -> None:
    school, pupil_id = oscar
    with factory.begin() as session:
        agenda = records.agenda(session, _staff(school), 61, today=TODAY)
        record = records.read_record(session, _staff(school), pupil_id, "read_next_review", today=TODAY)
    listed = {p.id for p, _ in agenda.due + agenda.overdue} | {p.id for p in agenda.none_booked}
    assert pupil_id not in listed and pupil_id not in {p.id for p, _, _ in agenda.long_gap}
    assert record.timing.next_booked == _day(70) and not record.timing.long_gap and not record.timing.overdue


def test_a_draft_is_not_a_cycle_and_reviews_not_held_are_left_out(
    factory: sessionmaker, oscar: tuple[demo.DemoSchool, int]
) -> None:
    school, pupil_id = oscar
    with factory.begin() as session:
        session.add(SupportPlan(pupil_id=pupil_id, version=4, status=PlanStatus.draft, interventions="Being written"))
        session.add(
            Review(
                pupil_id=pupil_id,
                scheduled_for=_day(-1),
                status=ReviewStatus.in_progress,
                held_on=_day(-1),
                decision=ReviewDecision.carry_on,
            )
        )
    history = _history(factory, school, pupil_id)
    assert [c.version for c in history.cycles] == [1, 2, 3]
    assert [len(c.reviews) for c in history.cycles] == [1, 1, 1]
    assert history.consider_ehc_assessment, "a review still being captured is not the latest decision"


def test_reviews_without_a_plan_are_placed_by_date(factory: sessionmaker, oscar: tuple[demo.DemoSchool, int]) -> None:
    school, _ = oscar
    with factory.begin() as session:
        pupil = Pupil(
            school_id=school.school_id,
            first_name="Ivo",
            last_name="Quennell",
            date_of_birth=dt.date(2016, 9, 1),
            year_group="Year 5",
        )
        session.add(pupil)
        session.flush()
        one = SupportPlan(pupil_id=pupil.id, version=1, status=PlanStatus.superseded, agreed_on=_day(-200))
        one.targets = [
            Target(position=1, outcome="Read 20 words.", progress=TargetProgress.progress),
            Target(position=2, outcome="Count to 50."),
        ]
        two = SupportPlan(pupil_id=pupil.id, version=2, status=PlanStatus.agreed, agreed_on=_day(-100))
        two.targets = [Target(position=1, outcome="Read 30 words.")]
        session.add_all([one, two])
        session.flush()
        # Held on the day plan 2 was agreed: it reviewed plan 1.
        first = Review(
            pupil_id=pupil.id,
            scheduled_for=_day(-100),
            held_on=_day(-100),
            status=ReviewStatus.held,
            decision=ReviewDecision.carry_on,
        )
        first.targets = [
            ReviewTarget(kind="reviewed", position=2, achieved=TargetProgress.not_achieved, evidence="Counts to 31.")
        ]
        # Held before it was recorded as held (older data): still a held review.
        second = Review(
            pupil_id=pupil.id, scheduled_for=_day(-5), held_on=_day(-5), decision=ReviewDecision.no_longer_needed
        )
        second.targets = [
            ReviewTarget(
                kind="reviewed",
                position=1,
                target_id=two.targets[0].id,
                achieved=TargetProgress.achieved,
                evidence="Reads 32 words.",
            ),
            ReviewTarget(kind="new", position=1, outcome="Write 3 sentences."),
        ]
        booked = Review(pupil_id=pupil.id, scheduled_for=_day(20))
        session.add_all([first, second, booked])
        pupil_id = pupil.id
    history = _history(factory, school, pupil_id)
    one, two = history.cycles
    assert [r.held_on for r in one.reviews] == [_day(-100)] and [r.held_on for r in two.reviews] == [_day(-5)]
    assert [(t.outcome, t.result, t.evidence) for t in one.targets] == [
        ("Read 20 words.", "progress", None),
        ("Count to 50.", "not_achieved", "Counts to 31."),
    ]
    assert [(t.result, t.evidence) for t in two.targets] == [("achieved", "Reads 32 words.")]
    assert [t.outcome for t in two.reviews[0].new_targets] == ["Write 3 sentences."]
    assert history.latest_decision == "no_longer_needed" and not history.consider_ehc_assessment
    assert history.professionals == ()


# Who may read it -----------------------------------------------------------


def _viewer(session: Any, school: demo.DemoSchool, who: str) -> access.Viewer:
    if who == "school staff":
        return _staff(school)
    if who == "linked parent":
        return _oscars_parent(session)
    if who == "other school's staff":
        return access.Viewer(Person("staff", school.other_senco_id, school.other_school_id), "rest")
    if who == "another child's parent":
        return access.Viewer(Person("parent", school.parent_id, pupil_ids=(school.parent_pupil_id,)), "rest")
    return access.Viewer(None, "rest")


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("school staff", True),
        ("linked parent", True),
        ("other school's staff", False),
        ("another child's parent", False),
        ("unlinked", False),
    ],
)
def test_only_the_school_and_the_linked_parents_may_read_it(
    factory: sessionmaker, oscar: tuple[demo.DemoSchool, int], who: str, allowed: bool
) -> None:
    school, pupil_id = oscar
    with factory.begin() as session:
        viewer = _viewer(session, school, who)
        token = document_links.issue_evidence_link(session, viewer, pupil_id)
        history = document_links.open_link(session, token) if token else None
    assert (history is not None) == allowed and (token is not None) == allowed
    if allowed:
        assert isinstance(history, evidence.History) and len(history.cycles) == 3
        (opened,) = _events(factory, "open_evidence_document")
        assert opened.allowed and opened.pupil_id == pupil_id
    (link,) = _events(factory, "link_evidence_document")
    for event in (link,):
        assert event.allowed == allowed and event.actor_kind == ("unlinked" if who == "unlinked" else who.split()[-1])
        assert event.pupil_id == (pupil_id if allowed else None)


# The document --------------------------------------------------------------


@pytest.fixture
def summary(factory: sessionmaker, oscar: tuple[demo.DemoSchool, int]) -> tuple[evidence.History, str]:
    school, pupil_id = oscar
    with factory.begin() as session:
        review = session.execute(
            select(Review).where(Review.pupil_id == pupil_id, Review.held_on == _day(-12))
        ).scalar_one()
        review.notes.append(
            ReviewNote(
                staff_id=school.senco_id, channel="rest", text="Dad said <script>alert('x')</script> & <b>thanks</b>"
            )
        )
    history = _history(factory, school, pupil_id)
    return history, evidence_html(history, NORFOLK, HELP)


def test_the_html_shows_every_cycle_and_escapes_what_was_typed(summary: tuple[evidence.History, str]) -> None:
    history, html = summary
    assert "<script>" not in html and "<b>thanks</b>" not in html
    assert "Dad said &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;thanks&lt;/b&gt;" in html
    assert TITLE in html and "Oscar Bellamy" in html and dates.long_date(dt.date(2017, 2, 19)) in html
    for cycle in history.cycles:
        assert (
            f"Cycle {cycle.number}: plan version {cycle.version}, agreed on {dates.long_date(cycle.agreed_on)}" in html
        )
        assert f"Review held on {dates.long_date(cycle.reviews[0].held_on)}" in html
    row = re.search(r"<tr class='total'>(.*?)</tr>", html).group(1)
    assert re.findall(r">(\d+)<", row) == ["1", "3", "5", "9"]
    assert f"Latest review, {dates.long_date(_day(-12))}:</b> Consider an EHC needs assessment." in html
    for contact in ("Norfolk SEND Local Offer", "https://www.norfolk.gov.uk/send", "Norfolk SENDIASS", "01603 704070"):
        assert contact in html
    assert "Children and Families Act 2014, s36(8)" in html and "SEND Code of Practice (2015), para 9.14" in html
    assert "Educational psychologist (assessment and report): cycle 3" in html


def test_a_name_with_markup_is_escaped_wherever_it_is_shown(summary: tuple[evidence.History, str]) -> None:
    history, _ = summary
    pupil = dataclasses.replace(history.pupil, first_name="<script>alert(1)</script> & Co")
    html = evidence_html(dataclasses.replace(history, pupil=pupil), NORFOLK, ["Ask <b>us</b> & others"])
    assert "<script>" not in html and "</script>" not in html and "<b>us</b>" not in html and "& Co" not in html
    name = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co"
    assert f'<span class="pupil-name">{name} Bellamy</span>' in html
    assert f"<p>{name} has had 3 cycles" in html and f"<h3>In {name}'s own words</h3>" in html
    assert "<p>Ask &lt;b&gt;us&lt;/b&gt; &amp; others</p>" in html
    assert "&amp;amp;" not in html and "&amp;lt;" not in html, "escaped once, not twice"


def test_a_value_missing_from_the_template_stops_the_rendering(summary: tuple[evidence.History, str]) -> None:
    history, _ = summary
    template = TEMPLATES.get_template("evidence.html.j2")
    values = evidence_values(history, NORFOLK, HELP)
    assert "Oscar Bellamy" in template.render(values)
    del values["pupil"]["school"]
    with pytest.raises(jinja2.UndefinedError, match="school"):
        template.render(values)
    values = evidence_values(history, NORFOLK, HELP)
    del values["cycles"][2]["reviews"][0]["decision"]
    with pytest.raises(jinja2.UndefinedError, match="decision"):
        template.render(values)


def test_the_pdf_reads_back_with_each_cycle(summary: tuple[evidence.History, str]) -> None:
    history, html = summary
    reader = PdfReader(io.BytesIO(pdf_from_html(html)))
    assert len(reader.pages) >= 5, "the summary, each cycle from a new page, and the request"
    text = "".join("".join(page.extract_text().split()) for page in reader.pages)
    expected = [TITLE, "Oscar Bellamy", "About the request", "Norfolk SENDIASS", "Consider an EHC needs assessment"]
    for cycle in history.cycles:
        expected += [dates.long_date(cycle.agreed_on), dates.long_date(cycle.reviews[0].held_on)]
        expected += [target.outcome for target in cycle.targets] + [target.evidence for target in cycle.targets]
    for phrase in expected:
        assert "".join(phrase.split()) in text, phrase
    assert "Page1of" in text and "Evidencesummary:OscarBellamy" in text


def test_a_pupil_with_no_plan_gets_a_short_honest_summary(
    factory: sessionmaker, oscar: tuple[demo.DemoSchool, int]
) -> None:
    school, _ = oscar
    with factory() as session:
        finley = session.execute(select(Pupil.id).where(Pupil.first_name == "Finley")).scalar_one()
    history = _history(factory, school, finley)
    html = evidence_html(history, NORFOLK, HELP)
    assert history.cycles == () and history.latest_decision is None
    assert "No plan has been agreed yet" in html and "No review has been held yet" in html


# Links and the web server --------------------------------------------------


async def _get(path: str) -> tuple[int, Any, bytes]:
    async with TestClient(TestServer(web_server.make_app())) as client:
        response = await client.get(path)
        return response.status, response.headers, await response.read()


def _issue(url: str, who: str = "staff", now: dt.datetime | None = None) -> tuple[str, int]:
    with sessions(url).begin() as session:
        school = demo.find_demo(session)
        pupil_id = _oscar_id(session)
        viewer = _staff(school) if who == "staff" else _oscars_parent(session)
        return document_links.issue_evidence_link(session, viewer, pupil_id, now=now), pupil_id


async def test_an_evidence_link_opens_as_html_and_pdf(store: dict[str, Any]) -> None:
    token, _ = _issue(store["url"])
    status, headers, body = await _get(f"/documents/{token}.html")
    assert status == 200 and headers["Cache-Control"] == "no-store"
    assert headers["Content-Security-Policy"] == web_server.SECURITY_HEADERS["Content-Security-Policy"]
    page = body.decode()
    assert TITLE in page and "Oscar Bellamy" in page and "Cycle 3: plan version 3" in page
    status, headers, body = await _get(f"/documents/{token}.pdf")
    assert status == 200 and headers["Content-Type"] == "application/pdf" and body.startswith(b"%PDF")
    assert headers["Content-Disposition"] == 'inline; filename="ehc-request-evidence.pdf"'
    assert headers["Referrer-Policy"] == "no-referrer" and headers["X-Content-Type-Options"] == "nosniff"
    text = "".join("".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(body)).pages)
    assert "Graduatedapproach:evidenceforanEHCneedsassessmentrequest" in text


async def test_expired_unknown_and_withdrawn_links_get_the_kind_page(store: dict[str, Any]) -> None:
    expired, pupil_id = _issue(
        store["url"], now=dt.datetime.utcnow() - document_links.LINK_LIFETIME - dt.timedelta(minutes=1)
    )
    parents, _ = _issue(store["url"], who="parent")
    assert (await _get(f"/documents/{parents}.html"))[0] == 200
    with sessions(store["url"]).begin() as session:
        parent = _oscars_parent(session).person
        session.delete(session.get(ParentPupil, (parent.id, pupil_id)))
    for token in (expired, "not-a-real-token", parents):
        status, headers, body = await _get(f"/documents/{token}.pdf")
        assert status == 404 and b"This link has expired or is not right" in body
        assert headers["Cache-Control"] == "no-store"
    with sessions(store["url"])() as session:
        opened = session.execute(
            select(AuditEvent.allowed, AuditEvent.detail, AuditEvent.pupil_id)
            .where(AuditEvent.action == "open_evidence_document")
            .order_by(AuditEvent.id)
        ).all()
    assert [tuple(row) for row in opened] == [
        (True, None, pupil_id),
        (False, "expired", None),
        (False, "access ended", None),
    ]


async def test_plan_links_still_open_the_plan(store: dict[str, Any]) -> None:
    with sessions(store["url"]).begin() as session:
        school = demo.find_demo(session)
        plan = records.current_plan(session, school.parent_pupil_id)
        token = document_links.issue_link(session, _staff(school), plan.id)
    with sessions(store["url"]).begin() as session:
        assert document_links.open_link(session, token).id == plan.id
    status, headers, body = await _get(f"/documents/{token}.html")
    assert status == 200 and b"Special Educational Needs (SEN) Support Plan" in body and b"Amy Carter" in body
    assert TITLE.encode() not in body
    status, headers, _ = await _get(f"/documents/{token}.pdf")
    assert status == 200 and headers["Content-Disposition"] == 'inline; filename="sen-support-plan.pdf"'


def test_the_admin_command_prints_a_link_for_a_member_of_staff(store: dict[str, Any]) -> None:
    school = store["school"]
    pupil_id = store["ids"]["Oscar Bellamy"]
    printed = admin.run(["evidence-link", "--pupil-id", str(pupil_id), "--staff-id", str(school.senco_id)])
    token = re.search(r"/documents/([\w-]+)\.pdf", printed).group(1)
    with sessions(store["url"]).begin() as session:
        opened = document_links.open_link(session, token)
        assert isinstance(opened, evidence.History) and opened.pupil.id == pupil_id
        (made,) = session.execute(select(AuditEvent).where(AuditEvent.action == "link_evidence_document")).scalars()
        assert (made.actor_kind, made.actor_id, made.channel, made.pupil_id) == (
            "staff",
            school.senco_id,
            "admin",
            pupil_id,
        )
    with pytest.raises(admin.AdminError, match="is not at the school of staff id"):
        admin.run(["evidence-link", "--pupil-id", str(pupil_id), "--staff-id", str(school.other_senco_id)])
    with pytest.raises(admin.AdminError, match="no active member of staff"):
        admin.run(["evidence-link", "--pupil-id", str(pupil_id), "--staff-id", "4242"])
