"""The start of a conversation: slots carried over, and review reminders shown once to linked staff."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from actions import linking
from actions import session as session_actions
from bot.store.db import sessions
from bot.store.models import AuditEvent, Reminder
from tests.conftest import make_tracker

DOMAIN = {"session_config": {"carry_over_slots_to_new_session": True}}


async def _start(
    sender: str, channel: str = "socketio", slots: dict[str, Any] | None = None
) -> tuple[list[str], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(sender_id=sender, channel=channel, slots=slots or {})
    events = await session_actions.ActionSessionStart().run(dispatcher, tracker, DOMAIN)
    return [m["text"] for m in dispatcher.messages], events


async def _link(code: str, sender: str, channel: str = "socketio") -> list[str]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("link_account", f"my code is {code}", sender_id=sender, channel=channel)
    await linking.ActionLinkAccount().run(dispatcher, tracker, {})
    return [m["text"] for m in dispatcher.messages]


async def test_staff_are_told_their_reminders_once_on_the_web(store: dict[str, Any]) -> None:
    said = await _link(store["codes"].staff_code, "web-senco")
    assert said[0].startswith("Thank you, you're now linked as Mrs Priya Ashdown")
    assert any(
        text.startswith("Reminder: Ben Okafor's review was due on") and "12 days overdue" in text for text in said[1:]
    )
    texts, events = await _start("web-senco")
    assert texts == [], "a reminder shown once is not shown again"
    assert events[0]["event"] == "session_started"
    assert (events[-1]["event"], events[-1]["name"]) == ("action", "action_listen")
    with sessions(store["url"])() as session:
        delivered = (
            session.execute(select(Reminder.delivered_channel).where(Reminder.staff_id == store["school"].senco_id))
            .scalars()
            .all()
        )
        assert delivered and set(delivered) == {"socketio"}
        assert session.execute(select(AuditEvent).where(AuditEvent.action == "remind_review")).first() is not None


async def test_a_new_visit_brings_a_new_reminder_and_slots_carry_over(store: dict[str, Any]) -> None:
    await _link(store["codes"].staff_code, "web-visit")
    with sessions(store["url"]).begin() as session:
        session.execute(Reminder.__table__.delete())
    texts, events = await _start("web-visit", slots={"pupil_ref": "3", "plan_id": None})
    assert any("Ben Okafor" in text for text in texts)
    assert {"event": "slot", "name": "pupil_ref", "value": "3", "timestamp": None} in events
    assert not any(e.get("name") == "plan_id" for e in events)


async def test_parents_and_strangers_get_no_reminders(store: dict[str, Any]) -> None:
    await _link(store["codes"].parent_code, "web-parent")
    assert (await _start("web-parent"))[0] == []
    assert (await _start("web-stranger"))[0] == []
    with sessions(store["url"])() as session:
        assert session.execute(select(Reminder)).first() is None, "nobody was reminded, so nothing was swept for them"


async def test_a_store_failure_leaves_the_conversation_working(
    store: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    await _link(store["codes"].staff_code, "web-locked")

    def locked(*_: Any) -> list[str]:
        raise OperationalError("SELECT", {}, Exception("database is locked"))

    monkeypatch.setattr(session_actions.reminders, "on_visit", locked)
    texts, events = await _start("web-locked")
    assert texts == [] and events[0]["event"] == "session_started"


async def test_many_reminders_come_as_a_few_and_a_count(store: dict[str, Any]) -> None:
    import datetime as dt

    from bot.core import dates
    from bot.store.models import Pupil, Review

    with sessions(store["url"]).begin() as session:
        pupils = session.execute(select(Pupil.id).where(Pupil.school_id == store["school"].school_id)).scalars().all()
        for pupil_id in pupils:
            session.add(Review(pupil_id=pupil_id, scheduled_for=dates.today() + dt.timedelta(days=3)))
    said = await _link(store["codes"].staff_code, "web-busy")
    reminders = [text for text in said if text.startswith("Reminder:")]
    assert len(reminders) == 5 and len(pupils) + 1 > 6
    assert said[-1] == (
        f'…and {len(pupils) + 1 - 5} more reviews due soon or overdue. Ask "which reviews are overdue?" '
        'or "reviews due in the next 2 weeks" to see them all.'
    )
    assert (await _start("web-busy"))[0] == [], "all of them were delivered, once"
