"""Whole conversations over Rasa's REST channel, against real servers.

Each conversation runs twice: on the default store (SQLite tracker store) and
on the machine's PostgreSQL tracker store with the Redis lock store.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis

import knowledge
from tests.conftest import REDIS_HOST, demo_codes, lock_prefix, postgres_connect
from tests.support.replies import answer_given
from tests.support.servers import say

NORFOLK_SENDIASS_PHONE = "01603 704070"


@pytest.fixture(params=["sqlite", "postgres"])
def rasa_port(request: pytest.FixtureRequest) -> int:
    return request.getfixturevalue(f"rasa_{request.param}")


def _texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(reply.get("text", "") for reply in replies)


def _buttons(replies: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [button for reply in replies for button in reply.get("buttons") or []]


def _sender() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def test_question_more_and_another_question(rasa_port: int) -> None:
    sender = _sender()
    first = say(rasa_port, sender, "what does assess plan do review mean")
    topic = knowledge.topics()["graduated_approach"]
    assert answer_given("graduated_approach", _texts(first)), "a specific answer of the topic, with its source"
    assert f"Norfolk SENDIASS ({NORFOLK_SENDIASS_PHONE})" in _texts(first)
    assert {"title": "Tell me more", "payload": "/tell_me_more"} in _buttons(first)

    more = say(rasa_port, sender, "tell me more")
    assert topic.more[:80] in _texts(more)

    next_answer = say(rasa_port, sender, "how often should the school meet with me about his support")
    assert answer_given("meetings_per_year", _texts(next_answer))


def test_button_payload_answers_its_topic(rasa_port: int) -> None:
    replies = say(rasa_port, _sender(), "/ask_six_thousand_myth")
    assert knowledge.topics()["six_thousand_myth"].answer in _texts(replies)


def test_benefits_question_is_out_of_scope_with_sendiass(rasa_port: int) -> None:
    replies = say(rasa_port, _sender(), "can you help with my DLA claim")
    text = _texts(replies)
    assert "outside what I cover" in text
    assert NORFOLK_SENDIASS_PHONE in text
    assert 2 <= len([b for b in _buttons(replies) if b["payload"].startswith("/ask_")]) <= 3


def test_gibberish_gets_an_honest_not_sure(rasa_port: int) -> None:
    replies = say(rasa_port, _sender(), "purple wardrobe trombone eleven")
    text = _texts(replies)
    assert "I'm not sure" in text
    assert NORFOLK_SENDIASS_PHONE in text
    topic_buttons = [b for b in _buttons(replies) if b["payload"].startswith("/ask_")]
    assert 2 <= len(topic_buttons) <= 3


def test_asking_for_a_person_gives_sendiass(rasa_port: int) -> None:
    replies = say(rasa_port, _sender(), "can I speak to a real person please")
    assert NORFOLK_SENDIASS_PHONE in _texts(replies)
    assert "SENCO" in _texts(replies)


def test_greeting_and_menu(rasa_port: int) -> None:
    sender = _sender()
    assert "SEN Support Assistant" in _texts(say(rasa_port, sender, "hello"))
    menu = say(rasa_port, sender, "what can you do")
    payloads = [b["payload"] for b in _buttons(menu)]
    assert payloads[: len(knowledge.menu())] == [f"/ask_{key}" for key in knowledge.menu()]


def test_postgres_tracker_store_keeps_the_conversation(rasa_postgres: int, postgres_database: str) -> None:
    sender = _sender()
    say(rasa_postgres, sender, "what is the local offer")
    say(rasa_postgres, sender, "tell me more")
    with postgres_connect(postgres_database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT type_name, action_name FROM events WHERE sender_id = %s ORDER BY id", (sender,))
        rows = cursor.fetchall()
    kinds = [kind for kind, _ in rows]
    actions = [name for kind, name in rows if kind == "action"]
    assert kinds.count("user") == 2
    assert "action_answer_question" in actions and "action_tell_more" in actions


def test_redis_lock_store_locks_each_turn(rasa_postgres: int, postgres_database: str) -> None:
    client = redis.Redis(host=REDIS_HOST, port=6379, db=0)
    previous = client.config_get("notify-keyspace-events")["notify-keyspace-events"]
    client.config_set("notify-keyspace-events", "KA")
    subscriber = client.pubsub()
    sender = _sender()
    subscriber.psubscribe(f"__keyspace@0__:{lock_prefix(postgres_database)}*{sender}")
    try:
        subscriber.get_message(timeout=1)
        say(rasa_postgres, sender, "what is a SENCO")
        operations = []
        for _ in range(20):
            message = subscriber.get_message(timeout=0.2)
            if message and message["type"] == "pmessage":
                operations.append(message["data"].decode())
    finally:
        subscriber.close()
        client.config_set("notify-keyspace-events", previous)
    assert "set" in operations, "the server took no lock in Redis for this conversation"
    assert "del" in operations, "the lock was not released"


@pytest.fixture(params=["sqlite", "postgres"])
def rasa_and_store(request: pytest.FixtureRequest) -> tuple[int, str]:
    """A Rasa server, and the URL of the store its action server reads pupils' records from."""
    store = "demo_store" if request.param == "sqlite" else "demo_store_postgres"
    return request.getfixturevalue(f"rasa_{request.param}"), request.getfixturevalue(store)


