"""Pure helpers of the look-ups: name matching, English dates and finding codes."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core import codes, dates, names
from bot.core.codes import find_code, new_code

PUPILS = [
    names.Candidate(1, "Amy", "Carter"),
    names.Candidate(2, "Amy", "Fenwick"),
    names.Candidate(3, "Ben", "Okafor"),
    names.Candidate(4, "Mohammed", "Rahman"),
    names.Candidate(5, "Grace", "Lee"),
]


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("when is Amy Carter's next review", [1]),
        ("AMY FENWICK targets", [2]),
        ("amy", [1, 2]),
        ("amys plan", [1, 2]),
        ("bens targets", [3]),
        ("Okafor", [3]),
        ("Mohamed's review", [4]),
        ("mohammad rahman plan", [4]),
        ("aimy fenwik", [2]),
        ("Grace's targets", [5]),
        ("when is the next review", []),
        ("what support does she get", []),
        ("thanks mate", []),
        ("Zeb's plan", []),
    ],
)
def test_match_is_forgiving_but_not_loose(text: str, ids: list[int]) -> None:
    assert [pupil.id for pupil in names.match(text, PUPILS)] == ids


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("what's in my child's plan", []),
        ("when's the next meeting about my son", []),
        ("what's in Ben's plan", ["ben"]),
        ("what about grace's plan", ["grace"]),
        ("is Grace on track", ["grace"]),
        ("show me zeb targets", ["zeb"]),
        ("What are my daughter's targets please", []),
    ],
)
def test_name_like_words(text: str, expected: list[str]) -> None:
    assert names.name_like_words(text) == expected


def test_edit_distance_counts_swaps_as_one() -> None:
    assert names.edit_distance("amy", "amy") == 0
    assert names.edit_distance("amy", "mya") == 2
    assert names.edit_distance("chloe", "cholе", 2) > 1
    assert names.edit_distance("chloe", "chole") == 1
    assert names.edit_distance("fenwick", "fenwik") == 1
    assert names.edit_distance("ab", "abcdef") == 3


def test_long_date_is_written_the_english_way() -> None:
    assert dates.long_date(dt.date(2025, 1, 14)) == "Tuesday 14 January 2025"
    assert dates.long_date(dt.date(2026, 3, 1)) == "Sunday 1 March 2026"


@pytest.mark.parametrize(
    ("offset", "text"),
    [
        (0, "today"),
        (1, "tomorrow"),
        (-1, "yesterday"),
        (3, "in 3 days"),
        (-12, "12 days ago"),
        (35, "in 5 weeks"),
        (130, "in 4 months"),
    ],
)
def test_relative(offset: int, text: str) -> None:
    now = dt.date(2026, 3, 2)
    assert dates.relative(now + dt.timedelta(days=offset), now) == text


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("which reviews are due", 30),
        ("reviews in the next 14 days", 14),
        ("reviews due in the next two weeks", 14),
        ("any reviews next week", 7),
        ("the next fortnight", 14),
        ("reviews due this month", 30),
        ("in the next 3 months", 90),
        ("a couple of weeks", 14),
        ("next 5000 days", 366),
        ("this term", 91),
    ],
)
def test_days_asked(text: str, days: int) -> None:
    assert dates.days_asked(text) == days


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("my code is KQ7D-M2XA-Z9P6", "KQ7D-M2XA-Z9P6"),
        ("code kq7d m2xa z9p6 please", "KQ7D-M2XA-Z9P6"),
        ("VH3PA7KNUB4S", "VH3P-A7KN-UB4S"),
        ("code is NR8E 5TYB C4K7 thanks", "NR8E-5TYB-C4K7"),
        ("my old code KQ7D-M2XA", None),
        ("I have a code", None),
        ("together", None),
        ("12345678", None),
        ("my link code is", None),
        ("Is the 2015 Code still in force?", None),
        ("SEND code 2014 says", None),
    ],
)
def test_find_code(text: str, code: str) -> None:
    assert find_code(text) == code


def test_every_new_code_is_found_in_a_message() -> None:
    for _ in range(2000):
        code = new_code()
        assert find_code(f"my code is {code}") == code
        assert find_code(code.lower().replace("-", " ")) == code


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("my code is KQ7D-M2XA-Z9P6", "my code is [code]"),
        ("code kq7d m2xa z9p6 please", "code [code] please"),
        ("VH3PA7KNUB4S is mine", "[code] is mine"),
        (
            "The plan: http://localhost:5056/documents/Xy3_-abcdefghijklmnopqrstuvwxyz0123456789ABCD.pdf (or .html)",
            "The plan: http://localhost:5056/documents/[private link].pdf (or .html)",
        ),
        (
            "Is the 2015 Code still in force? Year 4 help with this",
            "Is the 2015 Code still in force? Year 4 help with this",
        ),
    ],
)
def test_codes_and_private_links_are_removed_from_text(text: str, kept: str) -> None:
    assert codes.redact(text) == kept


def test_every_new_code_is_removed_however_it_is_typed() -> None:
    for _ in range(500):
        code = new_code()
        for typed in (code, code.lower(), code.replace("-", " "), code.replace("-", "")):
            assert code.replace("-", "") not in codes.redact(f"here: {typed}.").upper().replace("-", "").replace(
                " ", ""
            )
