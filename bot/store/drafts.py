"""Plans being recorded: drafts saved answer by answer, shared safely between staff.

A pupil has at most one draft. Every answer is written at once, with a row in
``plan_edits`` and an audit event, and raises the draft's ``revision``. A
save names the revision its author last saw: if someone else has changed the
same answer since, nothing is overwritten and the caller is told who changed
it and to what; if they changed other answers, the save goes ahead and the
caller is told which.

Agreeing a draft makes it the pupil's current plan; the version before is
kept, marked superseded.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Optional

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from bot.core import dates
from bot.store.accounts import audit
from bot.store.models import (
    AreaOfNeed,
    LevelOfNeed,
    NextStep,
    PlanEdit,
    PlanStatus,
    Pupil,
    Review,
    ReviewStatus,
    Staff,
    SupportPlan,
    Target,
    utcnow,
)
from bot.store.records import Viewer

PLAN_FIELDS = (
    "level_of_need",
    "main_area_of_need",
    "cluster_funding",
    "cluster_funding_details",
    "cluster_funding_requested_on",
    "professionals_involved",
    "previous_attainment",
    "previous_progress",
    "current_attainment",
    "expected_attainment",
    "current_progress",
    "interventions",
    "how_needs_identified",
    "parent_new_information",
    "strengths",
    "finding_things_hard_when",
    "how_i_like_support",
    "parent_role",
    "child_role",
    "class_teacher_role",
    "agreed_by_senco_name",
    "agreed_on",
    "review_date",
)
TARGET_FIELDS = ("difficulty", "provision_who", "provision_what", "provision_when", "provision_how_often", "outcome")
ENUMS = {"level_of_need": LevelOfNeed, "main_area_of_need": AreaOfNeed}
DATES = {"cluster_funding_requested_on", "agreed_on", "review_date"}


class NotAllowed(Exception):
    """The person may not record plans for this pupil (already audited)."""


class Busy(Exception):
    """Someone saved to the same draft at the same moment: roll back and try the save again."""


@dataclass
class Draft:
    """What the conversation needs to know about a draft."""

    plan_id: int
    pupil_id: int
    pupil_name: str
    version: int
    revision: int
    state: dict[str, Any]
    resumed: bool = False
    updating: bool = False


@dataclass
class Conflict:
    field: str
    target_position: Optional[int]
    by: str
    value: Optional[str]
    at: dt.datetime


@dataclass
class SaveResult:
    saved: bool
    revision: int
    conflict: Optional[Conflict] = None
    others_changed: list[str] = field(default_factory=list)
    others: list[str] = field(default_factory=list)


def _staff_pupil(session: Session, viewer: Viewer, pupil_id: int, action: str) -> Pupil:
    person = viewer.person
    pupil = session.get(Pupil, pupil_id)
    if person is None or person.kind != "staff" or pupil is None or pupil.school_id != person.school_id:
        audit(
            session,
            channel=viewer.channel,
            actor=person,
            action=action,
            allowed=False,
            detail="plans are recorded by staff of the pupil's school",
        )
        raise NotAllowed(action)
    return pupil


def _load_state(plan: SupportPlan) -> dict[str, Any]:
    state = json.loads(plan.draft_state) if plan.draft_state else {}
    state.setdefault("answered", [])
    return state


def _as_draft(plan: SupportPlan, pupil: Pupil, resumed: bool) -> Draft:
    state = _load_state(plan)
    return Draft(
        plan.id, pupil.id, pupil.first_name, plan.version, plan.revision, state, resumed, bool(state.get("updating"))
    )


def open_draft(session: Session, viewer: Viewer, pupil_id: int) -> Draft:
    """The pupil's draft, made now if there is none.

    A new draft starts from the current agreed plan when there is one (so an
    update walks through every answer, each kept or changed), else empty.
    """
    pupil = _staff_pupil(session, viewer, pupil_id, "open_plan")
    existing = session.execute(
        select(SupportPlan).where(SupportPlan.pupil_id == pupil_id, SupportPlan.status == PlanStatus.draft)
    ).scalar_one_or_none()
    if existing is not None:
        audit(
            session,
            channel=viewer.channel,
            actor=viewer.person,
            action="open_plan",
            allowed=True,
            pupil_id=pupil_id,
            detail=f"resumed version {existing.version}",
        )
        return _as_draft(existing, pupil, resumed=True)
    latest = session.execute(
        select(SupportPlan)
        .where(SupportPlan.pupil_id == pupil_id)
        .order_by(SupportPlan.version.desc())
        .limit(1)
        .options(selectinload(SupportPlan.targets))
    ).scalar_one_or_none()
    current = latest if latest is not None and latest.status == PlanStatus.agreed else None
    version = (latest.version if latest else 0) + 1
    plan = SupportPlan(
        pupil_id=pupil_id,
        version=version,
        status=PlanStatus.draft,
        created_by_staff_id=viewer.person.id,
        updated_by_staff_id=viewer.person.id,
        revision=0,
    )
    if current is not None:
        for name in PLAN_FIELDS:
            if name not in ("agreed_by_senco_name", "agreed_on", "review_date"):
                setattr(plan, name, getattr(current, name))
        plan.targets = [
            Target(position=t.position, **{name: getattr(t, name) for name in TARGET_FIELDS}) for t in current.targets
        ]
        _take_up_review(session, current, plan)
    plan.draft_state = json.dumps({"answered": [], "updating": current is not None})
    session.add(plan)
    session.flush()
    audit(
        session,
        channel=viewer.channel,
        actor=viewer.person,
        action="open_plan",
        allowed=True,
        pupil_id=pupil_id,
        detail=f"new draft version {version}",
    )
    return _as_draft(plan, pupil, resumed=False)


PROVISION_FIELDS = ("provision_who", "provision_what", "provision_when", "provision_how_often")


def _take_up_review(session: Session, current: SupportPlan, plan: SupportPlan) -> None:
    """Carry what the plan's latest review decided into the new version: new provision, and new targets."""
    review = session.execute(
        select(Review)
        .where(Review.plan_id == current.id, Review.status == ReviewStatus.held)
        .order_by(Review.held_on.desc(), Review.id.desc())
        .limit(1)
        .options(selectinload(Review.targets))
    ).scalar_one_or_none()
    if review is None:
        return
    by_position = {target.position: target for target in plan.targets}
    for row in review.targets:
        if row.kind == "reviewed" and row.next_step == NextStep.different_provision and row.position in by_position:
            for name in PROVISION_FIELDS:
                setattr(by_position[row.position], name, getattr(row, name))
        elif row.kind == "new" and (row.difficulty or row.outcome):
            plan.targets.append(
                Target(
                    position=len(plan.targets) + 1,
                    difficulty=row.difficulty,
                    outcome=row.outcome,
                    **{name: getattr(row, name) for name in PROVISION_FIELDS},
                )
            )


