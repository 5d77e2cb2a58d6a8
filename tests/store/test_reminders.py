"""Reminders of reviews: one per review and person, however many processes make and send them."""

from __future__ import annotations

import collections
import datetime as dt
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import sessionmaker
from telegram.ext import AIORateLimiter

from bot.core import dates, wording
from bot.ops import admin
from bot.ops.reminders import Schedule
from bot.store import accounts, demo, migrate, push, reminders
from bot.store.db import engine_for, make_engine, sessions
from bot.store.models import (
    AuditEvent,
    ChatIdentity,
    Parent,
    Pupil,
    Reminder,
    Review,
    ReviewStatus,
    School,
    Staff,
    StaffRole,
)
from bot.telegram.sending import MAX_TEXT, split_text, utf16_length
from tests.conftest import _fresh_postgres_database, postgres_url
from tests.support.bot_api_standin import TOKEN, BotApiStandIn, as_json
from tests.support.servers import BIN, ROOT, base_env

TODAY = dt.date(2026, 11, 23)
NOW = dt.datetime(2026, 11, 23, 8, 0)
KEY = "test-key"  # the identity key the `factory` fixture sets


def _day(offset: int) -> dt.date:
    return TODAY + dt.timedelta(days=offset)


@pytest.fixture
def school(factory: sessionmaker) -> dict[str, Any]:
    """A fictional school with reviews in every state, and a second school next door."""
    with factory.begin() as session:
        larks = School(name="Larkspur Primary (fictional)", council="norfolk")
        senco = Staff(school=larks, name="Ms Rowan Demo", role=StaffRole.senco)
        deputy = Staff(school=larks, name="Mr Ash Deputy", role=StaffRole.senco)
        gone = Staff(school=larks, name="Mrs Left Already", role=StaffRole.senco, active=False)
        teacher = Staff(school=larks, name="Mr Kit Teacher", role=StaffRole.teacher)
        other_teacher = Staff(school=larks, name="Ms Nell Teacher", role=StaffRole.teacher)
        away_teacher = Staff(school=larks, name="Mr Gone Teacher", role=StaffRole.teacher, active=False)
        office = Staff(school=larks, name="Ms Office Admin", role=StaffRole.admin)
        hill = School(name="Hillside Primary (fictional)", council="kent")
        hill_senco = Staff(school=hill, name="Mr Hill Senco", role=StaffRole.senco)
        session.add_all([larks, senco, deputy, gone, teacher, other_teacher, away_teacher, office, hill, hill_senco])
        session.flush()

        def pupil(first: str, last: str, teacher_row: Any, at: School = larks) -> Pupil:
            row = Pupil(
                school=at,
                first_name=first,
                last_name=last,
                date_of_birth=dt.date(2017, 1, 1),
                year_group="Year 4",
                class_teacher=teacher_row,
            )
            session.add(row)
            return row

        reviews = {
            "overdue": Review(pupil=pupil("Olly", "Overdue", teacher), scheduled_for=_day(-5)),
            "soon": Review(pupil=pupil("Sam", "Soon", other_teacher), scheduled_for=_day(3)),
            "today": Review(pupil=pupil("Tia", "Today", None), scheduled_for=_day(0)),
            "edge": Review(pupil=pupil("Eve", "Edge", teacher), scheduled_for=_day(7)),
            "capturing": Review(
                pupil=pupil("Ivy", "Capture", teacher), scheduled_for=_day(-1), status=ReviewStatus.in_progress
            ),
            "away_teacher": Review(pupil=pupil("Abe", "Away", away_teacher), scheduled_for=_day(2)),
            "far": Review(pupil=pupil("Fay", "Far", teacher), scheduled_for=_day(8)),
            "held": Review(
                pupil=pupil("Hal", "Held", teacher), scheduled_for=_day(-3), held_on=_day(-3), status=ReviewStatus.held
            ),
            "hill": Review(pupil=pupil("Hana", "Hill", hill_senco, hill), scheduled_for=_day(1)),
        }
        session.add_all(reviews.values())
        parent = Parent(name="Pat Parent")
        session.add(parent)
        session.flush()
        ids = {name: review.id for name, review in reviews.items()}
        pupils = {name: review.pupil_id for name, review in reviews.items()}
        staff = {
            "senco": senco.id,
            "deputy": deputy.id,
            "gone": gone.id,
            "teacher": teacher.id,
            "other_teacher": other_teacher.id,
            "away_teacher": away_teacher.id,
            "office": office.id,
            "hill_senco": hill_senco.id,
        }
        return {
            "school": larks.id,
            "hill": hill.id,
            "reviews": ids,
            "pupils": pupils,
            "staff": staff,
            "parent": parent.id,
        }


