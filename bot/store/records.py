"""Reading pupils' records: which pupil a message means, their plan and review timing, a school's reviews.

Every function here takes a ``Viewer`` and asks ``bot.store.access`` whether
they may see each pupil, on every call; each read and each refusal is audited
in the same transaction. How review dates are judged is ``bot.core.review_timing``.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session, selectinload

from bot.core import dates, names
from bot.core.review_timing import Agenda, Timing, review_timing
from bot.store.access import Viewer, audit_reads, authorise_read, may_list_reviews, refuse, visible_pupils
from bot.store.models import PlanStatus, Pupil, Review, SupportPlan

AGENDA_LIMIT = 10  # pupils shown in each part of a school's list of reviews


class Found(str, enum.Enum):
    """What a search for the pupil a message means came to."""

    found = "found"
    ambiguous = "ambiguous"  # several of the viewer's pupils match
    not_found = "not_found"  # staff named no pupil of theirs
    other_child = "other_child"  # a parent named someone other than their children
    no_name = "no_name"  # nobody named and no way to tell
    unlinked = "unlinked"


@dataclass(frozen=True)
class Lookup:
    """Which pupil a message is about, as far as the viewer may know."""

    outcome: Found
    pupils: tuple[names.Candidate, ...] = ()

    @property
    def pupil(self) -> names.Candidate:
        return self.pupils[0]


def _label(pupil: Pupil) -> str:
    return f"{pupil.first_name} {pupil.last_name} ({pupil.year_group})"


def candidates(session: Session, viewer: Viewer) -> list[names.Candidate]:
    """The pupils this viewer may see, for name matching."""
    condition = visible_pupils(viewer.person)
    if condition is None:
        return []
    rows = session.execute(select(Pupil.id, Pupil.first_name, Pupil.last_name, Pupil.year_group).where(condition)).all()
    return [
        names.Candidate(row.id, row.first_name, row.last_name, f"{row.first_name} {row.last_name} ({row.year_group})")
        for row in rows
    ]


def find_pupil(
    session: Session,
    viewer: Viewer,
    text: str,
    action: str,
    pupil_id: int | None = None,
    context_id: int | None = None,
) -> Lookup:
    """Work out which of the viewer's pupils ``text`` is about.

    ``pupil_id`` comes from a button the assistant offered; ``context_id`` is
    the pupil talked about last. Both are checked against the viewer's pupils
    like any name, since either may have been typed by hand.
    """
    if viewer.person is None:
        refuse(session, viewer, action, "not linked")
        return Lookup(Found.unlinked)
    visible = candidates(session, viewer)
    by_id = {pupil.id: pupil for pupil in visible}
    if pupil_id is not None:
        if pupil_id in by_id:
            return Lookup(Found.found, (by_id[pupil_id],))
        refuse(session, viewer, action, "pupil outside the viewer's records")
        return Lookup(Found.not_found if viewer.is_staff else Found.other_child)
    matched = names.match(text, visible)
    if viewer.is_parent and matched:
        # "Amy Fenwick" is not the parent's Amy Carter: every name in the
        # message must belong to the child it matched.
        matched = [pupil for pupil in matched if not names.unexplained_names(text, pupil)]
        if not matched:
            refuse(session, viewer, action, "named pupil not among the viewer's records")
            return Lookup(Found.other_child)
    if len(matched) == 1:
        return Lookup(Found.found, (matched[0],))
    if matched:
        return Lookup(Found.ambiguous, tuple(matched))
    if names.name_like_words(text):
        refuse(session, viewer, action, "named pupil not among the viewer's records")
        return Lookup(Found.not_found if viewer.is_staff else Found.other_child)
    if context_id is not None and context_id in by_id:
        return Lookup(Found.found, (by_id[context_id],))
    if viewer.is_parent and len(visible) == 1:
        return Lookup(Found.found, (visible[0],))
    return Lookup(Found.no_name, tuple(sorted(visible, key=lambda p: p.full_name)) if viewer.is_parent else ())


def current_plan(session: Session, pupil_id: int) -> SupportPlan | None:
    """The latest agreed version of the pupil's plan."""
    plan: SupportPlan | None = session.execute(
        select(SupportPlan)
        .where(SupportPlan.pupil_id == pupil_id, SupportPlan.status == PlanStatus.agreed)
        .order_by(SupportPlan.version.desc())
        .options(selectinload(SupportPlan.targets))
        .limit(1)
    ).scalar_one_or_none()
    return plan


def _timing_for(session: Session, pupil_id: int, today: dt.date) -> Timing:
    plan = current_plan(session, pupil_id)
    rows = session.execute(select(Review.scheduled_for, Review.held_on).where(Review.pupil_id == pupil_id)).all()
    return review_timing(
        plan.agreed_on if plan else None,
        [row.held_on for row in rows if row.held_on],
        [row.scheduled_for for row in rows if not row.held_on],
        today,
    )


@dataclass(frozen=True)
class PupilRecord:
    """What a look-up about one pupil returns.

    Refusals are returned as None rather than raised, so that the audit event
    of a refusal is committed with the caller's transaction.
    """

    pupil: names.Candidate
    plan: SupportPlan | None
    timing: Timing