def _audit_rows(store_url: str, since: int) -> list[Any]:
    from sqlalchemy import select

    from bot.store.db import sessions
    from bot.store.models import AuditEvent

    with sessions(store_url)() as session:
        return session.execute(select(AuditEvent).where(AuditEvent.id > since).order_by(AuditEvent.id)).scalars().all()


def _last_audit_id(store_url: str) -> int:
    rows = _audit_rows(store_url, 0)
    return rows[-1].id if rows else 0


def test_senco_links_and_looks_up_reviews(rasa_and_store: tuple[int, str]) -> None:
    port, store = rasa_and_store
    codes = demo_codes(store)
    sender = _sender()
    assert "linked as Mrs Priya Ashdown (SENCO)" in _texts(say(port, sender, f"my code is {codes.staff_code}"))
    overdue = _texts(say(port, sender, "which reviews are overdue?"))
    assert overdue.startswith("Overdue reviews") and "Ben Okafor (Year 4): was due" in overdue
    assert "Chloe Hartley (Year 2): no review booked" in overdue

    replies = say(port, sender, "when is amy's next review")
    assert [b["title"] for b in _buttons(replies)] == ["Amy Carter (Year 3)", "Amy Fenwick (Year 5)"]
    answer = _texts(say(port, sender, _buttons(replies)[0]["payload"]))
    assert answer.startswith("Amy Carter's next review is on ") and "(in 10 days)" in answer
    targets = _texts(say(port, sender, "and what are her targets?"))
    assert targets.startswith("Amy's targets") and "Phase 5 words" in targets

    assert "no longer linked" in _texts(say(port, sender, "forget me on this device"))
    assert _texts(say(port, sender, "which reviews are overdue?")).startswith("Lists of reviews are for school staff")


def test_parent_sees_only_their_child(rasa_and_store: tuple[int, str]) -> None:
    port, store = rasa_and_store
    codes = demo_codes(store)
    sender = _sender()
    start = _last_audit_id(store)
    assert "parent or carer of Amy" in _texts(say(port, sender, f"my code is {codes.parent_code}"))
    plan = _texts(say(port, sender, "what's in my child's plan?"))
    assert plan.startswith("Amy's SEN Support Plan") and "Strengths:" in plan
    refused = _texts(say(port, sender, "what's in Ben's plan?"))
    assert refused.startswith("Sorry, I can only share the records of the child your access code is for (Amy)")
    assert "Okafor" not in refused
    overdue = _texts(say(port, sender, "which reviews are overdue"))
    assert "Ben" not in overdue and "for school staff" in overdue
    events = [(e.action, e.allowed, e.actor_kind, e.channel) for e in _audit_rows(store, start)]
    assert events == [
        ("link", True, "parent", "rest"),
        ("read_plan", True, "parent", "rest"),
        ("read_plan", False, "parent", "rest"),
        ("list_reviews", False, "parent", "rest"),
    ]


def test_no_code_or_plan_link_is_kept_in_the_conversation(
    rasa_sqlite: int, sqlite_tracker_db: Path, demo_store: str
) -> None:
    codes = demo_codes(demo_store)
    sender = _sender()
    assert "parent or carer of Amy" in _texts(say(rasa_sqlite, sender, f"my code is {codes.parent_code}"))
    given = _texts(say(rasa_sqlite, sender, "can I have a copy of the plan?"))
    token = re.search(r"/documents/([A-Za-z0-9_-]{20,})\.pdf", given).group(1)
    with sqlite3.connect(sqlite_tracker_db) as db:
        stored = "\n".join(row[0] for row in db.execute("SELECT data FROM events WHERE sender_id = ?", (sender,)))
    assert stored.count('"event": "user"') >= 2, "the conversation itself is kept"
    assert token not in stored and codes.parent_code not in stored
    assert codes.parent_code.replace("-", "") not in stored.replace("-", "")
    assert "/documents/[private link].pdf" in stored and "my code is [code]" in stored


def test_unlinked_user_asking_for_a_pupil_gets_a_polite_refusal(rasa_port: int) -> None:
    reply = _texts(say(rasa_port, _sender(), "when is Amy Carter's next review?"))
    assert reply.startswith("I can only show a pupil's records to school staff and parents who have linked this chat.")
    assert "Amy" not in reply
