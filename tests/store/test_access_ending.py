"""Access that can end: staff who leave, parents whose access ends, codes revoked, chats ended or left unused."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.store import access, accounts, demo, document_links, records
from bot.store.models import AuditEvent, ChatIdentity, Staff, utcnow


def _linked(factory: sessionmaker, chat: str, code: str) -> access.Person:
    with factory.begin() as session:
        result = accounts.redeem_code(session, "rest", chat, code)
    assert result.reason == "linked" and result.linked is not None
    return result.linked


def _demo(factory: sessionmaker) -> tuple[demo.DemoSchool, demo.DemoCodes]:
    with factory.begin() as session:
        school = demo.seed(session)
        return school, demo.codes(session, school)


def _plan_link(factory: sessionmaker, person: access.Person, pupil_id: int) -> str:
    with factory.begin() as session:
        plan = records.current_plan(session, pupil_id)
        token = document_links.issue_link(session, access.Viewer(person, "rest"), plan.id)
    assert token is not None
    return token


def _actions(factory: sessionmaker) -> list[tuple[str, bool, str | None]]:
    with factory() as session:
        rows = session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
        return [(row.action, row.allowed, row.detail) for row in rows]


def test_a_member_of_staff_who_leaves_loses_chats_codes_and_links(factory: sessionmaker) -> None:
    school, codes = _demo(factory)
    senco = _linked(factory, "senco-phone", codes.staff_code)
    token = _plan_link(factory, senco, school.parent_pupil_id)
    with factory.begin() as session:
        unused = accounts.issue_staff_code(session, school.senco_id)
        assert accounts.deactivate_staff(session, school.senco_id) == (1, 1)
    with factory.begin() as session:
        assert session.get(Staff, school.senco_id).active is False
        assert accounts.who_is(session, "rest", "senco-phone") is None
        assert accounts.redeem_code(session, "rest", "new-phone", unused).reason == "expired"
        assert document_links.open_link(session, token) is None, "the plan link ended with the access"
    assert ("deactivate_staff", True, f"staff {school.senco_id}") in _actions(factory)
    assert ("open_plan_document", False, "access ended") in _actions(factory)


def test_a_parents_access_to_one_child_ends_and_with_it_their_link(factory: sessionmaker) -> None:
    school, codes = _demo(factory)
    parent = _linked(factory, "mum-phone", codes.parent_code)
    token = _plan_link(factory, parent, school.parent_pupil_id)
    with factory.begin() as session:
        assert document_links.open_link(session, token) is not None, "the link works while the access lasts"
        again = accounts.issue_parent_code(session, school.parent_id, school.parent_pupil_id)
        assert accounts.end_parent_access(session, school.parent_id, school.parent_pupil_id) == 1
    with factory.begin() as session:
        assert accounts.who_is(session, "rest", "mum-phone") is None, "no child left to see: the chat is unlinked"
        assert document_links.open_link(session, token) is None
        assert accounts.redeem_code(session, "rest", "mum-phone", again).reason == "expired"
        with pytest.raises(LookupError):
            accounts.end_parent_access(session, school.parent_id, school.parent_pupil_id)
    assert ("end_parent_access", True, None) in _actions(factory)


def test_codes_for_a_pupil_can_be_revoked(factory: sessionmaker) -> None:
    school, codes = _demo(factory)
    with factory.begin() as session:
        assert accounts.revoke_codes(session, pupil_id=school.parent_pupil_id) == 1
        with pytest.raises(ValueError):
            accounts.revoke_codes(session)
    with factory.begin() as session:
        assert accounts.redeem_code(session, "rest", "someone", codes.parent_code).reason == "expired"
        assert accounts.redeem_code(session, "rest", "senco", codes.staff_code).reason == "linked", "others stand"


def test_a_pupils_linked_chats_are_listed_without_their_ids_and_can_be_ended(factory: sessionmaker) -> None:
    school, codes = _demo(factory)
    _linked(factory, "mum-phone-1234", codes.parent_code)
    _linked(factory, "senco-laptop-5678", codes.staff_code)
    with factory.begin() as session:
        chats = accounts.pupil_chats(session, school.parent_pupil_id)
    assert sorted(chat.person.split(":")[0] for chat in chats) == ["parent", "staff"]
    assert all("1234" not in repr(chat) and "5678" not in repr(chat) for chat in chats)
    parents = [chat for chat in chats if chat.person.startswith("parent")]
    with factory.begin() as session:
        accounts.end_chat(session, parents[0].id)
    with factory.begin() as session:
        assert accounts.who_is(session, "rest", "mum-phone-1234") is None
        assert accounts.who_is(session, "rest", "senco-laptop-5678") is not None
        assert len(accounts.pupil_chats(session, school.parent_pupil_id)) == 1
    assert [action for action, _, _ in _actions(factory)].count("list_chats") == 2


def test_a_link_unused_for_too_long_ends_and_use_keeps_it(
    factory: sessionmaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEN_LINK_IDLE_DAYS", "90")
    school, codes = _demo(factory)
    _linked(factory, "busy-senco", codes.staff_code)
    _linked(factory, "idle-parent", codes.parent_code)
    start = utcnow()
    for days in (80, 160):  # used every 80 days: it lasts
        with factory.begin() as session:
            assert accounts.who_is(session, "rest", "busy-senco", now=start + dt.timedelta(days=days)) is not None
    with factory.begin() as session:
        assert accounts.who_is(session, "rest", "idle-parent", now=start + dt.timedelta(days=91)) is None
    with factory() as session:
        kept = session.execute(select(ChatIdentity.staff_id, ChatIdentity.parent_id)).all()
    assert kept == [(school.senco_id, None)]
    assert ("unlink", True, "unused too long") in _actions(factory)
