"""Linking chat users to staff and parents with one-time codes, and auditing.

A member of staff links with a code printed by the admin command; a parent
links with a code for one pupil, issued by their school. Codes are stored
only as digests keyed with the server's secret, work once and expire. Wrong
codes are throttled per chat user (after ``MAX_WRONG_CODES`` within
``THROTTLE_WINDOW`` the user must wait) and for everyone together (after
``settings.wrong_codes_per_hour()`` in an hour, code checks pause), since a new
chat costs nothing: the README gives the arithmetic of guessing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot import settings
from bot.core.codes import new_code
from bot.store import push
from bot.store.access import ADMIN, Person, audit, parent_person, staff_person
from bot.store.models import ChatIdentity, CodeAttempt, LinkCode, Parent, ParentPupil, Pupil, Staff, utcnow

CODE_LIFETIME = dt.timedelta(days=14)
MAX_WRONG_CODES = 5
THROTTLE_WINDOW = dt.timedelta(minutes=15)
GLOBAL_WINDOW = dt.timedelta(hours=1)
LAST_USED_PRECISION = dt.timedelta(hours=1)  # a link's last use is written at most hourly, not on every message


@dataclass(frozen=True)
class LinkResult:
    linked: Person | None
    reason: str  # linked, wrong, used, expired, throttled (this chat), paused (everyone)


def identity_digest(channel: str, external_id: str) -> str:
    message = f"{channel}:{external_id}".encode()
    return hmac.new(settings.identity_key(), message, hashlib.sha256).hexdigest()


def code_digest(code: str) -> str:
    """A code as stored: keyed with the server's secret, so a copy of the table alone cannot be tried against codes."""
    normalised = "".join(ch for ch in code.upper() if ch.isalnum())
    return hmac.new(settings.identity_key(), b"link-code:" + normalised.encode(), hashlib.sha256).hexdigest()


def issue_staff_code(session: Session, staff_id: int, now: dt.datetime | None = None) -> str:
    code = new_code()
    session.add(
        LinkCode(code_digest=code_digest(code), staff_id=staff_id, expires_at=(now or utcnow()) + CODE_LIFETIME)
    )
    return code


def issue_parent_code(session: Session, parent_id: int, pupil_id: int, now: dt.datetime | None = None) -> str:
    code = new_code()
    session.add(
        LinkCode(
            code_digest=code_digest(code),
            parent_id=parent_id,
            pupil_id=pupil_id,
            expires_at=(now or utcnow()) + CODE_LIFETIME,
        )
    )
    return code


def _recent_wrong_codes(session: Session, digest: str, now: dt.datetime) -> int:
    count: int = session.execute(
        select(func.count(CodeAttempt.id)).where(
            CodeAttempt.identity_digest == digest, CodeAttempt.attempted_at > now - THROTTLE_WINDOW
        )
    ).scalar_one()
    return count


def _wrong_codes_everywhere(session: Session, now: dt.datetime) -> int:
    """Wrong codes typed in the last hour by anyone: new chats cost nothing, so a per-chat pause is not enough."""
    count: int = session.execute(
        select(func.count(CodeAttempt.id)).where(CodeAttempt.attempted_at > now - GLOBAL_WINDOW)
    ).scalar_one()
    return count


def tries_left(session: Session, channel: str, external_id: str, now: dt.datetime | None = None) -> int:
    """How many more wrong codes this chat user may type before the pause."""
    used = _recent_wrong_codes(session, identity_digest(channel, external_id), now or utcnow())
    return max(0, MAX_WRONG_CODES - used)