def _pairs(factory: sessionmaker) -> set[tuple[int, int]]:
    with factory() as session:
        return set(session.execute(select(Reminder.review_id, Reminder.staff_id)).all())


def _expected_pairs(school: dict[str, Any]) -> set[tuple[int, int]]:
    r, s = school["reviews"], school["staff"]
    sencos = (s["senco"], s["deputy"])
    return {
        (r[name], senco)
        for name in ("overdue", "soon", "today", "edge", "capturing", "away_teacher")
        for senco in sencos
    } | {
        (r["overdue"], s["teacher"]),
        (r["soon"], s["other_teacher"]),
        (r["edge"], s["teacher"]),
        (r["capturing"], s["teacher"]),
        (r["hill"], s["hill_senco"]),
    }


def _link(session: Any, staff_id: int, channel: str, sender: str) -> None:
    code = accounts.issue_staff_code(session, staff_id)
    assert accounts.redeem_code(session, channel, sender, code).reason == "linked"


# Making reminders


def test_sweep_makes_one_reminder_per_review_and_recipient(factory: sessionmaker, school: dict[str, Any]) -> None:
    with factory.begin() as session:
        made = reminders.sweep(session, today=TODAY, now=NOW)
    expected = _expected_pairs(school)
    assert made == len(expected) == 17
    assert _pairs(factory) == expected
    with factory() as session:
        kinds = dict(session.execute(select(Reminder.review_id, Reminder.kind).distinct()).all())
        due_on = dict(session.execute(select(Reminder.review_id, Reminder.due_on).distinct()).all())
    r = school["reviews"]
    assert kinds[r["overdue"]] == kinds[r["capturing"]] == "overdue"
    assert kinds[r["soon"]] == kinds[r["today"]] == kinds[r["edge"]] == "due_soon"
    assert due_on[r["overdue"]] == _day(-5)
    with factory.begin() as session:
        assert reminders.sweep(session, today=TODAY) == 0, "a second sweep makes none"
        assert reminders.sweep(session, today=TODAY + dt.timedelta(days=1)) == 3, "the far-off review comes in range"
    assert (r["far"], school["staff"]["senco"]) in _pairs(factory)
    assert not {pair for pair in _pairs(factory) if pair[0] == r["held"]}


def test_sweep_for_one_school_leaves_the_others(factory: sessionmaker, school: dict[str, Any]) -> None:
    with factory.begin() as session:
        assert reminders.sweep(session, today=TODAY, school_id=school["hill"]) == 1
    assert _pairs(factory) == {(school["reviews"]["hill"], school["staff"]["hill_senco"])}
    with factory.begin() as session:
        assert reminders.sweep(session, today=TODAY, school_id=school["school"]) == 16
    hill_staff = school["staff"]["hill_senco"]
    assert {staff for review, staff in _pairs(factory) if review != school["reviews"]["hill"]}.isdisjoint({hill_staff})


def test_reminder_wording() -> None:
    assert wording.reminder_text("Amy Carter", dt.date(2026, 12, 1), TODAY) == (
        "Reminder: Amy Carter's review is due on Tuesday 1 December 2026 (in 8 days). "
        'Say "start Amy Carter\'s review" when you meet.'
    )
    assert "(tomorrow)" in wording.reminder_text("Amy Carter", _day(1), TODAY)
    assert wording.reminder_text("Amy Carter", TODAY, TODAY).startswith(
        "Reminder: Amy Carter's review is due today, Monday 23 November 2026."
    )
    overdue = wording.reminder_text("Ben Okafor", _day(-5), TODAY)
    assert overdue.startswith(
        "Reminder: Ben Okafor's review was due on Wednesday 18 November 2026 and is 5 days overdue. "
        'Book a new date, or say "start Ben Okafor\'s review" when you meet.'
    )
    assert overdue.endswith(
        "A review is due on the date agreed in the pupil's plan (Code of Practice, paragraph 6.54), and the Code "
        "expects schools to meet parents at least three times a year (paragraph 6.65)."
    )
    assert "1 day overdue" in wording.reminder_text("Ben Okafor", _day(-1), TODAY)
    assert "6 weeks overdue" in wording.reminder_text("Ben Okafor", _day(-40), TODAY)


