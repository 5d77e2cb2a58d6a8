"""Tables of the store.

Children's records are special-category data: every look-up or change of a
pupil's record is written to ``audit_events`` by the query layer, and chat
identities are stored only as keyed digests, never as raw channel ids.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import declarative_base, relationship

# Re-exported (the ``X as X`` form) for the store's modules, which take the enums from here with the tables.
from bot.core.vocabulary import AreaOfNeed as AreaOfNeed
from bot.core.vocabulary import LevelOfNeed as LevelOfNeed
from bot.core.vocabulary import NextStep as NextStep
from bot.core.vocabulary import PlanStatus as PlanStatus
from bot.core.vocabulary import ReviewDecision as ReviewDecision
from bot.core.vocabulary import ReviewStatus as ReviewStatus
from bot.core.vocabulary import StaffRole as StaffRole
from bot.core.vocabulary import TargetProgress as TargetProgress

# SQLAlchemy 1.4 has no type information, so the declarative base (and every column of the tables) is Any.
Base: Any = declarative_base()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class School(Base):
    __tablename__ = "schools"
    id = Column(Integer, primary_key=True)
    name = Column(String(200), nullable=False, unique=True)
    council = Column(String(40), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    staff = relationship("Staff", back_populates="school")
    pupils = relationship("Pupil", back_populates="school")


class Staff(Base):
    __tablename__ = "staff"
    id = Column(Integer, primary_key=True)
    school_id = Column(Integer, ForeignKey("schools.id"), nullable=False, index=True)
    name = Column(String(200), nullable=False)
    role = Column(Enum(StaffRole, name="staff_role"), nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    school = relationship("School", back_populates="staff")


class Pupil(Base):
    __tablename__ = "pupils"
    id = Column(Integer, primary_key=True)
    school_id = Column(Integer, ForeignKey("schools.id"), nullable=False, index=True)
    first_name = Column(String(100), nullable=False)
    last_name = Column(String(100), nullable=False)
    date_of_birth = Column(Date, nullable=False)
    year_group = Column(String(40), nullable=False)
    form = Column(String(40))
    class_teacher_id = Column(Integer, ForeignKey("staff.id"))
    created_at = Column(DateTime, nullable=False, default=utcnow)

    school = relationship("School", back_populates="pupils")
    class_teacher = relationship("Staff")
    plans = relationship("SupportPlan", back_populates="pupil", order_by="SupportPlan.version")
    reviews = relationship("Review", back_populates="pupil", order_by="Review.scheduled_for")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Parent(Base):
    __tablename__ = "parents"
    id = Column(Integer, primary_key=True)
    name = Column(String(200), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class ParentPupil(Base):
    """A parent or carer of a pupil."""

    __tablename__ = "parent_pupils"
    parent_id = Column(Integer, ForeignKey("parents.id"), primary_key=True)
    pupil_id = Column(Integer, ForeignKey("pupils.id"), primary_key=True)
    relationship_to_pupil = Column(String(60), nullable=False, default="parent")


class SupportPlan(Base):
    """One version of a pupil's SEN Support Plan, with every field of the template.

    A plan being recorded is a draft: at most one per pupil, saved answer by
    answer. ``revision`` goes up with every saved answer, so two people
    editing the same draft notice each other instead of overwriting.
    ``draft_state`` (JSON) remembers which steps have been answered and
    where the recording is.
    """

    __tablename__ = "support_plans"
    __table_args__ = (
        UniqueConstraint("pupil_id", "version", name="uq_plan_version"),
        Index(
            "uq_one_draft_per_pupil",
            "pupil_id",
            unique=True,
            sqlite_where=text("status = 'draft'"),
            postgresql_where=text("status = 'draft'"),
        ),
    )
    id = Column(Integer, primary_key=True)
    pupil_id = Column(Integer, ForeignKey("pupils.id"), nullable=False, index=True)
    version = Column(Integer, nullable=False)
    status = Column(Enum(PlanStatus, name="plan_status"), nullable=False, default=PlanStatus.draft)
    level_of_need = Column(Enum(LevelOfNeed, name="level_of_need"))
    main_area_of_need = Column(Enum(AreaOfNeed, name="area_of_need"))
    cluster_funding = Column(String(20))  # yes, no or requested
    cluster_funding_details = Column(Text)
    cluster_funding_requested_on = Column(Date)
    professionals_involved = Column(Text)
    previous_attainment = Column(Text)
    previous_progress = Column(Text)
    current_attainment = Column(Text)
    expected_attainment = Column(Text)
    current_progress = Column(Text)
    interventions = Column(Text)
    how_needs_identified = Column(Text)
    parent_new_information = Column(Text)
    strengths = Column(Text)
    finding_things_hard_when = Column(Text)
    how_i_like_support = Column(Text)
    parent_role = Column(Text)
    child_role = Column(Text)
    class_teacher_role = Column(Text)
    agreed_by_senco_name = Column(String(200))
    agreed_on = Column(Date)
    review_date = Column(Date)
    parents_notified_on = Column(Date)
    created_by_staff_id = Column(Integer, ForeignKey("staff.id"))
    updated_by_staff_id = Column(Integer, ForeignKey("staff.id"))
    revision = Column(Integer, nullable=False, default=0, server_default="0")
    draft_state = Column(Text)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    pupil = relationship("Pupil", back_populates="plans")
    targets = relationship("Target", back_populates="plan", order_by="Target.position", cascade="all, delete-orphan")


class Target(Base):
    """A row of the plan's targets table."""

    __tablename__ = "targets"
    id = Column(Integer, primary_key=True)
    plan_id = Column(Integer, ForeignKey("support_plans.id"), nullable=False, index=True)
    position = Column(Integer, nullable=False)
    difficulty = Column(Text)
    provision_who = Column(Text)
    provision_what = Column(Text)
    provision_when = Column(Text)
    provision_how_often = Column(Text)
    outcome = Column(Text)
    progress = Column(Enum(TargetProgress, name="target_progress"))
    progress_notes = Column(Text)
    next_steps = Column(Text)

    plan = relationship("SupportPlan", back_populates="targets")


