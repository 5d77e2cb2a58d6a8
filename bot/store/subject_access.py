"""Subject access and erasure (UK GDPR articles 15 and 17): everything held about a pupil or a parent.

``pupil_export`` and ``parent_export`` gather what the store holds about one
person as plain JSON-able data (dates as ISO strings); ``erase_pupil``
deletes a pupil's records. Both are done by an administrator
(``bot/ops/admin.py``) and audited.

Secrets the store keeps so that access works are never exported: code and
token digests, chat identity digests (a chat appears only as a fingerprint of
its digest, enough to tell chats apart) and staff chat addresses.

Erasure keeps the audit trail, which records that access happened, but
clears what each event said. The audit trail's pupil column is a foreign key
to the pupil, so events about an erased pupil lose it and say instead
``erased pupil N``, as does the event recording the erasure.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, func, inspect, or_, select, update
from sqlalchemy.orm import Session

from bot.store.access import ADMIN, PersonKind, audit
from bot.store.models import (
    AuditEvent,
    ChatIdentity,
    DocumentLink,
    LinkCode,
    Parent,
    ParentPupil,
    PlanEdit,
    Pupil,
    Reminder,
    Review,
    ReviewEdit,
    ReviewNote,
    ReviewTarget,
    Staff,
    SupportPlan,
    Target,
    utcnow,
)

Record = dict[str, Any]


def erased_marker(pupil_id: int) -> str:
    """What an audit event about an erased pupil says instead of its detail."""
    return f"erased pupil {pupil_id}"


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _columns(row: Any, leave_out: Iterable[str] = ()) -> Record:
    """Every column of a row of the pupil's own records, as plain values."""
    skipped = set(leave_out)
    return {
        attribute.key: _plain(getattr(row, attribute.key))
        for attribute in inspect(type(row)).column_attrs
        if attribute.key not in skipped
    }


def _all(session: Session, query: Any) -> list[Any]:
    return list(session.execute(query).scalars().all())


def _pupil(session: Session, pupil_id: int) -> Pupil:
    pupil: Pupil | None = session.get(Pupil, pupil_id)
    if pupil is None:
        raise LookupError(f"There is no pupil with id {pupil_id}.")
    return pupil


# Access rows are exported by a list of what may be shown, not by leaving out what may not:
# a secret column added to them later stays out of exports.


def _chat(row: ChatIdentity) -> Record:
    holder = {"kind": PersonKind.staff.value, "id": row.staff_id}
    if row.parent_id is not None:
        holder = {"kind": PersonKind.parent.value, "id": row.parent_id}
    return {
        "id": row.id,
        "channel": row.channel,
        "held_by": holder,
        # A fingerprint of the stored digest, not the digest the store looks chats up by.
        "digest": hashlib.sha256(f"subject-access:{row.identity_digest}".encode()).hexdigest()[:16],
        "linked_at": _plain(row.linked_at),
        "last_used_at": _plain(row.last_used_at),
    }


def _code(row: LinkCode) -> Record:
    return {
        "id": row.id,
        "parent_id": row.parent_id,
        "pupil_id": row.pupil_id,
        "created_at": _plain(row.created_at),
        "expires_at": _plain(row.expires_at),
        "used_at": _plain(row.used_at),
    }


def _document_link(row: DocumentLink) -> Record:
    return {
        "id": row.id,
        "kind": row.kind,
        "plan_id": row.plan_id,
        "pupil_id": row.pupil_id,
        "held_by": {"kind": row.actor_kind, "id": row.actor_id},
        "channel": row.channel,
        "created_at": _plain(row.created_at),
        "expires_at": _plain(row.expires_at),
    }


def _reminder(row: Reminder) -> Record:
    # ``claimed_by`` names the sending process, not anything about the pupil.
    return _columns(row, leave_out=("claimed_by",))


