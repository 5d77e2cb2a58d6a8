"""Who may see and change a pupil's record, and the audit of every attempt.

This module is the one place that answers "who may see this pupil's record?".
Every other part of the store asks it, on every call, and never caches the
answer:

- a member of staff, while their account is active, may see and change the
  records of the pupils at their own school, and list that school's reviews;
- a parent or carer may see the records of the children their access codes
  linked them to, and of a plan only the agreed version;
- the admin command, acting for one school, may list that school's reviews;
- anyone else (a chat user who has not linked) may see no pupil's record.

Each read of a pupil's record, each change and each refusal is written to the
audit trail in the caller's transaction, so a refusal is kept even when the
caller goes on to roll back nothing else.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, insert, select
from sqlalchemy.orm import Session

from bot.store.models import AuditEvent, ParentPupil, PlanStatus, Pupil, Staff, SupportPlan, utcnow


class PersonKind(str, enum.Enum):
    staff = "staff"
    parent = "parent"
    admin = "admin"  # the admin command


@dataclass(frozen=True)
class Person:
    """Who a linked chat user (or the admin command) is, with the access they have now."""

    kind: str  # a PersonKind value
    id: int | None
    school_id: int | None = None
    pupil_ids: tuple[int, ...] = ()


ADMIN = Person(kind=PersonKind.admin.value, id=None)


@dataclass(frozen=True)
class Viewer:
    """The person asking (or nobody) and the channel they asked on, as the audit records it."""

    person: Person | None
    channel: str

    @property
    def is_staff(self) -> bool:
        return self.person is not None and self.person.kind == PersonKind.staff.value

    @property
    def is_parent(self) -> bool:
        return self.person is not None and self.person.kind == PersonKind.parent.value


class NotAllowed(Exception):
    """The person may not change this record (the refusal is already audited)."""


def audit(
    session: Session,
    *,
    channel: str,
    actor: Person | None,
    action: str,
    allowed: bool,
    pupil_id: int | None = None,
    detail: str | None = None,
) -> None:
    """Record a read or change of a pupil's record, or an attempt at one."""
    session.add(
        AuditEvent(
            channel=channel,
            actor_kind=actor.kind if actor else "unlinked",
            actor_id=actor.id if actor else None,
            action=action,
            pupil_id=pupil_id,
            allowed=allowed,
            detail=detail,
        )
    )


def audit_reads(session: Session, *, channel: str, actor: Person, action: str, pupil_ids: Iterable[int]) -> None:
    """Record that one person saw several pupils' records, as one event per pupil, in one statement."""
    rows = [
        {
            "at": utcnow(),
            "channel": channel,
            "actor_kind": actor.kind,
            "actor_id": actor.id,
            "action": action,
            "pupil_id": pupil_id,
            "allowed": True,
            "detail": None,
        }
        for pupil_id in pupil_ids
    ]
    if rows:
        session.execute(insert(AuditEvent), rows)


def refuse(session: Session, viewer: Viewer, action: str, detail: str) -> None:
    """Audit a refused attempt to read or change a record."""
    audit(session, channel=viewer.channel, actor=viewer.person, action=action, allowed=False, detail=detail)


def staff_person(session: Session, staff_id: int) -> Person | None:
    """A member of staff as a person with access, or None when their account has ended."""
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.active:
        return None
    return Person(kind=PersonKind.staff.value, id=staff.id, school_id=staff.school_id)


def parent_person(session: Session, parent_id: int) -> Person:
    """A parent as a person with access to the children they are linked to today."""
    pupils = (
        session.execute(
            select(ParentPupil.pupil_id).where(ParentPupil.parent_id == parent_id).order_by(ParentPupil.pupil_id)
        )
        .scalars()
        .all()
    )
    return Person(kind=PersonKind.parent.value, id=parent_id, pupil_ids=tuple(pupils))


def person_now(session: Session, kind: str, person_id: int | None) -> Person | None:
    """The access a person recorded earlier (for example on a document link) has today."""
    if person_id is None:
        return None
    if kind == PersonKind.staff.value:
        return staff_person(session, person_id)
    if kind == PersonKind.parent.value:
        return parent_person(session, person_id)
    return None


def visible_pupils(person: Person | None) -> Any:
    """The SQL condition on ``Pupil`` for the pupils this person may see, or None for nobody."""
    if person is None:
        return None
    if person.kind == PersonKind.staff.value:
        return Pupil.school_id == person.school_id
    if person.kind == PersonKind.parent.value and person.pupil_ids:
        return Pupil.id.in_(person.pupil_ids)
    return None


def may_see_pupil(session: Session, person: Person | None, pupil_id: int) -> bool:
    """Whether this person may see the pupil's record (checked, not audited)."""
    condition = visible_pupils(person)
    if condition is None:
        return False
    return session.execute(select(Pupil.id).where(and_(Pupil.id == pupil_id, condition))).first() is not None


def authorise_read(session: Session, viewer: Viewer, pupil_id: int, action: str) -> Pupil | None:
    """The pupil if the viewer may see them, else None; the read or the refusal is audited."""
    condition = visible_pupils(viewer.person)
    pupil: Pupil | None = None
    if condition is not None:
        pupil = session.execute(select(Pupil).where(and_(Pupil.id == pupil_id, condition))).scalar_one_or_none()
    if pupil is None:
        refuse(session, viewer, action, "pupil outside the viewer's records")
        return None
    audit(session, channel=viewer.channel, actor=viewer.person, action=action, allowed=True, pupil_id=pupil_id)
    return pupil


def authorise_change(session: Session, viewer: Viewer, pupil_id: int, action: str) -> Pupil:
    """The pupil, if the viewer is staff of the pupil's school; otherwise the refusal is audited and ``NotAllowed``.

    Only staff record plans and reviews. The change itself is audited by the
    caller, with what changed.
    """
    person = viewer.person
    pupil: Pupil | None = session.get(Pupil, pupil_id)
    if person is None or person.kind != PersonKind.staff.value or pupil is None or pupil.school_id != person.school_id:
        refuse(session, viewer, action, "plans are recorded by staff of the pupil's school")
        raise NotAllowed(action)
    return pupil


def may_have_plan(session: Session, person: Person | None, plan: SupportPlan) -> bool:
    """Whether this person may have a copy of this plan version: any version for staff, the agreed one for a parent."""
    if person is None or not may_see_pupil(session, person, plan.pupil_id):
        return False
    return person.kind == PersonKind.staff.value or plan.status == PlanStatus.agreed


def may_list_reviews(viewer: Viewer) -> bool:
    """Whether the viewer may see a school's list of reviews: its staff, or the admin command for that school."""
    person = viewer.person
    if person is None or person.school_id is None:
        return False
    return person.kind in (PersonKind.staff.value, PersonKind.admin.value)
