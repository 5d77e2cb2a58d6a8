"""A fictional demo school, with pupils whose reviews are in every state.

Dates are set relative to the day of seeding, so the demo always shows a
review due soon, one overdue, one with none booked and one booked too far
ahead, and a pupil (Oscar Bellamy) with three cycles of little progress whose
latest review decided to consider an EHC needs assessment. Every person,
pupil and school here is made up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core import dates
from bot.store.access import ADMIN, audit
from bot.store.accounts import issue_parent_code, issue_staff_code
from bot.store.models import (
    AreaOfNeed,
    LevelOfNeed,
    NextStep,
    Parent,
    ParentPupil,
    PlanStatus,
    Pupil,
    Review,
    ReviewDecision,
    ReviewNote,
    ReviewStatus,
    ReviewTarget,
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


def find_demo(session: Session) -> DemoSchool | None:
    school = session.execute(select(School).where(School.name == DEMO_SCHOOL)).scalar_one_or_none()
    other = session.execute(select(School).where(School.name == OTHER_SCHOOL)).scalar_one_or_none()
    if school is None or other is None:
        return None
    senco = session.execute(select(Staff).where(Staff.school_id == school.id, Staff.name == DEMO_SENCO)).scalar_one()
    other_senco = (
        session.execute(select(Staff).where(Staff.school_id == other.id, Staff.role == StaffRole.senco))
        .scalars()
        .first()
    )
    parent = session.execute(select(Parent).where(Parent.name == DEMO_PARENT)).scalars().first()
    child = session.execute(
        select(Pupil).where(Pupil.school_id == school.id, Pupil.first_name == "Amy", Pupil.last_name == "Carter")
    ).scalar_one()
    return DemoSchool(school.id, senco.id, parent.id, child.id, other.id, other_senco.id)


def seed(session: Session, council: str = "norfolk", today: dt.date | None = None) -> DemoSchool:
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
            school=school,
            first_name=first,
            last_name=last,
            date_of_birth=dt.date.fromisoformat(born),
            year_group=year,
            form=f"{year[-1]}{last[0]}" if year.startswith("Year") else "R",
            class_teacher=teacher,
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
    oscar = pupil("Oscar", "Bellamy", "2017-02-19", "Year 4", year5)
    session.flush()

    amy_plan = _plan(
        amy,
        1,
        _day(today, -110),
        _day(today, 10),
        senco,
        main_area_of_need=AreaOfNeed.cognition_learning,
        cluster_funding="no",
        professionals_involved="Educational psychologist (assessment last spring)",
        previous_attainment="Working towards the expected standard in reading and maths at the end of Year 2.",
        previous_progress="Slow progress in phonics despite extra help in class.",
        current_attainment="Reading at a Year 1 level; knows number bonds to 10.",
        expected_attainment="Reading books at the Year 2 level by the summer term.",
        current_progress="Steady progress since small-group phonics began.",
        interventions="Daily small-group phonics (20 minutes); coloured overlays; visual timetable.",
        how_needs_identified=(
            "Class teacher's assessments, phonics screening check and the educational psychologist's report."
        ),
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
            position=1,
            difficulty="Blending sounds to read new words.",
            provision_who="Teaching assistant",
            provision_what="Small-group phonics",
            provision_when="Mornings",
            provision_how_often="Daily, 20 minutes",
            outcome="By the end of term Amy will read 40 of the 50 Phase 5 words correctly.",
            progress=TargetProgress.progress,
            progress_notes="Reads 28 of 50 words.",
        ),
        Target(
            position=2,
            difficulty="Recalling number bonds to 20.",
            provision_who="Class teacher",
            provision_what="Number bond games",
            provision_when="Maths lessons",
            provision_how_often="Three times a week",
            outcome="By the next review Amy will recall 15 of 20 number bonds within 5 seconds each.",
            progress=TargetProgress.progress,
            progress_notes="Recalls 9 of 20.",
        ),
        Target(
            position=3,
            difficulty="Asking for help when stuck.",
            provision_who="Class teacher",
            provision_what="Help card on desk",
            provision_when="All lessons",
            provision_how_often="Every lesson",
            outcome="Amy will use her help card at least once in 4 of 5 lessons over a week.",
            progress=TargetProgress.achieved,
            progress_notes="Uses the card most lessons.",
        ),
    ]
    session.add(amy_plan)
    session.add(
        Review(
            pupil=amy,
            scheduled_for=_day(today, -60),
            held_on=_day(today, -60),
            attendees="Mrs Ashdown, Mr Ellery, Amy's mum",
            outcomes="Carry on with SEN support.",
        )
    )
    session.add(Review(pupil=amy, scheduled_for=_day(today, 10)))

    session.add(
        _plan(
            amy_f,
            1,
            _day(today, -40),
            _day(today, 60),
            senco,
            main_area_of_need=AreaOfNeed.communication_interaction,
            interventions="Speech and language programme twice a week.",
        )
    )
    session.add(Review(pupil=amy_f, scheduled_for=_day(today, 60)))

    session.add(
        _plan(
            ben,
            1,
            _day(today, -130),
            _day(today, -12),
            senco,
            main_area_of_need=AreaOfNeed.semh,
            interventions="Daily check-in with a trusted adult; calm space at break times.",
        )
    )
    session.add(Review(pupil=ben, scheduled_for=_day(today, -12)))

    session.add(
        _plan(
            chloe,
            1,
            _day(today, -150),
            _day(today, -50),
            senco,
            main_area_of_need=AreaOfNeed.sensory_physical,
            interventions="Sloped writing board and pencil grip; occupational therapy exercises.",
        )
    )
    session.add(Review(pupil=chloe, scheduled_for=_day(today, -50), held_on=_day(today, -50), outcomes="Carry on."))

    session.add(
        _plan(
            daniel,
            1,
            _day(today, -30),
            _day(today, 130),
            senco,
            main_area_of_need=AreaOfNeed.cognition_learning,
            interventions="Precision teaching for spelling, three times a week.",
        )
    )
    session.add(Review(pupil=daniel, scheduled_for=_day(today, 130)))

    old = _plan(
        ellie,
        1,
        _day(today, -200),
        _day(today, -20),
        senco,
        main_area_of_need=AreaOfNeed.medical,
        interventions="Individual healthcare plan; rest breaks.",
    )
    old.status = PlanStatus.superseded
    session.add(old)
    session.add(
        _plan(
            ellie,
            2,
            _day(today, -20),
            _day(today, 25),
            senco,
            main_area_of_need=AreaOfNeed.medical,
            interventions="Individual healthcare plan; rest breaks; movement breaks every hour.",
        )
    )
    session.add(Review(pupil=ellie, scheduled_for=_day(today, -20), held_on=_day(today, -20)))
    session.add(Review(pupil=ellie, scheduled_for=_day(today, 25)))

    _three_cycles(session, oscar, senco, today)

    parent = Parent(name=DEMO_PARENT)
    session.add(parent)
    session.flush()
    session.add(ParentPupil(parent_id=parent.id, pupil_id=amy.id, relationship_to_pupil="mother"))

    other = School(name=OTHER_SCHOOL, council=council)
    other_senco = Staff(school=other, name="Mr Ravi Dhillon", role=StaffRole.senco)
    session.add_all([other, other_senco])
    session.flush()
    grace = Pupil(
        school=other,
        first_name="Grace",
        last_name="Holloway",
        date_of_birth=dt.date(2017, 4, 3),
        year_group="Year 4",
        form="4H",
        class_teacher=other_senco,
    )
    session.add(grace)
    session.flush()
    session.add(
        _plan(
            grace,
            1,
            _day(today, -60),
            _day(today, 5),
            other_senco,
            main_area_of_need=AreaOfNeed.semh,
            interventions="Nurture group twice a week.",
        )
    )
    session.add(Review(pupil=grace, scheduled_for=_day(today, 5)))
    session.flush()
    audit(session, channel="admin", actor=ADMIN, action="seed_demo", allowed=True, detail=DEMO_SCHOOL)
    return DemoSchool(school.id, senco.id, parent.id, amy.id, other.id, other_senco.id)


EVIDENCE_PUPIL = ("Oscar", "Bellamy")
EVIDENCE_PARENT = "Leanne Bellamy"


def _targets(*rows: tuple[str, str, str, str, str, str]) -> list[Target]:
    return [
        Target(
            position=number,
            difficulty=difficulty,
            provision_who=who,
            provision_what=what,
            provision_when=when,
            provision_how_often=how_often,
            outcome=outcome,
        )
        for number, (difficulty, who, what, when, how_often, outcome) in enumerate(rows, 1)
    ]


def _held_review(
    plan: SupportPlan,
    held: dt.date,
    senco: Staff,
    results: list[tuple[TargetProgress, str, NextStep]],
    notes: list[str],
    **fields: object,
) -> Review:
    review = Review(
        pupil_id=plan.pupil_id,
        plan_id=plan.id,
        scheduled_for=held,
        held_on=held,
        status=ReviewStatus.held,
        started_by_staff_id=senco.id,
        updated_by_staff_id=senco.id,
        **fields,
    )
    review.targets = [
        ReviewTarget(
            kind="reviewed",
            position=target.position,
            target_id=target.id,
            outcome=target.outcome,
            achieved=achieved,
            evidence=evidence,
            next_step=step,
        )
        for target, (achieved, evidence, step) in zip(plan.targets, results, strict=False)
    ]
    review.notes = [
        ReviewNote(staff_id=senco.id, channel="rest", text=text, at=dt.datetime.combine(held, dt.time(15, 40 + minute)))
        for minute, text in enumerate(notes)
    ]
    return review


def _three_cycles(session: Session, pupil: Pupil, senco: Staff, today: dt.date) -> None:
    """Three plans for one pupil, each reviewed with little progress, the last deciding to consider an EHC request."""
    common = dict(
        main_area_of_need=AreaOfNeed.cognition_learning,
        cluster_funding="no",
        strengths="Funny, kind to younger children, brilliant at building with Lego and remembering football facts.",
        finding_things_hard_when="I put my head on the table, or I say I've finished when I haven't started.",
        how_i_like_support="Someone showing me first, short jobs one at a time, and a tick list I can see.",
        parent_role="Share a picture book with Oscar each evening and play the number games sent home.",
        child_role="Use my word mat and tick list, and tell an adult when I'm stuck.",
        class_teacher_role="Break tasks into small steps, check Oscar has understood, and plan his group work.",
    )
    first = _plan(
        pupil,
        1,
        _day(today, -290),
        _day(today, -190),
        senco,
        **common,
        professionals_involved="School nurse (hearing and vision checked, no concerns)",
        previous_attainment="Working towards the expected standard in reading, writing and maths at the end of Year 2.",
        previous_progress="Little progress in phonics over Year 2 despite extra help in class.",
        current_attainment="Knows 11 of the 40 Phase 3 sounds; counts reliably to 10.",
        expected_attainment="Reading and writing at the Year 3 standard by the end of the year.",
        current_progress="Slower than his classmates in reading, writing and maths.",
        interventions="Small-group phonics (15 minutes, four times a week); word mat; visual timetable.",
        how_needs_identified=(
            "Class teacher's assessments, phonics screening check (not met twice), talks with Oscar's mum."
        ),
        parent_new_information="Oscar's mum says he avoids reading at home and gets upset about homework.",
    )
    first.targets = _targets(
        (
            "Reading Phase 3 sounds.",
            "Teaching assistant",
            "Small-group phonics",
            "Mornings",
            "Four times a week, 15 minutes",
            "By the review Oscar will read 30 of the 40 Phase 3 sounds.",
        ),
        (
            "Counting and number bonds.",
            "Class teacher",
            "Number games with objects",
            "Maths lessons",
            "Three times a week",
            "By the review Oscar will know 8 of the 10 number bonds to 10.",
        ),
        (
            "Writing a sentence.",
            "Teaching assistant",
            "Talk, then write, with a word mat",
            "Writing lessons",
            "Daily",
            "By the review Oscar will write a sentence of 5 words with a capital letter and full stop.",
        ),
    )
    first.status = PlanStatus.superseded
    second = _plan(
        pupil,
        2,
        _day(today, -190),
        _day(today, -95),
        senco,
        **common,
        professionals_involved="School nurse (hearing and vision checked, no concerns); "
        "Specialist teacher (Learning Support Service)",
        previous_attainment="Knew 11 of the 40 Phase 3 sounds; counted reliably to 10.",
        previous_progress="Little progress in the first cycle: 3 more sounds in a term.",
        current_attainment="Knows 14 of the 40 Phase 3 sounds; knows 5 of the 10 number bonds to 10.",
        expected_attainment="Reading Phase 3 books by the end of the year.",
        current_progress="Still well behind his classmates; the gap is getting wider.",
        interventions="Daily one-to-one precision teaching of sounds (10 minutes); small-group phonics; "
        "specialist teacher's programme for number; word mat; tick list.",
        how_needs_identified="Review of the first plan; specialist teacher's assessment of reading and number.",
        parent_new_information="Oscar's mum says he now cries before school on Mondays and says he is 'thick'.",
    )
    second.targets = _targets(
        (
            "Reading Phase 3 sounds.",
            "Teaching assistant",
            "One-to-one precision teaching",
            "Before lunch",
            "Daily, 10 minutes",
            "By the review Oscar will read 25 of the 40 Phase 3 sounds.",
        ),
        (
            "Number bonds to 10.",
            "Teaching assistant",
            "Specialist teacher's number programme",
            "Afternoons",
            "Three times a week, 15 minutes",
            "By the review Oscar will know all 10 number bonds to 10.",
        ),
        (
            "Blending sounds to read words.",
            "Teaching assistant",
            "Blending practice with sound buttons",
            "Mornings",
            "Daily, 10 minutes",
            "By the review Oscar will blend and read 10 of 20 three-letter words.",
        ),
    )
    second.status = PlanStatus.superseded
    third = _plan(
        pupil,
        3,
        _day(today, -95),
        _day(today, -12),
        senco,
        **common,
        professionals_involved=(
            "Specialist teacher (Learning Support Service); Educational psychologist (assessment and report)"
        ),
        previous_attainment="Knew 14 of the 40 Phase 3 sounds and 5 of the 10 number bonds to 10.",
        previous_progress="Little progress over two cycles despite daily one-to-one teaching.",
        current_attainment="Knows 17 of the 40 Phase 3 sounds; reads 4 of 20 three-letter words.",
        expected_attainment="Reading simple three-letter words and writing a short sentence by the summer term.",
        current_progress="Very slow; the educational psychologist found very low working memory and slow processing.",
        interventions="Daily one-to-one precision teaching; overlearning with multi-sensory phonics; "
        "the educational psychologist's memory strategies; adult support for all written work.",
        how_needs_identified="Educational psychologist's assessment and report; specialist teacher's reassessment; "
        "reviews of the first two plans.",
        parent_new_information="Oscar's mum and dad would like the council to look at whether he needs more help "
        "than the school can give.",
    )
    third.targets = _targets(
        (
            "Reading Phase 3 sounds.",
            "Teaching assistant",
            "Multi-sensory phonics with overlearning",
            "Mornings",
            "Daily, 15 minutes",
            "By the review Oscar will read 25 of the 40 Phase 3 sounds.",
        ),
        (
            "Blending sounds to read words.",
            "Teaching assistant",
            "Blending with sound buttons and pictures",
            "Afternoons",
            "Daily, 10 minutes",
            "By the review Oscar will read 10 of 20 three-letter words.",
        ),
        (
            "Working independently.",
            "Class teacher",
            "Tick list and timer",
            "All lessons",
            "Every lesson",
            "Oscar will complete a short task with his tick list on 3 of 5 days.",
        ),
    )
    session.add_all([first, second, third])
    session.flush()
    session.add(
        _held_review(
            first,
            _day(today, -190),
            senco,
            [
                (TargetProgress.not_achieved, "Reads 14 of 40 sounds (11 at the start).", NextStep.different_provision),
                (TargetProgress.progress, "Knows 5 of 10 number bonds (2 at the start).", NextStep.carry_on),
                (TargetProgress.not_achieved, "Writes 2 or 3 words with help; no full stops yet.", NextStep.new_target),
            ],
            [
                "Mum says homework ends in tears most nights.",
                "Ask the Learning Support Service for a specialist teacher.",
            ],
            attendees="Mrs Priya Ashdown (SENCO), Ms Jo Marsh (class teacher), Oscar's mum",
            parent_views="Mum is worried he is falling further behind and is losing confidence.",
            pupil_views='"Reading is hard. I like the Lego club."',
            new_information="Hearing and vision checked by the school nurse: no concerns.",
            outcomes="Little progress. Daily one-to-one teaching and specialist teacher advice.",
            decision=ReviewDecision.carry_on,
            next_review_date=_day(today, -95),
        )
    )
    session.add(
        _held_review(
            second,
            _day(today, -95),
            senco,
            [
                (TargetProgress.progress, "Reads 17 of 40 sounds (14 at the start).", NextStep.carry_on),
                (
                    TargetProgress.not_achieved,
                    "Still 5 of 10 number bonds; forgets them by the next day.",
                    NextStep.different_provision,
                ),
                (TargetProgress.not_achieved, "Blends 4 of 20 words.", NextStep.carry_on),
            ],
            ["Specialist teacher suggests an educational psychologist's assessment; mum agrees."],
            attendees="Mrs Priya Ashdown (SENCO), Ms Jo Marsh (class teacher), specialist teacher, Oscar's mum and dad",
            parent_views="Mum and dad say Oscar is anxious on Sunday nights and calls himself 'thick'.",
            pupil_views='"I try really hard but the letters move about."',
            new_information="Specialist teacher's assessment: reading and number well below his age.",
            outcomes="Little progress despite daily one-to-one teaching. Educational psychologist to assess.",
            decision=ReviewDecision.carry_on,
            next_review_date=_day(today, -12),
        )
    )
    session.add(
        _held_review(
            third,
            _day(today, -12),
            senco,
            [
                (
                    TargetProgress.not_achieved,
                    "Reads 19 of 40 sounds; a standardised reading score of 69.",
                    NextStep.carry_on,
                ),
                (TargetProgress.progress, "Reads 7 of 20 three-letter words.", NextStep.carry_on),
                (
                    TargetProgress.achieved,
                    "Finished a short task with his tick list on 4 of 5 days.",
                    NextStep.new_target,
                ),
            ],
            [
                "Educational psychologist's report shared with the parents.",
                "Parents and school agree to ask the council for an EHC needs assessment.",
            ],
            attendees=(
                "Mrs Priya Ashdown (SENCO), Ms Jo Marsh (class teacher), educational psychologist, Oscar's mum and dad"
            ),
            parent_views=(
                "Mum and dad feel Oscar needs more help than the school can give and want to ask for an assessment."
            ),
            pupil_views='"I like my tick list. I want to read books like my friends."',
            new_information="Educational psychologist: very low working memory and slow processing speed.",
            outcomes="Little progress over three cycles despite well-planned support.",
            decision=ReviewDecision.consider_ehc_assessment,
            next_review_date=_day(today, 70),
        )
    )
    session.add(Review(pupil_id=pupil.id, plan_id=third.id, scheduled_for=_day(today, 70)))
    parent = Parent(name=EVIDENCE_PARENT)
    session.add(parent)
    session.flush()
    session.add(ParentPupil(parent_id=parent.id, pupil_id=pupil.id, relationship_to_pupil="mother"))


def codes(session: Session, demo: DemoSchool) -> DemoCodes:
    """Fresh one-time codes for the demo SENCO and the demo parent."""
    staff_code = issue_staff_code(session, demo.senco_id)
    parent_code = issue_parent_code(session, demo.parent_id, demo.parent_pupil_id)
    audit(
        session,
        channel="admin",
        actor=ADMIN,
        action="issue_code",
        allowed=True,
        pupil_id=demo.parent_pupil_id,
        detail="demo staff and parent codes",
    )
    return DemoCodes(staff_code, parent_code)