def read_record(
    session: Session, viewer: Viewer, pupil_id: int, action: str, today: dt.date | None = None
) -> PupilRecord | None:
    """One pupil's current plan and review timing; None (and a refusal audited) if not theirs to see."""
    pupil = authorise_read(session, viewer, pupil_id, action)
    if pupil is None:
        return None
    today = today or dates.today()
    return PupilRecord(
        pupil=names.Candidate(pupil.id, pupil.first_name, pupil.last_name, _label(pupil)),
        plan=current_plan(session, pupil.id),
        timing=_timing_for(session, pupil.id, today),
    )


def agenda(
    session: Session, viewer: Viewer, days: int, today: dt.date | None = None, limit: int = AGENDA_LIMIT
) -> Agenda | None:
    """Reviews due in the next ``days`` days, overdue ones, and pupils flagged by the Code's timing.

    Staff only, or the admin command for one school (``Person("admin", None,
    school_id=...)``); None, with the refusal audited, for anyone else. Every
    pupil listed gets an audit event, and only those listed.
    """
    if not may_list_reviews(viewer) or viewer.person is None:
        refuse(session, viewer, "list_reviews", "not staff")
        return None
    person = viewer.person
    today = today or dates.today()
    school_id = person.school_id
    # One row per pupil of the school with a plan or a review: the plan's
    # agreement date, the earliest review not yet held and the last one held.
    plans = (
        select(SupportPlan.pupil_id, func.max(SupportPlan.agreed_on).label("agreed_on"))
        .join(Pupil, Pupil.id == SupportPlan.pupil_id)
        .where(Pupil.school_id == school_id, SupportPlan.status == PlanStatus.agreed)
        .group_by(SupportPlan.pupil_id)
        .subquery()
    )
    reviews = (
        select(
            Review.pupil_id,
            func.min(case((Review.held_on.is_(None), Review.scheduled_for))).label("next_booked"),
            func.max(Review.held_on).label("last_held"),
        )
        .join(Pupil, Pupil.id == Review.pupil_id)
        .where(Pupil.school_id == school_id)
        .group_by(Review.pupil_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Pupil.id, plans.c.pupil_id.label("has_plan"), plans.c.agreed_on, reviews.c.next_booked, reviews.c.last_held
        )
        .outerjoin(plans, plans.c.pupil_id == Pupil.id)
        .outerjoin(reviews, reviews.c.pupil_id == Pupil.id)
        .where(Pupil.school_id == school_id, or_(plans.c.pupil_id.isnot(None), reviews.c.next_booked.isnot(None)))
    ).all()
    horizon = today + dt.timedelta(days=days)
    due: list[tuple[dt.date, int]] = []
    overdue: list[tuple[dt.date, int]] = []
    none_booked: list[tuple[dt.date, int]] = []
    long_gap: list[tuple[dt.date, int, dt.date]] = []
    for row in rows:
        timing = review_timing(
            row.agreed_on, [row.last_held] if row.last_held else [], [row.next_booked] if row.next_booked else [], today
        )
        # ``overdue`` is only true when a review is booked, and ``long_gap`` is looked at only when one is
        # (not ``none_booked``), so the ``next_booked`` checks below never change the outcome.
        if timing.overdue and timing.next_booked is not None:
            overdue.append((timing.next_booked, row.id))
        elif timing.next_booked and timing.next_booked <= horizon:
            due.append((timing.next_booked, row.id))
        if row.has_plan is not None:
            start = timing.last_held or row.agreed_on or today
            if timing.none_booked:
                none_booked.append((start, row.id))
            elif timing.long_gap and timing.next_booked is not None:
                long_gap.append((timing.next_booked, row.id, start))
    result = Agenda(
        days=days,
        due_total=len(due),
        overdue_total=len(overdue),
        none_booked_total=len(none_booked),
        long_gap_total=len(long_gap),
    )
    # Soonest due, longest overdue, longest without a review, nearest far-off booking first.
    due, overdue, none_booked = sorted(due)[:limit], sorted(overdue)[:limit], sorted(none_booked)[:limit]
    long_gap = sorted(long_gap)[:limit]
    shown = {item[1] for part in (due, overdue, none_booked, long_gap) for item in part}
    people = (
        {
            row.id: names.Candidate(
                row.id, row.first_name, row.last_name, f"{row.first_name} {row.last_name} ({row.year_group})"
            )
            for row in session.execute(
                select(Pupil.id, Pupil.first_name, Pupil.last_name, Pupil.year_group).where(Pupil.id.in_(shown))
            )
        }
        if shown
        else {}
    )
    result.due = [(people[pupil_id], day) for day, pupil_id in due]
    result.overdue = [(people[pupil_id], day) for day, pupil_id in overdue]
    result.none_booked = [people[pupil_id] for _, pupil_id in none_booked]
    result.long_gap = [(people[pupil_id], start, booked) for booked, pupil_id, start in long_gap]
    audit_reads(session, channel=viewer.channel, actor=person, action="list_reviews", pupil_ids=sorted(shown))
    return result
