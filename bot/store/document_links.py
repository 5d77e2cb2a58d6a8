"""Private links to printable plans and to evidence summaries.

A link is a long random token, given only to the person who asked for it in
the chat; the store keeps its digest, what it opens and when it expires.
A plan link (kind ``plan``) opens one plan version: staff of the pupil's
school may have links to any version, a parent only to their own child's
agreed plan. An evidence link (kind ``evidence``) opens a pupil's whole
graduated-approach history, for staff of the pupil's school and parents
linked to the pupil; it works only while the person who asked for it still
has that access. Making a link and opening it are both audited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.store.access import Person, Viewer, audit, may_have_plan, may_see_pupil, person_now
from bot.store.evidence import History, build_history
from bot.store.models import DocumentLink, Pupil, SupportPlan, utcnow

LINK_LIFETIME = dt.timedelta(days=7)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_link(session: Session, viewer: Viewer, plan_id: int, now: dt.datetime | None = None) -> str | None:
    """A token for the plan, or None (audited) if the viewer may not have it."""
    plan = session.get(SupportPlan, plan_id)
    allowed = plan is not None and may_have_plan(session, viewer.person, plan)
    audit(
        session,
        channel=viewer.channel,
        actor=viewer.person,
        action="link_plan_document",
        allowed=allowed,
        pupil_id=plan.pupil_id if plan is not None and allowed else None,
    )
    if not allowed:
        return None
    return _new_link(session, viewer, now, kind="plan", plan_id=plan_id)


def _new_link(session: Session, viewer: Viewer, now: dt.datetime | None, **opens: object) -> str:
    token = secrets.token_urlsafe(32)
    person = viewer.person
    assert person is not None, "a link is issued only after the viewer's access was checked"
    session.add(
        DocumentLink(
            token_digest=_digest(token),
            actor_kind=person.kind,
            actor_id=person.id,
            channel=viewer.channel,
            expires_at=(now or utcnow()) + LINK_LIFETIME,
            **opens,
        )
    )
    return token


def issue_evidence_link(session: Session, viewer: Viewer, pupil_id: int, now: dt.datetime | None = None) -> str | None:
    """A token for the pupil's evidence summary, or None (audited) if the viewer may not have it."""
    allowed = may_see_pupil(session, viewer.person, pupil_id)
    audit(
        session,
        channel=viewer.channel,
        actor=viewer.person,
        action="link_evidence_document",
        allowed=allowed,
        pupil_id=pupil_id if allowed else None,
    )
    if not allowed:
        return None
    return _new_link(session, viewer, now, kind="evidence", pupil_id=pupil_id)


def _holder_still_entitled(session: Session, link: DocumentLink, pupil_id: int, action: str) -> bool:
    """Whether the person a link was given to may still see the pupil; audited when not.

    A link ends with its holder's access: a member of staff who has left, a parent whose access has ended.
    """
    if may_see_pupil(session, person_now(session, link.actor_kind, link.actor_id), pupil_id):
        return True
    actor = Person(link.actor_kind, link.actor_id)
    audit(session, channel="web", actor=actor, action=action, allowed=False, detail="access ended")
    return False


def _open_evidence(session: Session, link: DocumentLink) -> History | None:
    if not _holder_still_entitled(session, link, link.pupil_id, "open_evidence_document"):
        return None
    holder = person_now(session, link.actor_kind, link.actor_id)
    audit(session, channel="web", actor=holder, action="open_evidence_document", allowed=True, pupil_id=link.pupil_id)
    return build_history(session, session.get(Pupil, link.pupil_id))


def open_link(session: Session, token: str, now: dt.datetime | None = None) -> SupportPlan | History | None:
    """What a token opens; None when unknown or expired. Audited.

    A plan link gives the plan with its pupil and targets; an evidence link
    gives the pupil's ``History``.
    """
    link = session.execute(select(DocumentLink).where(DocumentLink.token_digest == _digest(token))).scalar_one_or_none()
    if link is None or link.expires_at <= (now or utcnow()):
        action = "open_evidence_document" if link is not None and link.kind == "evidence" else "open_plan_document"
        audit(
            session,
            channel="web",
            actor=None,
            action=action,
            allowed=False,
            detail="unknown token" if link is None else "expired",
        )
        return None
    if link.kind == "evidence":
        return _open_evidence(session, link)
    pupil_id = session.execute(select(SupportPlan.pupil_id).where(SupportPlan.id == link.plan_id)).scalar_one()
    if not _holder_still_entitled(session, link, pupil_id, "open_plan_document"):
        return None
    plan: SupportPlan = session.execute(
        select(SupportPlan)
        .where(SupportPlan.id == link.plan_id)
        .options(selectinload(SupportPlan.targets), selectinload(SupportPlan.pupil))
    ).scalar_one()
    audit(
        session,
        channel="web",
        actor=Person(link.actor_kind, link.actor_id),
        action="open_plan_document",
        allowed=True,
        pupil_id=plan.pupil_id,
    )
    return plan
