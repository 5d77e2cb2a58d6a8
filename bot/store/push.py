"""Push addresses: where the assistant may write to a member of staff unprompted.

On a channel that can send first (Telegram), the chat id a member of staff
linked from is their address for reminders. The store keeps it only
encrypted (Fernet, with a key derived from the identity key), next to the
keyed digest that identifies the chat; parents' chats never get one, and
"forget me" deletes the identity row and the address with it.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import settings
from bot.store.models import ChatIdentity

PUSH_CHANNELS = frozenset({"telegram"})
KEY_LABEL = b"sen-support push address"


def _fernet() -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KEY_LABEL).derive(settings.identity_key())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(address: str) -> str:
    """The address encrypted for the store."""
    return _fernet().encrypt(address.encode()).decode()


def unseal(sealed: str | None) -> str | None:
    """The address back, or None if there is none or it was sealed with another key."""
    if not sealed:
        return None
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None


def address_for(channel: str, external_id: str, is_staff: bool) -> str | None:
    """What to store as the push address of a chat being linked: staff on a channel that can send first only."""
    return seal(external_id) if is_staff and channel in PUSH_CHANNELS else None


def push_address_of(session: Session, staff_id: int, channel: str = "telegram") -> str | None:
    """The chat address to push to for this member of staff on ``channel`` (the latest linked chat), or None."""
    sealed = session.execute(
        select(ChatIdentity.push_address)
        .where(
            ChatIdentity.staff_id == staff_id, ChatIdentity.channel == channel, ChatIdentity.push_address.isnot(None)
        )
        .order_by(ChatIdentity.linked_at.desc(), ChatIdentity.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return unseal(sealed)
