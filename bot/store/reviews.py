"""Review meetings captured by chat, saved answer by answer, and what they decided.

Starting a pupil's review takes the earliest one booked (or books one for
today) and marks it in progress: at most one per pupil, resumed from any
device. It looks back on the targets of the pupil's current plan. Answers
are saved by the engine reviews share with plan drafts
(``bot.store.revisions``), so two members of staff never overwrite each
other's answers silently. Only staff of the pupil's school may capture a
review; a pupil's parents may read the reviews held (``bot.store.access``).

Finishing the review records it as held, writes each target's progress and
next step to the plan, and books the next review.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.core import dates, wording
from bot.store import revisions
from bot.store.access import NotAllowed, Viewer, audit, authorise_change, authorise_read
from bot.store.models import (
    NextStep,
    Pupil,
    Review,
    ReviewDecision,
    ReviewEdit,
    ReviewNote,
    ReviewStatus,
    ReviewTarget,
    Target,
    TargetProgress,
)
from bot.store.records import current_plan
from bot.store.revisions import AnswerSheet, SaveResult, load_state, save_answers

REVIEW_FIELDS = (
    "held_on",
    "attendees",
    "parent_views",
    "pupil_views",
    "new_information",
    "decision",
    "next_review_date",
)
TARGET_FIELDS = {
    "reviewed": (
        "achieved",
        "evidence",
        "next_step",
        "provision_who",
        "provision_what",
        "provision_when",
        "provision_how_often",
    ),
    "new": ("difficulty", "outcome", "provision_who", "provision_what", "provision_when", "provision_how_often"),
}
ENUMS: dict[str, type[enum.Enum]] = {"decision": ReviewDecision, "achieved": TargetProgress, "next_step": NextStep}
DATES = frozenset({"held_on", "next_review_date"})


@dataclass
class ReviewDraft:
    """What the conversation needs to know about a review being captured."""

    review_id: int
    pupil_id: int
    pupil_name: str
    revision: int
    state: dict[str, Any]
    resumed: bool
    scheduled_for: dt.date


def _in_progress(session: Session, pupil_id: int) -> Review | None:
    review: Review | None = session.execute(
        select(Review).where(Review.pupil_id == pupil_id, Review.status == ReviewStatus.in_progress)
    ).scalar_one_or_none()
    return review


def open_review(session: Session, viewer: Viewer, pupil_id: int, today: dt.date | None = None) -> ReviewDraft:
    """The pupil's review in progress, or the next one booked (or a new one for today), now in progress."""
    pupil = authorise_change(session, viewer, pupil_id, "open_review")
    assert viewer.person is not None, "authorise_change lets only staff through"
    me = viewer.person.id
    existing = _in_progress(session, pupil_id)
    if existing is not None:
        audit(
            session,
            channel=viewer.channel,
            actor=viewer.person,
            action="open_review",
            allowed=True,
            pupil_id=pupil_id,
            detail="resumed",
        )
        return ReviewDraft(
            existing.id,
            pupil.id,
            pupil.first_name,
            existing.revision,
            load_state(existing),
            True,
            existing.scheduled_for,
        )
    review = session.execute(
        select(Review)
        .where(Review.pupil_id == pupil_id, Review.status == ReviewStatus.booked)
        .order_by(Review.scheduled_for)
        .limit(1)
    ).scalar_one_or_none()
    if review is None:
        review = Review(pupil_id=pupil_id, scheduled_for=today or dates.today())
        session.add(review)
    plan = current_plan(session, pupil_id)
    review.status = ReviewStatus.in_progress
    review.plan_id = plan.id if plan else None
    review.started_by_staff_id = review.updated_by_staff_id = me
    review.targets = [
        ReviewTarget(
            kind="reviewed", position=index, target_id=target.id, difficulty=target.difficulty, outcome=target.outcome
        )
        for index, target in enumerate(plan.targets if plan else [], 1)
    ]
    state = {"answered": [], "reviewed": len(review.targets)}
    review.draft_state = json.dumps(state)
    session.flush()
    audit(
        session,
        channel=viewer.channel,
        actor=viewer.person,
        action="open_review",
        allowed=True,
        pupil_id=pupil_id,
        detail="started",
    )
    return ReviewDraft(review.id, pupil.id, pupil.first_name, review.revision, state, False, review.scheduled_for)


def _editable(session: Session, viewer: Viewer, review_id: int, action: str) -> Review:
    review: Review | None = session.execute(
        select(Review).where(Review.id == review_id).options(selectinload(Review.targets), selectinload(Review.pupil))
    ).scalar_one_or_none()
    if review is None or review.status != ReviewStatus.in_progress:
        raise NotAllowed(action)
    authorise_change(session, viewer, review.pupil_id, action)
    return review


def load_review(session: Session, viewer: Viewer, review_id: int) -> Review:
    """A review in progress with its targets, for staff of the pupil's school (the read is audited)."""
    review = _editable(session, viewer, review_id, "read_review")
    audit(
        session,
        channel=viewer.channel,
        actor=viewer.person,
        action="read_review",
        allowed=True,
        pupil_id=review.pupil_id,
    )
    return review


def review_values(review: Review) -> dict[str, Any]:
    """The review's answers keyed by walk step id, for "at the moment", questions and summaries."""
    values: dict[str, Any] = {name: getattr(review, name) for name in REVIEW_FIELDS}
    for row in review.targets:
        prefix = f"{row.kind}.{row.position}"
        values[f"{prefix}.outcome"] = row.outcome
        values[f"{prefix}.provision"] = wording.provision_line(row) or None
        for name in ("achieved", "evidence", "next_step", "difficulty"):
            values[f"{prefix}.{name}"] = getattr(row, name)
    return values


