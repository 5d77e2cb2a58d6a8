"""Plans being recorded: one draft per pupil, saved answer by answer, then agreed.

Answers are saved by the engine plans share with reviews
(``bot.store.revisions``), so two members of staff never overwrite each
other silently. Agreeing a draft makes it the pupil's current plan; the
version before is kept, marked superseded. Only staff of the pupil's school
may record plans (``bot.store.access``).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.core import dates
from bot.store import revisions
from bot.store.access import NotAllowed, Viewer, audit, authorise_change
from bot.store.models import (
    AreaOfNeed,
    LevelOfNeed,
    NextStep,
    PlanEdit,
    PlanStatus,
    Pupil,
    Review,
    ReviewStatus,
    SupportPlan,
    Target,
)
from bot.store.revisions import AnswerSheet, SaveResult, load_state, save_answers

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
ENUMS: dict[str, type[enum.Enum]] = {"level_of_need": LevelOfNeed, "main_area_of_need": AreaOfNeed}
DATES = frozenset({"cluster_funding_requested_on", "agreed_on", "review_date"})


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


def _as_draft(plan: SupportPlan, pupil: Pupil, resumed: bool) -> Draft:
    state = load_state(plan)
    return Draft(
        plan.id, pupil.id, pupil.first_name, plan.version, plan.revision, state, resumed, bool(state.get("updating"))
    )


def open_draft(session: Session, viewer: Viewer, pupil_id: int) -> Draft:
    """The pupil's draft, made now if there is none.

    A new draft starts from the current agreed plan when there is one (so an
    update walks through every answer, each kept or changed), else empty.
    """
    pupil = authorise_change(session, viewer, pupil_id, "open_plan")
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
    assert viewer.person is not None, "authorise_change lets only staff through"
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


def find_draft(session: Session, viewer: Viewer, pupil_id: int) -> Draft | None:
    """The pupil's draft if there is one, for staff of the pupil's school."""
    pupil = authorise_change(session, viewer, pupil_id, "open_plan")
    plan = session.execute(
        select(SupportPlan).where(SupportPlan.pupil_id == pupil_id, SupportPlan.status == PlanStatus.draft)
    ).scalar_one_or_none()
    return _as_draft(plan, pupil, resumed=True) if plan else None


def _place_label(edit: PlanEdit) -> str:
    return str(edit.field) if edit.target_position is None else f"target {edit.target_position}"


ANSWERS = AnswerSheet(
    edit_model=PlanEdit,
    document_column="plan_id",
    place_columns=("target_position",),
    enums=ENUMS,
    date_fields=DATES,
    action="edit_plan",
    place_label=_place_label,
)


def _editable(session: Session, viewer: Viewer, plan_id: int, action: str) -> SupportPlan:
    """A draft the viewer may change (``NotAllowed``, audited, if not)."""
    plan: SupportPlan | None = session.get(SupportPlan, plan_id)
    if plan is None or plan.status != PlanStatus.draft:
        raise NotAllowed(action)
    authorise_change(session, viewer, plan.pupil_id, action)
    return plan


def save_answer(
    session: Session,
    viewer: Viewer,
    plan_id: int,
    seen_revision: int,
    values: dict[str, Any],
    target_position: int | None = None,
    state: dict[str, Any] | None = None,
) -> SaveResult:
    """Store answers (plan fields, or one target's fields) and the draft's progress.

    ``values`` maps field names to values; ``state`` replaces the draft state.
    """
    plan = _editable(session, viewer, plan_id, "edit_plan")
    allowed = PLAN_FIELDS if target_position is None else TARGET_FIELDS
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ValueError(f"not a {'plan' if target_position is None else 'target'} field: {unknown[0]}")

    def write() -> None:
        if target_position is None:
            row: Any = plan
        else:
            row = session.execute(
                select(Target).where(Target.plan_id == plan_id, Target.position == target_position)
            ).scalar_one_or_none()
            if row is None:
                row = Target(plan_id=plan_id, position=target_position)
                session.add(row)
        for name, value in values.items():
            setattr(row, name, ANSWERS.stored(name, value))

    return save_answers(
        session,
        viewer,
        ANSWERS,
        plan,
        seen_revision,
        values,
        {"target_position": target_position},
        state,
        write,
        detail=f"version {plan.version}: {', '.join(sorted(values))}",
    )


def save_state(session: Session, viewer: Viewer, plan_id: int, state: dict[str, Any]) -> int:
    """Store where the recording is (no answer changed); returns the revision."""
    return revisions.save_state(session, _editable(session, viewer, plan_id, "edit_plan"), state)


def load_plan(session: Session, viewer: Viewer, plan_id: int) -> SupportPlan:
    """A plan with its targets, for staff of the pupil's school (the read is audited)."""
    plan: SupportPlan | None = session.execute(
        select(SupportPlan).where(SupportPlan.id == plan_id).options(selectinload(SupportPlan.targets))
    ).scalar_one_or_none()
    if plan is None:
        raise NotAllowed("read_plan")
    authorise_change(session, viewer, plan.pupil_id, "read_plan")
    audit(
        session, channel=viewer.channel, actor=viewer.person, action="read_plan", allowed=True, pupil_id=plan.pupil_id
    )
    return plan


def agree(session: Session, viewer: Viewer, plan_id: int, today: dt.date | None = None) -> SupportPlan:
    """Make the draft the pupil's current plan, keep the one before, and record that parents were told."""
    plan = _editable(session, viewer, plan_id, "agree_plan")
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