def redeem_code(
    session: Session, channel: str, external_id: str, code: str, now: dt.datetime | None = None
) -> LinkResult:
    """Link this chat user with the person the code belongs to, if the code is good."""
    now = now or utcnow()
    digest = identity_digest(channel, external_id)
    if _recent_wrong_codes(session, digest, now) >= MAX_WRONG_CODES:
        audit(session, channel=channel, actor=None, action="link", allowed=False, detail="throttled")
        return LinkResult(None, "throttled")
    if _wrong_codes_everywhere(session, now) >= settings.wrong_codes_per_hour():
        audit(session, channel=channel, actor=None, action="link", allowed=False, detail="paused")
        return LinkResult(None, "paused")
    link = session.execute(
        select(LinkCode).where(LinkCode.code_digest == code_digest(code)).with_for_update()
    ).scalar_one_or_none()
    reason = "wrong" if link is None else "used" if link.used_at else "expired" if link.expires_at <= now else "linked"
    if reason != "linked":
        session.add(CodeAttempt(channel=channel, identity_digest=digest, attempted_at=now))
        audit(session, channel=channel, actor=None, action="link", allowed=False, detail=reason)
        return LinkResult(None, reason)
    link.used_at = now
    session.execute(delete(ChatIdentity).where(ChatIdentity.channel == channel, ChatIdentity.identity_digest == digest))
    if link.staff_id is not None:
        session.add(
            ChatIdentity(
                channel=channel,
                identity_digest=digest,
                staff_id=link.staff_id,
                linked_at=now,
                last_used_at=now,
                push_address=push.address_for(channel, external_id, is_staff=True),
            )
        )
    else:
        if session.get(ParentPupil, (link.parent_id, link.pupil_id)) is None:
            session.add(ParentPupil(parent_id=link.parent_id, pupil_id=link.pupil_id))
        session.add(
            ChatIdentity(
                channel=channel, identity_digest=digest, parent_id=link.parent_id, linked_at=now, last_used_at=now
            )
        )
    session.flush()
    person = who_is(session, channel, external_id, now)
    audit(session, channel=channel, actor=person, action="link", allowed=True, pupil_id=link.pupil_id)
    return LinkResult(person, "linked")


def _identity(session: Session, channel: str, external_id: str) -> ChatIdentity | None:
    identity: ChatIdentity | None = session.execute(
        select(ChatIdentity).where(
            ChatIdentity.channel == channel, ChatIdentity.identity_digest == identity_digest(channel, external_id)
        )
    ).scalar_one_or_none()
    return identity


def _person_of(session: Session, identity: ChatIdentity) -> Person | None:
    if identity.staff_id is not None:
        return staff_person(session, identity.staff_id)
    return parent_person(session, identity.parent_id)


def who_is(session: Session, channel: str, external_id: str, now: dt.datetime | None = None) -> Person | None:
    """The staff member or parent this chat user is linked to, or None.

    A link unused for ``settings.link_idle_days()`` has ended: it is removed
    (audited) and the chat must link again with a new code.
    """
    now = now or utcnow()
    identity = _identity(session, channel, external_id)
    if identity is None:
        return None
    person = _person_of(session, identity)
    if now - identity.last_used_at > dt.timedelta(days=settings.link_idle_days()):
        session.delete(identity)
        audit(session, channel=channel, actor=person, action="unlink", allowed=True, detail="unused too long")
        return None
    if now - identity.last_used_at > LAST_USED_PRECISION:
        identity.last_used_at = now
    return person


def unlink(session: Session, channel: str, external_id: str) -> bool:
    """Forget this chat user on this channel. True if there was a link."""
    identity = _identity(session, channel, external_id)
    if identity is None:
        return False
    person = _person_of(session, identity)
    session.delete(identity)
    audit(session, channel=channel, actor=person, action="unlink", allowed=True)
    return True


# Ending access --------------------------------------------------------------------------------
# Each is done by an administrator (``bot/ops/admin.py``) and audited; access is checked again on
# every look-up and every opening of a document link, so an ended access ends everywhere at once.


@dataclass(frozen=True)
class LinkedChat:
    """A chat linked to a person, as an administrator sees it: never the chat's own id."""

    id: int
    channel: str
    person: str
    linked_at: dt.datetime
    last_used_at: dt.datetime


def _revoke_unused(session: Session, now: dt.datetime, *conditions: Any) -> int:
    codes = session.execute(
        select(LinkCode).where(LinkCode.used_at.is_(None), LinkCode.expires_at > now, *conditions)
    ).scalars()
    count = 0
    for code in codes:
        code.expires_at = now
        count += 1
    return count


def _end_chats(session: Session, *conditions: Any) -> int:
    result = session.execute(delete(ChatIdentity).where(*conditions))
    return int(result.rowcount or 0)


