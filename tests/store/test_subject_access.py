"""Subject access and erasure: what is held about a pupil or parent, as JSON and PDF, and erasing a pupil."""

from __future__ import annotations

import io
import json
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.documents.subject_access import pupil_export_html, pupil_export_pdf
from bot.ops import admin
from bot.store import access, accounts, demo, document_links, drafts, records, reminders, reviews, subject_access
from bot.store.models import AuditEvent, Base, ChatIdentity, DocumentLink, LinkCode, Pupil, SupportPlan

IDENTITY_KEY = "test-key"  # what the ``factory`` fixture sets SEN_IDENTITY_KEY to
TELEGRAM_CHAT = "tg-senco-chat-7731"
PARENT_CHAT = "mum-phone-4408"


@dataclass(frozen=True)
class Seeded:
    school: demo.DemoSchool
    oscar_id: int
    unused_code: str
    tokens: tuple[str, ...]


def _seed(factory: sessionmaker) -> Seeded:
    """The demo school, with everything a pupil's record can hold filled in for Amy Carter."""
    with factory.begin() as session:
        school = demo.seed(session)
        codes = demo.codes(session, school)
        oscar_id = session.execute(select(Pupil.id).where(Pupil.first_name == "Oscar")).scalar_one()
    with factory.begin() as session:
        parent = accounts.redeem_code(session, "rest", PARENT_CHAT, codes.parent_code).linked
        senco = accounts.redeem_code(session, "telegram", TELEGRAM_CHAT, codes.staff_code).linked
        assert parent is not None and senco is not None
        unused = accounts.issue_parent_code(session, school.parent_id, school.parent_pupil_id)
    amy = school.parent_pupil_id
    staff = access.Viewer(senco, "rest")
    with factory.begin() as session:
        plan = records.current_plan(session, amy)
        tokens = (
            document_links.issue_link(session, access.Viewer(parent, "rest"), plan.id),
            document_links.issue_evidence_link(session, staff, amy),
        )
        draft = drafts.open_draft(session, staff, amy)
        drafts.save_answer(session, staff, draft.plan_id, draft.revision, {"strengths": "Loves drawing and horses."})
        review = reviews.open_review(session, staff, amy)
        reviews.save_answer(session, staff, review.review_id, review.revision, {"attendees": "Mrs Ashdown, mum"})
        reviews.add_note(session, staff, review.review_id, "Mum says sleep has improved.")
        reminders.sweep(session, horizon_days=30)
    assert all(tokens)
    return Seeded(school, oscar_id, unused, tuple(token for token in tokens if token))


def _secrets(factory: sessionmaker, seeded: Seeded) -> list[str]:
    """What the store keeps so that access works, and must never give out."""
    with factory() as session:
        stored = [
            *session.execute(select(LinkCode.code_digest)).scalars(),
            *session.execute(select(DocumentLink.token_digest)).scalars(),
            *session.execute(select(ChatIdentity.identity_digest)).scalars(),
            *session.execute(select(ChatIdentity.push_address).where(ChatIdentity.push_address.isnot(None))).scalars(),
        ]
    assert any(value.startswith("gAAAA") for value in stored), "a staff Telegram chat has an (encrypted) push address"
    return [*stored, IDENTITY_KEY, TELEGRAM_CHAT, PARENT_CHAT, seeded.unused_code, *seeded.tokens]


def _export(factory: sessionmaker, pupil_id: int) -> dict[str, Any]:
    with factory.begin() as session:
        return subject_access.pupil_export(session, pupil_id)