def _staff_named(session: Session, records: Any) -> list[Record]:
    """The staff an export refers to by id, with their names and roles, so a reader can tell who did what."""
    ids: set[int] = set()

    def walk(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for key, item in value.items():
                if (key.endswith("staff_id") or key == "class_teacher_id") and isinstance(item, int):
                    ids.add(item)
                walk(item)
            for kind, number in (("kind", "id"), ("actor_kind", "actor_id")):
                if value.get(kind) == PersonKind.staff.value and isinstance(value.get(number), int):
                    ids.add(value[number])

    walk(records)
    rows = _all(session, select(Staff).where(Staff.id.in_(sorted(ids))).order_by(Staff.id))
    return [{"id": row.id, "name": row.name, "role": _plain(row.role)} for row in rows]


def pupil_export(session: Session, pupil_id: int) -> Record:
    """Everything held about one pupil, as JSON-able data; the export is audited."""
    pupil = _pupil(session, pupil_id)
    record = _columns(pupil)
    record["school"] = pupil.school.name
    record["class_teacher"] = pupil.class_teacher.name if pupil.class_teacher else None

    plans = _all(session, select(SupportPlan).where(SupportPlan.pupil_id == pupil_id).order_by(SupportPlan.version))
    plan_ids = [plan.id for plan in plans]
    plan_records = []
    for plan in plans:
        targets = _all(session, select(Target).where(Target.plan_id == plan.id).order_by(Target.position))
        edits = _all(session, select(PlanEdit).where(PlanEdit.plan_id == plan.id).order_by(PlanEdit.id))
        plan_records.append(
            {**_columns(plan), "targets": [_columns(t) for t in targets], "edits": [_columns(e) for e in edits]}
        )

    reviews = _all(session, select(Review).where(Review.pupil_id == pupil_id).order_by(Review.scheduled_for, Review.id))
    review_ids = [review.id for review in reviews]
    review_records = []
    for review in reviews:
        parts = {
            "targets": select(ReviewTarget)
            .where(ReviewTarget.review_id == review.id)
            .order_by(ReviewTarget.kind.desc(), ReviewTarget.position),
            "notes": select(ReviewNote).where(ReviewNote.review_id == review.id).order_by(ReviewNote.at, ReviewNote.id),
            "edits": select(ReviewEdit).where(ReviewEdit.review_id == review.id).order_by(ReviewEdit.id),
        }
        review_records.append(
            {**_columns(review), **{name: [_columns(row) for row in _all(session, q)] for name, q in parts.items()}}
        )

    reminders = _all(session, select(Reminder).where(Reminder.review_id.in_(review_ids)).order_by(Reminder.id))
    links = _all(
        session,
        select(DocumentLink)
        .where(or_(DocumentLink.pupil_id == pupil_id, DocumentLink.plan_id.in_(plan_ids)))
        .order_by(DocumentLink.id),
    )
    parents = session.execute(
        select(Parent, ParentPupil.relationship_to_pupil)
        .join(ParentPupil, ParentPupil.parent_id == Parent.id)
        .where(ParentPupil.pupil_id == pupil_id)
        .order_by(Parent.id)
    ).all()
    # The chats that can see the pupil, as ``accounts.pupil_chats`` finds them: parents' and the school's staff's.
    parent_ids = select(ParentPupil.parent_id).where(ParentPupil.pupil_id == pupil_id)
    staff_ids = select(Staff.id).where(Staff.school_id == pupil.school_id, Staff.active.is_(True))
    chats = _all(
        session,
        select(ChatIdentity)
        .where(or_(ChatIdentity.parent_id.in_(parent_ids), ChatIdentity.staff_id.in_(staff_ids)))
        .order_by(ChatIdentity.id),
    )
    codes = _all(session, select(LinkCode).where(LinkCode.pupil_id == pupil_id).order_by(LinkCode.id))
    events = _all(session, select(AuditEvent).where(AuditEvent.pupil_id == pupil_id).order_by(AuditEvent.id))

    export: Record = {
        "generated_at": _plain(utcnow()),
        "pupil_id": pupil_id,
        "pupil": record,
        "plans": plan_records,
        "reviews": review_records,
        "reminders": [_reminder(row) for row in reminders],
        "document_links": [_document_link(row) for row in links],
        "parents": [
            {"parent_id": parent.id, "name": parent.name, "relationship": relationship}
            for parent, relationship in parents
        ],
        "chats": [_chat(row) for row in chats],
        "codes": [_code(row) for row in codes],
        "audit_events": [_columns(row) for row in events],
    }
    export["staff_named"] = _staff_named(session, export)
    audit(session, channel="admin", actor=ADMIN, action="export_pupil", allowed=True, pupil_id=pupil_id)
    return export


def parent_export(session: Session, parent_id: int) -> Record:
    """What is held about one parent: their record, children, chats, codes, links and what they did; audited."""
    parent: Parent | None = session.get(Parent, parent_id)
    if parent is None:
        raise LookupError(f"There is no parent with id {parent_id}.")
    children = session.execute(
        select(Pupil.id, Pupil.first_name, Pupil.last_name, ParentPupil.relationship_to_pupil)
        .join(ParentPupil, ParentPupil.pupil_id == Pupil.id)
        .where(ParentPupil.parent_id == parent_id)
        .order_by(Pupil.id)
    ).all()
    chats = _all(session, select(ChatIdentity).where(ChatIdentity.parent_id == parent_id).order_by(ChatIdentity.id))
    codes = _all(session, select(LinkCode).where(LinkCode.parent_id == parent_id).order_by(LinkCode.id))
    links = _all(
        session,
        select(DocumentLink)
        .where(DocumentLink.actor_kind == PersonKind.parent.value, DocumentLink.actor_id == parent_id)
        .order_by(DocumentLink.id),
    )
    events = _all(
        session,
        select(AuditEvent)
        .where(AuditEvent.actor_kind == PersonKind.parent.value, AuditEvent.actor_id == parent_id)
        .order_by(AuditEvent.id),
    )
    export: Record = {
        "generated_at": _plain(utcnow()),
        "parent_id": parent_id,
        "parent": _columns(parent),
        "children": [
            {"pupil_id": pupil, "first_name": first, "last_name": last, "relationship": relationship}
            for pupil, first, last, relationship in children
        ],
        "chats": [_chat(row) for row in chats],
        "codes": [_code(row) for row in codes],
        "document_links": [_document_link(row) for row in links],
        "audit_events": [_columns(row) for row in events],
    }
    audit(session, channel="admin", actor=ADMIN, action="export_parent", allowed=True, detail=f"parent {parent_id}")
    return export


# Erasure ---------------------------------------------------------------------------------------


def _ids(session: Session, query: Any) -> list[int]:
    return [int(value) for value in session.execute(query).scalars()]


def _erasure(session: Session, pupil_id: int) -> list[tuple[Any, Any]]:
    """What erasing the pupil deletes, table by table, in an order the foreign keys allow: rows that refer first."""
    _pupil(session, pupil_id)
    plans = _ids(session, select(SupportPlan.id).where(SupportPlan.pupil_id == pupil_id))
    reviews = _ids(session, select(Review.id).where(Review.pupil_id == pupil_id))
    other_children = select(ParentPupil.parent_id).where(ParentPupil.pupil_id != pupil_id)
    # A parent with no child left to see has nothing to link a chat for (as ``accounts.end_parent_access``).
    left_childless = _ids(
        session,
        select(ParentPupil.parent_id).where(
            ParentPupil.pupil_id == pupil_id, ParentPupil.parent_id.not_in(other_children)
        ),
    )
    return [
        (Reminder, Reminder.review_id.in_(reviews)),
        (ReviewNote, ReviewNote.review_id.in_(reviews)),
        (ReviewEdit, ReviewEdit.review_id.in_(reviews)),
        (ReviewTarget, ReviewTarget.review_id.in_(reviews)),
        (Review, Review.id.in_(reviews)),
        (PlanEdit, PlanEdit.plan_id.in_(plans)),
        (Target, Target.plan_id.in_(plans)),
        (DocumentLink, or_(DocumentLink.pupil_id == pupil_id, DocumentLink.plan_id.in_(plans))),
        (SupportPlan, SupportPlan.id.in_(plans)),
        # Used codes too: each still names the pupil.
        (LinkCode, LinkCode.pupil_id == pupil_id),
        (ParentPupil, ParentPupil.pupil_id == pupil_id),
        (ChatIdentity, ChatIdentity.parent_id.in_(left_childless)),
        (Pupil, Pupil.id == pupil_id),
    ]


def erasure_counts(session: Session, pupil_id: int) -> dict[str, int]:
    """How many rows of each table erasing the pupil would delete; nothing is changed."""
    return {
        model.__tablename__: int(session.execute(select(func.count()).select_from(model).where(condition)).scalar_one())
        for model, condition in _erasure(session, pupil_id)
    }


def erase_pupil(session: Session, pupil_id: int) -> dict[str, int]:
    """Delete everything held about the pupil; rows deleted per table. The audit trail is kept, its details cleared."""
    session.flush()
    # On PostgreSQL, rows being added for the pupil meanwhile wait on this lock, then fail on the foreign key.
    session.execute(select(Pupil.id).where(Pupil.id == pupil_id).with_for_update())
    counts: dict[str, int] = {}
    for model, condition in _erasure(session, pupil_id):
        if model is Pupil:
            session.execute(
                update(AuditEvent)
                .where(AuditEvent.pupil_id == pupil_id)
                .values(pupil_id=None, detail=erased_marker(pupil_id))
                .execution_options(synchronize_session="fetch")
            )
        result = session.execute(delete(model).where(condition).execution_options(synchronize_session="fetch"))
        counts[model.__tablename__] = int(result.rowcount or 0)
    deleted = ", ".join(f"{table} {count}" for table, count in counts.items() if count)
    audit(
        session,
        channel="admin",
        actor=ADMIN,
        action="erase_pupil",
        allowed=True,
        detail=f"{erased_marker(pupil_id)}: {deleted}",
    )
    session.flush()
    return counts
