"""Engines and sessions. The database is chosen by one setting, DATABASE_URL."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot import settings


def database_url() -> str:
    """The configured database (``bot.settings.database_url``)."""
    return settings.database_url()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, future=True, connect_args={"check_same_thread": False})

        def _sqlite_pragmas(connection: Any, _record: Any) -> None:
            """Foreign keys and write-ahead logging on each new connection (a DBAPI connection and a pool record)."""
            cursor = connection.cursor()
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.close()

        # ``event.listen`` rather than the ``listens_for`` decorator, which has no type information.
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, future=True, pool_pre_ping=True)


@cache
def engine_for(url: str) -> Engine:
    return make_engine(url)


def sessions(url: str | None = None) -> sessionmaker:
    """A session factory for the configured database: ``with sessions().begin() as session:``."""
    return sessionmaker(engine_for(url or database_url()), class_=Session, future=True, expire_on_commit=False)