def test_the_pupil_export_holds_the_record_and_no_secret(factory: sessionmaker) -> None:
    seeded = _seed(factory)
    amy = seeded.school.parent_pupil_id
    export = _export(factory, amy)
    text = json.dumps(export)
    assert export["pupil_id"] == amy and export["pupil"]["first_name"] == "Amy"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+", export["generated_at"])
    assert export["pupil"]["date_of_birth"] == "2018-03-09"

    agreed, draft = export["plans"]
    assert (agreed["status"], draft["status"]) == ("agreed", "draft"), "drafts are held too"
    assert [t["provision_what"] for t in agreed["targets"]][:1] == ["Small-group phonics"]
    assert agreed["targets"][0]["outcome"].startswith("By the end of term Amy will read 40")
    assert [(e["field"], e["value"]) for e in draft["edits"]] == [("strengths", "Loves drawing and horses.")]

    held, captured = export["reviews"]
    assert held["attendees"] == "Mrs Ashdown, Mr Ellery, Amy's mum"
    assert captured["status"] == "in_progress" and len(captured["targets"]) == 3
    assert [n["text"] for n in captured["notes"]] == ["Mum says sleep has improved."]
    assert [e["field"] for e in captured["edits"]] == ["attendees"]
    assert export["reminders"] and {r["review_id"] for r in export["reminders"]} == {captured["id"]}

    assert sorted(link["kind"] for link in export["document_links"]) == ["evidence", "plan"]
    assert export["parents"] == [
        {"parent_id": seeded.school.parent_id, "name": "Sarah Carter", "relationship": "mother"}
    ]
    assert sorted((c["channel"], c["held_by"]["kind"]) for c in export["chats"]) == [
        ("rest", "parent"),
        ("telegram", "staff"),
    ]
    assert all(re.fullmatch(r"[0-9a-f]{16}", chat["digest"]) for chat in export["chats"])
    assert sorted(code["used_at"] is None for code in export["codes"]) == [False, True], "one used, one not"

    actions = {event["action"] for event in export["audit_events"]}
    assert {"issue_code", "link", "open_plan", "edit_plan", "open_review", "note_review"} <= actions
    assert {event["pupil_id"] for event in export["audit_events"]} == {amy}
    assert "Mrs Priya Ashdown" in {staff["name"] for staff in export["staff_named"]}

    for secret in _secrets(factory, seeded):
        assert secret not in text
    for column in ("code_digest", "token_digest", "identity_digest", "push_address"):
        assert column not in text

    with factory() as session:
        logged = session.execute(select(AuditEvent).where(AuditEvent.action == "export_pupil")).scalars().all()
    assert [(e.actor_kind, e.channel, e.pupil_id) for e in logged] == [("admin", "admin", amy)]


def test_a_review_with_targets_results_and_notes_is_exported(factory: sessionmaker) -> None:
    seeded = _seed(factory)
    export = _export(factory, seeded.oscar_id)
    assert [plan["version"] for plan in export["plans"]] == [1, 2, 3]
    held = [review for review in export["reviews"] if review["status"] == "held"]
    assert held[-1]["decision"] == "consider_ehc_assessment"
    assert [t["achieved"] for t in held[-1]["targets"]] == ["not_achieved", "progress", "achieved"]
    assert "Parents and school agree to ask the council for an EHC needs assessment." in [
        note["text"] for note in held[-1]["notes"]
    ]
    assert export["parents"][0]["name"] == demo.EVIDENCE_PARENT


def test_the_parent_export_holds_their_links_and_what_they_did(factory: sessionmaker) -> None:
    seeded = _seed(factory)
    parent_id = seeded.school.parent_id
    with factory.begin() as session:
        export = subject_access.parent_export(session, parent_id)
        with pytest.raises(LookupError):
            subject_access.parent_export(session, 9999)
    text = json.dumps(export)
    assert export["parent_id"] == parent_id and export["parent"]["name"] == "Sarah Carter"
    assert export["children"] == [
        {
            "pupil_id": seeded.school.parent_pupil_id,
            "first_name": "Amy",
            "last_name": "Carter",
            "relationship": "mother",
        }
    ]
    assert [chat["channel"] for chat in export["chats"]] == ["rest"]
    assert len(export["codes"]) == 2 and [link["kind"] for link in export["document_links"]] == ["plan"]
    assert {event["action"] for event in export["audit_events"]} >= {"link", "link_plan_document"}
    assert all(event["actor_kind"] == "parent" for event in export["audit_events"])
    for secret in _secrets(factory, seeded):
        assert secret not in text
    with factory() as session:
        logged = session.execute(select(AuditEvent.detail).where(AuditEvent.action == "export_parent")).scalars()
        assert list(logged) == [f"parent {parent_id}"]


def test_the_pdf_reads_back_with_the_name_and_every_part(factory: sessionmaker) -> None:
    seeded = _seed(factory)
    export = _export(factory, seeded.school.parent_pupil_id)
    reader = PdfReader(io.BytesIO(pupil_export_pdf(export)))
    # Table cells wrap, so compare without white space.
    text = "".join("".join(page.extract_text().split()) for page in reader.pages)
    for expected in (
        "Subject access record: Amy Carter",
        "Pupil",
        "Parents and carers",
        "Sarah Carter",
        "Support plans",
        "Plan version 1 (agreed)",
        "Plan version 2 (draft)",
        "Targets, provision and outcomes",
        "Small-group phonics",
        "Reviews",
        "Mum says sleep has improved.",
        "Reminders",
        "Document links",
        "Linked chats",
        "Access codes",
        "Audit trail",
        "Staff named in this record",
    ):
        assert "".join(expected.split()) in text, expected