# Delivering them


def test_claims_are_taken_once_released_and_taken_over_when_stale(
    factory: sessionmaker, school: dict[str, Any]
) -> None:
    staff = school["staff"]
    with factory.begin() as session:
        _link(session, staff["senco"], "telegram", "700100")
        _link(session, staff["teacher"], "rest", "teacher-rest-sender")  # no push address on REST
        reminders.sweep(session, today=TODAY, now=NOW)
    with factory.begin() as session:
        first = reminders.claim(session, "worker-a", "telegram", now=NOW)
    assert {due.staff_id for due in first} == {staff["senco"]}
    assert len(first) == 6 and {due.address for due in first} == {"700100"}
    assert first[0].pupil_name == "Olly Overdue" and first[0].due_on == _day(-5), "most overdue first"
    with factory.begin() as session:
        assert reminders.claim(session, "worker-b", "telegram", now=NOW + dt.timedelta(minutes=5)) == []
        reminders.release(session, first[0].reminder_id)
        reminders.delivered(session, first[1].reminder_id, "telegram", now=NOW)
    with factory.begin() as session:
        again = reminders.claim(session, "worker-b", "telegram", now=NOW + dt.timedelta(minutes=5))
    assert [due.reminder_id for due in again] == [first[0].reminder_id], "a released reminder is tried again"
    with factory.begin() as session:
        stale = reminders.claim(session, "worker-c", "telegram", now=NOW + dt.timedelta(minutes=11))
    assert {due.reminder_id for due in stale} == {due.reminder_id for due in first[2:]}, (
        "a dead worker's claims run out"
    )
    with factory.begin() as session:
        assert reminders.delivered(session, first[1].reminder_id, "telegram") is False, "delivered only once"
        events = session.execute(select(AuditEvent).where(AuditEvent.action == "remind_review")).scalars().all()
    assert [(e.actor_kind, e.actor_id, e.channel, e.pupil_id) for e in events] == [
        ("staff", staff["senco"], "telegram", first[1].pupil_id)
    ]


def test_reminders_of_held_reviews_and_departed_staff_are_not_delivered(
    factory: sessionmaker, school: dict[str, Any]
) -> None:
    staff = school["staff"]
    with factory.begin() as session:
        reminders.sweep(session, today=TODAY, now=NOW)
        session.execute(
            update(Review)
            .where(Review.id == school["reviews"]["overdue"])
            .values(status=ReviewStatus.held, held_on=TODAY)
        )
        session.execute(update(Staff).where(Staff.id == staff["deputy"]).values(active=False))
    with factory.begin() as session:
        shown = reminders.for_visit(session, staff["senco"], "web", now=NOW)
        assert not any(due.pupil_name == "Olly Overdue" for due in shown)
        assert reminders.for_visit(session, staff["deputy"], "web", now=NOW) == []


