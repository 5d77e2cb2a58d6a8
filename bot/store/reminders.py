"""Reminders to staff about reviews due soon or overdue: at most one per review and person.

``sweep`` makes the reminders: for every review not yet held that falls due
within the horizon (overdue ones included), one for each active SENCO of the
pupil's school and for the pupil's class teacher. It inserts with ON CONFLICT
DO NOTHING against the unique (review, staff) constraint, so sweeps running
at once in several processes never make two.

Delivering is claim, send, mark: ``claim`` takes reminders nobody holds with a
conditional UPDATE (only one process's UPDATE can match a row), the caller
sends them and then calls ``delivered``, or ``release`` after a failed send so
that they are tried again. A claim left by a process that died is taken over
after ``CLAIM_TIMEOUT``. ``for_visit`` claims and delivers in one step, for
showing reminders at the start of a chat.

Each delivered reminder names a pupil to a member of staff of their school,
so it is audited as a read ("remind_review").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import String, and_, case, exists, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.expression import ColumnElement, Insert, Select
from sqlalchemy.types import DateTime

from bot.core import dates
from bot.store import push
from bot.store.access import Person, audit
from bot.store.models import ChatIdentity, Pupil, Reminder, Review, ReviewStatus, Staff, StaffRole, utcnow

DEFAULT_HORIZON_DAYS = 7
CLAIM_TIMEOUT = dt.timedelta(minutes=10)
NOT_HELD = (ReviewStatus.booked, ReviewStatus.in_progress)
AUDIT_ACTION = "remind_review"


@dataclass(frozen=True)
class Due:
    """A reminder claimed for delivery, with what its message needs."""

    reminder_id: int
    staff_id: int
    school_id: int
    pupil_id: int
    pupil_name: str
    due_on: dt.date
    address: str | None = None  # the chat to push to, for channels that can send first


def _insert(session: Session) -> Insert:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(Reminder.__table__)
    if dialect == "sqlite":
        return sqlite.insert(Reminder.__table__)
    raise NotImplementedError(f"reminders need PostgreSQL or SQLite, not {dialect}")


def sweep(
    session: Session,
    today: dt.date | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    school_id: int | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Make the missing reminders for reviews due within ``horizon_days`` or overdue; how many were made.

    One INSERT ... SELECT finds each (review, recipient) pair without a
    reminder and inserts it; a pair another process inserted meanwhile is
    skipped by ON CONFLICT DO NOTHING.
    """
    today = today or dates.today()
    horizon = today + dt.timedelta(days=horizon_days)
    recipient = and_(
        Staff.school_id == Pupil.school_id,
        Staff.active.is_(True),
        or_(Staff.role == StaffRole.senco, Staff.id == Pupil.class_teacher_id),
    )
    pairs = (
        select(
            Review.id,
            Staff.id,
            case((Review.scheduled_for < today, literal("overdue", String)), else_=literal("due_soon", String)),
            Review.scheduled_for,
            literal(now or utcnow(), DateTime),
        )
        .join(Pupil, Pupil.id == Review.pupil_id)
        .join(Staff, recipient)
        .where(
            Review.status.in_(NOT_HELD),
            Review.held_on.is_(None),
            Review.scheduled_for <= horizon,
            ~exists().where(Reminder.review_id == Review.id, Reminder.staff_id == Staff.id),
        )
    )
    if school_id is not None:
        pairs = pairs.where(Pupil.school_id == school_id)
    # Inserting in one order everywhere: two sweeps waiting on each other's rows never deadlock.
    pairs = pairs.order_by(Review.id, Staff.id)
    statement = (
        _insert(session)
        .from_select(["review_id", "staff_id", "kind", "due_on", "created_at"], pairs)
        .on_conflict_do_nothing(index_elements=["review_id", "staff_id"])
    )
    return max(0, session.execute(statement).rowcount or 0)


def _free(now: dt.datetime) -> ColumnElement:
    """Not delivered, and held by nobody (or by a claim old enough to be taken over)."""
    return and_(
        Reminder.delivered_at.is_(None),
        or_(Reminder.claimed_at.is_(None), Reminder.claimed_at < now - CLAIM_TIMEOUT),
    )


def _deliverable(now: dt.datetime) -> Select:
    return (
        select(
            Reminder.id,
            Reminder.staff_id,
            Staff.school_id,
            Pupil.id.label("pupil_id"),
            Pupil.first_name,
            Pupil.last_name,
            Review.scheduled_for,
        )
        .join(Review, Review.id == Reminder.review_id)
        .join(Pupil, Pupil.id == Review.pupil_id)
        .join(Staff, Staff.id == Reminder.staff_id)
        .where(_free(now), Review.status.in_(NOT_HELD), Review.held_on.is_(None), Staff.active.is_(True))
        .order_by(Review.scheduled_for, Reminder.id)
    )


