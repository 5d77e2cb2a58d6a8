"""Dates as people in England write and read them.

``long_date`` writes "Tuesday 14 January 2025"; ``relative`` says "in 3 days"
or "12 days ago"; ``days_asked`` reads "in the next two weeks" as 14.
"""

from __future__ import annotations

import datetime as dt
import re

NUMBER_WORDS = {
    "a": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fourteen": 14,
    "twenty": 20,
    "thirty": 30,
    "couple of": 2,
    "few": 3,
}
UNIT_DAYS = {"day": 1, "week": 7, "fortnight": 14, "month": 30, "term": 91}
PERIOD = re.compile(
    r"\b(?P<count>\d{1,5}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")?\s*"
    r"(?P<unit>day|week|fortnight|month|term)s?\b",
    re.IGNORECASE,
)
DEFAULT_DAYS = 30
MAX_DAYS = 366


def today() -> dt.date:
    return dt.date.today()


def long_date(day: dt.date) -> str:
    """ "Tuesday 14 January 2025"."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def relative(day: dt.date, now: dt.date | None = None) -> str:
    """ "today", "tomorrow", "in 3 days", "in 5 weeks", "yesterday", "12 days ago"."""
    delta = (day - (now or today())).days
    if delta == 0:
        return "today"
    if delta == 1:
        return "tomorrow"
    if delta == -1:
        return "yesterday"
    size = abs(delta)
    amount = (
        f"{size} days" if size < 28 else f"{round(size / 7)} weeks" if size < 90 else f"{round(size / 30.4)} months"
    )
    return f"in {amount}" if delta > 0 else f"{amount} ago"


def days_asked(text: str, default: int = DEFAULT_DAYS) -> int:
    """How many days ahead a question asks about: "next 2 weeks" is 14, "this month" 30."""
    found = PERIOD.search(text or "")
    if not found:
        return default
    count = found.group("count")
    number = 1 if count is None else int(count) if count.isdigit() else NUMBER_WORDS[count.lower()]
    return max(1, min(MAX_DAYS, number * UNIT_DAYS[found.group("unit").lower()]))


WEEKDAY = re.compile(r"^(?:(?:on|next|this|coming)\s+)+(?P<day>mon|tue|wed|thu|fri|sat|sun)[a-z]*$", re.IGNORECASE)
TWO_DIGIT_YEAR = re.compile(
    r"^(?P<head>.*\d{1,2}(?:st|nd|rd|th)?[\s./-]+(?:\d{1,2}|[a-z]{3,9})[\s./-]+)(?P<year>\d{2})$", re.IGNORECASE
)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_date(text: str, prefer: str = "future", now: dt.date | None = None) -> dt.date | None:
    """Read a date the way people in England write it, or None.

    Takes "14 March 2025", "14/3" (day first), "3.12.26", "2025-03-14",
    "tomorrow", "in two weeks", "Tuesday" and "next Tuesday" (the first
    Tuesday after today). A date without a year is taken in the future or
    the past as ``prefer`` says ("future" for a review date, "past" for the
    day a plan was agreed).
    """
    import dateparser

    now = now or today()
    cleaned = " ".join((text or "").strip().rstrip(".!").split())
    if not cleaned:
        return None
    try:
        return dt.date.fromisoformat(cleaned)
    except ValueError:
        pass
    weekday = WEEKDAY.match(cleaned)
    if weekday:
        wanted = WEEKDAYS.index(weekday.group("day").lower())
        return now + dt.timedelta(days=(wanted - now.weekday() - 1) % 7 + 1)
    short_year = TWO_DIGIT_YEAR.match(cleaned)
    if short_year:
        cleaned = f"{short_year.group('head')}20{short_year.group('year')}"
    parsed = dateparser.parse(
        cleaned,
        languages=["en"],
        settings={
            "DATE_ORDER": "DMY",
            "PREFER_DATES_FROM": "past" if prefer == "past" else "future",
            "PREFER_DAY_OF_MONTH": "first",
            "RELATIVE_BASE": dt.datetime.combine(now, dt.time(12)),
        },
    )
    return parsed.date() if parsed else None
