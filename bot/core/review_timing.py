"""When a pupil's reviews fall due, judged against the Code of Practice.

The review of a pupil's SEN support happens on the date agreed in the plan
(Code of Practice 6.54); the Code sets no number of reviews a year. It does say
schools should meet parents at least three times a year (6.65), so more than
about four months between one review and the next probably means a meeting
with parents is missing. A pupil on SEN support with no review booked, with
such a gap, or with a review overdue, is flagged to staff.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.core import dates
from bot.core.names import Candidate

REVIEW_GAP_LIMIT = dt.timedelta(days=122)  # about four months


@dataclass(frozen=True)
class Timing:
    """Where a pupil's reviews stand against the Code's timing."""

    next_booked: dt.date | None
    last_held: dt.date | None
    overdue: bool
    none_booked: bool
    long_gap: bool


def review_timing(
    plan_agreed_on: dt.date | None,
    held: Iterable[dt.date],
    booked: Iterable[dt.date],
    today: dt.date | None = None,
) -> Timing:
    """Judge one pupil's reviews: the next one booked, the last one held, and what to flag."""
    today = today or dates.today()
    held = sorted(held)
    booked = sorted(booked)
    last_held = held[-1] if held else None
    next_booked = booked[0] if booked else None
    start = last_held or plan_agreed_on
    long_gap = bool(next_booked and start and next_booked - start > REVIEW_GAP_LIMIT)
    if not next_booked and start and today - start > REVIEW_GAP_LIMIT:
        long_gap = True
    return Timing(
        next_booked=next_booked,
        last_held=last_held,
        overdue=bool(next_booked and next_booked < today),
        none_booked=next_booked is None,
        long_gap=long_gap,
    )


@dataclass
class Agenda:
    """A school's reviews as staff need them: due soon, overdue, and flagged.

    Each list holds at most the agenda's limit, soonest or most urgent first;
    the ``*_total`` counts say how many there are in all.
    """

    days: int
    due: list[tuple[Candidate, dt.date]] = field(default_factory=list)
    overdue: list[tuple[Candidate, dt.date]] = field(default_factory=list)
    none_booked: list[Candidate] = field(default_factory=list)
    long_gap: list[tuple[Candidate, dt.date, dt.date]] = field(default_factory=list)
    due_total: int = 0
    overdue_total: int = 0
    none_booked_total: int = 0
    long_gap_total: int = 0
