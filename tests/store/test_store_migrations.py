"""Migrations build the store from empty and take it down again, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from bot.store import migrate
from bot.store.db import make_engine, sessions
from bot.store.models import Base, PlanStatus, Pupil, School, SupportPlan, Target


def _pupil(first: str) -> Pupil:
    school = School(name="Larkspur Primary (fictional)", council="norfolk")
    return Pupil(
        school=school, first_name=first, last_name="Example", date_of_birth=dt.date(2016, 5, 1), year_group="Year 4"
    )


def test_upgrade_matches_the_models_and_downgrade_empties(store_url: str) -> None:
    migrate.upgrade(store_url)
    engine = make_engine(store_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())

    migrate.downgrade(store_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            types = connection.exec_driver_sql("SELECT typname FROM pg_type WHERE typtype = 'e'").scalars().all()
        assert types == []
    engine.dispose()


def test_plans_keep_their_versions_and_targets(store_url: str) -> None:
    migrate.upgrade(store_url)
    factory = sessions(store_url)
    with factory.begin() as session:
        pupil = _pupil("Amy")
        first = SupportPlan(pupil=pupil, version=1, status=PlanStatus.superseded, strengths="loves drawing")
        first.targets.append(Target(position=1, difficulty="reading", outcome="reads 20 words by July"))
        second = SupportPlan(pupil=pupil, version=2, status=PlanStatus.agreed, strengths="loves drawing and maps")
        session.add_all([pupil, first, second, SupportPlan(pupil=pupil, version=3, strengths="draft")])
    with factory() as session:
        plans = session.execute(select(SupportPlan).order_by(SupportPlan.version)).scalars().all()
        assert [plan.version for plan in plans] == [1, 2, 3]
        assert [target.outcome for target in plans[0].targets] == ["reads 20 words by July"]
    make_engine(store_url).dispose()


def test_a_pupil_has_at_most_one_draft(store_url: str) -> None:
    migrate.upgrade(store_url)
    factory = sessions(store_url)
    with factory.begin() as session:
        pupil = _pupil("Ben")
        session.add_all([pupil, SupportPlan(pupil=pupil, version=1)])
        session.flush()
        pupil_id = pupil.id
    with pytest.raises(IntegrityError), factory.begin() as session:
        session.add(SupportPlan(pupil_id=pupil_id, version=2))
    with factory.begin() as session:
        session.add(SupportPlan(pupil_id=pupil_id, version=2, status=PlanStatus.agreed))
    make_engine(store_url).dispose()


def test_downgrade_from_drafts_keeps_agreed_plans(store_url: str) -> None:
    migrate.upgrade(store_url)
    factory = sessions(store_url)
    with factory.begin() as session:
        pupil = _pupil("Cal")
        agreed = SupportPlan(pupil=pupil, version=1, status=PlanStatus.agreed)
        agreed.targets.append(Target(position=1, difficulty="reading", outcome="reads 20 words by July"))
        draft = SupportPlan(pupil=pupil, version=2)
        draft.targets.append(Target(position=1, difficulty="spelling"))
        session.add_all([pupil, agreed, draft])
    migrate.downgrade(store_url, "0001")
    engine = make_engine(store_url)
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT difficulty, outcome FROM targets").all()
    assert [tuple(row) for row in rows] == [("reading", "reads 20 words by July")]
    migrate.upgrade(store_url)
    engine.dispose()


def test_upgrade_marks_reviews_already_held(store_url: str) -> None:
    migrate.upgrade(store_url, "0003")
    engine = make_engine(store_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO schools (id, name, council, created_at) "
            "VALUES (1, 'Larkspur Primary (fictional)', 'norfolk', '2026-01-05')"
        )
        connection.exec_driver_sql(
            "INSERT INTO pupils (id, school_id, first_name, last_name, date_of_birth, year_group, created_at) "
            "VALUES (1, 1, 'Dee', 'Example', '2016-05-01', 'Year 4', '2026-01-05')"
        )
        connection.exec_driver_sql(
            "INSERT INTO reviews (pupil_id, scheduled_for, held_on, created_at) VALUES "
            "(1, '2026-02-01', '2026-02-03', '2026-01-05'), (1, '2026-06-01', NULL, '2026-01-05')"
        )
    migrate.upgrade(store_url)
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT scheduled_for, status FROM reviews ORDER BY scheduled_for").all()
    assert [str(row.status) for row in rows] == ["held", "booked"]
    migrate.downgrade(store_url, "0003")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM reviews").scalar() == 2
    engine.dispose()