def deactivate_staff(session: Session, staff_id: int, now: dt.datetime | None = None) -> tuple[int, int]:
    """End a member of staff's access: the account, every linked chat and every unused code. (chats, codes)"""
    now = now or utcnow()
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise LookupError(f"There is no member of staff with id {staff_id}.")
    staff.active = False
    chats = _end_chats(session, ChatIdentity.staff_id == staff_id)
    codes = _revoke_unused(session, now, LinkCode.staff_id == staff_id)
    audit(session, channel="admin", actor=ADMIN, action="deactivate_staff", allowed=True, detail=f"staff {staff_id}")
    return chats, codes


def end_parent_access(session: Session, parent_id: int, pupil_id: int, now: dt.datetime | None = None) -> int:
    """End a parent's access to one pupil, and their unused codes for that pupil; their chats see the rest. (codes)"""
    now = now or utcnow()
    found = session.get(ParentPupil, (parent_id, pupil_id))
    if found is None:
        raise LookupError(f"Parent {parent_id} has no access to pupil {pupil_id}.")
    session.delete(found)
    codes = _revoke_unused(session, now, LinkCode.parent_id == parent_id, LinkCode.pupil_id == pupil_id)
    session.flush()
    if not session.execute(select(ParentPupil.pupil_id).where(ParentPupil.parent_id == parent_id)).first():
        # A parent with no child left to see has nothing to link a chat for.
        _end_chats(session, ChatIdentity.parent_id == parent_id)
    audit(session, channel="admin", actor=ADMIN, action="end_parent_access", allowed=True, pupil_id=pupil_id)
    return codes


def revoke_codes(
    session: Session, *, staff_id: int | None = None, parent_id: int | None = None, pupil_id: int | None = None
) -> int:
    """End every unused code of a member of staff, a parent, or for a pupil; how many were ended."""
    conditions = [
        column == value
        for column, value in (
            (LinkCode.staff_id, staff_id),
            (LinkCode.parent_id, parent_id),
            (LinkCode.pupil_id, pupil_id),
        )
        if value is not None
    ]
    if not conditions:
        raise ValueError("Say whose codes to revoke: a member of staff, a parent or a pupil.")
    count = _revoke_unused(session, utcnow(), *conditions)
    audit(
        session, channel="admin", actor=ADMIN, action="revoke_codes", allowed=True, pupil_id=pupil_id, detail=str(count)
    )
    return count


def pupil_chats(session: Session, pupil_id: int) -> list[LinkedChat]:
    """Every chat that can see this pupil's records: their parents' chats and their school's staff's chats."""
    pupil = session.get(Pupil, pupil_id)
    if pupil is None:
        raise LookupError(f"There is no pupil with id {pupil_id}.")
    parents = select(ParentPupil.parent_id).where(ParentPupil.pupil_id == pupil_id)
    staff = select(Staff.id).where(Staff.school_id == pupil.school_id, Staff.active.is_(True))
    rows = session.execute(
        select(ChatIdentity)
        .where((ChatIdentity.parent_id.in_(parents)) | (ChatIdentity.staff_id.in_(staff)))
        .order_by(ChatIdentity.id)
    ).scalars()
    chats = []
    for row in rows:
        holder = session.get(Staff, row.staff_id) if row.staff_id is not None else session.get(Parent, row.parent_id)
        who = f"staff: {holder.name}" if row.staff_id is not None else f"parent: {holder.name}"
        chats.append(LinkedChat(row.id, row.channel, who, row.linked_at, row.last_used_at))
    audit(session, channel="admin", actor=ADMIN, action="list_chats", allowed=True, pupil_id=pupil_id)
    return chats


def end_chat(session: Session, chat_id: int) -> None:
    """Unlink one chat, by the id ``pupil_chats`` shows."""
    identity = session.get(ChatIdentity, chat_id)
    if identity is None:
        raise LookupError(f"There is no linked chat with id {chat_id}.")
    session.delete(identity)
    audit(session, channel="admin", actor=ADMIN, action="end_chat", allowed=True, detail=f"chat {chat_id}")
