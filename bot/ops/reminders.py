"""The reminder schedule: tells staff of reviews due soon and overdue.

Usage: python -m bot.ops.reminders [--once | --rounds N] [--every SECONDS] [--horizon DAYS] [--batch N]

Each round makes the missing reminders for every school (reviews not yet
held, due within the horizon or overdue; one per review and person) and, when
``TELEGRAM_BOT_TOKEN`` is set, sends those of staff linked on Telegram to
their chat, through the Bot API at ``TELEGRAM_API_URL``, with the same bot
as the Telegram app builds (``bot/telegram/sending.py``): paced to Telegram's
flood limits, waiting out a "429 retry after", and a long reminder split into
several messages. The bot is opened at the start of a round's sending and
closed at its end. Reminders of staff not on Telegram wait for their next
visit to the chat (``for_visit``).

Each round also deletes conversations older than ``SEN_CONVERSATION_DAYS`` from the
Rasa servers' tracker store (``bot/ops/retention.py``).

Any number of copies may run against one database: a reminder is claimed
before it is sent, so each goes out once. A failed send gives the reminder
back to be tried in a later round. The log holds counts only, never a name.
``run.py`` starts one copy with the other servers; SIGTERM stops it between
two sends.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import logging
import os
import signal
import socket
import sys
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from bot import settings
from bot.core import dates, wording
from bot.ops import retention
from bot.store import reminders
from bot.store.access import ADMIN, Person, PersonKind, Viewer, audit
from bot.store.db import sessions
from bot.store.models import School
from bot.store.records import agenda

if TYPE_CHECKING:
    from telegram.ext import ExtBot

logger = logging.getLogger("sen-support.reminders")

CHANNEL = "telegram"
BATCH = 50
DIGEST_LIMIT = 500


@dataclass
class RoundResult:
    created: int = 0
    conversation_events_deleted: int = 0
    sent: int = 0
    failed: int = 0


def worker_name() -> str:
    """This process's name on the claims it makes."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def make_bot(token: str, api_url: str | None = None) -> ExtBot[int]:
    """The Telegram app's kind of bot; imported only when a token is set, so the admin command stays quick."""
    from bot.telegram import sending

    return sending.make_bot(token, api_url)


def _chat_id(address: str) -> Any:
    return int(address) if address.lstrip("-").isdigit() else address


class Schedule:
    """One copy of the schedule: its claims carry ``worker``'s name."""

    def __init__(
        self, factory: sessionmaker, horizon: int, token: str = "", api_url: str | None = None, batch: int = BATCH
    ) -> None:
        self.factory = factory
        self.horizon = horizon
        self.batch = batch
        self.worker = worker_name()
        self.bot = make_bot(token, api_url) if token else None
        self.stop = asyncio.Event()

    def _sweep(self) -> int:
        with self.factory.begin() as session:
            return reminders.sweep(session, horizon_days=self.horizon)

    def _claim(self) -> list[reminders.Due]:
        with self.factory.begin() as session:
            return reminders.claim(session, self.worker, CHANNEL, limit=self.batch)

    def _delivered(self, reminder_id: int) -> None:
        with self.factory.begin() as session:
            reminders.delivered(session, reminder_id, CHANNEL)

    def _release(self, reminder_ids: list[int]) -> None:
        with self.factory.begin() as session:
            for reminder_id in reminder_ids:
                reminders.release(session, reminder_id)

    @staticmethod
    async def _open(bot: ExtBot[int]) -> bool:
        """Start the bot's HTTP client and check the Bot API answers; if it does not, nothing is claimed."""
        try:
            await bot.initialize()
        except Exception as problem:
            logger.warning("Telegram is not reachable (%s); reminders wait for the next round.", type(problem).__name__)
            return False
        return True

    @staticmethod
    async def _close(bot: ExtBot[int]) -> None:
        """Close the bot's HTTP client, so no connection is held open between rounds."""
        try:
            await bot.shutdown()
        except Exception as problem:
            logger.debug("Closing the Telegram bot failed (%s).", type(problem).__name__)

    async def _send(self, bot: ExtBot[int], due: reminders.Due) -> bool:
        """Send one reminder, in as many messages as it needs; whether all of them went.

        A "429 retry after" is waited out and tried again by the bot's rate
        limiter. Any other failure, even after some parts went, gives the whole
        reminder back to be sent in a later round: a repeated first part is
        better than a reminder cut short.
        """
        from telegram.error import TelegramError

        from bot.telegram import sending

        try:
            await sending.send_text(bot, _chat_id(due.address or ""), wording.reminder_text(due.pupil_name, due.due_on))
        except (TelegramError, OSError, ValueError) as problem:
            logger.warning(
                "A reminder could not be sent on Telegram (%s); it will be tried again.", type(problem).__name__
            )
            return False
        return True

    async def deliver(self) -> tuple[int, int]:
        """Open the bot, send the Telegram reminders that are due, and close the bot again."""
        if self.bot is None:
            return 0, 0
        try:
            if not await self._open(self.bot):
                return 0, 0
            return await self._deliver_batches(self.bot)
        finally:
            await self._close(self.bot)

    async def _deliver_batches(self, bot: ExtBot[int]) -> tuple[int, int]:
        """Claim and send Telegram reminders, batch after batch, until none are left or a send fails."""
        sent = failed = 0
        while not self.stop.is_set():
            batch = await asyncio.to_thread(self._claim)
            claimed_at = time.monotonic()
            for position, due in enumerate(batch):
                too_long = time.monotonic() - claimed_at > reminders.CLAIM_TIMEOUT.total_seconds() / 2
                if self.stop.is_set() or too_long:
                    # Give the rest back now rather than leave them held until the claim runs out.
                    await asyncio.to_thread(self._release, [left.reminder_id for left in batch[position:]])
                    return sent, failed
                if await self._send(bot, due):
                    await asyncio.to_thread(self._delivered, due.reminder_id)
                    sent += 1
                else:
                    await asyncio.to_thread(self._release, [due.reminder_id])
                    failed += 1
            if failed or len(batch) < self.batch:
                break
        return sent, failed

    async def round(self) -> RoundResult:
        result = RoundResult(created=await asyncio.to_thread(self._sweep))
        # Old conversations go on the same schedule (bot/ops/retention.py).
        result.conversation_events_deleted = await asyncio.to_thread(retention.sweep_configured)
        if self.bot is not None:
            result.sent, result.failed = await self.deliver()
        return result

    async def run(self, every: float, rounds: int | None = None) -> int:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop.set)
        logger.info(
            "Reminder schedule: every %s s, reviews within %d days or overdue; Telegram %s.",
            f"{every:g}",
            self.horizon,
            "on" if self.bot else "off (TELEGRAM_BOT_TOKEN not set)",
        )
        done = 0
        while not self.stop.is_set() and (rounds is None or done < rounds):
            try:
                result = await self.round()
            except Exception as problem:
                logger.warning("A reminder round failed (%s); trying again next round.", type(problem).__name__)
            else:
                if result.created or result.sent or result.failed:
                    logger.info(
                        "Reminders: %d new, %d sent on Telegram, %d to try again.",
                        result.created,
                        result.sent,
                        result.failed,
                    )
            done += 1
            if rounds is not None and done >= rounds:
                break
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.stop.wait(), timeout=every)
        logger.info("Reminder schedule stopped.")
        return 0


