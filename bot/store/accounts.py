"""Linking chat users to staff and parents with one-time codes, and auditing.

A member of staff links with a code printed by the admin command; a parent
links with a code for one pupil, issued by their school. Codes are stored
only as digests, work once and expire. Wrong codes are throttled per chat
user: after ``MAX_WRONG_CODES`` within ``THROTTLE_WINDOW`` the user must wait.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot import settings
from bot.store import push
from bot.store.access import Person, audit, parent_person, staff_person
from bot.store.models import ChatIdentity, CodeAttempt, LinkCode, ParentPupil, utcnow

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CODE_LIFETIME = dt.timedelta(days=14)
MAX_WRONG_CODES = 5
THROTTLE_WINDOW = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class LinkResult:
    linked: Person | None
    reason: str  # linked, wrong, used, expired, throttled


def identity_digest(channel: str, external_id: str) -> str:
    message = f"{channel}:{external_id}".encode()
    return hmac.new(settings.identity_key(), message, hashlib.sha256).hexdigest()


def code_digest(code: str) -> str:
    normalised = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(normalised.encode()).hexdigest()


def new_code() -> str:
    """Eight characters as XXXX-XXXX, with at least one digit and one letter.

    Ambiguous characters (0/O, 1/I) are left out of the alphabet; the digit
    tells a code apart from a word when someone types it into the chat.
    """
    while True:
        raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if any(ch.isdigit() for ch in raw) and any(ch.isalpha() for ch in raw):
            return f"{raw[:4]}-{raw[4:]}"


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
                push_address=push.address_for(channel, external_id, is_staff=True),
            )
        )
    else:
        if session.get(ParentPupil, (link.parent_id, link.pupil_id)) is None:
            session.add(ParentPupil(parent_id=link.parent_id, pupil_id=link.pupil_id))
        session.add(ChatIdentity(channel=channel, identity_digest=digest, parent_id=link.parent_id, linked_at=now))
    session.flush()
    person = who_is(session, channel, external_id)
    audit(session, channel=channel, actor=person, action="link", allowed=True, pupil_id=link.pupil_id)
    return LinkResult(person, "linked")


def who_is(session: Session, channel: str, external_id: str) -> Person | None:
    """The staff member or parent this chat user is linked to, or None."""
    identity = session.execute(
        select(ChatIdentity).where(
            ChatIdentity.channel == channel, ChatIdentity.identity_digest == identity_digest(channel, external_id)
        )
    ).scalar_one_or_none()
    if identity is None:
        return None
    if identity.staff_id is not None:
        return staff_person(session, identity.staff_id)
    return parent_person(session, identity.parent_id)


def unlink(session: Session, channel: str, external_id: str) -> bool:
    """Forget this chat user on this channel. True if there was a link."""
    person = who_is(session, channel, external_id)
    result = session.execute(
        delete(ChatIdentity).where(
            ChatIdentity.channel == channel, ChatIdentity.identity_digest == identity_digest(channel, external_id)
        )
    )
    if result.rowcount:
        audit(session, channel=channel, actor=person, action="unlink", allowed=True)
    return bool(result.rowcount)