def _take(session: Session, reminder_id: int, now: dt.datetime, **values: object) -> bool:
    """Claim one reminder if nobody holds it: True if this caller now does."""
    result = session.execute(
        update(Reminder)
        .where(Reminder.id == reminder_id, _free(now))
        .values(claimed_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    rowcount: int = result.rowcount
    return rowcount == 1


def _due(row: Row, address: str | None = None) -> Due:
    return Due(
        reminder_id=row.id,
        staff_id=row.staff_id,
        school_id=row.school_id,
        pupil_id=row.pupil_id,
        pupil_name=f"{row.first_name} {row.last_name}",
        due_on=row.scheduled_for,
        address=address,
    )


def claim(session: Session, worker: str, channel: str, limit: int = 50, now: dt.datetime | None = None) -> list[Due]:
    """Claim up to ``limit`` reminders to deliver on ``channel``, for ``worker``.

    On a channel that can send first (Telegram) only reminders whose staff
    have a push address there are taken, each with its (decrypted) address.
    Commit soon after, send, then mark each ``delivered`` or ``release`` it.
    """
    now = now or utcnow()
    query = _deliverable(now)
    if channel in push.PUSH_CHANNELS:
        linked = aliased(ChatIdentity)
        latest = (
            select(func.max(linked.id))
            .where(linked.staff_id == Reminder.staff_id, linked.channel == channel, linked.push_address.isnot(None))
            .correlate(Reminder)
            .scalar_subquery()
        )
        query = query.add_columns(ChatIdentity.push_address).join(ChatIdentity, ChatIdentity.id == latest)
    rows = session.execute(query.limit(limit)).all()
    claimed = []
    for row in rows:
        address = None
        if channel in push.PUSH_CHANNELS:
            address = push.unseal(row.push_address)
            if address is None:  # sealed with another identity key: cannot be sent
                continue
        if _take(session, row.id, now, claimed_by=worker[:64]):
            claimed.append(_due(row, address))
    return claimed


def delivered(session: Session, reminder_id: int, channel: str, now: dt.datetime | None = None) -> bool:
    """Mark a claimed reminder delivered on ``channel`` and audit the read; False if it already was."""
    now = now or utcnow()
    result = session.execute(
        update(Reminder)
        .where(Reminder.id == reminder_id, Reminder.delivered_at.is_(None))
        .values(delivered_at=now, delivered_channel=channel)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    row = session.execute(
        select(Reminder.staff_id, Staff.school_id, Review.pupil_id)
        .join(Staff, Staff.id == Reminder.staff_id)
        .join(Review, Review.id == Reminder.review_id)
        .where(Reminder.id == reminder_id)
    ).one()
    _audit(session, row.staff_id, row.school_id, row.pupil_id, channel)
    return True


def release(session: Session, reminder_id: int) -> None:
    """Give back a claimed reminder that could not be sent, so that it is tried again."""
    session.execute(
        update(Reminder)
        .where(Reminder.id == reminder_id, Reminder.delivered_at.is_(None))
        .values(claimed_by=None, claimed_at=None)
        .execution_options(synchronize_session=False)
    )


def _audit(session: Session, staff_id: int, school_id: int, pupil_id: int, channel: str) -> None:
    audit(
        session,
        channel=channel,
        actor=Person(kind="staff", id=staff_id, school_id=school_id),
        action=AUDIT_ACTION,
        allowed=True,
        pupil_id=pupil_id,
    )


def for_visit(session: Session, staff_id: int, channel: str, now: dt.datetime | None = None) -> list[Due]:
    """This member of staff's reminders not yet delivered anywhere, marked delivered on ``channel``.

    For the start of a chat on a channel that cannot send first (the web):
    each reminder is claimed and marked in one conditional UPDATE, so one
    being pushed on Telegram at that moment, or shown in another chat, is not
    shown here too. Overdue and soonest first.
    """
    now = now or utcnow()
    rows = session.execute(_deliverable(now).where(Reminder.staff_id == staff_id)).all()
    taken = []
    for row in rows:
        if _take(session, row.id, now, claimed_by=f"visit:{channel}"[:64], delivered_at=now, delivered_channel=channel):
            taken.append(_due(row))
            _audit(session, row.staff_id, row.school_id, row.pupil_id, channel)
    return taken


def pending_count(session: Session, school_id: int | None = None) -> int:
    """How many reminders are still to be delivered (for the digest and the schedule's log)."""
    query = select(func.count(Reminder.id)).where(Reminder.delivered_at.is_(None))
    if school_id is not None:
        query = query.join(Staff, Staff.id == Reminder.staff_id).where(Staff.school_id == school_id)
    count: int = session.execute(query).scalar_one()
    return count


def on_visit(session: Session, person: Person | None, channel: str) -> list[Due]:
    """A linked member of staff's reminders not yet delivered, when they come to the chat; anyone else has none.

    The school's due reviews are swept first, so a reminder never waits for
    the schedule's next round.
    """
    if person is None or person.kind != "staff" or person.id is None:
        return []
    sweep(session, school_id=person.school_id)
    return for_visit(session, person.id, channel)
