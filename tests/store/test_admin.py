"""The admin command: schools, staff, pupils, codes, the demo school and the audit trail."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.ops import admin
from bot.store import access, accounts
from bot.store.db import make_engine, sessions
from bot.store.models import AuditEvent, Pupil
from tests.support.servers import BIN, ROOT, base_env

CODE = re.compile(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}")


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'admin.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SEN_IDENTITY_KEY", "admin-test-key")
    yield url
    make_engine(url).dispose()


def test_school_staff_pupil_and_codes(database: str) -> None:
    assert admin.run(["create-school", "Fernhill Primary (fictional)", "--council", "kent"]).startswith(
        "Created Fernhill Primary (fictional)"
    )
    added = admin.run(
        ["add-staff", "--school", "Fernhill Primary (fictional)", "--name", "Ms Test Senco", "--role", "senco"]
    )
    staff_code = CODE.search(added).group()
    pupil = admin.run(
        [
            "add-pupil",
            "--school",
            "Fernhill Primary (fictional)",
            "--first",
            "Tilly",
            "--last",
            "Example",
            "--born",
            "14 March 2017",
            "--year",
            "Year 4",
        ]
    )
    pupil_id = int(re.search(r"id (\d+)", pupil).group(1))
    issued = admin.run(["parent-code", str(pupil_id), "--parent-name", "Pat Example"])
    parent_code = CODE.search(issued).group()
    with sessions(database).begin() as session:
        assert session.get(Pupil, pupil_id).date_of_birth.isoformat() == "2017-03-14"
        staff = accounts.redeem_code(session, "rest", "staff-device", staff_code).linked
        parent = accounts.redeem_code(session, "rest", "parent-device", parent_code).linked
    assert staff.kind == "staff" and parent == access.Person("parent", parent.id, pupil_ids=(pupil_id,))
    second = admin.run(["parent-code", str(pupil_id), "--parent-id", str(parent.id)])
    assert "Pat Example" in second and CODE.search(second).group() != parent_code
    trail = admin.run(["audit", "--limit", "20"])
    for action in ("create_school", "add_staff", "add_pupil", "issue_code", "link"):
        assert action in trail
    assert admin.run(["audit", "--pupil-id", str(pupil_id)]).count(f"pupil {pupil_id}") >= 3


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["add-staff", "--school", "Nowhere School", "--name", "X"], "There is no school called 'Nowhere School'"),
        (["parent-code", "999", "--parent-name", "Y"], "There is no pupil with id 999."),
        (["staff-code", "999"], "There is no active member of staff with id 999."),
        (["demo-codes"], "There is no demo school yet"),
    ],
)
def test_mistakes_are_explained(database: str, argv: list[str], message: str) -> None:
    with pytest.raises(admin.AdminError, match=re.escape(message)):
        admin.run(argv)


def test_bad_dates_are_explained(database: str) -> None:
    admin.run(["create-school", "Dateline Primary (fictional)"])
    base = ["add-pupil", "--school", "Dateline Primary (fictional)", "--first", "A", "--last", "B", "--year", "Year 1"]
    with pytest.raises(admin.AdminError, match="couldn't read 'the day after never' as a date"):
        admin.run([*base, "--born", "the day after never"])
    with pytest.raises(admin.AdminError, match="in the future"):
        admin.run([*base, "--born", "2099-01-01"])


def test_seed_demo_once_and_codes_each_time(database: str) -> None:
    first = admin.run(["seed-demo"])
    second = admin.run(["seed-demo"])
    assert "Brambleway Primary School" in first
    assert len(set(CODE.findall(first + second))) == 4
    with sessions(database)() as session:
        assert len(session.execute(select(Pupil)).scalars().all()) == 9
        seeded = session.execute(select(AuditEvent).where(AuditEvent.action == "seed_demo")).scalars().all()
    assert len(seeded) == 1


def test_the_command_line_entry_point(tmp_path: Path) -> None:
    env = base_env(DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}", SEN_STATE_DIR=str(tmp_path))
    ok = subprocess.run(
        [str(BIN / "python"), "-m", "bot.ops.admin", "seed-demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0 and "Staff code for the SENCO" in ok.stdout
    bad = subprocess.run(
        [str(BIN / "python"), "-m", "bot.ops.admin", "staff-code", "4242"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1 and bad.stderr.strip() == "There is no active member of staff with id 4242."


def test_access_ends_by_the_admin_command(database: str) -> None:
    banner = admin.run(["seed-demo"])
    staff_code, parent_code = list(dict.fromkeys(CODE.findall(banner)))
    with sessions(database).begin() as session:
        senco = accounts.redeem_code(session, "rest", "senco-laptop-0001", staff_code).linked
        parent = accounts.redeem_code(session, "rest", "mum-phone-0001", parent_code).linked
    pupil_id = parent.pupil_ids[0]

    listed = admin.run(["chats", str(pupil_id)])
    assert "parent: Sarah Carter on rest" in listed and "staff: Mrs Priya Ashdown on rest" in listed
    assert "0001" not in listed, "a chat's own id is never shown"
    parent_chat = re.search(r"chat (\d+): parent", listed).group(1)
    assert admin.run(["end-chat", parent_chat]) == f"Chat {parent_chat} is no longer linked."
    assert admin.run(["end-parent-access", str(parent.id), str(pupil_id)]).startswith(
        f"Parent id {parent.id} can no longer see pupil id {pupil_id}"
    )
    assert admin.run(["revoke-codes", "--staff-id", str(senco.id)]) == "0 unused code(s) ended."
    assert admin.run(["deactivate-staff", str(senco.id)]).endswith("1 chat(s) unlinked, 0 code(s) ended.")
    assert admin.run(["chats", str(pupil_id)]) == f"No chats can see pupil id {pupil_id}."
    with sessions(database)() as session:
        assert accounts.who_is(session, "rest", "senco-laptop-0001") is None
        actions = session.execute(select(AuditEvent.action).where(AuditEvent.actor_kind == "admin")).scalars().all()
    for action in ("list_chats", "end_chat", "end_parent_access", "revoke_codes", "deactivate_staff"):
        assert action in actions
    with pytest.raises(admin.AdminError, match="no member of staff with id 999"):
        admin.run(["deactivate-staff", "999"])
