"""Documents filled in answer by answer, shared safely between members of staff.

Plan drafts (``bot.store.drafts``) and review meetings being captured
(``bot.store.reviews``) are saved the same way, here. Every answer is written
at once, with a row in the document's edit history and an audit event, and
raises the document's ``revision``. A save names the revision its author last
saw: if someone else has changed the same answer since, nothing is
overwritten and the caller is told who changed it and to what; if they
changed other answers, the save goes ahead and the caller is told which.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.store.access import Viewer, audit
from bot.store.models import Staff, utcnow


class Busy(Exception):
    """Someone saved to the same document at the same moment: roll back and try the save again."""


@dataclass
class Conflict:
    """Someone else's change to the answer being saved, kept instead of overwritten."""

    field: str
    position: int | None  # the target's position, for an answer about one target
    by: str
    value: str | None
    at: dt.datetime


@dataclass
class SaveResult:
    saved: bool
    revision: int
    conflict: Conflict | None = None
    others_changed: list[str] = field(default_factory=list)
    others: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AnswerSheet:
    """How one kind of document keeps its answers.

    ``place_columns`` say where in the document an answer is (which target),
    as the edit history records it; ``place_label`` names a place for people.
    """

    edit_model: Any  # the edit history's table: PlanEdit or ReviewEdit
    document_column: str  # the edit history's column naming the document
    place_columns: tuple[str, ...]
    enums: Mapping[str, type[enum.Enum]]
    date_fields: frozenset[str]
    action: str  # what the audit trail calls a change
    place_label: Callable[[Any], str]

    def stored(self, name: str, value: Any) -> Any:
        """An answer as its column keeps it: choices as their enum, dates as dates."""
        if value is None:
            return None
        if name in self.enums:
            return self.enums[name](value)
        if name in self.date_fields and isinstance(value, str):
            return dt.date.fromisoformat(value)
        return value


def shown(value: Any) -> str | None:
    """An answer as the edit history keeps it: text, with dates in ISO form and choices by value."""
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def staff_name(session: Session, staff_id: int) -> str:
    staff = session.get(Staff, staff_id)
    return str(staff.name) if staff else "another member of staff"


def _conflict_in(
    session: Session, sheet: AnswerSheet, edits: Sequence[Any], values: Mapping[str, Any]
) -> Conflict | None:
    """The latest change someone else made since, to an answer about to be saved, unless it already says the same."""
    for edit in reversed(edits):
        if edit.field in values and shown(sheet.stored(edit.field, values[edit.field])) != edit.value:
            position = getattr(edit, "target_position", None) or getattr(edit, "position", None)
            return Conflict(edit.field, position, staff_name(session, edit.staff_id), edit.value, edit.at)
    return None


def claim_revision(session: Session, row: Any, staff_id: int, state: dict[str, Any] | None) -> int:
    """Move a document on by one revision, unless someone saved to it at this very moment (``Busy``)."""
    model = type(row)
    new_revision = int(row.revision) + 1
    extra = {"draft_state": json.dumps(state)} if state is not None else {}
    claimed = session.execute(
        update(model)
        .where(model.id == row.id, model.revision == row.revision)
        .values(revision=new_revision, updated_by_staff_id=staff_id, updated_at=utcnow(), **extra)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        raise Busy(row.id)
    session.refresh(row)
    return new_revision


def save_answers(
    session: Session,
    viewer: Viewer,
    sheet: AnswerSheet,
    document: Any,
    seen_revision: int,
    values: Mapping[str, Any],
    place: Mapping[str, Any],
    state: dict[str, Any] | None,
    write: Callable[[], None],
    detail: str,
) -> SaveResult:
    """Save answers to one place of a document (its own fields, or one target's), unless that overwrites someone.

    The caller has checked that the viewer may change the document;
    ``write`` puts the values on the rows, and runs only when the save goes ahead.
    """
    assert viewer.person is not None and viewer.person.id is not None
    me = viewer.person.id
    edit = sheet.edit_model
    changed_since = (
        session.execute(
            select(edit)
            .where(
                getattr(edit, sheet.document_column) == document.id,
                edit.revision > seen_revision,
                edit.staff_id != me,
            )
            .order_by(edit.revision)
        )
        .scalars()
        .all()
    )
    here = [row for row in changed_since if all(getattr(row, c) == place.get(c) for c in sheet.place_columns)]
    conflict = _conflict_in(session, sheet, here, values)
    if conflict:
        return SaveResult(False, int(document.revision), conflict)
    new_revision = claim_revision(session, document, me, state)
    write()
    for name, value in values.items():
        session.add(
            edit(
                **{sheet.document_column: document.id},
                **{column: place.get(column) for column in sheet.place_columns},
                field=name,
                value=shown(sheet.stored(name, value)),
                staff_id=me,
                channel=viewer.channel,
                revision=new_revision,
            )
        )
    audit(
        session,
        channel=viewer.channel,
        actor=viewer.person,
        action=sheet.action,
        allowed=True,
        pupil_id=document.pupil_id,
        detail=detail,
    )
    session.flush()
    others = sorted({staff_name(session, row.staff_id) for row in changed_since})
    return SaveResult(True, new_revision, None, sorted({sheet.place_label(row) for row in changed_since}), others)


def save_state(session: Session, document: Any, state: dict[str, Any]) -> int:
    """Store where the walk through the document is (no answer changed); returns the revision."""
    document.draft_state = json.dumps(state)
    session.flush()
    return int(document.revision)


def load_state(document: Any) -> dict[str, Any]:
    """Where the walk through the document is, as saved with it."""
    state: dict[str, Any] = json.loads(document.draft_state) if document.draft_state else {}
    state.setdefault("answered", [])
    return state