def _place_label(edit: ReviewEdit) -> str:
    return str(edit.field) if edit.kind is None else f"{edit.kind} target {edit.position}"


ANSWERS = AnswerSheet(
    edit_model=ReviewEdit,
    document_column="review_id",
    place_columns=("kind", "position"),
    enums=ENUMS,
    date_fields=DATES,
    action="edit_review",
    place_label=_place_label,
)


def save_answer(
    session: Session,
    viewer: Viewer,
    review_id: int,
    seen_revision: int,
    values: dict[str, Any],
    kind: str | None = None,
    position: int | None = None,
    state: dict[str, Any] | None = None,
) -> SaveResult:
    """Store answers (review fields, or one target's) and where the capture is."""
    review = _editable(session, viewer, review_id, "edit_review")
    allowed = REVIEW_FIELDS if kind is None else TARGET_FIELDS[kind]
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ValueError(f"not a {'review' if kind is None else kind + ' target'} field: {unknown[0]}")

    def write() -> None:
        if kind is None:
            row: Any = review
        else:
            row = next((t for t in review.targets if t.kind == kind and t.position == position), None)
            if row is None:
                row = ReviewTarget(kind=kind, position=position)
                review.targets.append(row)
        for name, value in values.items():
            setattr(row, name, ANSWERS.stored(name, value))

    return save_answers(
        session,
        viewer,
        ANSWERS,
        review,
        seen_revision,
        values,
        {"kind": kind, "position": position},
        state,
        write,
        detail=", ".join(sorted(values)),
    )


def save_state(session: Session, viewer: Viewer, review_id: int, state: dict[str, Any]) -> int:
    """Store where the capture is (no answer changed); returns the revision."""
    return revisions.save_state(session, _editable(session, viewer, review_id, "edit_review"), state)


def open_review_for_notes(session: Session, viewer: Viewer, review_id: int | None = None) -> Review | None:
    """The review a quick note belongs to: the one open in this conversation, else this person's latest in progress."""
    person = viewer.person
    if person is None or not viewer.is_staff:
        return None
    if review_id is not None:
        try:
            return _editable(session, viewer, review_id, "note_review")
        except NotAllowed:
            pass
    latest: Review | None = session.execute(
        select(Review)
        .join(Pupil, Pupil.id == Review.pupil_id)
        .where(
            Review.status == ReviewStatus.in_progress,
            Pupil.school_id == person.school_id,
            Review.updated_by_staff_id == person.id,
        )
        .order_by(Review.updated_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    return latest


def add_note(session: Session, viewer: Viewer, review_id: int, text: str) -> ReviewNote:
    """Attach a quick note to a review in progress."""
    review = _editable(session, viewer, review_id, "note_review")
    assert viewer.person is not None, "_editable lets only staff through"
    note = ReviewNote(review_id=review.id, staff_id=viewer.person.id, channel=viewer.channel, text=text)
    session.add(note)
    audit(
        session,
        channel=viewer.channel,
        actor=viewer.person,
        action="note_review",
        allowed=True,
        pupil_id=review.pupil_id,
    )
    session.flush()
    return note


def complete(session: Session, viewer: Viewer, review_id: int, today: dt.date | None = None) -> Review:
    """Record the review as held: progress on the plan's targets, and the next review booked."""
    review = _editable(session, viewer, review_id, "complete_review")
    today = today or dates.today()
    review.status = ReviewStatus.held
    review.held_on = review.held_on or today
    review.draft_state = None
    review.targets = [t for t in review.targets if t.kind == "reviewed" or t.difficulty or t.outcome]
    for row in review.targets:
        if row.kind == "reviewed" and row.target_id is not None:
            target = session.get(Target, row.target_id)
            target.progress = row.achieved
            target.progress_notes = row.evidence
            target.next_steps = wording.next_step_words(row)
    if review.next_review_date and review.decision != ReviewDecision.no_longer_needed:
        session.add(Review(pupil_id=review.pupil_id, plan_id=review.plan_id, scheduled_for=review.next_review_date))
    audit(
        session,
        channel=viewer.channel,
        actor=viewer.person,
        action="complete_review",
        allowed=True,
        pupil_id=review.pupil_id,
        detail=review.decision.value if review.decision else "no decision",
    )
    session.flush()
    return review


@dataclass(frozen=True)
class HeldReview:
    """The latest review held for a pupil, and the one booked after it, as a parent or staff may read them."""

    pupil_name: str
    review: Review | None
    next_booked: dt.date | None


def latest_held(session: Session, viewer: Viewer, pupil_id: int) -> HeldReview | None:
    """The pupil's most recent held review; None when not the viewer's to see (refusal audited) or none held."""
    pupil = authorise_read(session, viewer, pupil_id, "read_review")
    if pupil is None:
        return None
    review = session.execute(
        select(Review)
        .where(Review.pupil_id == pupil_id, Review.status == ReviewStatus.held)
        .order_by(Review.held_on.desc(), Review.id.desc())
        .limit(1)
        .options(selectinload(Review.targets))
    ).scalar_one_or_none()
    booked = session.execute(
        select(Review.scheduled_for)
        .where(Review.pupil_id == pupil_id, Review.status != ReviewStatus.held)
        .order_by(Review.scheduled_for)
        .limit(1)
    ).scalar_one_or_none()
    return HeldReview(pupil.first_name, review, booked)