def test_for_visit_shows_each_reminder_once_and_not_those_pushed(factory: sessionmaker, school: dict[str, Any]) -> None:
    staff = school["staff"]
    with factory.begin() as session:
        _link(session, staff["senco"], "telegram", "700100")
        reminders.sweep(session, today=TODAY, now=NOW)
    with factory.begin() as session:
        pushed = reminders.claim(session, "sender", "telegram", limit=2, now=NOW)
    with factory.begin() as session:
        reminders.delivered(session, pushed[0].reminder_id, "telegram", now=NOW)
    with factory.begin() as session:
        shown = reminders.for_visit(session, staff["senco"], "web", now=NOW)
    # Six reminders for the SENCO: one pushed, one being pushed right now, four for the web.
    assert len(shown) == 4
    assert shown[0].pupil_name == "Tia Today" and shown[0].due_on == TODAY
    assert not any(due.pupil_name in (pushed[0].pupil_name, pushed[1].pupil_name) for due in shown)
    with factory.begin() as session:
        assert reminders.for_visit(session, staff["senco"], "web", now=NOW) == []
        reminders.release(session, pushed[1].reminder_id)  # the send failed
    with factory.begin() as session:
        later = reminders.for_visit(session, staff["senco"], "web", now=NOW)
    assert len(later) == 1 and later[0].pupil_name == pushed[1].pupil_name
    with factory() as session:
        channels = collections.Counter(
            session.execute(select(Reminder.delivered_channel).where(Reminder.staff_id == staff["senco"])).scalars()
        )
        reads = session.execute(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.action == "remind_review", AuditEvent.actor_id == staff["senco"]
            )
        ).scalar_one()
    assert channels == {"web": 5, "telegram": 1}
    assert reads == 6


# Push addresses


def test_push_address_is_encrypted_staff_only_and_forgotten(factory: sessionmaker, school: dict[str, Any]) -> None:
    chat_id = "5550123987"
    with factory.begin() as session:
        _link(session, school["staff"]["senco"], "telegram", chat_id)
        _link(session, school["staff"]["teacher"], "rest", "8880001")
        code = accounts.issue_parent_code(session, school["parent"], school["pupils"]["soon"])
        assert accounts.redeem_code(session, "telegram", "6660042", code).reason == "linked"
    with factory() as session:
        rows = session.execute(text("SELECT * FROM chat_identities")).all()
        assert rows and not any(chat_id in str(value) or "6660042" in str(value) for row in rows for value in row)
        by_person = {
            (row.staff_id, row.parent_id): row.push_address for row in session.execute(select(ChatIdentity)).scalars()
        }
        assert by_person[(school["staff"]["senco"], None)] is not None
        assert by_person[(school["staff"]["teacher"], None)] is None, "REST cannot send first"
        assert by_person[(None, school["parent"])] is None, "parents get no reminders"
        assert push.push_address_of(session, school["staff"]["senco"]) == chat_id
        assert push.push_address_of(session, school["staff"]["teacher"]) is None
    with factory.begin() as session:
        assert accounts.unlink(session, "telegram", chat_id)
    with factory() as session:
        assert push.push_address_of(session, school["staff"]["senco"]) is None
        assert (
            session.execute(
                select(func.count(ChatIdentity.id)).where(ChatIdentity.staff_id == school["staff"]["senco"])
            ).scalar_one()
            == 0
        )


def test_an_address_sealed_with_another_key_is_not_used(
    factory: sessionmaker, school: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    with factory.begin() as session:
        _link(session, school["staff"]["senco"], "telegram", "700100")
        reminders.sweep(session, today=TODAY, now=NOW)
    monkeypatch.setenv("SEN_IDENTITY_KEY", "another-key")
    with factory.begin() as session:
        assert push.push_address_of(session, school["staff"]["senco"]) is None
        assert reminders.claim(session, "worker", "telegram", now=NOW) == []


# Many processes at once


@pytest.fixture
def pg_factory(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, sessionmaker]]:
    monkeypatch.setenv("SEN_IDENTITY_KEY", KEY)
    for name in _fresh_postgres_database():
        url = postgres_url(name)
        migrate.upgrade(url)
        yield url, sessions(url)
        engine_for(url).dispose()


def _busy_school(factory: sessionmaker, pupils: int, chat_ids: dict[str, str]) -> dict[str, Any]:
    """A fictional school with ``pupils`` reviews due, staff linked on Telegram by name, and one who is not."""
    today = dates.today()
    with factory.begin() as session:
        school = School(name="Busy Brook Primary (fictional)", council="norfolk")
        people = {
            "senco": Staff(school=school, name="Ms Senco Busy", role=StaffRole.senco),
            "deputy": Staff(school=school, name="Mr Deputy Busy", role=StaffRole.senco),
            "teacher_a": Staff(school=school, name="Mrs Teacher A", role=StaffRole.teacher),
            "teacher_b": Staff(school=school, name="Mr Teacher B", role=StaffRole.teacher),
        }
        session.add(school)
        session.add_all(people.values())
        session.flush()
        for number in range(pupils):
            child = Pupil(
                school=school,
                first_name=f"Kid{number:03d}",
                last_name="Example",
                date_of_birth=dt.date(2017, 1, 1),
                year_group="Year 3",
                class_teacher=people["teacher_a" if number % 2 else "teacher_b"],
            )
            session.add(Review(pupil=child, scheduled_for=today + dt.timedelta(days=number % 12 - 5)))
        for who, chat_id in chat_ids.items():
            _link(session, people[who].id, "telegram", chat_id)
        return {"staff": {who: row.id for who, row in people.items()}}


