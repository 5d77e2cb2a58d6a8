"""The Rasa server's tracker store: Rasa's SQL tracker store, bounded, patient and honest.

Configured in ``endpoints.yml`` as ``type: bot.rasa_server.tracker_store.SessionTrackerStore``
with the keys of Rasa's SQL tracker store, and optionally ``max_session_events``.
It changes five things:

- **Long conversations roll into a new session.** Rasa loads and replays every
  event of the current session on every turn, so a turn's cost grows with the
  conversation. When a session reaches ``max_session_events`` events, the end of
  a turn starts a new session that carries over every slot, the active form and
  the last action (so "yes" after an answer, or the next answer in a plan walk,
  means what it meant). Rasa's SQL store loads only the latest session, so a turn
  costs the same at turn 500 as at turn 10. Earlier sessions stay in the table.
- **Database work runs in a thread**, so one conversation's query never holds up
  another conversation's turn on the same server, and connections are checked
  before use, so a restarted database costs no failed turn once it is back.
- **A brief database outage is waited out**: a query that fails because the
  database cannot be reached is tried again for up to ``retry_seconds``.
- **A failure is not hidden.** Rasa wraps every tracker store in a fail-safe that,
  when the database fails, starts a blank conversation in the server's memory.
  That would answer a parent mid-form as if they had never spoken, and could
  write a stray session into the table when the database returns.
  ``expose_failures`` removes the wrapper, so the error reaches the channel, which
  tells the user to try again in a moment (``bot/rasa_server/channels.py``).

- **Codes and private links are never kept.** Before an event is written,
  every code-shaped string (a link or access code typed by a user) and every
  private document link's token (given in a reply) is replaced by a placeholder
  (``bot/core/codes.py``): the turn that used them has ended, and a conversation
  table must not open a child's plan or link a chat.

Saving uses the number of events the turn loaded instead of counting them again,
and two indexes let the latest session be found without reading older ones. On
SQLite (one machine, ``make run``) the database is kept in write-ahead mode.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.events import ActionExecuted, ActiveLoop, Event, SessionStarted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from bot.core.codes import redact

logger = logging.getLogger(__name__)

DEFAULT_MAX_SESSION_EVENTS = 120
DEFAULT_RETRY_SECONDS = 5.0
NOT_CARRIED = {"session_started_metadata"}
STORED = "_sen_events_stored"  # attribute set on a tracker: how many of its events are in the table

T = TypeVar("T")


class TrackerStoreUnavailable(ConnectionError):
    """The conversation database could not be reached, even after waiting."""


def redacted(value: Any) -> Any:
    """``value`` (an event as a dict) with codes and private links removed from every string in it."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redacted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redacted(item) for item in value]
    return value


def rollover_events(tracker: DialogueStateTracker) -> list[Event]:
    """The events that start a new session carrying this one's state over.

    They share one timestamp, that of the new ``SessionStarted``: the SQL store
    loads a session as the events stamped at or after its start.
    """
    now = time.time()
    last_action = None
    for event in reversed(tracker.events):
        if isinstance(event, SessionStarted):
            break
        if isinstance(event, ActionExecuted) and event.action_name not in (ACTION_LISTEN_NAME, None):
            last_action = event.action_name
            break
    events: list[Event] = [
        ActionExecuted(ACTION_SESSION_START_NAME, timestamp=now - 0.001),
        SessionStarted(timestamp=now),
    ]
    events += [
        SlotSet(name, slot.value, timestamp=now)
        for name, slot in tracker.slots.items()
        if name not in NOT_CARRIED and slot.value != slot.initial_value
    ]
    if last_action and last_action != ACTION_SESSION_START_NAME:
        events.append(ActionExecuted(last_action, timestamp=now))
    if tracker.active_loop_name:
        events.append(ActiveLoop(tracker.active_loop_name, timestamp=now))
    events.append(ActionExecuted(ACTION_LISTEN_NAME, timestamp=now))
    return events


def session_length(tracker: DialogueStateTracker) -> int:
    """Events in the tracker's latest session."""
    count = 0
    for event in reversed(tracker.events):
        if isinstance(event, SessionStarted):
            break
        count += 1
    return count