class PlanEdit(Base):
    """One answer saved to a plan: the history behind "nothing typed is lost"."""

    __tablename__ = "plan_edits"
    id = Column(Integer, primary_key=True)
    plan_id = Column(Integer, ForeignKey("support_plans.id"), nullable=False, index=True)
    field = Column(String(60), nullable=False)
    target_position = Column(Integer)
    value = Column(Text)
    staff_id = Column(Integer, ForeignKey("staff.id"), nullable=False)
    channel = Column(String(40), nullable=False)
    revision = Column(Integer, nullable=False)
    at = Column(DateTime, nullable=False, default=utcnow)


class DocumentLink(Base):
    """A private link to a printable document: only the token's digest is kept, and it expires.

    ``kind`` is ``plan`` (one plan version, ``plan_id``) or ``evidence`` (the
    graduated-approach history of ``pupil_id``).
    """

    __tablename__ = "document_links"
    id = Column(Integer, primary_key=True)
    token_digest = Column(String(64), nullable=False, unique=True)
    kind = Column(String(20), nullable=False, default="plan", server_default="plan")
    plan_id = Column(Integer, ForeignKey("support_plans.id"))
    pupil_id = Column(Integer, ForeignKey("pupils.id"))
    actor_kind = Column(String(20), nullable=False)
    actor_id = Column(Integer)
    channel = Column(String(40), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    expires_at = Column(DateTime, nullable=False)


def _review_status(context: Any) -> ReviewStatus:
    """A review written with the date it was held is held; otherwise it is booked."""
    return ReviewStatus.held if context.get_current_parameters().get("held_on") else ReviewStatus.booked


class Review(Base):
    """A review meeting: booked for a date, captured as it happens, then held.

    A review being captured is ``in_progress`` (at most one per pupil), saved
    answer by answer like a plan draft: ``revision`` goes up with every saved
    answer and ``draft_state`` (JSON) remembers where the capture is.
    """

    __tablename__ = "reviews"
    __table_args__ = (
        Index(
            "uq_one_review_in_progress",
            "pupil_id",
            unique=True,
            sqlite_where=text("status = 'in_progress'"),
            postgresql_where=text("status = 'in_progress'"),
        ),
    )
    id = Column(Integer, primary_key=True)
    pupil_id = Column(Integer, ForeignKey("pupils.id"), nullable=False, index=True)
    plan_id = Column(Integer, ForeignKey("support_plans.id"))
    scheduled_for = Column(Date, nullable=False, index=True)
    status = Column(
        Enum(ReviewStatus, name="review_status"), nullable=False, default=_review_status, server_default="booked"
    )
    held_on = Column(Date)
    attendees = Column(Text)
    outcomes = Column(Text)
    parent_views = Column(Text)
    pupil_views = Column(Text)
    new_information = Column(Text)
    decision = Column(Enum(ReviewDecision, name="review_decision"))
    next_review_date = Column(Date)
    draft_state = Column(Text)
    revision = Column(Integer, nullable=False, default=0, server_default="0")
    started_by_staff_id = Column(Integer, ForeignKey("staff.id"))
    updated_by_staff_id = Column(Integer, ForeignKey("staff.id"))
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    pupil = relationship("Pupil", back_populates="reviews")
    plan = relationship("SupportPlan")
    targets = relationship(
        "ReviewTarget",
        back_populates="review",
        order_by="[ReviewTarget.kind.desc(), ReviewTarget.position]",
        cascade="all, delete-orphan",
    )
    notes = relationship("ReviewNote", back_populates="review", order_by="ReviewNote.at", cascade="all, delete-orphan")


class ReviewTarget(Base):
    """A target as the review saw it: a plan target looked back on (``reviewed``), or one set there (``new``)."""

    __tablename__ = "review_targets"
    __table_args__ = (UniqueConstraint("review_id", "kind", "position", name="uq_review_target"),)
    id = Column(Integer, primary_key=True)
    review_id = Column(Integer, ForeignKey("reviews.id"), nullable=False, index=True)
    kind = Column(String(10), nullable=False)  # reviewed or new
    position = Column(Integer, nullable=False)
    target_id = Column(Integer, ForeignKey("targets.id"))
    difficulty = Column(Text)
    outcome = Column(Text)
    achieved = Column(Enum(TargetProgress, name="target_progress"))
    evidence = Column(Text)
    next_step = Column(Enum(NextStep, name="next_step"))
    provision_who = Column(Text)
    provision_what = Column(Text)
    provision_when = Column(Text)
    provision_how_often = Column(Text)

    review = relationship("Review", back_populates="targets")


class ReviewNote(Base):
    """A quick note typed during a review meeting ("note: mum says sleep has improved")."""

    __tablename__ = "review_notes"
    id = Column(Integer, primary_key=True)
    review_id = Column(Integer, ForeignKey("reviews.id"), nullable=False, index=True)
    staff_id = Column(Integer, ForeignKey("staff.id"), nullable=False)
    channel = Column(String(40), nullable=False)
    text = Column(Text, nullable=False)
    at = Column(DateTime, nullable=False, default=utcnow)

    review = relationship("Review", back_populates="notes")


class ReviewEdit(Base):
    """One answer saved to a review being captured, as ``plan_edits`` is for plans."""

    __tablename__ = "review_edits"
    id = Column(Integer, primary_key=True)
    review_id = Column(Integer, ForeignKey("reviews.id"), nullable=False, index=True)
    field = Column(String(60), nullable=False)
    kind = Column(String(10))
    position = Column(Integer)
    value = Column(Text)
    staff_id = Column(Integer, ForeignKey("staff.id"), nullable=False)
    channel = Column(String(40), nullable=False)
    revision = Column(Integer, nullable=False)
    at = Column(DateTime, nullable=False, default=utcnow)


class Reminder(Base):
    """A reminder to one member of staff about one review: at most one per review and person.

    The unique constraint makes that hold however many processes look for due
    reviews at once; a sender claims a reminder (``claimed_by``) before
    sending it, so two senders never both deliver it.
    """

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("review_id", "staff_id", name="uq_one_reminder"),)
    id = Column(Integer, primary_key=True)
    review_id = Column(Integer, ForeignKey("reviews.id"), nullable=False)
    staff_id = Column(Integer, ForeignKey("staff.id"), nullable=False, index=True)
    kind = Column(String(20), nullable=False)  # due_soon or overdue
    due_on = Column(Date, nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    claimed_by = Column(String(64))
    claimed_at = Column(DateTime)
    delivered_at = Column(DateTime)
    delivered_channel = Column(String(40))


class ChatIdentity(Base):
    """A chat user on one channel, linked to a member of staff or a parent.

    ``identity_digest`` is a keyed hash of the channel's user id, so the
    store never holds a raw Telegram id or web session id.
    """

    __tablename__ = "chat_identities"
    __table_args__ = (
        UniqueConstraint("channel", "identity_digest", name="uq_chat_identity"),
        CheckConstraint("(staff_id IS NULL) <> (parent_id IS NULL)", name="ck_identity_one_person"),
    )
    id = Column(Integer, primary_key=True)
    channel = Column(String(40), nullable=False)
    identity_digest = Column(String(64), nullable=False)
    staff_id = Column(Integer, ForeignKey("staff.id"))
    parent_id = Column(Integer, ForeignKey("parents.id"))
    linked_at = Column(DateTime, nullable=False, default=utcnow)
    # Kept to the day: a link unused for ``settings.link_idle_days()`` ends, and the chat must link again.
    last_used_at = Column(DateTime, nullable=False, default=utcnow)
    # Staff only, on channels that can send unprompted (Telegram): the chat
    # address, encrypted with a key derived from the identity key.
    push_address = Column(Text)


class LinkCode(Base):
    """A one-time code: links staff to their chat identity, or a parent to one pupil."""

    __tablename__ = "link_codes"
    __table_args__ = (CheckConstraint("(staff_id IS NULL) <> (parent_id IS NULL)", name="ck_code_one_person"),)
    id = Column(Integer, primary_key=True)
    code_digest = Column(String(64), nullable=False, unique=True)
    staff_id = Column(Integer, ForeignKey("staff.id"))
    parent_id = Column(Integer, ForeignKey("parents.id"))
    pupil_id = Column(Integer, ForeignKey("pupils.id"))
    created_at = Column(DateTime, nullable=False, default=utcnow)
    expires_at = Column(DateTime, nullable=False)
    used_at = Column(DateTime)


class CodeAttempt(Base):
    """A wrong code typed by a chat identity, for throttling guesses."""

    __tablename__ = "code_attempts"
    id = Column(Integer, primary_key=True)
    channel = Column(String(40), nullable=False)
    identity_digest = Column(String(64), nullable=False, index=True)
    attempted_at = Column(DateTime, nullable=False, default=utcnow, index=True)


class AuditEvent(Base):
    """Who read or changed what, when and through which channel."""

    __tablename__ = "audit_events"
    id = Column(Integer, primary_key=True)
    at = Column(DateTime, nullable=False, default=utcnow, index=True)
    channel = Column(String(40), nullable=False)
    actor_kind = Column(String(20), nullable=False)  # staff, parent, unlinked, admin
    actor_id = Column(Integer)
    action = Column(String(60), nullable=False)
    pupil_id = Column(Integer, ForeignKey("pupils.id"), index=True)
    allowed = Column(Boolean, nullable=False)
    detail = Column(Text)
