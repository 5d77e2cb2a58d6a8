"""Alembic migrations, run programmatically: ``python -m bot.store.migrate [upgrade|downgrade REV]``."""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config

from bot.store.db import database_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", (url or database_url()).replace("%", "%%"))
    return config


def head() -> str:
    """The newest revision: what ``upgrade`` brings a database to."""
    from alembic.script import ScriptDirectory

    current = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert current is not None, "the migrations have a head"
    return current


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def main(argv: list[str]) -> int:
    action = argv[1] if len(argv) > 1 else "upgrade"
    revision = argv[2] if len(argv) > 2 else ("head" if action == "upgrade" else "base")
    if action not in {"upgrade", "downgrade"}:
        print("usage: python -m bot.store.migrate [upgrade|downgrade] [REVISION]", file=sys.stderr)
        return 2
    url = database_url()
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    (upgrade if action == "upgrade" else downgrade)(url, revision)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