def find_draft(session: Session, viewer: Viewer, pupil_id: int) -> Optional[Draft]:
    """The pupil's draft if there is one, for staff of the pupil's school."""
    pupil = _staff_pupil(session, viewer, pupil_id, "open_plan")
    plan = session.execute(
        select(SupportPlan).where(SupportPlan.pupil_id == pupil_id, SupportPlan.status == PlanStatus.draft)
    ).scalar_one_or_none()
    return _as_draft(plan, pupil, resumed=True) if plan else None


def stored_value(name: str, value: Any, enums: dict[str, Any], date_fields: set[str]) -> Any:
    """An answer as its column keeps it: choices as their enum, dates as dates."""
    if value is None:
        return None
    if name in enums:
        return enums[name](value)
    if name in date_fields and isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value


def shown(value: Any) -> Optional[str]:
    """An answer as the edit history keeps it: text, with dates in ISO form and choices by value."""
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return getattr(value, "value", value) if not isinstance(value, str) else value


def _stored(name: str, value: Any) -> Any:
    return stored_value(name, value, ENUMS, DATES)


def _staff_name(session: Session, staff_id: int) -> str:
    staff = session.get(Staff, staff_id)
    return staff.name if staff else "another member of staff"


def conflict_in(session: Session, edits: list[Any], values: dict[str, Any], shown: Any) -> Optional[Conflict]:
    """The latest change someone else made since, to an answer about to be saved, unless it already says the same.

    ``edits`` are the others' edits of the same place (plan, target) in order;
    ``shown(name, value)`` is how a value is kept in the edit history.
    """
    for edit in reversed(edits):
        if edit.field in values and shown(edit.field, values[edit.field]) != edit.value:
            place = getattr(edit, "target_position", None) or getattr(edit, "position", None)
            return Conflict(edit.field, place, _staff_name(session, edit.staff_id), edit.value, edit.at)
    return None


