"""Linking chat users with one-time codes, throttling guesses, unlinking and auditing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.core import codes
from bot.store import access, accounts
from bot.store.models import AuditEvent, ChatIdentity, LinkCode, Parent, Pupil, School, Staff, StaffRole

NOW = dt.datetime(2026, 3, 2, 9, 0)


@pytest.fixture
def people(factory: sessionmaker) -> dict[str, int]:
    with factory.begin() as session:
        school = School(name="Larkspur Primary (fictional)", council="norfolk")
        senco = Staff(school=school, name="Ms Rowan Demo", role=StaffRole.senco)
        amy = Pupil(
            school=school, first_name="Amy", last_name="Example", date_of_birth=dt.date(2016, 5, 1), year_group="Year 4"
        )
        ben = Pupil(
            school=school, first_name="Ben", last_name="Sample", date_of_birth=dt.date(2015, 9, 9), year_group="Year 5"
        )
        parent = Parent(name="Jo Example")
        session.add_all([school, senco, amy, ben, parent])
        session.flush()
        return {"school": school.id, "senco": senco.id, "amy": amy.id, "ben": ben.id, "parent": parent.id}


def _audit(factory: sessionmaker) -> list[AuditEvent]:
    with factory() as session:
        return session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().all()


def test_staff_code_links_once(factory: sessionmaker, people: dict[str, int]) -> None:
    with factory.begin() as session:
        code = accounts.issue_staff_code(session, people["senco"], now=NOW)
    with factory.begin() as session:
        result = accounts.redeem_code(session, "telegram", "1001", code.lower(), now=NOW)
    assert result.reason == "linked"
    assert result.linked == access.Person(kind="staff", id=people["senco"], school_id=people["school"])
    with factory.begin() as session:
        again = accounts.redeem_code(session, "telegram", "2002", code, now=NOW)
    assert again == accounts.LinkResult(None, "used")
    with factory() as session:
        assert accounts.who_is(session, "telegram", "2002", now=NOW) is None
        assert accounts.who_is(session, "telegram", "1001", now=NOW).kind == "staff"
        assert accounts.who_is(session, "rest", "1001", now=NOW) is None, "a link is per channel"


def test_parent_code_gives_exactly_one_pupil(factory: sessionmaker, people: dict[str, int]) -> None:
    with factory.begin() as session:
        code = accounts.issue_parent_code(session, people["parent"], people["amy"], now=NOW)
    with factory.begin() as session:
        result = accounts.redeem_code(session, "web", "session-abc", code, now=NOW)
    assert result.linked == access.Person(kind="parent", id=people["parent"], pupil_ids=(people["amy"],))


def test_expired_code_is_refused(factory: sessionmaker, people: dict[str, int]) -> None:
    with factory.begin() as session:
        code = accounts.issue_staff_code(session, people["senco"], now=NOW)
    with factory.begin() as session:
        result = accounts.redeem_code(
            session, "rest", "x", code, now=NOW + accounts.CODE_LIFETIME + dt.timedelta(seconds=1)
        )
    assert result.reason == "expired"


def test_guessing_is_throttled_then_allowed_after_a_pause(factory: sessionmaker, people: dict[str, int]) -> None:
    with factory.begin() as session:
        code = accounts.issue_staff_code(session, people["senco"], now=NOW)
    for attempt in range(accounts.MAX_WRONG_CODES):
        with factory.begin() as session:
            assert (
                accounts.redeem_code(session, "rest", "guesser", f"AAAA-AAAA-AAA{attempt + 2}", now=NOW).reason
                == "wrong"
            )
    with factory.begin() as session:
        assert accounts.redeem_code(session, "rest", "guesser", code, now=NOW).reason == "throttled"
    with factory.begin() as session:
        assert accounts.redeem_code(session, "rest", "someone-else", "AAAA-BBBB-CCC2", now=NOW).reason == "wrong"
    later = NOW + accounts.THROTTLE_WINDOW + dt.timedelta(seconds=1)
    with factory.begin() as session:
        assert accounts.redeem_code(session, "rest", "guesser", code, now=later).reason == "linked"
    refused = [event for event in _audit(factory) if not event.allowed]
    assert [event.detail for event in refused].count("wrong") == accounts.MAX_WRONG_CODES + 1
    assert [event.detail for event in refused].count("throttled") == 1


def test_wrong_codes_from_everyone_together_pause_code_checks_for_an_hour(
    factory: sessionmaker, people: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A script opening a new chat for every few guesses is stopped by the global limit, not the per-chat one."""
    monkeypatch.setenv("SEN_WRONG_CODES_PER_HOUR", "3")
    with factory.begin() as session:
        code = accounts.issue_staff_code(session, people["senco"], now=NOW)
    for chat in range(3):
        with factory.begin() as session:
            wrong = accounts.redeem_code(session, "rest", f"new-chat-{chat}", "AAAA-BBBB-CCC2", now=NOW)
            assert wrong.reason == "wrong"
    with factory.begin() as session:
        assert accounts.redeem_code(session, "rest", "the-real-senco", code, now=NOW).reason == "paused"
    with factory.begin() as session:
        later = NOW + accounts.GLOBAL_WINDOW + dt.timedelta(seconds=1)
        assert accounts.redeem_code(session, "rest", "the-real-senco", code, now=later).reason == "linked"
    assert [event.detail for event in _audit(factory) if not event.allowed].count("paused") == 1


def test_codes_are_long_enough_and_their_digests_keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    code = codes.new_code()
    assert len(code) == 14 and code.count("-") == 2 and len(set(code.replace("-", ""))) > 1
    assert len(codes.ALPHABET) ** codes.LENGTH >= 2**60
    kept = accounts.code_digest(code)
    assert kept == accounts.code_digest(code.lower().replace("-", " ")), "typed any way, the same code"
    monkeypatch.setenv("SEN_IDENTITY_KEY", "another-server-key")
    assert accounts.code_digest(code) != kept, "a digest depends on the server's key"
    import hashlib

    assert kept != hashlib.sha256(code.replace("-", "").encode()).hexdigest()


def test_unlinking_forgets_the_device(factory: sessionmaker, people: dict[str, int]) -> None:
    with factory.begin() as session:
        code = accounts.issue_staff_code(session, people["senco"], now=NOW)
        session.flush()
        accounts.redeem_code(session, "telegram", "1001", code, now=NOW)
    with factory.begin() as session:
        assert accounts.unlink(session, "telegram", "1001") is True
    with factory.begin() as session:
        assert accounts.who_is(session, "telegram", "1001", now=NOW) is None
        assert accounts.unlink(session, "telegram", "1001") is False
    assert [event.action for event in _audit(factory)] == ["link", "unlink"]


def test_raw_chat_ids_and_codes_are_never_stored(factory: sessionmaker, people: dict[str, int]) -> None:
    with factory.begin() as session:
        code = accounts.issue_staff_code(session, people["senco"], now=NOW)
        session.flush()
        accounts.redeem_code(session, "telegram", "987654321", code, now=NOW)
    with factory() as session:
        identity = session.execute(select(ChatIdentity)).scalar_one()
        stored_codes = session.execute(select(LinkCode.code_digest)).scalars().all()
    assert code not in stored_codes and code.replace("-", "") not in stored_codes
    assert stored_codes == [accounts.code_digest(code)]
    assert "987654321" not in identity.identity_digest
    assert identity.identity_digest == accounts.identity_digest("telegram", "987654321")
    assert len(identity.identity_digest) == 64
