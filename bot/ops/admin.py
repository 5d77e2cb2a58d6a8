"""The admin command: schools, staff, pupils, codes, demo data, the audit trail, council files, subject access, erasure.

Usage: python -m bot.ops.admin COMMAND [options]   (``--help`` on any command)

Every change is written to the audit trail as done by "admin". The database
is the one the assistant uses (``DATABASE_URL``, or SQLite under var/);
``council-check`` alone needs none.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

import knowledge
from bot import settings
from bot.core import dates
from bot.core.vocabulary import StaffRole
from bot.documents.subject_access import pupil_export_pdf
from bot.store import accounts, demo, document_links, migrate, subject_access
from bot.store.access import ADMIN, Person, Viewer, audit
from bot.store.accounts import issue_parent_code, issue_staff_code
from bot.store.db import sessions
from bot.store.models import AuditEvent, Parent, Pupil, School, Staff


class AdminError(Exception):
    """A problem with what was asked, explained for the person at the keyboard."""


def _school(session: Session, name: str) -> School:
    school: School | None = session.execute(select(School).where(School.name == name)).scalar_one_or_none()
    if school is None:
        known = session.execute(select(School.name).order_by(School.name)).scalars().all()
        raise AdminError(f"There is no school called {name!r}. Known schools: {', '.join(known) or 'none yet'}.")
    return school


def _date(text: str) -> dt.date:
    import dateparser

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    parsed: dt.datetime | None = dateparser.parse(
        text, languages=["en"], settings={"DATE_ORDER": "DMY", "PREFER_DAY_OF_MONTH": "first"}
    )
    if parsed is None:
        raise AdminError(f"I couldn't read {text!r} as a date. Try 2017-03-14 or '14 March 2017'.")
    return parsed.date()


def create_school(session: Session, name: str, council: str) -> School:
    if session.execute(select(School).where(School.name == name)).scalar_one_or_none():
        raise AdminError(f"A school called {name!r} already exists.")
    school = School(name=name, council=council)
    session.add(school)
    session.flush()
    audit(session, channel="admin", actor=ADMIN, action="create_school", allowed=True, detail=f"school {school.id}")
    return school


def add_staff(session: Session, school_name: str, name: str, role: str) -> tuple[Staff, str]:
    school = _school(session, school_name)
    staff = Staff(school_id=school.id, name=name, role=StaffRole(role))
    session.add(staff)
    session.flush()
    code = issue_staff_code(session, staff.id)
    audit(session, channel="admin", actor=ADMIN, action="add_staff", allowed=True, detail=f"staff {staff.id}")
    return staff, code


def staff_code(session: Session, staff_id: int) -> str:
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.active:
        raise AdminError(f"There is no active member of staff with id {staff_id}.")
    code = issue_staff_code(session, staff_id)
    audit(session, channel="admin", actor=ADMIN, action="issue_code", allowed=True, detail=f"staff {staff_id}")
    return code


def add_pupil(
    session: Session,
    school_name: str,
    first: str,
    last: str,
    born: dt.date,
    year_group: str,
    form: str | None = None,
    teacher_id: int | None = None,
) -> Pupil:
    school = _school(session, school_name)
    if born > dates.today():
        raise AdminError("The date of birth is in the future.")
    if teacher_id is not None:
        teacher = session.get(Staff, teacher_id)
        if teacher is None or teacher.school_id != school.id:
            raise AdminError(f"Staff id {teacher_id} is not at {school.name}.")
    pupil = Pupil(
        school_id=school.id,
        first_name=first.strip(),
        last_name=last.strip(),
        date_of_birth=born,
        year_group=year_group,
        form=form,
        class_teacher_id=teacher_id,
    )
    session.add(pupil)
    session.flush()
    audit(session, channel="admin", actor=ADMIN, action="add_pupil", allowed=True, pupil_id=pupil.id)
    return pupil


def parent_code(
    session: Session, pupil_id: int, parent_name: str | None = None, parent_id: int | None = None
) -> tuple[Parent, str]:
    """An access code for one pupil, for a new parent (by name) or one already known (by id)."""
    if session.get(Pupil, pupil_id) is None:
        raise AdminError(f"There is no pupil with id {pupil_id}.")
    if parent_id is not None:
        parent = session.get(Parent, parent_id)
        if parent is None:
            raise AdminError(f"There is no parent with id {parent_id}.")
    elif parent_name and parent_name.strip():
        parent = Parent(name=parent_name.strip())
        session.add(parent)
        session.flush()
    else:
        raise AdminError("Give the parent's name (--parent-name) or, for a parent already known, --parent-id.")
    code = issue_parent_code(session, parent.id, pupil_id)
    audit(
        session,
        channel="admin",
        actor=ADMIN,
        action="issue_code",
        allowed=True,
        pupil_id=pupil_id,
        detail=f"parent {parent.id}",
    )
    return parent, code


def evidence_link(session: Session, pupil_id: int, staff_id: int) -> str:
    """A private link to the pupil's evidence summary for this member of staff, made (and audited) as them."""
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.active:
        raise AdminError(f"There is no active member of staff with id {staff_id}.")
    pupil = session.get(Pupil, pupil_id)
    if pupil is None:
        raise AdminError(f"There is no pupil with id {pupil_id}.")
    if pupil.school_id != staff.school_id:
        raise AdminError(f"Pupil {pupil_id} is not at the school of staff id {staff_id}.")
    viewer = Viewer(Person("staff", staff.id, staff.school_id), "admin")
    base = f"{settings.public_url()}/documents/{document_links.issue_evidence_link(session, viewer, pupil_id)}"
    return (
        f"{base}.pdf (or as a web page: {base}.html). Private to staff id {staff_id}; "
        f"works for {document_links.LINK_LIFETIME.days} days."
    )


