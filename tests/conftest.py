"""Shared fixtures: trackers for action tests, and real servers for conversation tests.

The model is trained once by `make test` before pytest starts; every test that
needs it uses that one file.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from tests.support import servers

RESULTS_DIR = servers.ROOT / "results"
POSTGRES_DSN = os.environ.get("SEN_TEST_POSTGRES", "host=127.0.0.1 port=5432 user=postgres dbname=test")
REDIS_HOST = os.environ.get("SEN_TEST_REDIS_HOST", "127.0.0.1")


_MEASURED: dict[str, dict[str, Any]] = {}


def record_result(name: str, values: dict[str, Any]) -> None:
    """Keep a figure measured by a test, for the summary at the end of the run and in results/."""
    _MEASURED[name] = values
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(values, indent=2))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that restart the machine's PostgreSQL or Redis, or kill servers, run last."""
    items.sort(key=lambda item: item.get_closest_marker("restarts_services") is not None)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    figures = _MEASURED.get("nlu_heldout")
    if figures:
        terminalreporter.write_line(
            f"Held-out NLU intent accuracy: {figures['accuracy']:.1%} "
            f"({figures['correct']}/{figures['total']} messages)"
        )
    for name in ("questions_real_style", "questions_shared"):
        counts = _MEASURED.get(name)
        if counts:
            terminalreporter.write_line(
                f"{name.removeprefix('questions_').replace('_', '-')} questions: "
                f"right fact {counts['right_share']:.1%} (target 95%), "
                f"not sure {counts['not_sure_share']:.1%} (at most 3%), "
                f"wrong {counts['wrong_share']:.1%} (at most 2%); "
                f"out of scope declined {counts['declined_share']:.1%} (target 95%)"
            )


@pytest.fixture(scope="session")
def trained_model() -> Path:
    if not servers.MODEL.exists():
        pytest.fail("No trained model: run the tests with `make test`, which trains it first.")
    return servers.MODEL


def make_tracker(
    intent: str | None = None,
    text: str = "",
    slots: dict[str, Any] | None = None,
    ranking: list[tuple[str, float]] | None = None,
    events: list[dict[str, Any]] | None = None,
    sender_id: str = "test-user",
    entities: dict[str, str] | None = None,
    channel: str | None = None,
) -> Tracker:
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0} if intent else {},
        "intent_ranking": [{"name": name, "confidence": score} for name, score in (ranking or [])],
        "entities": [{"entity": name, "value": value} for name, value in (entities or {}).items()],
    }
    events = list(events or [])
    if channel:
        events.append({"event": "user", "text": text, "input_channel": channel, "parse_data": latest})
    return Tracker(sender_id, slots or {}, latest, events, False, None, {}, "action_listen")


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture(scope="session")
def server_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("server-logs")


TEST_IDENTITY_KEY = servers.IDENTITY_KEY
TEST_BRIDGE_SECRET = "tests-telegram-bridge-secret"


def _seeded(url: str) -> str:
    from bot.store import demo, migrate
    from bot.store.db import sessions

    migrate.upgrade(url)
    with sessions(url).begin() as session:
        demo.seed(session)
    return url


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite store holding the demo school, used by the action server of the tests."""
    return _seeded(f"sqlite:///{tmp_path_factory.mktemp('store') / 'store.db'}")


@pytest.fixture(scope="session")
def demo_store_postgres() -> Iterator[str]:
    """A PostgreSQL store holding the demo school, in a database of its own."""
    for name in _fresh_postgres_database():
        url = _seeded(postgres_url(name))
        yield url
        from bot.store.db import engine_for

        engine_for(url).dispose()


def demo_codes(url: str) -> Any:
    """Fresh codes for the demo SENCO and parent in the store at ``url``, under the test servers' key."""
    from bot.store import demo
    from bot.store.db import sessions

    previous = os.environ.get("SEN_IDENTITY_KEY")
    os.environ["SEN_IDENTITY_KEY"] = TEST_IDENTITY_KEY
    try:
        with sessions(url).begin() as session:
            found = demo.find_demo(session)
            assert found is not None, f"no demo school in the store at {url}"
            return demo.codes(session, found)
    finally:
        if previous is None:
            del os.environ["SEN_IDENTITY_KEY"]
        else:
            os.environ["SEN_IDENTITY_KEY"] = previous


@pytest.fixture(scope="session")
def action_server(trained_model: Path, server_logs: Path, demo_store: str) -> Iterator[int]:
    server, port = servers.start_action_server(server_logs, DATABASE_URL=demo_store, SEN_IDENTITY_KEY=TEST_IDENTITY_KEY)
    yield port
    server.stop()


@pytest.fixture(scope="session")
def action_server_postgres(trained_model: Path, server_logs: Path, demo_store_postgres: str) -> Iterator[int]:
    server, port = servers.start_action_server(
        server_logs, DATABASE_URL=demo_store_postgres, SEN_IDENTITY_KEY=TEST_IDENTITY_KEY
    )
    yield port
    server.stop()


