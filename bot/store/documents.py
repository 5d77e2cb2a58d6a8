"""Private links to printable plans.

A link is a long random token, given only to the person who asked for it in
the chat; the store keeps its digest, the plan it opens and when it expires.
Staff of the pupil's school may have links to any version; a parent only to
their own child's agreed plan. Making a link and opening it are both audited.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.store.accounts import Person, audit
from bot.store.models import DocumentLink, PlanStatus, Pupil, SupportPlan, utcnow
from bot.store.records import Viewer

LINK_LIFETIME = dt.timedelta(days=7)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_link(session: Session, viewer: Viewer, plan_id: int, now: Optional[dt.datetime] = None) -> Optional[str]:
    """A token for the plan, or None (audited) if the viewer may not have it."""
    plan = session.get(SupportPlan, plan_id)
    person = viewer.person
    allowed = False
    if plan is not None and person is not None:
        pupil = session.get(Pupil, plan.pupil_id)
        if person.kind == "staff":
            allowed = pupil is not None and pupil.school_id == person.school_id
        elif person.kind == "parent":
            allowed = plan.pupil_id in person.pupil_ids and plan.status == PlanStatus.agreed
    audit(session, channel=viewer.channel, actor=person, action="link_plan_document", allowed=allowed,
          pupil_id=plan.pupil_id if plan is not None and allowed else None)
    if not allowed:
        return None
    token = secrets.token_urlsafe(32)
    session.add(DocumentLink(
        token_digest=_digest(token), plan_id=plan_id, actor_kind=person.kind, actor_id=person.id,  # type: ignore[union-attr]
        channel=viewer.channel, expires_at=(now or utcnow()) + LINK_LIFETIME,
    ))
    return token


def open_link(session: Session, token: str, now: Optional[dt.datetime] = None) -> Optional[SupportPlan]:
    """The plan a token opens, with its pupil and targets; None when unknown or expired. Audited."""
    link = session.execute(select(DocumentLink).where(DocumentLink.token_digest == _digest(token))).scalar_one_or_none()
    if link is None or link.expires_at <= (now or utcnow()):
        audit(session, channel="web", actor=None, action="open_plan_document", allowed=False,
              detail="unknown token" if link is None else "expired")
        return None
    plan = session.execute(
        select(SupportPlan).where(SupportPlan.id == link.plan_id)
        .options(selectinload(SupportPlan.targets), selectinload(SupportPlan.pupil))
    ).scalar_one()
    audit(session, channel="web", actor=Person(link.actor_kind, link.actor_id), action="open_plan_document",
          allowed=True, pupil_id=plan.pupil_id)
    return plan
