"""A review meeting captured over the REST channel against real servers, then told to a parent.

Runs on the default store (SQLite tracker store) and on PostgreSQL with the
Redis lock store, like the other conversation tests.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from bot.core import dates
from tests.conftest import demo_codes
from tests.support.servers import say

NEXT = dates.today() + dt.timedelta(weeks=10)


@pytest.fixture(params=["sqlite", "postgres"])
def served(request: pytest.FixtureRequest) -> tuple[int, str]:
    port = request.getfixturevalue(f"rasa_{request.param}")
    store = request.getfixturevalue("demo_store" if request.param == "sqlite" else "demo_store_postgres")
    return port, store


def _say(port: int, sender: str, text: str) -> str:
    return "\n".join(reply.get("text", "") for reply in say(port, sender, text))


def _buttons(port: int, sender: str, text: str) -> tuple[str, list[dict[str, Any]]]:
    replies = say(port, sender, text)
    return "\n".join(r.get("text", "") for r in replies), [b for r in replies for b in r.get("buttons") or []]


def test_a_review_by_chat_with_a_note_and_a_question_then_the_parent_asks(served: tuple[int, str]) -> None:
    port, store = served
    codes = demo_codes(store)
    senco = f"senco-{uuid.uuid4().hex[:16]}"
    assert "linked as Mrs Priya Ashdown" in _say(port, senco, f"my code is {codes.staff_code}")
    opening, buttons = _buttons(port, senco, "start Amy Fenwick's review")
    assert "Starting Amy's review" in opening and "Section 1 of 8: The meeting." in opening
    assert {"title": "Skip for now", "payload": "skip"} in buttons
    assert "Who is at the meeting" in _say(port, senco, "today")
    assert "The parents' views" in _say(port, senco, "Mum, Ms Marsh and Mrs Ashdown")
    noted = _say(port, senco, "note: mum says sleep has improved")
    assert 'Noted on Amy\'s review: "mum says sleep has improved"' in noted and "The parents' views" in noted
    asked = _say(port, senco, "what does the SENCO do?")
    assert "Source:" in asked and "Now, back to the review." in asked and "The parents' views" in asked
    assert "Amy's views" in _say(port, senco, "Happy with the speech sessions")
    _say(port, senco, "I like going to see Mrs Lane")
    assert "Are there new targets to add?" in _say(port, senco, "skip")
    decision, buttons = _buttons(port, senco, "no")
    assert "What was decided?" in decision and "Consider an EHC needs assessment" in [b["title"] for b in buttons]
    assert "When is the next review?" in _say(port, senco, "carry on")
    summary = _say(port, senco, dates.long_date(NEXT))
    assert "Here is Amy's review:" in summary and f"• Next review: {dates.long_date(NEXT)}" in summary
    assert "• Notes: 1" in summary and "Is this right?" in summary
    saved = _say(port, senco, "confirm")
    assert "recorded as held" in saved and f"The next review is booked for {dates.long_date(NEXT)}." in saved
    assert "Overdue reviews" in _say(port, senco, "which reviews are overdue?"), "back to normal after the review"
    assert "Amy Fenwick's last review was on" in _say(port, senco, "how did Amy Fenwick's last review go?")

    parent = f"parent-{uuid.uuid4().hex[:16]}"
    _say(port, parent, f"my code is {codes.parent_code}")
    told = _say(port, parent, "how did the last review go?")
    assert "Amy's last review was on" in told and "Fenwick" not in told, "the parent hears about their own Amy"
    refused = _say(port, parent, "how did Amy Fenwick's review go?")
    assert "Sorry, I can only share the records of the child your access code is for (Amy)" in refused