@pytest.fixture(scope="session")
def sqlite_tracker_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The conversations of ``rasa_sqlite``, as its tracker store writes them."""
    return tmp_path_factory.mktemp("sqlite") / "tracker.db"


@pytest.fixture(scope="session")
def chat_page_port() -> int:
    """The web server port of the browser tests' demo page, whose origin the test Rasa server lets connect."""
    return servers.free_port()


@pytest.fixture(scope="session")
def rasa_sqlite(action_server: int, server_logs: Path, sqlite_tracker_db: Path, chat_page_port: int) -> Iterator[int]:
    """A Rasa server with the default store: SQLite tracker store, in-process lock store.

    Its Telegram channel accepts the Telegram app's messages with ``TEST_BRIDGE_SECRET``.
    """
    endpoints = servers.write_endpoints(
        sqlite_tracker_db.parent / "endpoints.yml",
        action_server,
        {"type": servers.TRACKER_STORE, "dialect": "sqlite", "db": str(sqlite_tracker_db)},
    )
    server, port = servers.start_rasa_server(
        server_logs,
        endpoints,
        SEN_TELEGRAM_BRIDGE_SECRET=TEST_BRIDGE_SECRET,
        SEN_ALLOWED_ORIGINS=f"http://127.0.0.1:{chat_page_port} http://localhost:{chat_page_port}",
    )
    yield port
    server.stop()


def _fresh_postgres_database() -> Iterator[str]:
    name = f"sen_test_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(POSTGRES_DSN)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    yield name
    drop_postgres_database(name)


def drop_postgres_database(name: str) -> None:
    """Drop a database, ending its connections first (on a new connection: the server may have restarted)."""
    admin = psycopg2.connect(POSTGRES_DSN)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database on the machine's server for the session, dropped afterwards."""
    yield from _fresh_postgres_database()


def postgres_url(database: str) -> str:
    params = dict(item.split("=", 1) for item in POSTGRES_DSN.split())
    user, host, port = params.get("user", "postgres"), params.get("host", "127.0.0.1"), params.get("port", "5432")
    return f"postgresql://{user}@{host}:{port}/{database}"


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database, on SQLite and on the machine's PostgreSQL, for store tests."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        for name in _fresh_postgres_database():
            yield postgres_url(name)


@pytest.fixture
def factory(store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A migrated, empty store on ``store_url`` and its session factory."""
    from bot.store import migrate
    from bot.store.db import make_engine, sessions

    monkeypatch.setenv("SEN_IDENTITY_KEY", "test-key")
    migrate.upgrade(store_url)
    yield sessions(store_url)
    make_engine(store_url).dispose()


def lock_prefix(database: str) -> str:
    """The Redis key prefix of the test lock store (Rasa accepts letters and digits only)."""
    return database.replace("_", "")


def postgres_connect(database: str) -> Any:
    params = dict(item.split("=", 1) for item in POSTGRES_DSN.split())
    params["dbname"] = database
    return psycopg2.connect(**params)


@pytest.fixture(scope="session")
def rasa_postgres(
    action_server_postgres: int, server_logs: Path, postgres_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[int]:
    """A Rasa server with its tracker store on PostgreSQL and its lock store on Redis.

    Its action server keeps pupils' records on PostgreSQL too.
    """
    params = dict(item.split("=", 1) for item in POSTGRES_DSN.split())
    folder = tmp_path_factory.mktemp("postgres")
    endpoints = servers.write_endpoints(
        folder / "endpoints.yml",
        action_server_postgres,
        {
            "type": servers.TRACKER_STORE,
            "dialect": "postgresql",
            "url": params.get("host", "127.0.0.1"),
            "port": int(params.get("port", 5432)),
            "username": params.get("user", "postgres"),
            "db": postgres_database,
        },
        {"type": "redis", "url": REDIS_HOST, "port": 6379, "db": 0, "key_prefix": lock_prefix(postgres_database)},
    )
    server, port = servers.start_rasa_server(server_logs, endpoints)
    yield port
    server.stop()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A SQLite store with the demo school, used by actions run in this process, and codes to link with."""
    from sqlalchemy import select

    from bot.store import accounts, demo, migrate
    from bot.store.db import make_engine, sessions
    from bot.store.models import Pupil

    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SEN_IDENTITY_KEY", "action-test-key")
    migrate.upgrade(url)
    with sessions(url).begin() as session:
        school = demo.seed(session)
        codes = demo.codes(session, school)
        ids = {f"{p.first_name} {p.last_name}": p.id for p in session.execute(select(Pupil)).scalars()}
        other_code = accounts.issue_staff_code(session, school.other_senco_id)
    yield {"url": url, "school": school, "codes": codes, "ids": ids, "other_code": other_code}
    make_engine(url).dispose()
