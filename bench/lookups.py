"""Look-ups through the action server with 100,000 pupils, on SQLite and PostgreSQL.

Fills a fresh store with fictional schools (500 pupils each), plans, targets
and reviews, links a member of staff at every school and a parent of some
pupils, starts an action server on that store and calls its webhook as the
Rasa server would. Each action's latency is measured over sequential calls.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bench.stats import summary
from bot.core.vocabulary import AreaOfNeed, LevelOfNeed, PlanStatus, StaffRole
from bot.store import accounts, migrate
from bot.store.db import make_engine
from bot.store.models import (
    ChatIdentity,
    Parent,
    ParentPupil,
    Pupil,
    Review,
    School,
    Staff,
    SupportPlan,
    Target,
)
from tests.support import servers

FIRST = [
    "Ava",
    "Ben",
    "Cara",
    "Dev",
    "Elif",
    "Finn",
    "Gus",
    "Hana",
    "Ivo",
    "Jade",
    "Kit",
    "Lola",
    "Milo",
    "Nia",
    "Otis",
    "Pia",
    "Quin",
    "Remy",
    "Sana",
    "Teo",
    "Uma",
    "Vic",
    "Wren",
    "Xan",
    "Yara",
    "Zac",
    "Ada",
    "Bo",
    "Cleo",
    "Dax",
    "Eve",
    "Fox",
    "Gia",
    "Hal",
    "Isa",
    "Jon",
    "Kai",
    "Lux",
    "Max",
    "Noa",
    "Oli",
    "Pax",
    "Rae",
    "Sol",
    "Tia",
    "Ugo",
    "Val",
    "Wil",
    "Yves",
    "Zia",
]
LAST = [
    "Ashby",
    "Brook",
    "Cole",
    "Dale",
    "Eames",
    "Frost",
    "Gale",
    "Hale",
    "Irwin",
    "Jory",
    "Kemp",
    "Lowe",
    "Marsh",
    "Nash",
    "Oakes",
    "Pike",
    "Quill",
    "Rowe",
    "Shaw",
    "Tate",
    "Usher",
    "Vane",
    "Wade",
    "Yates",
    "Zeal",
    "Abel",
    "Birch",
    "Crane",
    "Drake",
    "Ellis",
    "Fenn",
    "Grant",
    "Hurst",
    "Inch",
    "Judd",
    "Keel",
    "Lamb",
    "Moss",
    "Nye",
    "Orme",
]
SCHOOL_SIZE = 500
STAFF_CHANNEL = "rest"


def _rows(count: int, build: Callable[[int], dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for index in range(count):
        batch.append(build(index))
        if len(batch) == 5000:
            yield batch
            batch = []
    if batch:
        yield batch


def populate(url: str, pupils: int, seed: int = 7) -> dict[str, Any]:
    """Fill an empty store; returns the chat ids and pupils to ask about."""
    migrate.upgrade(url)
    engine = make_engine(url)
    rng = random.Random(seed)
    today = dt.date.today()
    schools = max(1, pupils // SCHOOL_SIZE)
    now = dt.datetime.utcnow()
    people: list[tuple[str, str, int]] = []
    with engine.begin() as connection:
        connection.execute(
            insert(School),
            [
                {"id": i + 1, "name": f"Bench School {i + 1} (fictional)", "council": "norfolk", "created_at": now}
                for i in range(schools)
            ],
        )
        connection.execute(
            insert(Staff),
            [
                {
                    "id": i + 1,
                    "school_id": i + 1,
                    "name": f"Bench SENCO {i + 1}",
                    "role": StaffRole.senco,
                    "active": True,
                    "created_at": now,
                }
                for i in range(schools)
            ],
        )
        for batch in _rows(
            pupils,
            lambda i: {
                "id": i + 1,
                "school_id": i % schools + 1,
                "first_name": rng.choice(FIRST),
                "last_name": rng.choice(LAST),
                "date_of_birth": dt.date(2015, 1, 1) + dt.timedelta(days=rng.randrange(2500)),
                "year_group": f"Year {rng.randrange(1, 7)}",
                "created_at": now,
            },
        ):
            connection.execute(insert(Pupil), batch)
            people += [(row["first_name"], row["last_name"], row["id"]) for row in batch]
        for batch in _rows(
            pupils,
            lambda i: {
                "id": i + 1,
                "pupil_id": i + 1,
                "version": 1,
                "status": PlanStatus.agreed,
                "level_of_need": LevelOfNeed.sen_support,
                "main_area_of_need": rng.choice(list(AreaOfNeed)),
                "interventions": "Small-group work three times a week.",
                "agreed_by_senco_name": "Bench SENCO",
                "agreed_on": today - dt.timedelta(days=rng.randrange(20, 160)),
                "created_at": now,
                "updated_at": now,
            },
        ):
            connection.execute(insert(SupportPlan), batch)
        for batch in _rows(
            pupils * 2,
            lambda i: {
                "plan_id": i // 2 + 1,
                "position": i % 2 + 1,
                "difficulty": "Reading unfamiliar words.",
                "provision_who": "Teaching assistant",
                "provision_what": "Phonics group",
                "provision_how_often": "Daily",
                "outcome": "Will read 40 of 50 words correctly by the next review.",
            },
        ):
            connection.execute(insert(Target), batch)
        # Each pupil: a review held 20-100 days ago and the next booked 60-130 days after it, so
        # most are on time and some are overdue or too far apart, as in a real school.
        held = [today - dt.timedelta(days=rng.randrange(20, 100)) for _ in range(pupils)]
        gaps = [dt.timedelta(days=rng.randrange(60, 130)) for _ in range(pupils)]
        for batch in _rows(
            pupils * 2,
            lambda i: {
                "pupil_id": i // 2 + 1,
                "scheduled_for": held[i // 2] + gaps[i // 2] if i % 2 else held[i // 2],
                "held_on": None if i % 2 else held[i // 2],
                "created_at": now,
            },
        ):
            connection.execute(insert(Review), batch)
        parents = min(1000, pupils)
        connection.execute(
            insert(Parent), [{"id": i + 1, "name": f"Bench Parent {i + 1}", "created_at": now} for i in range(parents)]
        )
        connection.execute(
            insert(ParentPupil),
            [
                {"parent_id": i + 1, "pupil_id": i * (pupils // parents) + 1, "relationship_to_pupil": "parent"}
                for i in range(parents)
            ],
        )
        identities = [
            {
                "channel": STAFF_CHANNEL,
                "identity_digest": accounts.identity_digest(STAFF_CHANNEL, f"bench-staff-{i + 1}"),
                "staff_id": i + 1,
                "parent_id": None,
                "linked_at": now,
            }
            for i in range(schools)
        ]
        identities += [
            {
                "channel": STAFF_CHANNEL,
                "identity_digest": accounts.identity_digest(STAFF_CHANNEL, f"bench-parent-{i + 1}"),
                "staff_id": None,
                "parent_id": i + 1,
                "linked_at": now,
            }
            for i in range(parents)
        ]
        connection.execute(insert(ChatIdentity), identities)
    if url.startswith("postgresql"):
        # Rows were inserted with their ids: move the sequences past them, and refresh the planner's statistics.
        with engine.connect() as connection:
            for table in ("schools", "staff", "pupils", "support_plans", "parents"):
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
    engine.dispose()
    return {"schools": schools, "people": people, "parents": parents, "rng": rng}


def _call(port: int, action: str, sender: str, text: str, intent: str, expect_reply: bool = True) -> float:
    latest = {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": [], "intent_ranking": []}
    tracker = {
        "sender_id": sender,
        "slots": {},
        "latest_message": latest,
        "events": [{"event": "user", "text": text, "input_channel": STAFF_CHANNEL, "parse_data": latest}],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    }
    body = json.dumps(
        {"next_action": action, "sender_id": sender, "tracker": tracker, "domain": {}, "version": "3.6.21"}
    ).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhook", data=body, headers={"Content-Type": "application/json"}
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        reply = json.loads(response.read())
    elapsed = time.perf_counter() - started
    if expect_reply and not reply.get("responses"):
        raise RuntimeError(f"{action} gave no reply")
    return elapsed


def measure(url: str, pupils: int, calls: int) -> dict[str, Any]:
    started = time.perf_counter()
    world = populate(url, pupils)
    filled_s = time.perf_counter() - started
    logs = Path(tempfile.mkdtemp(prefix="sen-bench-lookups-"))
    server, port = servers.start_action_server(logs, DATABASE_URL=url)
    rng, schools, people = world["rng"], world["schools"], world["people"]
    try:

        def staff_question(action: str, intent: str, template: str) -> float:
            first, last, pupil_id = rng.choice(people)
            school = (pupil_id - 1) % schools + 1
            return _call(port, action, f"bench-staff-{school}", template.format(name=f"{first} {last}"), intent)

        workloads: dict[str, Callable[[], float]] = {
            "staff_next_review": lambda: staff_question(
                "action_next_review", "lookup_next_review", "when is {name}'s next review"
            ),
            "staff_targets": lambda: staff_question(
                "action_pupil_targets", "lookup_pupil_targets", "what are {name}'s targets"
            ),
            "staff_reviews_due_30_days": lambda: _call(
                port,
                "action_reviews_due",
                f"bench-staff-{rng.randrange(1, schools + 1)}",
                "reviews due in the next 30 days",
                "lookup_reviews_due",
            ),
            "parent_plan": lambda: _call(
                port,
                "action_pupil_plan",
                f"bench-parent-{rng.randrange(1, world['parents'] + 1)}",
                "what's in my child's plan",
                "lookup_pupil_plan",
            ),
        }
        results: dict[str, Any] = {"pupils": pupils, "schools": schools, "fill_s": round(filled_s, 1)}
        everything: list[float] = []
        for name, work in workloads.items():
            for _ in range(10):
                work()
            latencies = [work() for _ in range(calls)]
            everything += latencies
            results[name] = summary(latencies)
        results["all"] = summary(everything)
        results.update(reminder_figures(url, port, schools, rng, calls))
        return results
    finally:
        server.stop()


def reminder_figures(url: str, port: int, schools: int, rng: random.Random, calls: int) -> dict[str, Any]:
    """The reminder sweep over every school (making them, then finding nothing new), and staff starting a visit."""
    from bot.store import reminders
    from bot.store.db import sessions

    timings = []
    for _ in range(2):
        started = time.perf_counter()
        with sessions(url).begin() as session:
            made = reminders.sweep(session)
        timings.append((made, time.perf_counter() - started))
    visits = [
        _call(port, "action_session_start", f"bench-staff-{school}", "", "greet", expect_reply=False)
        for school in rng.sample(range(1, schools + 1), min(calls, schools))
    ]
    return {
        "reminder_sweep": {
            "made": timings[0][0],
            "first_s": round(timings[0][1], 2),
            "again_made": timings[1][0],
            "again_s": round(timings[1][1], 2),
        },
        "staff_visit_with_reminders": summary(visits),
    }


def run(postgres_dsn: str, pupils: int = 100_000, calls: int = 200) -> dict[str, Any]:
    import psycopg2

    os.environ.setdefault("SEN_IDENTITY_KEY", "bench-identity-key")
    results: dict[str, Any] = {}
    folder = Path(tempfile.mkdtemp(prefix="sen-bench-store-"))
    results["sqlite"] = measure(f"sqlite:///{folder / 'store.db'}", pupils, calls)
    params = dict(item.split("=", 1) for item in postgres_dsn.split())
    name = f"sen_bench_{uuid.uuid4().hex[:16]}"
    admin = psycopg2.connect(postgres_dsn)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        user, host, port = params.get("user", "postgres"), params.get("host", "127.0.0.1"), params.get("port", "5432")
        url = f"postgresql://{user}@{host}:{port}/{name}"
        results["postgresql"] = measure(url, pupils, calls)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()
    return results
