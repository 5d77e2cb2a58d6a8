"""Reviews in the store, on SQLite and PostgreSQL: captured answer by answer, shared safely, then held."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.store import reviews
from bot.store.access import NotAllowed, Person, Viewer
from bot.store.models import (
    AuditEvent,
    Parent,
    ParentPupil,
    PlanStatus,
    Pupil,
    Review,
    ReviewStatus,
    School,
    Staff,
    StaffRole,
    SupportPlan,
    Target,
)

TODAY = dt.date(2026, 11, 23)


@pytest.fixture
def school(factory: Any) -> dict[str, Any]:
    with factory.begin() as session:
        larkspur = School(name="Larkspur Primary (fictional)", council="norfolk")
        other = School(name="Quayside Primary (fictional)", council="kent")
        senco = Staff(school=larkspur, name="Ms Example Senco", role=StaffRole.senco)
        teacher = Staff(school=larkspur, name="Mr Example Teacher", role=StaffRole.teacher)
        stranger = Staff(school=other, name="Mrs Other Senco", role=StaffRole.senco)
        pupil = Pupil(
            school=larkspur,
            first_name="Tilly",
            last_name="Example",
            date_of_birth=dt.date(2017, 3, 1),
            year_group="Year 4",
        )
        plan = SupportPlan(pupil=pupil, version=1, status=PlanStatus.agreed, agreed_on=TODAY - dt.timedelta(days=80))
        plan.targets = [
            Target(position=1, difficulty="Reading", outcome="Reads 30 words by the review"),
            Target(position=2, difficulty="Number", outcome="Counts to 50 by the review"),
        ]
        parent = Parent(name="Pat Example")
        session.add_all([larkspur, other, senco, teacher, stranger, pupil, plan, parent])
        session.flush()
        session.add(ParentPupil(parent_id=parent.id, pupil_id=pupil.id))
        session.add(Review(pupil_id=pupil.id, scheduled_for=TODAY + dt.timedelta(days=2)))
        return {
            "pupil": pupil.id,
            "school": larkspur.id,
            "senco": Viewer(Person("staff", senco.id, larkspur.id), "rest"),
            "teacher": Viewer(Person("staff", teacher.id, larkspur.id), "telegram"),
            "stranger": Viewer(Person("staff", stranger.id, other.id), "rest"),
            "parent": Viewer(Person("parent", parent.id, None, (pupil.id,)), "rest"),
        }


def test_opening_takes_the_booked_review_and_its_plan_targets(factory: Any, school: dict[str, Any]) -> None:
    with factory.begin() as session:
        draft = reviews.open_review(session, school["senco"], school["pupil"], TODAY)
        assert not draft.resumed and draft.scheduled_for == TODAY + dt.timedelta(days=2)
        assert draft.state == {"answered": [], "reviewed": 2}
    with factory.begin() as session:
        again = reviews.open_review(session, school["teacher"], school["pupil"], TODAY)
        assert again.resumed and again.review_id == draft.review_id
        review = reviews.load_review(session, school["senco"], draft.review_id)
        assert [(t.kind, t.position, t.outcome) for t in review.targets] == [
            ("reviewed", 1, "Reads 30 words by the review"),
            ("reviewed", 2, "Counts to 50 by the review"),
        ]
    with pytest.raises(IntegrityError), factory.begin() as session:
        session.add(Review(pupil_id=school["pupil"], scheduled_for=TODAY, status=ReviewStatus.in_progress))


def test_other_schools_and_parents_cannot_open_or_edit(factory: Any, school: dict[str, Any]) -> None:
    for who in ("stranger", "parent"):
        # The refusal is audited in the caller's transaction.
        with factory.begin() as session, pytest.raises(NotAllowed):
            reviews.open_review(session, school[who], school["pupil"], TODAY)
    with factory.begin() as session:
        draft = reviews.open_review(session, school["senco"], school["pupil"], TODAY)
    with factory.begin() as session, pytest.raises(NotAllowed):
        reviews.save_answer(session, school["stranger"], draft.review_id, 0, {"attendees": "someone"})
    with factory() as session:
        refused = session.execute(select(AuditEvent.action).where(AuditEvent.allowed.is_(False))).scalars().all()
        assert refused.count("open_review") == 2


def test_two_editors_never_overwrite_each_other_silently(factory: Any, school: dict[str, Any]) -> None:
    with factory.begin() as session:
        draft = reviews.open_review(session, school["senco"], school["pupil"], TODAY)
    with factory.begin() as session:
        first = reviews.save_answer(
            session, school["teacher"], draft.review_id, 0, {"achieved": "progress"}, "reviewed", 1
        )
        assert first.saved
    with factory.begin() as session:
        clash = reviews.save_answer(
            session, school["senco"], draft.review_id, 0, {"achieved": "achieved"}, "reviewed", 1
        )
        assert not clash.saved and clash.conflict.by == "Mr Example Teacher" and clash.conflict.value == "progress"
        other = reviews.save_answer(session, school["senco"], draft.review_id, 0, {"attendees": "Mum and Tilly"})
        assert other.saved and other.others == ["Mr Example Teacher"] and other.others_changed == ["reviewed target 1"]
    with factory.begin() as session:
        again = reviews.save_answer(
            session, school["senco"], draft.review_id, other.revision, {"achieved": "achieved"}, "reviewed", 1
        )
        assert again.saved
        review = reviews.load_review(session, school["senco"], draft.review_id)
        assert review.targets[0].achieved.value == "achieved" and review.attendees == "Mum and Tilly"


@pytest.mark.parametrize("decision, booked", [("carry_on", True), ("no_longer_needed", False)])
def test_completing_records_progress_and_books_the_next_review(
    factory: Any, school: dict[str, Any], decision: str, booked: bool
) -> None:
    senco = school["senco"]
    with factory.begin() as session:
        draft = reviews.open_review(session, senco, school["pupil"], TODAY)
        revision = 0
        for values, kind, position in [
            (
                {
                    "held_on": TODAY.isoformat(),
                    "decision": decision,
                    "next_review_date": (TODAY + dt.timedelta(weeks=12)).isoformat(),
                },
                None,
                None,
            ),
            (
                {
                    "achieved": "not_achieved",
                    "evidence": "Reads 12 of 30",
                    "next_step": "different_provision",
                    "provision_who": "TA",
                    "provision_how_often": "daily",
                },
                "reviewed",
                1,
            ),
            ({"difficulty": "Telling the time", "outcome": "Tells the time to the hour by February"}, "new", 1),
            ({"difficulty": None, "outcome": None}, "new", 2),
        ]:
            revision = reviews.save_answer(session, senco, draft.review_id, revision, values, kind, position).revision
        held = reviews.complete(session, senco, draft.review_id, TODAY)
        assert held.status == ReviewStatus.held and held.held_on == TODAY
        assert [(t.kind, t.position) for t in held.targets] == [("reviewed", 1), ("reviewed", 2), ("new", 1)]
    with factory() as session:
        rows = (
            session.execute(select(Review).where(Review.pupil_id == school["pupil"]).order_by(Review.scheduled_for))
            .scalars()
            .all()
        )
        assert [(r.scheduled_for, r.status) for r in rows] == [(TODAY + dt.timedelta(days=2), ReviewStatus.held)] + (
            [(TODAY + dt.timedelta(weeks=12), ReviewStatus.booked)] if booked else []
        )
        target = session.execute(select(Target).where(Target.position == 1)).scalar_one()
        assert target.progress.value == "not_achieved" and target.progress_notes == "Reads 12 of 30"
        assert target.next_steps == "Keep the target with different support: TA, daily."
    with factory.begin() as session:
        told = reviews.latest_held(session, school["parent"], school["pupil"])
        assert told.review.decision.value == decision
        assert told.next_booked == (TODAY + dt.timedelta(weeks=12) if booked else None)
        assert reviews.latest_held(session, school["stranger"], school["pupil"]) is None
