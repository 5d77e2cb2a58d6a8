"""Reading pupils' records: who may see what, review timing, and the audit trail.

Runs on SQLite and on the machine's PostgreSQL, against the demo school.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from bot.store import access, demo, records
from bot.store.access import Person
from bot.store.models import AuditEvent, Pupil, Review

TODAY = dt.date(2026, 3, 2)


@pytest.fixture
def school(factory: sessionmaker) -> demo.DemoSchool:
    with factory.begin() as session:
        return demo.seed(session, today=TODAY)


def _pupil_id(factory: sessionmaker, first: str, last: str) -> int:
    with factory() as session:
        return session.execute(select(Pupil.id).where(Pupil.first_name == first, Pupil.last_name == last)).scalar_one()


def _staff(school: demo.DemoSchool) -> access.Viewer:
    return access.Viewer(Person("staff", school.senco_id, school.school_id), "rest")


def _other_staff(school: demo.DemoSchool) -> access.Viewer:
    return access.Viewer(Person("staff", school.other_senco_id, school.other_school_id), "telegram")


def _parent(school: demo.DemoSchool) -> access.Viewer:
    return access.Viewer(Person("parent", school.parent_id, pupil_ids=(school.parent_pupil_id,)), "socketio")


def _events(factory: sessionmaker) -> list[AuditEvent]:
    with factory() as session:
        return session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().all()


def test_seeding_twice_gives_one_demo_school(factory: sessionmaker, school: demo.DemoSchool) -> None:
    with factory.begin() as session:
        again = demo.seed(session, today=TODAY)
        assert again == school
        assert session.execute(select(func.count(Pupil.id))).scalar_one() == 9


def test_agenda_shows_every_state_of_review(factory: sessionmaker, school: demo.DemoSchool) -> None:
    with factory.begin() as session:
        agenda = records.agenda(session, _staff(school), 30, today=TODAY)
    assert [(p.full_name, day) for p, day in agenda.due] == [
        ("Amy Carter", TODAY + dt.timedelta(days=10)),
        ("Ellie Nowak", TODAY + dt.timedelta(days=25)),
    ]
    assert [(p.full_name, day) for p, day in agenda.overdue] == [("Ben Okafor", TODAY - dt.timedelta(days=12))]
    assert [p.full_name for p in agenda.none_booked] == ["Chloe Hartley"]
    assert [(p.full_name, start, booked) for p, start, booked in agenda.long_gap] == [
        ("Daniel Price", TODAY - dt.timedelta(days=30), TODAY + dt.timedelta(days=130))
    ]
    names = {p.full_name for p, _ in agenda.due + agenda.overdue}
    assert "Grace Holloway" not in names, "another school's pupil"
    assert "Finley Shaw" not in names and all(p.first_name != "Finley" for p in agenda.none_booked), "no plan, no flag"


def test_agenda_window_follows_the_days_asked(factory: sessionmaker, school: demo.DemoSchool) -> None:
    with factory.begin() as session:
        week = records.agenda(session, _staff(school), 7, today=TODAY)
        two_months = records.agenda(session, _staff(school), 61, today=TODAY)
    assert week.due == []
    assert [p.full_name for p, _ in two_months.due] == ["Amy Carter", "Ellie Nowak", "Amy Fenwick"]


def test_agenda_audits_each_pupil_listed(factory: sessionmaker, school: demo.DemoSchool) -> None:
    with factory.begin() as session:
        records.agenda(session, _staff(school), 30, today=TODAY)
    listed = [e for e in _events(factory) if e.action == "list_reviews"]
    assert len(listed) == 5
    assert all(
        e.allowed and e.actor_kind == "staff" and e.actor_id == school.senco_id and e.channel == "rest" for e in listed
    )


@pytest.mark.parametrize("viewer", ["parent", "unlinked"])
def test_agenda_is_for_staff_only(factory: sessionmaker, school: demo.DemoSchool, viewer: str) -> None:
    who = _parent(school) if viewer == "parent" else access.Viewer(None, "rest")
    with factory.begin() as session:
        assert records.agenda(session, who, 30, today=TODAY) is None
    (refused,) = [e for e in _events(factory) if e.action == "list_reviews"]
    assert not refused.allowed and refused.pupil_id is None and refused.actor_kind == viewer


def test_other_school_sees_only_its_own(factory: sessionmaker, school: demo.DemoSchool) -> None:
    with factory.begin() as session:
        agenda = records.agenda(session, _other_staff(school), 30, today=TODAY)
    assert [p.full_name for p, _ in agenda.due] == ["Grace Holloway"]
    assert not agenda.overdue and not agenda.none_booked and not agenda.long_gap


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("when is amy carter's next review", ["Amy Carter"]),
        ("when is Amy's next review", ["Amy Carter", "Amy Fenwick"]),
        ("targets for aimy fenwik", ["Amy Fenwick"]),
        ("what support does Okafor get", ["Ben Okafor"]),
        ("chloee's plan", ["Chloe Hartley"]),
    ],
)
def test_staff_find_pupils_forgivingly(
    factory: sessionmaker, school: demo.DemoSchool, text: str, expected: list[str]
) -> None:
    with factory.begin() as session:
        found = records.find_pupil(session, _staff(school), text, "read_plan")
    assert [p.full_name for p in found.pupils] == expected
    assert found.outcome == ("found" if len(expected) == 1 else "ambiguous")


def test_staff_cannot_reach_another_schools_pupil(factory: sessionmaker, school: demo.DemoSchool) -> None:
    grace = _pupil_id(factory, "Grace", "Holloway")
    with factory.begin() as session:
        by_name = records.find_pupil(session, _staff(school), "when is Grace Holloway's review", "read_next_review")
        by_id = records.find_pupil(session, _staff(school), "", "read_next_review", pupil_id=grace)
    assert by_name == records.Lookup("not_found") and by_id == records.Lookup("not_found")
    with factory.begin() as session:
        assert records.read_record(session, _staff(school), grace, "read_plan", today=TODAY) is None
    refused = [e for e in _events(factory) if not e.allowed]
    assert len(refused) == 3, "each attempt is audited"
    assert all(e.actor_id == school.senco_id for e in refused)


def test_parent_sees_their_own_child_without_naming_them(factory: sessionmaker, school: demo.DemoSchool) -> None:
    with factory.begin() as session:
        found = records.find_pupil(
            session, _parent(school), "when's the next meeting about my daughter", "read_next_review"
        )
        assert found.outcome == "found" and found.pupil.id == school.parent_pupil_id
        record = records.read_record(session, _parent(school), found.pupil.id, "read_next_review", today=TODAY)
    assert record.timing.next_booked == TODAY + dt.timedelta(days=10)
    assert record.plan is not None and record.plan.version == 1 and len(record.plan.targets) == 3
    read = [e for e in _events(factory) if e.action == "read_next_review"]
    assert [(e.allowed, e.pupil_id, e.actor_kind, e.channel) for e in read] == [
        (True, school.parent_pupil_id, "parent", "socketio")
    ]


@pytest.mark.parametrize(
    "text",
    [
        "what's in Ben's plan",
        "show me ben okafor's targets",
        "when is Grace Holloway's review",
        "what support does Chloe get",
        "Amy Fenwick plan",
        "how is my other son Daniel doing",
        "tell me about Ellie Nowak",
    ],
)
def test_parent_naming_another_child_is_refused(factory: sessionmaker, school: demo.DemoSchool, text: str) -> None:
    with factory.begin() as session:
        found = records.find_pupil(session, _parent(school), text, "read_plan")
    assert found == records.Lookup("other_child")
    (event,) = [e for e in _events(factory) if e.action == "read_plan"]
    assert not event.allowed and event.pupil_id is None and event.actor_kind == "parent"


def test_parent_cannot_read_another_pupil_by_id(factory: sessionmaker, school: demo.DemoSchool) -> None:
    with factory() as session:
        others = session.execute(select(Pupil.id).where(Pupil.id != school.parent_pupil_id)).scalars().all()
    for pupil_id in [*others, 0, 10_000]:
        with factory.begin() as session:
            assert (
                records.find_pupil(session, _parent(school), "", "read_plan", pupil_id=pupil_id).outcome
                == "other_child"
            )
        with factory.begin() as session:
            assert records.read_record(session, _parent(school), pupil_id, "read_plan") is None
    assert all(not e.allowed for e in _events(factory) if e.action == "read_plan")


def test_stale_context_of_another_pupil_is_not_used(factory: sessionmaker, school: demo.DemoSchool) -> None:
    ben = _pupil_id(factory, "Ben", "Okafor")
    with factory.begin() as session:
        staff_view = records.find_pupil(session, _staff(school), "and her targets?", "read_targets", context_id=ben)
        other_view = records.find_pupil(
            session, _other_staff(school), "and her targets?", "read_targets", context_id=ben
        )
    assert staff_view.outcome == "found" and staff_view.pupil.id == ben
    assert other_view == records.Lookup("no_name")


def test_unlinked_user_gets_nothing(factory: sessionmaker, school: demo.DemoSchool) -> None:
    nobody = access.Viewer(None, "rest")
    with factory.begin() as session:
        assert records.find_pupil(session, nobody, "when is Amy Carter's review", "read_next_review") == records.Lookup(
            "unlinked"
        )
        assert records.candidates(session, nobody) == []
    with factory.begin() as session:
        assert records.read_record(session, nobody, school.parent_pupil_id, "read_plan") is None
    assert [(e.actor_kind, e.allowed) for e in _events(factory) if e.action.startswith("read")] == [
        ("unlinked", False),
        ("unlinked", False),
    ]


def test_latest_agreed_version_is_current(factory: sessionmaker, school: demo.DemoSchool) -> None:
    ellie = _pupil_id(factory, "Ellie", "Nowak")
    with factory.begin() as session:
        record = records.read_record(session, _staff(school), ellie, "read_plan", today=TODAY)
    assert record.plan is not None and record.plan.version == 2
    assert "movement breaks" in record.plan.interventions


def test_holding_the_overdue_review_clears_the_flag(factory: sessionmaker, school: demo.DemoSchool) -> None:
    ben = _pupil_id(factory, "Ben", "Okafor")
    with factory.begin() as session:
        review = session.execute(select(Review).where(Review.pupil_id == ben)).scalar_one()
        review.held_on = TODAY - dt.timedelta(days=2)
        session.add(Review(pupil_id=ben, scheduled_for=TODAY + dt.timedelta(days=80)))
    with factory.begin() as session:
        agenda = records.agenda(session, _staff(school), 30, today=TODAY)
    assert agenda.overdue == []
    assert all(p.id != ben for p in agenda.none_booked) and all(p.id != ben for p, _, _ in agenda.long_gap)


@pytest.mark.parametrize(
    ("agreed", "held", "booked", "flags"),
    [
        (-30, [], [60], (False, False, False)),
        (-30, [], [], (False, True, False)),
        (-200, [-10], [], (False, True, False)),
        (-200, [-130], [], (False, True, True)),
        (-30, [], [100], (False, False, True)),
        (-30, [], [-3], (True, False, False)),
        (-300, [-200, -90], [20], (False, False, False)),
        (-10, [], [113], (False, False, True)),
        (-10, [], [112], (False, False, False)),
    ],
)
def test_review_timing_follows_three_times_a_year(
    agreed: int, held: list[int], booked: list[int], flags: tuple[bool, bool, bool]
) -> None:
    day = lambda offset: TODAY + dt.timedelta(days=offset)  # noqa: E731
    timing = records.review_timing(day(agreed), [day(h) for h in held], [day(b) for b in booked], TODAY)
    assert (timing.overdue, timing.none_booked, timing.long_gap) == flags


def test_long_lists_are_cut_and_only_listed_pupils_audited(factory: sessionmaker, school: demo.DemoSchool) -> None:
    from bot.core.wording import agenda_text
    from bot.store.models import PlanStatus, SupportPlan

    with factory.begin() as session:
        for number in range(15):
            pupil = Pupil(
                school_id=school.school_id,
                first_name=f"Extra{number:02d}",
                last_name="Pupil",
                date_of_birth=dt.date(2017, 1, 1),
                year_group="Year 4",
            )
            session.add(pupil)
            session.flush()
            session.add(
                SupportPlan(
                    pupil_id=pupil.id, version=1, status=PlanStatus.agreed, agreed_on=TODAY - dt.timedelta(days=90)
                )
            )
            session.add(Review(pupil_id=pupil.id, scheduled_for=TODAY - dt.timedelta(days=30 - number)))
    with factory.begin() as session:
        agenda = records.agenda(session, _staff(school), 30, today=TODAY, limit=10)
    assert agenda.overdue_total == 16 and len(agenda.overdue) == 10
    assert agenda.overdue[0][0].first_name == "Extra00", "the longest overdue first"
    text = agenda_text("Brambleway Primary School", agenda, overdue_first=True)
    assert "Overdue reviews, not yet recorded as held (16):" in text and "…and 6 more." in text
    listed = {e.pupil_id for e in _events(factory) if e.action == "list_reviews"}
    shown = (
        {p.id for p, _ in agenda.due + agenda.overdue}
        | {p.id for p in agenda.none_booked}
        | {p.id for p, _, _ in agenda.long_gap}
    )
    assert listed == shown and len(listed) == 14