def test_concurrent_sweeps_make_exactly_one_reminder_each(pg_factory: tuple[str, sessionmaker]) -> None:
    _, factory = pg_factory
    _busy_school(factory, pupils=60, chat_ids={})
    barrier = threading.Barrier(8)
    made: list[int] = []
    problems: list[BaseException] = []

    def sweeper() -> None:
        try:
            barrier.wait(10)
            with factory.begin() as session:
                made.append(reminders.sweep(session))
        except BaseException as error:
            problems.append(error)

    threads = [threading.Thread(target=sweeper) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not problems
    with factory() as session:
        total = session.execute(select(func.count(Reminder.id))).scalar_one()
        distinct = session.execute(
            select(func.count()).select_from(select(Reminder.review_id, Reminder.staff_id).distinct().subquery())
        ).scalar_one()
    # Reviews due within 7 days or overdue: 60 pupils, offsets -5..6 all in range; 3 recipients each.
    assert total == distinct == 60 * 3
    assert sum(made) == total, made


def test_concurrent_claims_never_share_a_reminder(pg_factory: tuple[str, sessionmaker]) -> None:
    _, factory = pg_factory
    _busy_school(factory, pupils=30, chat_ids={"senco": "920001", "deputy": "920002", "teacher_a": "920003"})
    with factory.begin() as session:
        reminders.sweep(session)
    barrier = threading.Barrier(6)
    taken: dict[str, list[int]] = {}
    problems: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            barrier.wait(10)
            mine: list[int] = []
            while True:
                with factory.begin() as session:
                    batch = reminders.claim(session, name, "telegram", limit=4)
                if not batch:
                    break
                mine += [due.reminder_id for due in batch]
            taken[name] = mine
        except BaseException as error:
            problems.append(error)

    threads = [threading.Thread(target=worker, args=(f"worker-{number}",)) for number in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not problems
    everything = [reminder for mine in taken.values() for reminder in mine]
    assert len(everything) == len(set(everything)) == 30 * 2 + 15, "each reminder claimed by exactly one worker"
    with factory() as session:
        holders = dict(
            session.execute(select(Reminder.id, Reminder.claimed_by).where(Reminder.claimed_by.isnot(None))).all()
        )
    assert all(holders[reminder] == name for name, mine in taken.items() for reminder in mine)


# One schedule in this process, against the stand-in


def _delivered_on_telegram(factory: sessionmaker) -> int:
    with factory() as session:
        return session.execute(
            select(func.count(Reminder.id)).where(Reminder.delivered_channel == "telegram")
        ).scalar_one()


async def test_a_long_reminder_goes_out_as_several_messages_in_order(
    factory: sessionmaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    _busy_school(factory, pupils=1, chat_ids={"senco": "930001"})  # one overdue review; only the SENCO is linked
    paragraphs = [f"Part {number}: " + "a note about the review " * 70 for number in range(1, 9)]
    long_text = "\n\n".join(paragraph.strip() for paragraph in paragraphs)
    assert utf16_length(long_text) > 3 * MAX_TEXT
    monkeypatch.setattr(wording, "reminder_text", lambda name, day, today=None: long_text)
    with BotApiStandIn() as api:
        schedule = Schedule(factory, horizon=7, token=TOKEN, api_url=api.url)
        assert isinstance(schedule.bot.rate_limiter, AIORateLimiter), "built the way the Telegram app builds its bot"
        result = await schedule.round()
        messages = api.sent()
    assert (result.sent, result.failed) == (1, 0)
    assert [message.text for message in messages] == split_text(long_text) and len(messages) == 4
    assert all(message.delivered and message.chat_id == 930001 for message in messages)
    assert all(utf16_length(message.text) <= MAX_TEXT for message in messages)
    assert [message.text.split(":")[0] for message in messages] == ["Part 1", "Part 3", "Part 5", "Part 7"]
    assert " ".join(message.text for message in messages).split() == long_text.split()
    assert _delivered_on_telegram(factory) == 1


async def test_a_send_refused_with_retry_after_is_delivered_once_after_the_wait(factory: sessionmaker) -> None:
    _busy_school(factory, pupils=1, chat_ids={"senco": "930002"})
    with BotApiStandIn(too_many_first=1, retry_after=1) as api:
        schedule = Schedule(factory, horizon=7, token=TOKEN, api_url=api.url)
        started = time.monotonic()
        result = await schedule.round()
        elapsed = time.monotonic() - started
        attempts = api.sent()
    assert (result.sent, result.failed) == (1, 0), "the rate limiter waits and tries again within the round"
    assert elapsed >= 1.0, "it waits as long as Telegram asked"
    assert [message.delivered for message in attempts] == [False, True]
    assert attempts[0].text == attempts[1].text and attempts[1].text.startswith("Reminder: Kid000 Example's review")
    assert _delivered_on_telegram(factory) == 1


async def test_a_failed_send_is_tried_again_in_the_next_round(factory: sessionmaker) -> None:
    _busy_school(factory, pupils=1, chat_ids={"senco": "930003"})
    with BotApiStandIn(fail_first=1) as api:
        schedule = Schedule(factory, horizon=7, token=TOKEN, api_url=api.url)
        first = await schedule.round()
        assert (first.sent, first.failed) == (0, 1)
        assert _delivered_on_telegram(factory) == 0, "given back, not lost"
        second = await schedule.round()  # the bot, closed after the first round, opens again
        attempts = api.sent()
    assert (second.sent, second.failed) == (1, 0)
    assert [message.delivered for message in attempts] == [False, True]
    assert _delivered_on_telegram(factory) == 1


async def test_an_unreachable_bot_api_claims_nothing(factory: sessionmaker) -> None:
    _busy_school(factory, pupils=1, chat_ids={"senco": "930004"})
    with BotApiStandIn() as api:
        closed = api.url
    schedule = Schedule(factory, horizon=7, token=TOKEN, api_url=closed)
    result = await schedule.round()
    assert (result.created, result.sent, result.failed) == (3, 0, 0)
    with factory() as session:
        assert session.execute(select(func.count(Reminder.id)).where(Reminder.claimed_by.isnot(None))).scalar_one() == 0


async def test_each_round_also_sweeps_old_conversations(
    factory: sessionmaker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The round reaches the Rasa servers' tracker store named by the launchers' variables (bot/ops/retention.py)."""
    tracker_db = tmp_path / "tracker.db"
    engine = make_engine(f"sqlite:///{tracker_db}")
    old, recent = time.time() - 100 * 86400, time.time() - 60
    with engine.begin() as connection:
        connection.execute(
            text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, type_name TEXT, timestamp REAL)")
        )
        for sender, at in (("gone-quiet", old), ("gone-quiet", old), ("talking-now", recent)):
            connection.execute(
                text("INSERT INTO events (sender_id, type_name, timestamp) VALUES (:s, 'user', :t)"),
                {"s": sender, "t": at},
            )
    monkeypatch.setenv("SEN_TRACKER_DB", str(tracker_db))
    monkeypatch.delenv("SEN_PG_HOST", raising=False)
    result = await Schedule(factory, horizon=7).round()
    assert result.conversation_events_deleted == 2
    with engine.connect() as connection:
        assert connection.execute(text("SELECT sender_id FROM events")).scalars().all() == ["talking-now"]
    engine.dispose()


def _start_schedule(url: str, api: BotApiStandIn, log: Path) -> subprocess.Popen:
    env = base_env(DATABASE_URL=url, SEN_IDENTITY_KEY=KEY, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=api.url)
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(BIN / "python"), "-m", "bot.ops.reminders", "--every", "0.2", "--batch", "8"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_for(condition: Any, timeout: float, processes: list[subprocess.Popen], logs: list[Path]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, [log.read_text() for log in logs]
        assert all(process.poll() is None for process in processes), [log.read_text() for log in logs]
        time.sleep(0.1)


@pytest.mark.parametrize("failures", [0, 9], ids=["telegram-up", "telegram-failing-first"])
def test_two_schedules_send_each_reminder_exactly_once(
    pg_factory: tuple[str, sessionmaker], tmp_path: Path, failures: int
) -> None:
    url, factory = pg_factory
    chat_ids = {"senco": "910001", "deputy": "910002", "teacher_a": "910003"}  # teacher_b is not on Telegram
    expected = 40 * 2 + 20  # both SENCOs for every review, teacher A for half of them
    logs = [tmp_path / "schedule-1.log", tmp_path / "schedule-2.log"]
    with BotApiStandIn(fail_first=failures, delay=0.01) as api:
        processes = [_start_schedule(url, api, log) for log in logs]
        try:
            # Both schedules are running their rounds before there is anything to remind of, so
            # both make reminders for the same reviews and both claim and send at the same time.
            _wait_for(lambda: all("Reminder schedule:" in log.read_text() for log in logs), 30, processes, logs)
            started = time.monotonic()
            people = _busy_school(factory, pupils=40, chat_ids=chat_ids)["staff"]

            def all_delivered() -> bool:
                with factory() as session:
                    return (
                        session.execute(
                            select(func.count(Reminder.id)).where(Reminder.delivered_channel == "telegram")
                        ).scalar_one()
                        >= expected
                    )

            _wait_for(all_delivered, 40, processes, logs)
            elapsed = time.monotonic() - started
            time.sleep(1.0)  # a few more rounds of both: nothing may go out twice
        finally:
            for process in processes:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
            codes = [process.wait(timeout=15) for process in processes]
        messages = api.delivered()
        attempts = api.sent()
    outputs = [log.read_text() for log in logs]
    assert codes == [0, 0], outputs
    assert all("Reminder schedule stopped." in output for output in outputs)
    assert len(messages) == expected, (elapsed, as_json(messages[:5]))
    assert len(attempts) == expected + failures
    with factory() as session:
        rows = session.execute(
            select(
                Reminder.id,
                Reminder.staff_id,
                Reminder.delivered_channel,
                Reminder.claimed_by,
                Pupil.first_name,
                Pupil.last_name,
                Review.scheduled_for,
            )
            .join(Review, Review.id == Reminder.review_id)
            .join(Pupil, Pupil.id == Review.pupil_id)
        ).all()
        reads = session.execute(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "remind_review")
        ).scalar_one()
    assert len(rows) == 40 * 3
    assert len({row.claimed_by for row in rows if row.delivered_channel}) == 2, "both schedules sent reminders"
    chat_of = {people[who]: int(chat) for who, chat in chat_ids.items()}
    received = collections.Counter((message.chat_id, message.text) for message in messages)
    assert set(received.values()) == {1}
    for row in rows:
        if row.staff_id not in chat_of:
            assert row.delivered_channel is None, "staff not on Telegram wait for their next visit"
            continue
        assert row.delivered_channel == "telegram"
        mine = [
            message.text
            for message in messages
            if message.chat_id == chat_of[row.staff_id] and f"{row.first_name} {row.last_name}'s review" in message.text
        ]
        assert len(mine) == 1, (row, mine)
        assert dates.long_date(row.scheduled_for) in mine[0]
    assert reads == expected
    for output in outputs:
        assert "Kid0" not in output and "Example" not in output and TOKEN not in output, "the log holds counts only"
        assert "910001" not in output
    if failures:
        assert sum("to try again" in output for output in outputs) >= 1


# The demo school, as its SENCO sees it


def test_the_demo_senco_gets_a_reminder_on_telegram(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("SEN_IDENTITY_KEY", KEY)
    migrate.upgrade(url)
    with sessions(url).begin() as session:
        found = demo.seed(session)
        codes = demo.codes(session, found)
        assert accounts.redeem_code(session, "telegram", "424242", codes.staff_code).linked.id == found.senco_id
    with BotApiStandIn() as api:
        env = base_env(DATABASE_URL=url, SEN_IDENTITY_KEY=KEY, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=api.url)
        result = subprocess.run(
            [str(BIN / "python"), "-m", "bot.ops.reminders", "--once"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        messages = api.delivered()
    assert {message.chat_id for message in messages} == {424242}
    texts = sorted(message.text for message in messages)
    assert len(texts) == 1, "Amy Carter's review is 10 days away, beyond the 7-day horizon"
    assert texts[0].startswith(
        f"Reminder: Ben Okafor's review was due on {dates.long_date(dates.today() - dt.timedelta(days=12))} "
        "and is 12 days overdue."
    )
    # Ben Okafor for the SENCO and his class teacher, Grace Holloway for the SENCO of the other school.
    assert "Reminders: 3 new, 1 sent on Telegram, 0 to try again." in result.stderr + result.stdout
    make_engine(url).dispose()


def test_digest_lists_the_school_and_sends_reminders(store: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert admin.main(["digest", "--school", "Brambleway Primary School"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Review digest for Brambleway Primary School, {dates.long_date(dates.today())}")
    assert "Overdue reviews, not yet recorded as held (1):\n• Ben Okafor (Year 4): was due" in out
    assert "Reviews due at Brambleway Primary School in the next 14 days (1):\n• Amy Carter (Year 3): " in out
    assert "Chloe Hartley (Year 2): no review booked" in out
    assert "Daniel Price (Year 6): next review" in out
    assert "Grace Holloway" not in out and "Ellie Nowak" not in out
    assert "Reminders: 4 new for staff, 4 waiting" in out
    assert admin.main(["digest", "--school", "Brambleway Primary School", "--days", "30"]) == 0
    again = capsys.readouterr().out
    assert "Ellie Nowak (Year 1)" in again and "Reminders: 2 new for staff, 6 waiting" in again
    senco = store["school"].senco_id
    with sessions(store["url"]).begin() as session:
        events = (
            session.execute(select(AuditEvent).where(AuditEvent.action.in_(["list_reviews", "review_digest"])))
            .scalars()
            .all()
        )
        assert events and all(event.actor_kind == "admin" and event.channel == "admin" for event in events)
        listed = {event.pupil_id for event in events if event.action == "list_reviews"}
        assert store["ids"]["Ben Okafor"] in listed and store["ids"]["Grace Holloway"] not in listed
        recipients = set(session.execute(select(Staff.name).join(Reminder, Reminder.staff_id == Staff.id)).scalars())
        assert recipients == {demo.DEMO_SENCO, "Mr Tom Ellery"}
        shown = reminders.for_visit(session, senco, "web")
    assert [due.pupil_name for due in shown] == ["Ben Okafor", "Amy Carter", "Ellie Nowak"]
    with pytest.raises(admin.AdminError, match="There is no school called 'Nowhere'"):
        admin.run(["digest", "--school", "Nowhere"])


def test_the_launcher_runs_the_schedule_and_stops_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.ops import run, services

    url = f"sqlite:///{tmp_path / 'store.db'}"
    migrate.upgrade(url)
    monkeypatch.setenv("SEN_REMINDER_INTERVAL", "0.5")
    service = run.reminder_service(tmp_path / "log")
    assert service.command[-2:] == ["--every", "0.5"] and service.health_url is None
    service.start(base_env(DATABASE_URL=url, SEN_IDENTITY_KEY=KEY, TELEGRAM_BOT_TOKEN=""))
    try:
        assert services.wait_until_healthy([service], lambda: False, timeout=30)
        deadline = time.monotonic() + 30
        while "Reminder schedule: every 0.5 s" not in service.log_path.read_text():
            assert time.monotonic() < deadline and service.exited() is None, service.log_path.read_text()
            time.sleep(0.1)
        time.sleep(1.2)  # a few rounds
        assert service.healthy()
    finally:
        service.stop()
    assert service.exited() == 0
    assert (
        "Telegram off" in service.log_path.read_text() and "Reminder schedule stopped." in service.log_path.read_text()
    )
    make_engine(url).dispose()
