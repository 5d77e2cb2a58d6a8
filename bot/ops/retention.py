"""Keeping conversations only as long as needed: the sweep of old conversation events.

Rasa's tracker store keeps every event of every conversation (``bot/rasa_server/tracker_store.py``
writes Rasa's ``events`` table, in SQLite for ``make run`` and in PostgreSQL when scaled). The
reminder schedule (``bot/ops/reminders.py``) calls ``sweep`` each round: events older than
``settings.conversation_days()`` go, without touching a conversation in use:

- a conversation whose newest event is older than that goes whole;
- a conversation still in use keeps its current session (everything from its latest
  ``session_started``), which Rasa loads on every turn, and loses only older sessions' old events.

This reads the table with plain SQL, so the schedule never loads Rasa.
"""

from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa

from bot import settings
from bot.store.models import utcnow

logger = logging.getLogger("sen-support.retention")

EVENTS = sa.table(
    "events",
    sa.column("id", sa.Integer),
    sa.column("sender_id", sa.String),
    sa.column("type_name", sa.String),
    sa.column("timestamp", sa.Float),
)


def sweep(url: str, days: int, now: dt.datetime | None = None) -> int:
    """Delete conversation events older than ``days`` from the tracker store at ``url``; how many went."""
    cutoff = ((now or utcnow()) - dt.timedelta(days=days)).replace(tzinfo=dt.timezone.utc).timestamp()
    engine = sa.create_engine(url)
    try:
        if not sa.inspect(engine).has_table("events"):
            return 0
        with engine.begin() as connection:
            newest = (
                sa.select(EVENTS.c.sender_id)
                .group_by(EVENTS.c.sender_id)
                .having(sa.func.max(EVENTS.c.timestamp) < cutoff)
            )
            unused = connection.execute(sa.delete(EVENTS).where(EVENTS.c.sender_id.in_(newest))).rowcount
            latest = EVENTS.alias("latest")
            current_session = (
                sa.select(sa.func.max(latest.c.id))
                .where(latest.c.sender_id == EVENTS.c.sender_id, latest.c.type_name == "session_started")
                .scalar_subquery()
            )
            earlier = connection.execute(
                sa.delete(EVENTS).where(EVENTS.c.timestamp < cutoff, EVENTS.c.id < current_session)
            ).rowcount
        return int(unused or 0) + int(earlier or 0)
    finally:
        engine.dispose()


def sweep_configured(now: dt.datetime | None = None) -> int:
    """``sweep`` of the tracker store this deployment's Rasa servers write, if this process knows where it is."""
    url = settings.conversations_url()
    if not url:
        return 0
    removed = sweep(url, settings.conversation_days(), now)
    if removed:
        logger.info("Conversations: %d events older than %d days deleted.", removed, settings.conversation_days())
    return removed