def _sqlite_write_ahead(connection: Any, _record: Any) -> None:
    """SQLite in write-ahead mode: readers never wait for a writer, and a commit needs no full sync.

    A commit survives the server process crashing; only the machine losing power can
    undo the last turns written.
    """
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class SessionTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store, with long sessions rolled over and outages waited out."""

    engine: sa.engine.Engine  # Rasa's engine, replaced in ``__init__``

    def __init__(
        self,
        *args: Any,
        max_session_events: int = DEFAULT_MAX_SESSION_EVENTS,
        retry_seconds: float = DEFAULT_RETRY_SECONDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_session_events = int(max_session_events)
        self.retry_seconds = float(retry_seconds)
        url = self.engine.url
        self.engine.dispose()
        if url.get_backend_name() == "sqlite":
            # One kept connection per thread instead of opening the file for every query.
            self.engine = sa.create_engine(
                url, poolclass=sa.pool.QueuePool, pool_size=4, connect_args={"check_same_thread": False}
            )
            sa.event.listen(self.engine, "connect", _sqlite_write_ahead)
        else:
            self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
        self.sessionmaker = sa.orm.sessionmaker(bind=self.engine)
        self._add_indexes()

    def _add_indexes(self) -> None:
        statements = [
            "CREATE INDEX IF NOT EXISTS events_sender_type_time ON events (sender_id, type_name, timestamp)",
            "CREATE INDEX IF NOT EXISTS events_sender_time ON events (sender_id, timestamp)",
        ]
        for statement in statements:
            try:
                with self.engine.begin() as connection:
                    connection.execute(sa.text(statement))
            except sa.exc.DBAPIError as error:  # another server creating it at the same moment
                logger.info("Tracker store index not created here: %s", error.__class__.__name__)

    async def _patiently(self, work: Callable[..., T], *args: Any) -> T:
        """Run database work in a thread, trying again while the database is unreachable."""
        deadline = time.monotonic() + self.retry_seconds
        pause = 0.1
        while True:
            try:
                return await asyncio.to_thread(work, *args)
            except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
                if time.monotonic() + pause > deadline:
                    raise TrackerStoreUnavailable("The conversation database cannot be reached.") from error
                logger.warning("Conversation database unreachable (%s); trying again.", error.__class__.__name__)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 1.0)

    async def create_tracker(self, sender_id: str, append_action_listen: bool = True) -> DialogueStateTracker:
        """A new conversation's tracker, saved with the rest of its first turn rather than on its own."""
        tracker = self.init_tracker(sender_id)
        if append_action_listen:
            tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
        setattr(tracker, STORED, 0)
        return tracker

    def _load(self, sender_id: str, fetch_events_from_all_sessions: bool) -> list[dict[str, Any]]:
        with self.session_scope() as session:
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions).with_entities(
                self.SQLEvent.data
            )
            return [json.loads(data) for (data,) in rows]

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> DialogueStateTracker | None:
        events = await self._patiently(self._load, sender_id, fetch_events_from_all_sessions)
        if not self.domain or not events:
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        if not fetch_events_from_all_sessions:
            setattr(tracker, STORED, len(tracker.events))
        return tracker

    def _write(self, sender_id: str, events: list[Event], known_stored: int | None) -> int:
        """Append the events not yet in the table; return how many of ``events`` are stored."""
        with self.session_scope() as session:
            stored = known_stored
            if stored is None:
                stored = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).count()
            for event in events[stored:]:
                data = redacted(event.as_dict())
                session.add(
                    self.SQLEvent(
                        sender_id=sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                        action_name=data.get("name"),
                        data=json.dumps(data),
                    )
                )
            session.commit()
        return len(events)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the turn's new events, starting a new session first when this one is long."""
        await self.stream_events(tracker)
        known = getattr(tracker, STORED, None)
        if (
            session_length(tracker) >= self.max_session_events
            and tracker.latest_action_name == ACTION_LISTEN_NAME
            and known is not None
        ):
            for event in rollover_events(tracker):
                tracker.update(event)
        events = list(tracker.events)
        if known is not None and known > len(events):
            known = None
        try:
            stored = await asyncio.to_thread(self._write, tracker.sender_id, events, known)
        except (sa.exc.OperationalError, sa.exc.InterfaceError):
            stored = await self._patiently(self._write_again, tracker.sender_id, events, known)
        setattr(tracker, STORED, stored)

    def _write_again(self, sender_id: str, events: list[Event], known_stored: int | None) -> int:
        """After a write that failed: the commit may still have happened, so look before writing."""
        if events and known_stored is not None and known_stored < len(events):
            last = events[-1]
            with self.session_scope() as session:
                committed = (
                    session.query(self.SQLEvent.id)
                    .filter(
                        self.SQLEvent.sender_id == sender_id,
                        self.SQLEvent.type_name == last.type_name,
                        self.SQLEvent.timestamp == last.timestamp,
                    )
                    .first()
                )
            if committed is not None:
                return len(events)
        return self._write(sender_id, events, known_stored)


def expose_failures(agent: Any) -> None:
    """Take Rasa's fail-safe wrapper off the agent's tracker store, so failures reach the channels."""
    for holder in (agent, getattr(agent, "processor", None)):
        store = getattr(holder, "tracker_store", None)
        if holder is not None and isinstance(store, FailSafeTrackerStore):
            holder.tracker_store = store._tracker_store