def audit_events(session: Session, limit: int, pupil_id: int | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if pupil_id is not None:
        query = query.where(AuditEvent.pupil_id == pupil_id)
    return list(reversed(session.execute(query).scalars().all()))


def format_event(event: AuditEvent) -> str:
    actor = event.actor_kind + (f" {event.actor_id}" if event.actor_id is not None else "")
    pupil = f"pupil {event.pupil_id}" if event.pupil_id is not None else "-"
    outcome = "allowed" if event.allowed else "REFUSED"
    detail = f"  ({event.detail})" if event.detail else ""
    return (
        f"{event.at:%Y-%m-%d %H:%M:%S}  {event.channel:<9} {actor:<12} {event.action:<20} {pupil:<11} {outcome}{detail}"
    )


def seed_demo(session: Session) -> tuple[demo.DemoSchool, demo.DemoCodes]:
    school = demo.seed(session, council=settings.council_id())
    return school, demo.codes(session, school)


def demo_banner(codes: demo.DemoCodes) -> str:
    return (
        f"Demo school: {demo.DEMO_SCHOOL} (fictional).\n"
        f"  Staff code for the SENCO, {demo.DEMO_SENCO}: {codes.staff_code}\n"
        f'    type "my code is {codes.staff_code}" in the chat, then "which reviews are overdue?"\n'
        f"  Parent code for {demo.DEMO_PARENT}, Amy Carter's mum: {codes.parent_code}\n"
        f'    type "my code is {codes.parent_code}" in the chat, then "what\'s in my child\'s plan?"\n'
        "  Codes work once and last 14 days; `python -m bot.ops.admin demo-codes` prints new ones."
    )


def council_check(files: Sequence[str]) -> str:
    """Each council file checked against the schema and the loader's rules: "FILE: ok", or a line per problem."""
    lines: list[str] = []
    invalid = False
    for name in files:
        problems = knowledge.council_problems(Path(name), shown=name)
        invalid = invalid or bool(problems)
        lines.extend(problems or [f"{name}: ok"])
    if invalid:
        raise AdminError("\n".join(lines))
    return "\n".join(lines)


def _deactivate_staff(session: Session, args: argparse.Namespace) -> str:
    chats, codes = accounts.deactivate_staff(session, args.staff_id)
    return f"Staff id {args.staff_id} can no longer see any records: {chats} chat(s) unlinked, {codes} code(s) ended."


def _end_parent_access(session: Session, args: argparse.Namespace) -> str:
    codes = accounts.end_parent_access(session, args.parent_id, args.pupil_id)
    return f"Parent id {args.parent_id} can no longer see pupil id {args.pupil_id}; {codes} unused code(s) ended."


def _revoke_codes(session: Session, args: argparse.Namespace) -> str:
    count = accounts.revoke_codes(session, staff_id=args.staff_id, parent_id=args.parent_id, pupil_id=args.pupil_id)
    return f"{count} unused code(s) ended."


def _chats(session: Session, args: argparse.Namespace) -> str:
    found = accounts.pupil_chats(session, args.pupil_id)
    lines = [
        f"chat {chat.id}: {chat.person} on {chat.channel}, linked {chat.linked_at:%Y-%m-%d}, "
        f"last used {chat.last_used_at:%Y-%m-%d}"
        for chat in found
    ]
    return "\n".join(lines) or f"No chats can see pupil id {args.pupil_id}."


def _end_chat(session: Session, args: argparse.Namespace) -> str:
    accounts.end_chat(session, args.chat_id)
    return f"Chat {args.chat_id} is no longer linked."


# Ending access (bot/store/accounts.py): each audited as done by the admin.
ENDING_ACCESS: dict[str, Callable[[Session, argparse.Namespace], str]] = {
    "deactivate-staff": _deactivate_staff,
    "end-parent-access": _end_parent_access,
    "revoke-codes": _revoke_codes,
    "chats": _chats,
    "end-chat": _end_chat,
}


def _private_file(folder: Path, name: str, content: bytes) -> Path:
    """Write a file only its owner may read: it holds a child's records."""
    path = folder / name
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        os.fchmod(file.fileno(), 0o600)  # a file that was already there keeps its mode through O_CREAT
        file.write(content)
    return path


def _export_folder(name: str) -> Path:
    folder = Path(name)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _as_json(export: dict[str, object]) -> bytes:
    return (json.dumps(export, indent=2, ensure_ascii=False) + "\n").encode()


def _export_pupil(session: Session, args: argparse.Namespace) -> str:
    export = subject_access.pupil_export(session, args.pupil_id)
    folder = _export_folder(args.out)
    written = [
        _private_file(folder, f"pupil-{args.pupil_id}.json", _as_json(export)),
        _private_file(folder, f"pupil-{args.pupil_id}.pdf", pupil_export_pdf(export)),
    ]
    return "\n".join(str(path) for path in written)


def _export_parent(session: Session, args: argparse.Namespace) -> str:
    export = subject_access.parent_export(session, args.parent_id)
    return str(_private_file(_export_folder(args.out), f"parent-{args.parent_id}.json", _as_json(export)))


def _count_lines(counts: dict[str, int]) -> str:
    return "\n".join(f"  {table}: {count}" for table, count in counts.items())


def _erase_pupil(session: Session, args: argparse.Namespace) -> str:
    if not args.confirm:
        counts = subject_access.erasure_counts(session, args.pupil_id)
        raise AdminError(
            f"Nothing was erased. Erasing pupil id {args.pupil_id} would delete these rows:\n{_count_lines(counts)}\n"
            f"Audit events about the pupil would be kept, saying only {subject_access.erased_marker(args.pupil_id)!r}. "
            "Run again with --confirm to erase."
        )
    counts = subject_access.erase_pupil(session, args.pupil_id)
    return (
        f"Pupil id {args.pupil_id} is erased. Rows deleted:\n{_count_lines(counts)}\n"
        f"Audit events about the pupil are kept, saying only {subject_access.erased_marker(args.pupil_id)!r}."
    )


# Subject access and erasure (bot/store/subject_access.py): each audited as done by the admin.
SUBJECT_ACCESS: dict[str, Callable[[Session, argparse.Namespace], str]] = {
    "export-pupil": _export_pupil,
    "export-parent": _export_parent,
    "erase-pupil": _erase_pupil,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot.ops.admin", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    school = commands.add_parser("create-school", help="create a school")
    school.add_argument("name")
    school.add_argument("--council", default=settings.council_id(), help="council id (default: SEN_COUNCIL)")

    staff = commands.add_parser("add-staff", help="add a member of staff and print their link code")
    staff.add_argument("--school", required=True)
    staff.add_argument("--name", required=True)
    staff.add_argument("--role", choices=[role.value for role in StaffRole], default="teacher")

    code = commands.add_parser("staff-code", help="print a new link code for a member of staff")
    code.add_argument("staff_id", type=int)

    pupil = commands.add_parser("add-pupil", help="add a pupil")
    pupil.add_argument("--school", required=True)
    pupil.add_argument("--first", required=True)
    pupil.add_argument("--last", required=True)
    pupil.add_argument("--born", required=True, help="date of birth, e.g. 2017-03-14 or '14 March 2017'")
    pupil.add_argument("--year", required=True, help="year group, e.g. 'Year 3'")
    pupil.add_argument("--form")
    pupil.add_argument("--teacher-id", type=int)

    parent = commands.add_parser("parent-code", help="issue a parent's access code for one pupil")
    parent.add_argument("pupil_id", type=int)
    who = parent.add_mutually_exclusive_group(required=True)
    who.add_argument("--parent-name")
    who.add_argument("--parent-id", type=int)

    commands.add_parser("seed-demo", help="create the fictional demo school (once) and print codes to try")
    commands.add_parser("demo-codes", help="print new codes for the demo SENCO and parent")

    evidence = commands.add_parser("evidence-link", help="print a private link to a pupil's evidence summary")
    evidence.add_argument("--pupil-id", type=int, required=True)
    evidence.add_argument("--staff-id", type=int, required=True, help="the member of staff the link is for")
    digest = commands.add_parser("digest", help="a school's reviews due, overdue and flagged; sends reminders to staff")
    digest.add_argument("--school", required=True)
    digest.add_argument("--days", type=int, default=14, help="how many days ahead (default 14)")

    trail = commands.add_parser("audit", help="list audit events, newest last")
    trail.add_argument("--pupil-id", type=int)
    trail.add_argument("--limit", type=int, default=50)

    leaver = commands.add_parser("deactivate-staff", help="end a member of staff's access: account, chats, codes")
    leaver.add_argument("staff_id", type=int)
    ended = commands.add_parser("end-parent-access", help="end a parent's access to one pupil")
    ended.add_argument("parent_id", type=int)
    ended.add_argument("pupil_id", type=int)
    revoke = commands.add_parser("revoke-codes", help="end the unused codes of a member of staff, a parent or a pupil")
    whose = revoke.add_mutually_exclusive_group(required=True)
    whose.add_argument("--staff-id", type=int)
    whose.add_argument("--parent-id", type=int)
    whose.add_argument("--pupil-id", type=int)
    chats = commands.add_parser("chats", help="list the chats that can see a pupil's records")
    chats.add_argument("pupil_id", type=int)
    end_chat = commands.add_parser("end-chat", help="unlink one chat, by the id `chats` shows")
    end_chat.add_argument("chat_id", type=int)

    export = commands.add_parser("export-pupil", help="write everything held about a pupil as JSON and PDF")
    export.add_argument("pupil_id", type=int)
    export.add_argument("--out", required=True, metavar="DIR", help="folder for pupil-ID.json and .pdf")
    export_parent = commands.add_parser("export-parent", help="write what is held about a parent as JSON")
    export_parent.add_argument("parent_id", type=int)
    export_parent.add_argument("--out", required=True, metavar="DIR", help="folder for parent-ID.json")
    erase = commands.add_parser("erase-pupil", help="delete everything held about a pupil (the audit trail is kept)")
    erase.add_argument("pupil_id", type=int)
    erase.add_argument("--confirm", action="store_true", help="erase; without it, only say what would be deleted")

    check = commands.add_parser("council-check", help="check council files (knowledge/councils/*.yml); no database")
    check.add_argument("files", nargs="+", metavar="FILE")
    return parser


def run(argv: Sequence[str]) -> str:
    """Carry out one admin command and return what to print."""
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except (LookupError, ValueError) as problem:
        raise AdminError(str(problem)) from None


def _run(args: argparse.Namespace) -> str:
    if args.command == "council-check":
        return council_check(args.files)
    migrate.upgrade()
    with sessions().begin() as session:
        if args.command == "create-school":
            made = create_school(session, args.name, args.council)
            return f"Created {made.name} (id {made.id}, council {made.council})."
        if args.command == "add-staff":
            member, code = add_staff(session, args.school, args.name, args.role)
            added = f"Added {member.name} ({member.role.value}, id {member.id})."
            return f"{added} Link code: {code} (works once, for 14 days)."
        if args.command == "staff-code":
            return f"Link code: {staff_code(session, args.staff_id)} (works once, for 14 days)."
        if args.command == "add-pupil":
            added = add_pupil(
                session, args.school, args.first, args.last, _date(args.born), args.year, args.form, args.teacher_id
            )
            return f"Added pupil id {added.id}."
        if args.command == "parent-code":
            person, code = parent_code(session, args.pupil_id, args.parent_name, args.parent_id)
            return f"Access code for {person.name} (parent id {person.id}): {code} (works once, for 14 days)."
        if args.command == "seed-demo":
            _, codes = seed_demo(session)
            return demo_banner(codes)
        if args.command == "demo-codes":
            found = demo.find_demo(session)
            if found is None:
                raise AdminError("There is no demo school yet: run `python -m bot.ops.admin seed-demo`.")
            return demo_banner(demo.codes(session, found))
        if args.command == "evidence-link":
            return evidence_link(session, args.pupil_id, args.staff_id)
        if args.command == "digest":
            from bot.ops import reminders

            return reminders.digest(session, _school(session, args.school), max(1, args.days))
        if args.command in ENDING_ACCESS:
            return ENDING_ACCESS[args.command](session, args)
        if args.command in SUBJECT_ACCESS:
            return SUBJECT_ACCESS[args.command](session, args)
        if args.command == "audit":
            events = audit_events(session, args.limit, args.pupil_id)
            return "\n".join(format_event(event) for event in events) or "No audit events yet."
    raise AdminError(f"Unknown command {args.command!r}.")


def main(argv: Sequence[str]) -> int:
    try:
        print(run(argv))
    except AdminError as problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
