"""What every store-backed action shares: the caller, the worker thread, the store guard, pupil buttons.

An action reads what it needs from Rasa's ``Tracker`` into a ``Caller`` in the
event loop, and only the ``Caller`` goes into the worker thread where the
store is used: the tracker never leaves the action. Store work runs in a
thread so that the action server keeps serving other conversations
meanwhile; a database that fails becomes ``StoreUnavailable`` and a kind
"try again" for the person, never silence. Nothing about a pupil is written
to the logs.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.core.names import Candidate
from bot.store import accounts
from bot.store.access import Viewer
from bot.store.models import Staff

T = TypeVar("T")
Events = list[dict[str, Any]]
Run = Callable[[Any, CollectingDispatcher, Tracker, dict[str, Any]], Awaitable[Events]]

STORE_TROUBLE = "Sorry, I can't reach the school records just now. Please try again in a moment."
logger = logging.getLogger(__name__)


class StoreUnavailable(Exception):
    """The store could not be used for this message."""


@dataclass(frozen=True)
class Caller:
    """Who sent the message being handled, and what they sent: all the store side needs of a conversation."""

    channel: str
    sender_id: str
    text: str
    intent: str | None = None
    # Each part of the message with the plan and review steps it likeliest speaks to (bot/rasa_server/field_reader.py).
    fields: tuple[dict[str, Any], ...] = ()

    @classmethod
    def of(cls, tracker: Tracker) -> Caller:
        return cls(
            channel=tracker.get_latest_input_channel() or "rest",
            sender_id=tracker.sender_id,
            text=tracker.latest_message.get("text") or "",
            intent=latest_intent(tracker),
            fields=tuple(tracker.latest_message.get("fields") or ()),
        )

    def viewer(self, session: Session) -> Viewer:
        """The person this chat user is linked to (or nobody), looked up now."""
        return Viewer(accounts.who_is(session, self.channel, self.sender_id), self.channel)


def latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


async def in_thread(work: Callable[..., T], *args: Any) -> T:
    """Run store work in a worker thread; a database failure becomes ``StoreUnavailable``."""
    try:
        return await asyncio.to_thread(work, *args)
    except SQLAlchemyError as problem:
        logger.warning("store unavailable: %s", type(problem).__name__)
        raise StoreUnavailable() from problem


def store_guard(run: Run) -> Run:
    """An action's ``run`` that says sorry, instead of nothing, when the store fails."""

    @functools.wraps(run)
    async def guarded(self: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        try:
            return await run(self, dispatcher, tracker, domain)
        except StoreUnavailable:
            dispatcher.utter_message(text=STORE_TROUBLE)
            return []

    return guarded


def pupil_buttons(intent: str, pupils: Iterable[Candidate]) -> list[dict[str, str]]:
    """One button per pupil, each sending ``intent`` again with the pupil's id (checked again when it comes back)."""
    return [
        {"title": pupil.label or pupil.full_name, "payload": f"/{intent}{json.dumps({'pupil_id': str(pupil.id)})}"}
        for pupil in pupils
    ]


def button_pupil_id(tracker: Tracker) -> int | None:
    """The pupil id a button carried, if any; a typed id that is not a number becomes -1, refused like any other."""
    entity = next(tracker.get_latest_entity_values("pupil_id"), None)
    if entity is None:
        return None
    number = as_id(entity)
    return -1 if number is None else number


def as_id(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def school_name(session: Session, viewer: Viewer) -> str:
    """The name of the linked member of staff's school."""
    assert viewer.person is not None and viewer.person.id is not None
    return str(session.get(Staff, viewer.person.id).school.name)