def test_markup_in_a_field_is_shown_as_text(factory: sessionmaker) -> None:
    seeded = _seed(factory)
    amy = seeded.school.parent_pupil_id
    nasty = "<script>alert('x')</script> & <b>bold</b>"
    with factory.begin() as session:
        session.get(Pupil, amy).first_name = nasty
        plan = session.execute(select(SupportPlan).where(SupportPlan.pupil_id == amy)).scalars().first()
        plan.strengths = f"Drawing\n{nasty}"
    html = pupil_export_html(_export(factory, amy))
    assert "<script>" not in html and "<b>bold</b>" not in html
    escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"
    assert f"<h1>Subject access record: {escaped} Carter</h1>" in html
    assert f"<td>Drawing<br>{escaped}</td>" in html, "line breaks kept, the text escaped"
    assert "&amp;lt;" not in html, "escaped once, not twice"


# Erasure ----------------------------------------------------------------------------------------

Rows = dict[str, set[tuple[Any, ...]]]


def _snapshot(session: Session) -> Rows:
    return {table.name: {tuple(row) for row in session.execute(select(table))} for table in Base.metadata.sorted_tables}


def _columns(table: str) -> list[str]:
    return [column.name for column in Base.metadata.tables[table].columns]


def _referring(rows: Rows, pupil_id: int) -> tuple[Rows, dict[str, set[int]]]:
    """The rows that refer to the pupil by a foreign key, directly or through their plans, reviews and targets.

    Found from the tables' foreign keys, so a table added later is checked too. Also the ids reached.
    """
    referenced = {key.column.table.name for table in Base.metadata.sorted_tables for key in table.foreign_keys}
    ids: dict[str, set[int]] = {"pupils": {pupil_id}}
    found: Rows = {name: set() for name in rows}
    found["pupils"] = {row for row in rows["pupils"] if row[_columns("pupils").index("id")] == pupil_id}
    grown = True
    while grown:
        grown = False
        for table in Base.metadata.sorted_tables:
            names = _columns(table.name)
            for row in rows[table.name] - found[table.name]:
                values = dict(zip(names, row, strict=True))
                if any(values[key.parent.name] in ids.get(key.column.table.name, ()) for key in table.foreign_keys):
                    found[table.name].add(row)
                    if table.name in referenced:
                        ids.setdefault(table.name, set()).add(values["id"])
                    grown = True
    return found, ids


def _still_referring(rows: Rows, ids: dict[str, set[int]]) -> dict[str, int]:
    counts = {}
    for table in Base.metadata.sorted_tables:
        names = _columns(table.name)
        hits = [
            row
            for row in rows[table.name]
            if any(
                dict(zip(names, row, strict=True))[key.parent.name] in ids.get(key.column.table.name, ())
                for key in table.foreign_keys
            )
            or (table.name in ids and dict(zip(names, row, strict=True)).get("id") in ids[table.name])
        ]
        if hits:
            counts[table.name] = len(hits)
    return counts


def test_erasure_covers_every_table_that_refers_to_a_pupils_records(factory: sessionmaker) -> None:
    with factory.begin() as session:
        school = demo.seed(session)
        erased = set(subject_access.erasure_counts(session, school.parent_pupil_id))
    records = {"pupils", "support_plans", "targets", "reviews"}
    referring = {
        table.name
        for table in Base.metadata.sorted_tables
        if any(key.column.table.name in records for key in table.foreign_keys)
    }
    assert referring - {"audit_events"} <= erased, "a table that refers to a pupil's records is left out"
    assert records <= erased


