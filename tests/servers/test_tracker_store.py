"""The tracker store (bot/rasa_server/tracker_store.py) on SQLite and PostgreSQL, and the channels' guard."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_server import channels
from bot.rasa_server.tracker_store import SessionTrackerStore, TrackerStoreUnavailable, expose_failures, session_length
from tests import conftest
from tests.support import servers


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(servers.ROOT / "domain"))


@pytest.fixture(params=["sqlite", "postgres"])
def store_config(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    if request.param == "sqlite":
        yield {"dialect": "sqlite", "db": str(tmp_path / "tracker.db")}
    else:
        for name in conftest._fresh_postgres_database():
            yield {"dialect": "postgresql", "host": "127.0.0.1", "port": 5432, "username": "postgres", "db": name}


def make_store(domain: Domain, config: dict[str, Any], **extra: Any) -> SessionTrackerStore:
    return SessionTrackerStore(domain=domain, **config, **extra)


def question_turn(number: int) -> list[Any]:
    return [
        UserUttered(f"question {number}", {"name": "ask_core_offer", "confidence": 1.0}),
        ActionExecuted("action_answer_question"),
        BotUttered(f"answer {number}"),
        SlotSet("last_topic", "core_offer"),
        ActionExecuted("action_listen"),
    ]


async def play_turns(store: SessionTrackerStore, sender: str, turns: int, domain: Domain) -> DialogueStateTracker:
    """Retrieve, add one question turn and save, ``turns`` times, as the Rasa server does."""
    for number in range(turns):
        tracker = await store.get_or_create_tracker(sender)
        for event in question_turn(number):
            tracker.update(event, domain)
        await store.save(tracker)
    return await store.retrieve(sender)


def stored_rows(store: SessionTrackerStore, sender: str) -> list[str]:
    with store.session_scope() as session:
        return [
            row.type_name
            for row in session.query(store.SQLEvent).filter_by(sender_id=sender).order_by(store.SQLEvent.id)
        ]


def test_a_long_conversation_rolls_into_new_sessions_and_keeps_every_event(
    domain: Domain, store_config: dict[str, Any]
) -> None:
    store = make_store(domain, store_config, max_session_events=30)
    tracker = asyncio.run(play_turns(store, "long-talk", 40, domain))

    # What a turn loads stays bounded by the limit, whatever the length of the conversation.
    assert session_length(tracker) < 30 + 5
    assert tracker.get_slot("last_topic") == "core_offer"
    assert isinstance(tracker.events[0], SessionStarted)
    assert [e.action_name for e in tracker.events if isinstance(e, ActionExecuted)][-2:] == [
        "action_answer_question",
        "action_listen",
    ]
    # Nothing is lost or written twice: every user message is in the table once, in order.
    full = asyncio.run(store.retrieve_full_tracker("long-talk"))
    said = [e.text for e in full.events if isinstance(e, UserUttered)]
    assert said == [f"question {n}" for n in range(40)]
    rows = stored_rows(store, "long-talk")
    assert rows.count("session_started") > 3
    assert rows.count("bot") == 40
    store.engine.dispose()


def test_a_rolled_session_carries_the_active_form_and_its_requested_slot(domain: Domain, tmp_path: Path) -> None:
    store = make_store(domain, {"dialect": "sqlite", "db": str(tmp_path / "t.db")}, max_session_events=10)

    async def scenario() -> DialogueStateTracker:
        tracker = await store.get_or_create_tracker("form-user")
        for event in [
            UserUttered("start a plan for Amy", {"name": "start_plan", "confidence": 1.0}),
            ActionExecuted("action_start_plan"),
            SlotSet("plan_id", "17"),
            ActionExecuted("plan_form"),
            ActiveLoop("plan_form"),
            SlotSet("requested_slot", "plan_answer"),
            BotUttered("What are Amy's strengths?"),
            ActionExecuted("action_listen"),
        ]:
            tracker.update(event, domain)
        await store.save(tracker)
        tracker = await store.retrieve("form-user")
        for event in [
            UserUttered("she loves drawing", {"name": "inform", "confidence": 1.0}),
            SlotSet("plan_answer", None),
            ActionExecuted("plan_form"),
            SlotSet("requested_slot", "plan_answer"),
            BotUttered("What does she find hard?"),
            ActionExecuted("action_listen"),
        ]:
            tracker.update(event, domain)
        await store.save(tracker)
        return await store.retrieve("form-user")

    rolled = asyncio.run(scenario())
    assert isinstance(rolled.events[0], SessionStarted)
    assert rolled.active_loop_name == "plan_form"
    assert rolled.get_slot("requested_slot") == "plan_answer"
    assert rolled.get_slot("plan_id") == "17"
    assert rolled.latest_action_name == "action_listen"
    assert [e.action_name for e in rolled.events if isinstance(e, ActionExecuted)][-2:] == [
        "plan_form",
        "action_listen",
    ]
    store.engine.dispose()


def test_saving_the_same_turn_twice_writes_nothing_twice(domain: Domain, tmp_path: Path) -> None:
    store = make_store(domain, {"dialect": "sqlite", "db": str(tmp_path / "t.db")})

    async def scenario() -> None:
        tracker = await store.get_or_create_tracker("twice")
        for event in question_turn(1):
            tracker.update(event, domain)
        await store.save(tracker)
        await store.save(tracker)

    asyncio.run(scenario())
    assert stored_rows(store, "twice").count("user") == 1
    store.engine.dispose()


def test_codes_and_private_links_never_reach_the_events_table(domain: Domain, store_config: dict[str, Any]) -> None:
    store = make_store(domain, store_config)
    code, token = "KQ7D-M2XA-9WZP", "Xy3_abcdefghijklmnopqrstuvwxyz0123456789ABCD"
    link = (
        f"http://localhost:5056/documents/{token}.pdf (or as a web page: http://localhost:5056/documents/{token}.html)"
    )

    async def scenario() -> None:
        tracker = await store.get_or_create_tracker("keeps-nothing-secret")
        for event in (
            UserUttered(f"my code is {code.lower().replace('-', ' ')}", {"name": "link_account", "confidence": 1.0}),
            ActionExecuted("action_link_account"),
            BotUttered("Thank you, you're now linked."),
            UserUttered("can I have a copy of the plan?", {"name": "lookup_plan_document", "confidence": 1.0}),
            ActionExecuted("action_plan_document"),
            BotUttered(f"Here is Amy's plan: {link}", data={"buttons": [{"title": "Open", "payload": link}]}),
            ActionExecuted("action_listen"),
        ):
            tracker.update(event, domain)
        await store.save(tracker)

    asyncio.run(scenario())
    with store.session_scope() as session:
        rows = [row.data for row in session.query(store.SQLEvent).filter_by(sender_id="keeps-nothing-secret")]
    stored = "\n".join(rows)
    assert token not in stored and "kq7d" not in stored.lower() and "9wzp" not in stored.lower()
    assert "my code is [code]" in stored and "/documents/[private link].pdf" in stored
    kept = asyncio.run(store.retrieve("keeps-nothing-secret"))
    assert [e.text for e in kept.events if isinstance(e, UserUttered)][1] == "can I have a copy of the plan?"
    store.engine.dispose()


def _url(config: dict[str, Any]) -> str:
    if config["dialect"] == "sqlite":
        return f"sqlite:///{config['db']}"
    return f"postgresql://postgres@127.0.0.1:5432/{config['db']}"


def test_old_conversations_are_swept_and_ones_in_use_keep_their_session(
    domain: Domain, store_config: dict[str, Any]
) -> None:
    from bot.ops import retention

    store = make_store(domain, store_config)
    now = time.time()
    day = 86400.0

    def turn(at: float, text: str) -> list[Any]:
        return [
            UserUttered(text, {"name": "ask_core_offer", "confidence": 1.0}, timestamp=at),
            ActionExecuted("action_answer_question", timestamp=at),
            BotUttered(f"answer to {text}", timestamp=at),
            ActionExecuted("action_listen", timestamp=at),
        ]

    conversations = {
        "left-long-ago": [SessionStarted(timestamp=now - 120 * day), *turn(now - 120 * day, "old question")],
        "still-in-use": [
            SessionStarted(timestamp=now - 120 * day),
            *turn(now - 120 * day, "first session"),
            SessionStarted(timestamp=now - 100 * day),
            *turn(now - 100 * day, "current session, long ago"),
            *turn(now - day, "current session, yesterday"),
        ],
        "recent": [SessionStarted(timestamp=now - day), *turn(now - day, "new question")],
    }

    async def record() -> None:
        for sender, events in conversations.items():
            tracker = await store.get_or_create_tracker(sender, append_action_listen=False)
            for event in events:
                tracker.update(event, domain)
            await store.save(tracker)

    asyncio.run(record())
    removed = retention.sweep(_url(store_config), days=90)
    assert removed == len(conversations["left-long-ago"]) + 5, "the old conversation, and the earlier session"
    assert stored_rows(store, "left-long-ago") == []
    kept = asyncio.run(store.retrieve_full_tracker("still-in-use"))
    said = [e.text for e in kept.events if isinstance(e, UserUttered)]
    assert said == ["current session, long ago", "current session, yesterday"], "the session in use is whole"
    assert len(stored_rows(store, "recent")) == len(conversations["recent"])
    assert retention.sweep(_url(store_config), days=90) == 0
    store.engine.dispose()


def test_an_unreachable_database_is_reported_after_waiting(domain: Domain, tmp_path: Path) -> None:
    store = make_store(domain, {"dialect": "sqlite", "db": str(tmp_path / "t.db")}, retry_seconds=0.5)
    gone = SessionTrackerStore.__new__(SessionTrackerStore)
    gone.__dict__.update(store.__dict__)
    gone.engine = sqlalchemy.create_engine("postgresql://postgres@127.0.0.1:9/none", pool_pre_ping=True)
    gone.sessionmaker = sqlalchemy.orm.sessionmaker(bind=gone.engine)
    started = time.monotonic()
    with pytest.raises(TrackerStoreUnavailable):
        asyncio.run(gone.retrieve("anyone"))
    assert 0.3 < time.monotonic() - started < 5
    store.engine.dispose()


def test_failures_are_no_longer_hidden_by_rasas_fail_safe(domain: Domain, tmp_path: Path) -> None:
    store = make_store(domain, {"dialect": "sqlite", "db": str(tmp_path / "t.db")})

    class Processor:
        tracker_store = FailSafeTrackerStore(store)

    class Agent:
        tracker_store = FailSafeTrackerStore(store)
        processor = Processor()

    agent = Agent()
    expose_failures(agent)
    assert agent.tracker_store is store and agent.processor.tracker_store is store
    store.engine.dispose()


def run_guarded(handler: Any, text: str) -> list[str]:
    output = CollectingOutputChannel()
    asyncio.run(channels.guarded(handler)(UserMessage(text, output, "someone", input_channel="rest")))
    return [message.get("text") for message in output.messages]


def test_the_guard_answers_bad_input_kindly_without_reaching_the_assistant() -> None:
    reached: list[str] = []

    async def assistant(message: UserMessage) -> None:
        reached.append(message.text)
        await message.output_channel.send_response(message.sender_id, {"text": "an answer"})

    assert run_guarded(assistant, "   \n ") == [channels.EMPTY]
    assert run_guarded(assistant, "\x00\x01") == [channels.EMPTY]
    assert run_guarded(assistant, "a" * (channels.MAX_MESSAGE + 1)) == [channels.TOO_LONG]
    assert reached == []
    assert run_guarded(assistant, "what is sen\x00 support? 🙂 <b>bold</b> مرحبا") == ["an answer"]
    assert reached == ["what is sen support? 🙂 <b>bold</b> مرحبا"]


def test_the_guard_turns_failures_and_silence_into_try_again() -> None:
    async def broken(message: UserMessage) -> None:
        await message.output_channel.send_response(message.sender_id, {"text": "half an answer"})
        raise ConnectionError("the database went away")

    async def silent(message: UserMessage) -> None:
        return None

    assert run_guarded(broken, "hello") == ["half an answer", channels.TRY_AGAIN]
    assert run_guarded(silent, "hello") == [channels.TRY_AGAIN]


def test_action_server_replies_are_still_validated_without_checking_the_schema_each_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from jsonschema import ValidationError
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    from bot.rasa_server import tuning

    tuning.apply()
    tuning.action_reply_validator()  # the schema is checked once, when its validator is made
    schema_checks: list[int] = []
    cls = validator_for(RemoteAction.action_response_format_spec())
    monkeypatch.setattr(cls, "check_schema", classmethod(lambda _cls, schema, **kw: schema_checks.append(1)))
    action = RemoteAction("action_answer_question", None)
    assert action._validate_action_result({"events": [{"event": "slot", "name": "x", "value": 1}], "responses": []})
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result({"events": "not a list", "responses": []})
    assert schema_checks == [], "no check of the schema per reply"


def test_event_classes_are_found_by_name_as_before() -> None:
    from rasa.shared.core.events import Event

    from bot.rasa_server import tuning

    tuning.apply()
    assert Event.resolve_by_type("user") is UserUttered and Event.resolve_by_type("user") is UserUttered
    assert Event.resolve_by_type("session_started") is SessionStarted
    assert Event.resolve_by_type("no_such_event", default=BotUttered) is BotUttered
    with pytest.raises(ValueError):
        Event.resolve_by_type("no_such_event")
    restored = Event.from_parameters({"event": "slot", "name": "last_topic", "value": "core_offer"})
    assert restored == SlotSet("last_topic", "core_offer")


@pytest.mark.parametrize("commits", [True, False], ids=["committed", "not-committed"])
def test_a_write_that_fails_is_written_again_exactly_once(
    domain: Domain, store_config: dict[str, Any], commits: bool
) -> None:
    """A connection lost around the commit: the turn's events end up in the table once, whichever side of it."""
    store = make_store(domain, store_config)
    real_write = store._write
    calls: list[int] = []

    def flaky_write(sender_id: str, events: list[Any], known: Any) -> int:
        calls.append(1)
        if len(calls) == 2:  # the second turn's first attempt
            if commits:
                real_write(sender_id, events, known)
            raise sqlalchemy.exc.OperationalError("COMMIT", {}, ConnectionError("connection lost"))
        return real_write(sender_id, events, known)

    store._write = flaky_write
    tracker = asyncio.run(play_turns(store, "flaky", 3, domain))
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["question 0", "question 1", "question 2"]
    rows = stored_rows(store, "flaky")
    assert rows.count("user") == 3 and rows.count("bot") == 3
    store.engine.dispose()
