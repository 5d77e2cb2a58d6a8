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


MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+(?P<year>\d{4}))?"
WRITTEN_DATES = (
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?(?P<month>{_MONTH})\b{_YEAR}", re.IGNORECASE),
    re.compile(rf"\b(?P<month>{_MONTH})\s+{_DAY}\b{_YEAR}", re.IGNORECASE),
)
NUMERIC_DATE = re.compile(r"\b(?P<day>\d{1,2})[/.-](?P<month>\d{1,2})(?:[/.-](?P<year>\d{2}|\d{4}))?\b")


def _days_in(month: int, year: int | None) -> int:
    if month == 2:
        return 29 if year is None or (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def impossible_date(text: str) -> str | None:
    """What is wrong with a date that cannot exist ("31 April", "30/2", "14/13"), in words; None if nothing is."""
    for pattern in WRITTEN_DATES:
        for found in pattern.finditer(text or ""):
            month = MONTHS[found.group("month").lower()]
            problem = _day_problem(int(found.group("day")), month, found.group("year"))
            if problem:
                return problem
    for found in NUMERIC_DATE.finditer(text or ""):
        day, month = int(found.group("day")), int(found.group("month"))
        if month == 0 or month > 12:
            return f"There is no month {month}: dates are day first, then month (1 to 12), as in 14/3 for 14 March."
        problem = _day_problem(day, month, found.group("year"))
        if problem:
            return problem
    return None


def _day_problem(day: int, month: int, year_text: str | None) -> str | None:
    year = int(year_text) if year_text else None
    if year is not None and year < 100:
        year += 2000
    name = dt.date(2000, month, 1).strftime("%B")
    if day == 0:
        return f"There is no day 0 in {name}."
    most = _days_in(month, year)
    if day <= most:
        return None
    if month == 2 and day == 29:
        return f"{year} is not a leap year, so February {year} has only 28 days."
    return f"{name} has only {most} days, so there is no {day} {name}."


AGO = re.compile(
    r"\b(?P<count>\d{1,3}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")\s+"
    r"(?P<unit>day|week|fortnight|month)s?\s+ago\b",
    re.IGNORECASE,
)


def find_date(text: str, prefer: str = "future", now: dt.date | None = None) -> tuple[str, dt.date] | None:
    """A date written somewhere in a longer message ("we applied on the 2nd"): the words, and the date they mean."""
    from dateparser.search import search_dates

    now = now or today()
    ago = AGO.search(text or "")
    if ago:
        count = ago.group("count")
        number = int(count) if count.isdigit() else NUMBER_WORDS[count.lower()]
        return ago.group(0), now - dt.timedelta(days=number * UNIT_DAYS[ago.group("unit").lower()])
    found = search_dates(
        text or "",
        languages=["en"],
        settings={"DATE_ORDER": "DMY", "RELATIVE_BASE": dt.datetime.combine(now, dt.time(12))},
    )
    for words, _ in found or []:
        # Read again by this module's own rules, so "the 2nd" falls in the past or the future as asked.
        spoken = re.sub(r"^(?:on|since|from|by|at)\s+(?:the\s+)?|^the\s+", "", words.strip(), flags=re.IGNORECASE)
        day = parse_date(spoken, prefer, now)
        if day is None or not (any(ch.isdigit() for ch in words) or re.search(_MONTH, words, re.IGNORECASE)):
            continue
        if re.fullmatch(r"\d{1,2}(?:st|nd|rd|th)?", spoken, re.IGNORECASE):
            # A day of the month alone ("the 2nd") is the nearest such day on the side asked for.
            day = _nearest_day_of_month(day.day, prefer, now) or day
        return words, day
    return None


def _nearest_day_of_month(day: int, prefer: str, now: dt.date) -> dt.date | None:
    year, month = now.year, now.month
    for _ in range(3):
        if day <= _days_in(month, year):
            candidate = dt.date(year, month, day)
            if (candidate <= now) if prefer == "past" else (candidate >= now):
                return candidate
        step = -1 if prefer == "past" else 1
        month += step
        if month == 0:
            year, month = year - 1, 12
        elif month == 13:
            year, month = year + 1, 1
    return None