def test_erasure_deletes_the_pupil_and_keeps_everyone_else(factory: sessionmaker) -> None:
    seeded = _seed(factory)
    amy, sarah = seeded.school.parent_pupil_id, seeded.school.parent_id
    with factory() as session:
        before = _snapshot(session)
    found, ids = _referring(before, amy)
    empty = [table for table, rows in found.items() if not rows and table not in ("chat_identities", "code_attempts")]
    assert set(empty) == {"schools", "staff", "parents"}, "the demo fills every table that can name a pupil"
    sarahs_chats = {
        row for row in before["chat_identities"] if row[_columns("chat_identities").index("parent_id")] == sarah
    }
    assert sarahs_chats, "the parent has a linked chat to lose"

    with factory.begin() as session:
        counts = subject_access.erase_pupil(session, amy)
        with pytest.raises(LookupError):
            subject_access.erase_pupil(session, amy)
    with factory() as session:
        after = _snapshot(session)

    assert _still_referring(after, ids) == {}, "no row refers to the pupil, their plans, reviews or targets"
    for table in before:
        if table in ("audit_events", "chat_identities"):
            continue
        assert after[table] == before[table] - found[table], f"{table}: only the pupil's rows are deleted"
    assert after["chat_identities"] == before["chat_identities"] - sarahs_chats, "a parent left with no child"
    assert sarah in {row[0] for row in after["parents"]}, "keeps their parent row"
    for table, count in counts.items():
        assert count == len(before[table]) - len(after[table]), table
    assert counts["pupils"] == 1 and counts["support_plans"] == 2

    names = _columns("audit_events")
    old = {row[0]: dict(zip(names, row, strict=True)) for row in before["audit_events"]}
    new = {row[0]: dict(zip(names, row, strict=True)) for row in after["audit_events"]}
    about_amy = {row[0] for row in found["audit_events"]}
    assert about_amy and set(old) < set(new), "every audit event is kept"
    for number, event in old.items():
        if number in about_amy:
            assert (new[number]["pupil_id"], new[number]["detail"]) == (None, subject_access.erased_marker(amy))
            assert {key: new[number][key] for key in ("at", "actor_kind", "actor_id", "action")} == {
                key: event[key] for key in ("at", "actor_kind", "actor_id", "action")
            }
        else:
            assert new[number] == event
    (added,) = (new[number] for number in set(new) - set(old))
    assert (added["action"], added["actor_kind"], added["channel"]) == ("erase_pupil", "admin", "admin")
    assert added["detail"].startswith(f"{subject_access.erased_marker(amy)}: reminders ")
    assert "support_plans 2" in added["detail"]


# The admin commands ----------------------------------------------------------------------------


@pytest.fixture
def admin_store(factory: sessionmaker, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Seeded:
    """The seeded demo store, as the admin command's database."""
    monkeypatch.setenv("DATABASE_URL", store_url)
    return _seed(factory)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_export_commands_write_files_only_their_owner_can_read(admin_store: Seeded, tmp_path: Path) -> None:
    amy, sarah = admin_store.school.parent_pupil_id, admin_store.school.parent_id
    folder = tmp_path / "requests" / "2026-001"
    folder.mkdir(parents=True)
    (folder / f"pupil-{amy}.json").write_text("an older export")
    (folder / f"pupil-{amy}.json").chmod(0o644)

    printed = admin.run(["export-pupil", str(amy), "--out", str(folder)]).splitlines()
    assert printed == [str(folder / f"pupil-{amy}.json"), str(folder / f"pupil-{amy}.pdf")]
    assert all(_mode(Path(path)) == 0o600 for path in printed), "an existing file is made private too"
    assert json.loads(Path(printed[0]).read_text())["pupil"]["last_name"] == "Carter"
    assert Path(printed[1]).read_bytes().startswith(b"%PDF")

    fresh = tmp_path / "made" / "by" / "the command"
    written = Path(admin.run(["export-parent", str(sarah), "--out", str(fresh)]))
    assert written == fresh / f"parent-{sarah}.json" and _mode(written) == 0o600
    assert json.loads(written.read_text())["parent"]["name"] == "Sarah Carter"

    with pytest.raises(admin.AdminError, match="There is no pupil with id 9999"):
        admin.run(["export-pupil", "9999", "--out", str(folder)])


def test_erase_pupil_asks_for_confirmation_and_changes_nothing_without_it(
    admin_store: Seeded, factory: sessionmaker
) -> None:
    amy = admin_store.school.parent_pupil_id
    with factory() as session:
        before = _snapshot(session)
    with pytest.raises(admin.AdminError) as refused:
        admin.run(["erase-pupil", str(amy)])
    message = str(refused.value)
    assert message.startswith(f"Nothing was erased. Erasing pupil id {amy} would delete")
    assert "  support_plans: 2\n" in message and "  pupils: 1\n" in message and "--confirm" in message
    with factory() as session:
        assert _snapshot(session) == before

    done = admin.run(["erase-pupil", str(amy), "--confirm"])
    assert done.startswith(f"Pupil id {amy} is erased.") and "  pupils: 1\n" in done
    with factory() as session:
        assert session.get(Pupil, amy) is None
        assert session.execute(select(AuditEvent.action).order_by(AuditEvent.id.desc())).scalars().first() == (
            "erase_pupil"
        )
    with pytest.raises(admin.AdminError, match=f"There is no pupil with id {amy}"):
        admin.run(["erase-pupil", str(amy), "--confirm"])
