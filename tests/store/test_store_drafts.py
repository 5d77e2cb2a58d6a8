"""Plan drafts: saved answer by answer, resumed, shared safely, agreed as a new version."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.store import access, demo, drafts, records
from bot.store.access import Person
from bot.store.models import AreaOfNeed, AuditEvent, PlanEdit, PlanStatus, Pupil, Staff, StaffRole, SupportPlan

TODAY = dt.date(2026, 3, 2)


@pytest.fixture
def school(factory: sessionmaker) -> demo.DemoSchool:
    with factory.begin() as session:
        return demo.seed(session, today=TODAY)


@pytest.fixture
def teacher(factory: sessionmaker, school: demo.DemoSchool) -> access.Viewer:
    with factory.begin() as session:
        staff = Staff(school_id=school.school_id, name="Mr Second Teacher", role=StaffRole.teacher)
        session.add(staff)
        session.flush()
        return access.Viewer(Person("staff", staff.id, school.school_id), "telegram")


def _senco(school: demo.DemoSchool) -> access.Viewer:
    return access.Viewer(Person("staff", school.senco_id, school.school_id), "socketio")


def _pupil(factory: sessionmaker, first: str, last: str) -> int:
    with factory() as session:
        return session.execute(select(Pupil.id).where(Pupil.first_name == first, Pupil.last_name == last)).scalar_one()


def test_a_new_plan_is_saved_answer_by_answer_and_resumed(factory: sessionmaker, school: demo.DemoSchool) -> None:
    finley = _pupil(factory, "Finley", "Shaw")
    with factory.begin() as session:
        draft = drafts.open_draft(session, _senco(school), finley)
    assert (draft.version, draft.revision, draft.resumed, draft.updating) == (1, 0, False, False)
    with factory.begin() as session:
        saved = drafts.save_answer(
            session,
            _senco(school),
            draft.plan_id,
            0,
            {"level_of_need": "sen_support"},
            state={"answered": ["level_of_need"]},
        )
    assert saved.saved and saved.revision == 1
    with factory.begin() as session:
        saved = drafts.save_answer(
            session,
            _senco(school),
            draft.plan_id,
            1,
            {"main_area_of_need": "semh"},
            state={"answered": ["level_of_need", "main_area_of_need"]},
        )
        drafts.save_answer(
            session,
            _senco(school),
            draft.plan_id,
            saved.revision,
            {"difficulty": "Joining in at playtime"},
            target_position=1,
        )
    with factory.begin() as session:
        again = drafts.open_draft(session, _senco(school), finley)
        plan = drafts.load_plan(session, _senco(school), draft.plan_id)
        assert plan.main_area_of_need == AreaOfNeed.semh and plan.targets[0].difficulty == "Joining in at playtime"
    assert again.plan_id == draft.plan_id and again.resumed
    assert again.state["answered"] == ["level_of_need", "main_area_of_need"]
    with factory() as session:
        edits = session.execute(select(PlanEdit).order_by(PlanEdit.id)).scalars().all()
    assert [(e.field, e.value, e.revision, e.channel) for e in edits] == [
        ("level_of_need", "sen_support", 1, "socketio"),
        ("main_area_of_need", "semh", 2, "socketio"),
        ("difficulty", "Joining in at playtime", 3, "socketio"),
    ]


def test_updating_starts_from_the_agreed_plan_and_keeps_it(factory: sessionmaker, school: demo.DemoSchool) -> None:
    amy = school.parent_pupil_id
    with factory.begin() as session:
        draft = drafts.open_draft(session, _senco(school), amy)
        plan = drafts.load_plan(session, _senco(school), draft.plan_id)
        assert draft.updating and draft.version == 2
        assert plan.strengths.startswith("Kind to others") and len(plan.targets) == 3
        assert plan.review_date is None and plan.agreed_on is None
        drafts.save_answer(session, _senco(school), draft.plan_id, 0, {"strengths": "Loves drawing and horses"})
        drafts.save_answer(session, _senco(school), draft.plan_id, 1, {"review_date": "2026-05-20", "agreed_on": TODAY})
    with factory.begin() as session:
        agreed = drafts.agree(session, _senco(school), draft.plan_id, today=TODAY)
        assert agreed.status == PlanStatus.agreed and agreed.parents_notified_on == TODAY
    with factory() as session:
        plans = (
            session.execute(select(SupportPlan).where(SupportPlan.pupil_id == amy).order_by(SupportPlan.version))
            .scalars()
            .all()
        )
        assert [(p.version, p.status) for p in plans] == [(1, PlanStatus.superseded), (2, PlanStatus.agreed)]
        assert plans[0].strengths.startswith("Kind to others"), "the earlier version is kept as it was"
        assert plans[1].strengths == "Loves drawing and horses" and plans[1].review_date == dt.date(2026, 5, 20)
        current = records.current_plan(session, amy)
        assert current.version == 2 and len(current.targets) == 3


def test_same_answer_changed_by_someone_else_is_not_overwritten(
    factory: sessionmaker, school: demo.DemoSchool, teacher: access.Viewer
) -> None:
    chloe = _pupil(factory, "Chloe", "Hartley")
    with factory.begin() as session:
        draft = drafts.open_draft(session, _senco(school), chloe)
    with factory.begin() as session:
        mine = drafts.save_answer(session, teacher, draft.plan_id, 0, {"strengths": "Brilliant at lego"})
    assert mine.saved
    with factory.begin() as session:
        theirs = drafts.save_answer(session, _senco(school), draft.plan_id, 0, {"strengths": "Kind and funny"})
    assert not theirs.saved
    assert (theirs.conflict.field, theirs.conflict.by, theirs.conflict.value) == (
        "strengths",
        "Mr Second Teacher",
        "Brilliant at lego",
    )
    with factory.begin() as session:
        other_field = drafts.save_answer(session, _senco(school), draft.plan_id, 0, {"parent_role": "Reading at home"})
    assert (
        other_field.saved
        and other_field.others == ["Mr Second Teacher"]
        and other_field.others_changed == ["strengths"]
    )
    with factory.begin() as session:
        plan = drafts.load_plan(session, _senco(school), draft.plan_id)
        assert plan.strengths == "Brilliant at lego" and plan.parent_role == "Reading at home"
    with factory.begin() as session:
        overwrite = drafts.save_answer(
            session, _senco(school), draft.plan_id, other_field.revision, {"strengths": "Kind and funny"}
        )
    assert overwrite.saved, "having seen the other change, the SENCO may replace it"


def test_only_staff_of_the_school_may_record(factory: sessionmaker, school: demo.DemoSchool) -> None:
    amy = school.parent_pupil_id
    other = access.Viewer(Person("staff", school.other_senco_id, school.other_school_id), "rest")
    parent = access.Viewer(Person("parent", school.parent_id, pupil_ids=(amy,)), "rest")
    for viewer in (other, parent, access.Viewer(None, "rest")):
        with factory.begin() as session, pytest.raises(access.NotAllowed):
            drafts.open_draft(session, viewer, amy)
    with factory.begin() as session:
        draft = drafts.open_draft(session, _senco(school), amy)
    with factory.begin() as session, pytest.raises(access.NotAllowed):
        drafts.save_answer(session, other, draft.plan_id, 0, {"strengths": "x"})
    with factory() as session:
        plan = session.get(SupportPlan, draft.plan_id)
        assert plan.strengths.startswith("Kind to others")
        events = session.execute(
            select(AuditEvent.action, AuditEvent.allowed, AuditEvent.actor_kind)
            .where(AuditEvent.action.in_(["open_plan", "edit_plan"]))
            .order_by(AuditEvent.id)
        ).all()
    assert [tuple(e) for e in events] == [
        ("open_plan", False, "staff"),
        ("open_plan", False, "parent"),
        ("open_plan", False, "unlinked"),
        ("open_plan", True, "staff"),
        ("edit_plan", False, "staff"),
    ]