def claim_revision(session: Session, row: Any, staff_id: int, state: Optional[dict[str, Any]]) -> int:
    """Move a draft (plan or review) on by one revision, unless someone saved to it at this very moment (``Busy``)."""
    model = type(row)
    new_revision = row.revision + 1
    claimed = session.execute(
        update(model)
        .where(model.id == row.id, model.revision == row.revision)
        .values(
            revision=new_revision,
            updated_by_staff_id=staff_id,
            updated_at=utcnow(),
            **({"draft_state": json.dumps(state)} if state is not None else {}),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        raise Busy(row.id)
    session.refresh(row)
    return new_revision


def saved(session: Session, revision: int, changed_since: list[Any], place: Any) -> SaveResult:
    """A successful save, naming who else changed the draft since and where (``place(edit)``)."""
    others = sorted({_staff_name(session, edit.staff_id) for edit in changed_since})
    return SaveResult(True, revision, None, sorted({place(edit) for edit in changed_since}), others)


def save_answer(
    session: Session,
    viewer: Viewer,
    plan_id: int,
    seen_revision: int,
    values: dict[str, Any],
    target_position: Optional[int] = None,
    state: Optional[dict[str, Any]] = None,
) -> SaveResult:
    """Store answers (plan fields, or one target's fields) and the draft's progress.

    ``values`` maps field names to values; ``state`` replaces the draft state.
    """
    plan = session.get(SupportPlan, plan_id)
    if plan is None or plan.status != PlanStatus.draft:
        raise NotAllowed("edit_plan")
    _staff_pupil(session, viewer, plan.pupil_id, "edit_plan")
    me = viewer.person.id  # type: ignore[union-attr]
    changed_since = (
        session.execute(
            select(PlanEdit)
            .where(PlanEdit.plan_id == plan_id, PlanEdit.revision > seen_revision, PlanEdit.staff_id != me)
            .order_by(PlanEdit.revision)
        )
        .scalars()
        .all()
    )
    mine = [edit for edit in changed_since if edit.target_position == target_position]
    conflict = conflict_in(session, mine, values, lambda name, value: shown(_stored(name, value)))
    if conflict:
        return SaveResult(False, plan.revision, conflict)
    new_revision = claim_revision(session, plan, me, state)
    if target_position is None:
        for name, value in values.items():
            if name not in PLAN_FIELDS:
                raise ValueError(f"not a plan field: {name}")
            setattr(plan, name, _stored(name, value))
    else:
        target = session.execute(
            select(Target).where(Target.plan_id == plan_id, Target.position == target_position)
        ).scalar_one_or_none()
        if target is None:
            target = Target(plan_id=plan_id, position=target_position)
            session.add(target)
        for name, value in values.items():
            if name not in TARGET_FIELDS:
                raise ValueError(f"not a target field: {name}")
            setattr(target, name, value)
    for name, value in values.items():
        session.add(
            PlanEdit(
                plan_id=plan_id,
                field=name,
                target_position=target_position,
                value=shown(_stored(name, value)),
                staff_id=me,
                channel=viewer.channel,
                revision=new_revision,
            )
        )
    audit(
        session,
        channel=viewer.channel,
        actor=viewer.person,
        action="edit_plan",
        allowed=True,
        pupil_id=plan.pupil_id,
        detail=f"version {plan.version}: {', '.join(sorted(values))}",
    )
    session.flush()
    return saved(
        session,
        new_revision,
        changed_since,
        lambda edit: edit.field if edit.target_position is None else f"target {edit.target_position}",
    )


def save_state(session: Session, viewer: Viewer, plan_id: int, state: dict[str, Any]) -> int:
    """Store where the recording is (no answer changed); returns the revision."""
    plan = session.get(SupportPlan, plan_id)
    if plan is None or plan.status != PlanStatus.draft:
        raise NotAllowed("edit_plan")
    _staff_pupil(session, viewer, plan.pupil_id, "edit_plan")
    plan.draft_state = json.dumps(state)
    session.flush()
    return plan.revision


def load_plan(session: Session, viewer: Viewer, plan_id: int) -> SupportPlan:
    """A plan with its targets, for staff of the pupil's school (the read is audited)."""
    plan = session.execute(
        select(SupportPlan).where(SupportPlan.id == plan_id).options(selectinload(SupportPlan.targets))
    ).scalar_one_or_none()
    if plan is None:
        raise NotAllowed("read_plan")
    _staff_pupil(session, viewer, plan.pupil_id, "read_plan")
    audit(
        session, channel=viewer.channel, actor=viewer.person, action="read_plan", allowed=True, pupil_id=plan.pupil_id
    )
    return plan


def agree(session: Session, viewer: Viewer, plan_id: int, today: Optional[dt.date] = None) -> SupportPlan:
    """Make the draft the pupil's current plan, keep the one before, and record that parents were told."""
    plan = session.get(SupportPlan, plan_id)
    if plan is None or plan.status != PlanStatus.draft:
        raise NotAllowed("agree_plan")
    _staff_pupil(session, viewer, plan.pupil_id, "agree_plan")
    for earlier in session.execute(
        select(SupportPlan).where(SupportPlan.pupil_id == plan.pupil_id, SupportPlan.status == PlanStatus.agreed)
    ).scalars():
        earlier.status = PlanStatus.superseded
    session.flush()
    plan.status = PlanStatus.agreed
    plan.parents_notified_on = today or dates.today()
    plan.draft_state = None
    for target in list(plan.targets):
        if not target.difficulty and not target.outcome:
            plan.targets.remove(target)
    audit(
        session,
        channel=viewer.channel,
        actor=viewer.person,
        action="agree_plan",
        allowed=True,
        pupil_id=plan.pupil_id,
        detail=f"version {plan.version}; parents notified",
    )
    session.flush()
    return plan
