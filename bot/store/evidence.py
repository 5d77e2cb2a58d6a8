"""One pupil's whole graduated-approach history, as evidence for an EHC needs assessment request.

When a pupil keeps making little progress despite SEN support, the school or
the parents may ask the council for an EHC needs assessment, and the council
looks at what the school has already done and how the pupil has progressed.
``build_history`` gathers that from the store: one ``Cycle`` per agreed (or
since superseded) plan version, in order, with the reviews held for it, and
the counts a reader at the council looks for first.

It is read only through a private link (``bot.store.document_links``), which
gives it to staff of the pupil's school and parents linked to the pupil
(parents may make the request themselves), as ``bot.store.access`` decides.

The history is plain data, detached from the session, so it can be laid out
as a document after the session has closed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from bot.store.models import (
    PlanStatus,
    Pupil,
    Review,
    ReviewDecision,
    ReviewStatus,
    ReviewTarget,
    SupportPlan,
    Target,
)

RESULTS = ("achieved", "progress", "not_achieved")


@dataclass(frozen=True)
class PupilDetails:
    id: int
    first_name: str
    last_name: str
    date_of_birth: dt.date
    year_group: str
    form: str | None
    school: str
    council: str

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class Counts:
    """How the targets of a cycle (or of all cycles) came out."""

    achieved: int = 0
    progress: int = 0
    not_achieved: int = 0
    not_recorded: int = 0

    @property
    def total(self) -> int:
        return self.achieved + self.progress + self.not_achieved + self.not_recorded

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.achieved + other.achieved,
            self.progress + other.progress,
            self.not_achieved + other.not_achieved,
            self.not_recorded + other.not_recorded,
        )


@dataclass(frozen=True)
class PlannedTarget:
    """A target of the plan, with its provision and what became of it.

    ``result`` is achieved, progress or not_achieved, as the last review of
    the cycle judged it (or as the plan recorded it when no review did).
    """

    position: int
    difficulty: str | None
    provision_who: str | None
    provision_what: str | None
    provision_when: str | None
    provision_how_often: str | None
    outcome: str | None
    result: str | None
    evidence: str | None
    next_step: str | None


@dataclass(frozen=True)
class ReviewedTarget:
    position: int
    outcome: str | None
    achieved: str | None
    evidence: str | None
    next_step: str | None
    provision_who: str | None = None
    provision_what: str | None = None
    provision_when: str | None = None
    provision_how_often: str | None = None


@dataclass(frozen=True)
class NewTarget:
    position: int
    difficulty: str | None
    outcome: str | None
    provision_who: str | None
    provision_what: str | None
    provision_when: str | None
    provision_how_often: str | None


@dataclass(frozen=True)
class Note:
    at: dt.datetime
    text: str


@dataclass(frozen=True)
class HeldReview:
    held_on: dt.date
    attendees: str | None
    outcomes: str | None
    parent_views: str | None
    pupil_views: str | None
    new_information: str | None
    decision: str | None
    next_review_date: dt.date | None
    reviewed: tuple[ReviewedTarget, ...]
    new_targets: tuple[NewTarget, ...]
    notes: tuple[Note, ...]


@dataclass(frozen=True)
class Cycle:
    """One turn of assess, plan, do, review: a plan version and the review(s) held on it."""

    number: int
    version: int
    status: str
    agreed_on: dt.date | None
    review_date: dt.date | None
    parents_notified_on: dt.date | None
    agreed_by: str | None
    level_of_need: str | None
    main_area_of_need: str | None
    how_needs_identified: str | None
    professionals_involved: str | None
    interventions: str | None
    previous_attainment: str | None
    previous_progress: str | None
    current_attainment: str | None
    expected_attainment: str | None
    current_progress: str | None
    parent_new_information: str | None
    strengths: str | None
    finding_things_hard_when: str | None
    how_i_like_support: str | None
    targets: tuple[PlannedTarget, ...]
    reviews: tuple[HeldReview, ...]

    @property
    def counts(self) -> Counts:
        tally = {name: 0 for name in RESULTS}
        missing = 0
        for target in self.targets:
            if target.result in tally:
                tally[target.result] += 1
            else:
                missing += 1
        return Counts(tally["achieved"], tally["progress"], tally["not_achieved"], missing)

    @property
    def last_review(self) -> HeldReview | None:
        return self.reviews[-1] if self.reviews else None


@dataclass(frozen=True)
class Professional:
    name: str
    cycles: tuple[int, ...]


@dataclass(frozen=True)
class History:
    pupil: PupilDetails
    cycles: tuple[Cycle, ...]

    @property
    def counts(self) -> Counts:
        return sum((cycle.counts for cycle in self.cycles), Counts())

    @property
    def first_plan_date(self) -> dt.date | None:
        days = [cycle.agreed_on for cycle in self.cycles if cycle.agreed_on]
        return min(days) if days else None

    @property
    def latest_review(self) -> HeldReview | None:
        held = [review for cycle in self.cycles for review in cycle.reviews]
        return max(held, key=lambda review: review.held_on) if held else None

    @property
    def latest_decision(self) -> str | None:
        latest = self.latest_review
        return latest.decision if latest else None

    @property
    def consider_ehc_assessment(self) -> bool:
        return self.latest_decision == ReviewDecision.consider_ehc_assessment.value

    @property
    def professionals(self) -> tuple[Professional, ...]:
        return professionals_across(self.cycles)


def build_history(session: Session, pupil: Pupil) -> History:
    """The history of a pupil the caller has already been allowed to see."""
    plans = (
        session.execute(
            select(SupportPlan)
            .where(SupportPlan.pupil_id == pupil.id, SupportPlan.status.in_([PlanStatus.agreed, PlanStatus.superseded]))
            .order_by(SupportPlan.version)
            .options(selectinload(SupportPlan.targets))
        )
        .scalars()
        .all()
    )
    reviews = (
        session.execute(
            select(Review)
            .where(
                Review.pupil_id == pupil.id,
                Review.status != ReviewStatus.in_progress,
                or_(Review.status == ReviewStatus.held, Review.held_on.isnot(None)),
            )
            .order_by(Review.held_on, Review.scheduled_for, Review.id)
            .options(selectinload(Review.targets), selectinload(Review.notes))
        )
        .scalars()
        .all()
    )
    grouped = reviews_by_plan(plans, reviews)
    cycles = tuple(_cycle(number, plan, grouped[plan.id]) for number, plan in enumerate(plans, 1))
    return History(pupil=_details(pupil), cycles=cycles)


def reviews_by_plan(plans: Sequence[SupportPlan], reviews: Iterable[Review]) -> dict[int, list[Review]]:
    """The held reviews of each plan: by ``plan_id``, else by date.

    A review without a plan (or with one that is not a cycle, such as a
    draft) belongs to the last plan agreed before the day it was held; a
    review held on the day a new plan was agreed reviewed the plan before
    it. Reviews held before any plan go with the first one.
    """
    grouped: dict[int, list[Review]] = {plan.id: [] for plan in plans}
    if not plans:
        return grouped
    dated = [plan for plan in plans if plan.agreed_on]
    for review in reviews:
        if review.plan_id in grouped:
            grouped[review.plan_id].append(review)
            continue
        day = _held_day(review)
        earlier = [plan for plan in dated if plan.agreed_on < day]
        owner = earlier[-1] if earlier else plans[0]
        grouped[owner.id].append(review)
    for held in grouped.values():
        held.sort(key=lambda review: (_held_day(review), review.id))
    return grouped


def professionals_across(cycles: Iterable[Cycle]) -> tuple[Professional, ...]:
    """Each professional named in the plans, once, with the cycles that named them, in order of first mention."""
    seen: dict[str, tuple[str, list[int]]] = {}
    for cycle in cycles:
        for name in split_list(cycle.professionals_involved):
            key = " ".join(name.lower().split())
            if key not in seen:
                seen[key] = (name, [])
            if cycle.number not in seen[key][1]:
                seen[key][1].append(cycle.number)
    return tuple(Professional(name, tuple(numbers)) for name, numbers in seen.values())


LIST_SEPARATOR = re.compile(r"[;\n]|,(?![^()]*\))")


def split_list(text: str | None) -> list[str]:
    """ "EP (report, May); speech therapist" as ["EP (report, May)", "speech therapist"]."""
    if not text:
        return []
    parts = (part.strip(" .\t") for part in LIST_SEPARATOR.split(text))
    return [part[:1].upper() + part[1:] for part in parts if part]


def _held_day(review: Review) -> dt.date:
    day: dt.date = review.held_on or review.scheduled_for
    return day


def _value(choice: str | None) -> str | None:
    """A choice column's value as plain text: the enum member's value, or the text or None as stored."""
    value: str | None = getattr(choice, "value", choice)
    return value


def _details(pupil: Pupil) -> PupilDetails:
    school = pupil.school
    return PupilDetails(
        id=pupil.id,
        first_name=pupil.first_name,
        last_name=pupil.last_name,
        date_of_birth=pupil.date_of_birth,
        year_group=pupil.year_group,
        form=pupil.form,
        school=school.name,
        council=school.council,
    )


def _cycle(number: int, plan: SupportPlan, reviews: list[Review]) -> Cycle:
    held = tuple(_held(review) for review in reviews)
    return Cycle(
        number=number,
        version=plan.version,
        status=_value(plan.status) or "",
        agreed_on=plan.agreed_on,
        review_date=plan.review_date,
        parents_notified_on=plan.parents_notified_on,
        agreed_by=plan.agreed_by_senco_name,
        level_of_need=_value(plan.level_of_need),
        main_area_of_need=_value(plan.main_area_of_need),
        how_needs_identified=plan.how_needs_identified,
        professionals_involved=plan.professionals_involved,
        interventions=plan.interventions,
        previous_attainment=plan.previous_attainment,
        previous_progress=plan.previous_progress,
        current_attainment=plan.current_attainment,
        expected_attainment=plan.expected_attainment,
        current_progress=plan.current_progress,
        parent_new_information=plan.parent_new_information,
        strengths=plan.strengths,
        finding_things_hard_when=plan.finding_things_hard_when,
        how_i_like_support=plan.how_i_like_support,
        targets=_planned_targets(plan.targets, reviews),
        reviews=held,
    )


def _planned_targets(targets: Sequence[Target], reviews: Sequence[Review]) -> tuple[PlannedTarget, ...]:
    """The plan's targets, each with the latest review's judgement of it, then any reviewed target the plan lacks."""
    latest: dict[object, ReviewTarget] = {}
    for review in reviews:  # oldest first, so later reviews win
        for row in review.targets:
            if row.kind == "reviewed":
                latest[("id", row.target_id) if row.target_id else ("position", row.position)] = row
    rows: list[PlannedTarget] = []
    for target in targets:
        judged = latest.pop(("id", target.id), None) or latest.pop(("position", target.position), None)
        rows.append(
            PlannedTarget(
                position=target.position,
                difficulty=target.difficulty,
                provision_who=target.provision_who,
                provision_what=target.provision_what,
                provision_when=target.provision_when,
                provision_how_often=target.provision_how_often,
                outcome=target.outcome,
                result=_value(judged.achieved) if judged else _value(target.progress),
                evidence=judged.evidence if judged else target.progress_notes,
                next_step=_value(judged.next_step) if judged else target.next_steps,
            )
        )
    for row in sorted(latest.values(), key=lambda row: row.position):
        rows.append(
            PlannedTarget(
                position=row.position,
                difficulty=row.difficulty,
                provision_who=row.provision_who,
                provision_what=row.provision_what,
                provision_when=row.provision_when,
                provision_how_often=row.provision_how_often,
                outcome=row.outcome,
                result=_value(row.achieved),
                evidence=row.evidence,
                next_step=_value(row.next_step),
            )
        )
    return tuple(rows)


def _held(review: Review) -> HeldReview:
    reviewed = tuple(
        ReviewedTarget(
            position=row.position,
            outcome=row.outcome,
            achieved=_value(row.achieved),
            evidence=row.evidence,
            next_step=_value(row.next_step),
            provision_who=row.provision_who,
            provision_what=row.provision_what,
            provision_when=row.provision_when,
            provision_how_often=row.provision_how_often,
        )
        for row in review.targets
        if row.kind == "reviewed"
    )
    new = tuple(
        NewTarget(
            position=row.position,
            difficulty=row.difficulty,
            outcome=row.outcome,
            provision_who=row.provision_who,
            provision_what=row.provision_what,
            provision_when=row.provision_when,
            provision_how_often=row.provision_how_often,
        )
        for row in review.targets
        if row.kind == "new"
    )
    return HeldReview(
        held_on=_held_day(review),
        attendees=review.attendees,
        outcomes=review.outcomes,
        parent_views=review.parent_views,
        pupil_views=review.pupil_views,
        new_information=review.new_information,
        decision=_value(review.decision),
        next_review_date=review.next_review_date,
        reviewed=reviewed,
        new_targets=new,
        notes=tuple(Note(note.at, note.text) for note in review.notes),
    )
