"""A fictional demo school, with pupils whose reviews are in every state.

Dates are set relative to the day of seeding, so the demo always shows a
review due soon, one overdue, one with none booked and one booked too far
ahead. Every person, pupil and school here is made up.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import dates
from bot.store.accounts import ADMIN, audit, issue_parent_code, issue_staff_code
from bot.store.models import (
    AreaOfNeed,
    LevelOfNeed,
    Parent,
    ParentPupil,
    PlanStatus,
    Pupil,
    Review,
    School,
    Staff,
    StaffRole,
    SupportPlan,
    Target,
    TargetProgress,
)

DEMO_SCHOOL = "Brambleway Primary School"
OTHER_SCHOOL = "Harbour View Primary School"
DEMO_SENCO = "Mrs Priya Ashdown"
DEMO_PARENT = "Sarah Carter"


@dataclass(frozen=True)
class DemoSchool:
    school_id: int
    senco_id: int
    parent_id: int
    parent_pupil_id: int
    other_school_id: int
    other_senco_id: int


@dataclass(frozen=True)
class DemoCodes:
    staff_code: str
    parent_code: str


def _day(today: dt.date, offset: int) -> dt.date:
    return today + dt.timedelta(days=offset)


def _plan(pupil: Pupil, version: int, agreed: dt.date, review: dt.date, senco: Staff, **fields: object) -> SupportPlan:
    return SupportPlan(
        pupil=pupil,
        version=version,
        status=PlanStatus.agreed,
        level_of_need=LevelOfNeed.sen_support,
        agreed_by_senco_name=senco.name,
        agreed_on=agreed,
        review_date=review,
        parents_notified_on=agreed,
        created_by_staff_id=senco.id,
        **fields,
    )


def find_demo(session: Session) -> Optional[DemoSchool]:
    school = session.execute(select(School).where(School.name == DEMO_SCHOOL)).scalar_one_or_none()
    other = session.execute(select(School).where(School.name == OTHER_SCHOOL)).scalar_one_or_none()
    if school is None or other is None:
        return None
    senco = session.execute(select(Staff).where(Staff.school_id == school.id, Staff.name == DEMO_SENCO)).scalar_one()
    other_senco = session.execute(
        select(Staff).where(Staff.school_id == other.id, Staff.role == StaffRole.senco)
    ).scalars().first()
    parent = session.execute(select(Parent).where(Parent.name == DEMO_PARENT)).scalars().first()
    child = session.execute(
        select(Pupil).where(Pupil.school_id == school.id, Pupil.first_name == "Amy", Pupil.last_name == "Carter")
    ).scalar_one()
    return DemoSchool(school.id, senco.id, parent.id, child.id, other.id, other_senco.id)  # type: ignore[union-attr]


def seed(session: Session, council: str = "norfolk", today: Optional[dt.date] = None) -> DemoSchool:
    """Create the demo schools once; later calls return what is there."""
    existing = find_demo(session)
    if existing:
        return existing
    today = today or dates.today()
    school = School(name=DEMO_SCHOOL, council=council)
    senco = Staff(school=school, name=DEMO_SENCO, role=StaffRole.senco)
    year3 = Staff(school=school, name="Mr Tom Ellery", role=StaffRole.teacher)
    year5 = Staff(school=school, name="Ms Jo Marsh", role=StaffRole.teacher)
    session.add_all([school, senco, year3, year5])
    session.flush()

    def pupil(first: str, last: str, born: str, year: str, teacher: Staff) -> Pupil:
        row = Pupil(
            school=school, first_name=first, last_name=last, date_of_birth=dt.date.fromisoformat(born),
            year_group=year, form=f"{year[-1]}{last[0]}" if year.startswith("Year") else "R", class_teacher=teacher,
        )
        session.add(row)
        return row

    amy = pupil("Amy", "Carter", "2018-03-09", "Year 3", year3)
    amy_f = pupil("Amy", "Fenwick", "2016-07-21", "Year 5", year5)
    ben = pupil("Ben", "Okafor", "2017-01-30", "Year 4", year3)
    chloe = pupil("Chloe", "Hartley", "2019-05-14", "Year 2", year3)
    daniel = pupil("Daniel", "Price", "2015-10-02", "Year 6", year5)
    ellie = pupil("Ellie", "Nowak", "2020-02-11", "Year 1", year3)
    pupil("Finley", "Shaw", "2021-06-17", "Reception", year3)
    session.flush()

    amy_plan = _plan(
        amy, 1, _day(today, -110), _day(today, 10), senco,
        main_area_of_need=AreaOfNeed.cognition_learning,
        cluster_funding="no",
        professionals_involved="Educational psychologist (assessment last spring)",
        previous_attainment="Working towards the expected standard in reading and maths at the end of Year 2.",
        previous_progress="Slow progress in phonics despite extra help in class.",
        current_attainment="Reading at a Year 1 level; knows number bonds to 10.",
        expected_attainment="Reading books at the Year 2 level by the summer term.",
        current_progress="Steady progress since small-group phonics began.",
        interventions="Daily small-group phonics (20 minutes); coloured overlays; visual timetable.",
        how_needs_identified="Class teacher's assessments, phonics screening check and the educational psychologist's report.",
        parent_new_information="Amy reads with her mum every evening and enjoys audiobooks.",
        strengths="Kind to others, loves drawing and animals, good at remembering stories she hears.",
        finding_things_hard_when="I go quiet and rub my eyes, or I ask to go to the toilet during reading.",
        how_i_like_support="Sitting near the front, being shown an example first, and having extra time.",
        parent_role="Read with Amy for ten minutes each evening and sign the reading record.",
        child_role="Use my overlay and ask for help when I'm stuck.",
        class_teacher_role="Check Amy has understood instructions and give her a word mat for writing.",
    )
    amy_plan.targets = [
        Target(
            position=1, difficulty="Blending sounds to read new words.",
            provision_who="Teaching assistant", provision_what="Small-group phonics", provision_when="Mornings",
            provision_how_often="Daily, 20 minutes",
            outcome="By the end of term Amy will read 40 of the 50 Phase 5 words correctly.",
            progress=TargetProgress.progress, progress_notes="Reads 28 of 50 words.",
        ),
        Target(
            position=2, difficulty="Recalling number bonds to 20.",
            provision_who="Class teacher", provision_what="Number bond games", provision_when="Maths lessons",
            provision_how_often="Three times a week",
            outcome="By the next review Amy will recall 15 of 20 number bonds within 5 seconds each.",
            progress=TargetProgress.progress, progress_notes="Recalls 9 of 20.",
        ),
        Target(
            position=3, difficulty="Asking for help when stuck.",
            provision_who="Class teacher", provision_what="Help card on desk", provision_when="All lessons",
            provision_how_often="Every lesson",
            outcome="Amy will use her help card at least once in 4 of 5 lessons over a week.",
            progress=TargetProgress.achieved, progress_notes="Uses the card most lessons.",
        ),
    ]
    session.add(amy_plan)
    session.add(Review(pupil=amy, scheduled_for=_day(today, -60), held_on=_day(today, -60),
                       attendees="Mrs Ashdown, Mr Ellery, Amy's mum", outcomes="Carry on with SEN support."))
    session.add(Review(pupil=amy, scheduled_for=_day(today, 10)))

    session.add(_plan(amy_f, 1, _day(today, -40), _day(today, 60), senco, main_area_of_need=AreaOfNeed.communication_interaction,
                      interventions="Speech and language programme twice a week."))
    session.add(Review(pupil=amy_f, scheduled_for=_day(today, 60)))

    session.add(_plan(ben, 1, _day(today, -130), _day(today, -12), senco, main_area_of_need=AreaOfNeed.semh,
                      interventions="Daily check-in with a trusted adult; calm space at break times."))
    session.add(Review(pupil=ben, scheduled_for=_day(today, -12)))

    session.add(_plan(chloe, 1, _day(today, -150), _day(today, -50), senco, main_area_of_need=AreaOfNeed.sensory_physical,
                      interventions="Sloped writing board and pencil grip; occupational therapy exercises."))
    session.add(Review(pupil=chloe, scheduled_for=_day(today, -50), held_on=_day(today, -50), outcomes="Carry on."))

    session.add(_plan(daniel, 1, _day(today, -30), _day(today, 130), senco, main_area_of_need=AreaOfNeed.cognition_learning,
                      interventions="Precision teaching for spelling, three times a week."))
    session.add(Review(pupil=daniel, scheduled_for=_day(today, 130)))

    old = _plan(ellie, 1, _day(today, -200), _day(today, -20), senco, main_area_of_need=AreaOfNeed.medical,
                interventions="Individual healthcare plan; rest breaks.")
    old.status = PlanStatus.superseded
    session.add(old)
    session.add(_plan(ellie, 2, _day(today, -20), _day(today, 25), senco, main_area_of_need=AreaOfNeed.medical,
                      interventions="Individual healthcare plan; rest breaks; movement breaks every hour."))
    session.add(Review(pupil=ellie, scheduled_for=_day(today, -20), held_on=_day(today, -20)))
    session.add(Review(pupil=ellie, scheduled_for=_day(today, 25)))

    parent = Parent(name=DEMO_PARENT)
    session.add(parent)
    session.flush()
    session.add(ParentPupil(parent_id=parent.id, pupil_id=amy.id, relationship_to_pupil="mother"))

    other = School(name=OTHER_SCHOOL, council=council)
    other_senco = Staff(school=other, name="Mr Ravi Dhillon", role=StaffRole.senco)
    session.add_all([other, other_senco])
    session.flush()
    grace = Pupil(school=other, first_name="Grace", last_name="Holloway", date_of_birth=dt.date(2017, 4, 3),
                  year_group="Year 4", form="4H", class_teacher=other_senco)
    session.add(grace)
    session.flush()
    session.add(_plan(grace, 1, _day(today, -60), _day(today, 5), other_senco, main_area_of_need=AreaOfNeed.semh,
                      interventions="Nurture group twice a week."))
    session.add(Review(pupil=grace, scheduled_for=_day(today, 5)))
    session.flush()
    audit(session, channel="admin", actor=ADMIN, action="seed_demo", allowed=True, detail=DEMO_SCHOOL)
    return DemoSchool(school.id, senco.id, parent.id, amy.id, other.id, other_senco.id)


def codes(session: Session, demo: DemoSchool) -> DemoCodes:
    """Fresh one-time codes for the demo SENCO and the demo parent."""
    staff_code = issue_staff_code(session, demo.senco_id)
    parent_code = issue_parent_code(session, demo.parent_id, demo.parent_pupil_id)
    audit(session, channel="admin", actor=ADMIN, action="issue_code", allowed=True, pupil_id=demo.parent_pupil_id,
          detail="demo staff and parent codes")
    return DemoCodes(staff_code, parent_code)