def digest(session: Session, school: School, days: int, today: dt.date | None = None) -> str:
    """A school's reviews due in the next ``days`` days, overdue and flagged; makes the reminders for them.

    Read as the admin command (the audit trail says "admin"). Reminders made
    here are pushed by the schedule on Telegram or shown at the staff's next
    visit to the chat.
    """
    today = today or dates.today()
    created = reminders.sweep(session, today=today, horizon_days=days, school_id=school.id)
    audit(session, channel="admin", actor=ADMIN, action="review_digest", allowed=True, detail=f"school {school.id}")
    found = agenda(
        session,
        Viewer(Person(kind=PersonKind.admin.value, id=None, school_id=school.id), "admin"),
        days,
        today=today,
        limit=DIGEST_LIMIT,
    )
    assert found is not None
    waiting = reminders.pending_count(session, school.id)
    parts = [
        f"Review digest for {school.name}, {dates.long_date(today)}",
        wording.agenda_text(school.name, found, overdue_first=True, today=today),
        f"Reminders: {created} new for staff, {waiting} waiting to be delivered (sent on Telegram by the "
        "reminder schedule, or shown at the start of their next chat).",
    ]
    return "\n\n".join(parts)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.ops.reminders", description=__doc__.split("\n")[0])
    parser.add_argument("--once", action="store_true", help="run one round and exit")
    parser.add_argument("--rounds", type=int, help="run this many rounds and exit")
    parser.add_argument(
        "--every",
        type=float,
        default=settings.reminder_interval(),
        help="seconds between rounds (default: SEN_REMINDER_INTERVAL, 900)",
    )
    parser.add_argument(
        "--horizon",
        type=int,
        default=settings.reminder_horizon(),
        help="remind of reviews due within this many days (default: SEN_REMINDER_DAYS, 7)",
    )
    parser.add_argument("--batch", type=int, default=BATCH, help=f"reminders claimed at a time (default {BATCH})")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    # The HTTP client logs every request's URL, which holds the bot's token.
    for noisy in ("httpx", "httpcore", "telegram"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    rounds = 1 if args.once else args.rounds

    async def go() -> int:
        schedule = Schedule(sessions(), args.horizon, settings.telegram_token(), batch=max(1, args.batch))
        return await schedule.run(max(0.0, args.every), rounds)

    return asyncio.run(go())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
