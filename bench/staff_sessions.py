"""Replay the staff sessions (``tests/data/staff_sessions``) and judge what the plan and review walks stored.

Each session is a chat in which a member of staff records a pupil's SEN Support
Plan or a review meeting. It is replayed from a freshly migrated and seeded demo
store (a temporary SQLite file), in a chat linked to the session's ``staff``
with a staff code issued by the store. After the last turn the pupil's plan (the
one agreed in the session, else the draft) or review (the one recorded as held
in the session, else the one in progress) is read back from the store and
compared with ``expect`` and ``absent``, and the replies with ``messages``.

A field is *right* when what is stored passes its check, *wrong* when something
is stored that fails it, *missing* when nothing is stored; an ``absent`` key
with anything stored is an *absent violation* (counted apart from the expected
fields). Figures are printed as a table and written to
``results/staff_sessions.json``. Nothing here is a test, and the sessions are
never training data.

The turns are sent by a ``Driver``. ``ActionsDriver`` runs the real actions in
this process the way Rasa would call them, with no NLU model: while a walk's
form is active every message goes to the form's validation as ``nlu_fallback``
(as ``tests/support/walk_chat.py`` sends answers), and with no walk open a
message that asks to open one is sent with the walk's start intent. So a
question asked midway ("btw how often should we meet parents?") is taken as an
answer here: only the NLU can tell it apart, which a REST driver (the same
``Driver`` methods, over Rasa's REST channel against real servers) would bring.

    python -m bench.staff_sessions [--session ID] [--verbose]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from bot.core import dates
from bot.core.plan_template import STEPS as PLAN_STEPS
from bot.core.plan_template import Step
from bot.core.review_template import STEPS as REVIEW_STEPS

ROOT = Path(__file__).resolve().parents[1]
SESSIONS_DIR = ROOT / "tests" / "data" / "staff_sessions"
RESULTS = ROOT / "results" / "staff_sessions.json"
IDENTITY_KEY = "staff-sessions-bench-key"

KINDS = ("plan", "review")
CHANNELS = ("actions", "rest")
TOP_LEVEL = frozenset(
    {"id", "kind", "pupil", "staff", "channel", "about", "turns", "expect", "absent", "agreed", "messages"}
)
REQUIRED = ("id", "kind", "pupil", "staff", "turns", "expect")
PROVISION_PARTS = ("who", "what", "when", "how_often")
SESSION_ID = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$")
PLACEHOLDER = re.compile(r"\{date([+-])(\d{1,4})\}")


class SessionError(ValueError):
    """A session file that the harness cannot judge by: what is wrong, and where."""


# Placeholders ----------------------------------------------------------------


def written_date(day: dt.date) -> str:
    """A date as the sessions' staff type it: "14 January 2027"."""
    return f"{day.day} {day:%B} {day.year}"


def placeholder_offset(text: str) -> int | None:
    """The N of a whole ``{date+N}`` / ``{date-N}``, or None if ``text`` is not one."""
    found = PLACEHOLDER.fullmatch(text.strip())
    if not found:
        return None
    return int(found.group(2)) * (1 if found.group(1) == "+" else -1)


def render(text: str, today: dt.date) -> str:
    """A turn with each ``{date+N}`` / ``{date-N}`` written as the date N days from ``today``."""

    def written(found: re.Match[str]) -> str:
        offset = int(found.group(2)) * (1 if found.group(1) == "+" else -1)
        return written_date(today + dt.timedelta(days=offset))

    return PLACEHOLDER.sub(written, text)


# What a session expects -------------------------------------------------------


@dataclass(frozen=True)
class TextCheck:
    """A text answer: every ``contains`` phrase in it and no ``excludes`` phrase, case-insensitively."""

    contains: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChoiceCheck:
    """A choice or yes/no answer: exactly this choice value."""

    value: str


@dataclass(frozen=True)
class DateCheck:
    """A date answer: ``offset`` days from the day of the run."""

    offset: int

    def day(self, today: dt.date) -> dt.date:
        return today + dt.timedelta(days=self.offset)


Check = TextCheck | ChoiceCheck | DateCheck


@dataclass(frozen=True)
class Leaf:
    """One judged value: a field, a target's part, or one part of a target's provision.

    ``name`` is how reports show it ("strengths", "targets.2.provision.who");
    ``group`` and ``position`` (1-based) place a target's part; ``sub`` is a
    provision part (None: the whole provision line).
    """

    name: str
    check: Check
    field: str
    position: int | None = None
    part: str | None = None
    sub: str | None = None


@dataclass(frozen=True)
class Group:
    """A repeated group of a template as ``expect`` names it ("targets"), its step prefix ("target") and parts."""

    key: str
    prefix: str
    parts: Mapping[str, Step]


@dataclass(frozen=True)
class Schema:
    """The step keys a session of one kind may judge, read from the walk's template."""

    kind: str
    fields: Mapping[str, Step]
    groups: Mapping[str, Group]
    steering: frozenset[str]  # steps that only steer the walk: never in ``expect``

    def group_by_prefix(self, prefix: str) -> Group | None:
        return next((group for group in self.groups.values() if group.prefix == prefix), None)

    def known(self) -> list[str]:
        return [*self.fields, *(f"{key}[].{part}" for key, group in self.groups.items() for part in group.parts)]


def _schema(kind: str, steps: Sequence[Step]) -> Schema:
    fields: dict[str, Step] = {}
    parts: dict[str, dict[str, Step]] = {}
    steering: set[str] = set()
    for step in steps:
        if step.group is None:
            if step.stored:
                fields[step.key] = step
            else:
                steering.add(step.key)
            continue
        part = step.key.split(".", 1)[1]
        if part == "more" or not step.stored:
            steering.add(step.key)
        else:
            parts.setdefault(step.group, {})[part] = step
    # The plan's targets are ``target.N.part`` steps, listed under ``targets`` in ``expect``.
    groups = {
        ("targets" if prefix == "target" else prefix): Group("targets" if prefix == "target" else prefix, prefix, found)
        for prefix, found in parts.items()
    }
    return Schema(kind, fields, groups, frozenset(steering))


SCHEMAS: dict[str, Schema] = {"plan": _schema("plan", PLAN_STEPS), "review": _schema("review", REVIEW_STEPS)}


@dataclass(frozen=True)
class Restart:
    """``{restart: true}``: every server restarts here."""


@dataclass(frozen=True)
class MessageCheck:
    """A reply check: one of ``contains_any`` in what the assistant said at turn ``turn`` (0-based)."""

    turn: int
    contains_any: tuple[str, ...]


@dataclass(frozen=True)
class Session:
    """One scripted chat session, read from its file."""

    id: str
    kind: str
    pupil: str
    staff: str
    channel: str
    about: str
    turns: tuple[str | Restart, ...]
    leaves: tuple[Leaf, ...]
    expected_counts: Mapping[str, int]  # how many of each repeated group ``expect`` lists
    absent: tuple[str, ...]
    agreed: bool | None
    messages: tuple[MessageCheck, ...]
    source: str = ""


def _phrases(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(p, str) and p.strip() for p in value):
        raise SessionError(f"{where}: expected a non-empty list of phrases, got {value!r}")
    return tuple(" ".join(p.lower().split()) for p in value)


def _text_check(value: Any, where: str) -> TextCheck:
    if not isinstance(value, dict):
        raise SessionError(f"{where}: a text step needs {{contains: [...], excludes: [...]}}, got {value!r}")
    unknown = sorted(set(value) - {"contains", "excludes"})
    if unknown:
        raise SessionError(f"{where}: unknown check {unknown[0]!r} (a text step has contains and excludes)")
    if not value:
        raise SessionError(f"{where}: an empty check judges nothing")
    return TextCheck(
        _phrases(value["contains"], f"{where}.contains") if "contains" in value else (),
        _phrases(value["excludes"], f"{where}.excludes") if "excludes" in value else (),
    )


def _check(step: Step, value: Any, where: str) -> Check:
    """The check ``expect`` gives for one step, as its kind allows."""
    if step.kind in ("choice", "yes_no"):
        allowed = [choice.value for choice in step.choices]
        if not isinstance(value, str):
            raise SessionError(f"{where}: a choice value must be a quoted string (one of {allowed}), got {value!r}")
        if value not in allowed:
            raise SessionError(f"{where}: {value!r} is not a choice of this step (one of {allowed})")
        return ChoiceCheck(value)
    if step.kind == "date":
        offset = placeholder_offset(value) if isinstance(value, str) else None
        if offset is None:
            raise SessionError(f'{where}: a date step needs a placeholder such as "{{date+14}}", got {value!r}')
        return DateCheck(offset)
    return _text_check(value, where)


def _leaves(schema: Schema, expect: Any, where: str) -> tuple[list[Leaf], dict[str, int]]:
    if not isinstance(expect, dict) or not expect:
        raise SessionError(f"{where}: expect must be a mapping of step keys")
    leaves: list[Leaf] = []
    counts: dict[str, int] = {}
    for key, value in expect.items():
        at = f"{where}.{key}"
        if key in schema.steering:
            raise SessionError(f"{at}: {key!r} only steers the walk and is never judged")
        if key in schema.fields:
            leaves.append(Leaf(str(key), _check(schema.fields[key], value, at), str(key)))
            continue
        group = schema.groups.get(key)
        if group is None:
            raise SessionError(
                f"{at}: unknown step key {key!r} for a {schema.kind}; known keys: {', '.join(schema.known())}"
            )
        if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
            raise SessionError(f"{at}: {key} must be a list of targets, each a mapping of parts")
        counts[key] = len(value)
        for position, row in enumerate(value, 1):
            for part, check in row.items():
                place = f"{key}.{position}.{part}"
                step = group.parts.get(part)
                if f"{group.prefix}.{part}" in schema.steering:
                    raise SessionError(f"{where}.{place}: {part!r} only steers the walk and is never judged")
                if step is None:
                    raise SessionError(
                        f"{where}.{place}: unknown step key {part!r} in {key} (known: {', '.join(group.parts)})"
                    )
                if step.kind != "provision":
                    leaves.append(Leaf(place, _check(step, check, f"{where}.{place}"), key, position, part))
                    continue
                if not isinstance(check, dict) or not check:
                    raise SessionError(f"{where}.{place}: a provision needs contains/excludes and/or {PROVISION_PARTS}")
                unknown = sorted(set(check) - {"contains", "excludes", *PROVISION_PARTS})
                if unknown:
                    raise SessionError(
                        f"{where}.{place}: unknown provision part {unknown[0]!r} "
                        f"(contains, excludes, {', '.join(PROVISION_PARTS)})"
                    )
                line = {name: check[name] for name in ("contains", "excludes") if name in check}
                if line:
                    leaves.append(Leaf(place, _text_check(line, f"{where}.{place}"), key, position, part))
                for sub in PROVISION_PARTS:
                    if sub in check:
                        name = f"{place}.{sub}"
                        leaves.append(Leaf(name, _text_check(check[sub], f"{where}.{name}"), key, position, part, sub))
    return leaves, counts


def _absent(schema: Schema, value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(key, str) for key in value):
        raise SessionError(f"{where}: absent must be a list of step keys")
    for key in value:
        if key in schema.fields:
            continue
        prefix, _, part = key.partition(".")
        group = schema.group_by_prefix(prefix) or schema.groups.get(prefix)
        if group is None or part not in group.parts:
            raise SessionError(
                f"{where}: unknown step key {key!r} for a {schema.kind} "
                f"(a field, or a repeated step such as {next(iter(schema.groups.values())).prefix}.outcome)"
            )
    return tuple(value)


def _turns(value: Any, where: str) -> tuple[str | Restart, ...]:
    if not isinstance(value, list) or not value:
        raise SessionError(f"{where}: turns must be a non-empty list")
    turns: list[str | Restart] = []
    for index, turn in enumerate(value):
        if isinstance(turn, str):
            leftover = PLACEHOLDER.sub("", turn)
            if "{date" in leftover:
                raise SessionError(f"{where}[{index}]: a placeholder must be {{date+N}} or {{date-N}}: {turn!r}")
            turns.append(turn)
        elif turn == {"restart": True}:
            turns.append(Restart())
        else:
            raise SessionError(f"{where}[{index}]: a turn is a message or {{restart: true}}, got {turn!r}")
    if not isinstance(turns[0], str):
        raise SessionError(f"{where}[0]: the first turn must be the message that opens the walk")
    return tuple(turns)


def _messages(value: Any, turns: Sequence[str | Restart], where: str) -> tuple[MessageCheck, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise SessionError(f"{where}: messages must be a list of {{turn: N, contains_any: [...]}}")
    checks = []
    for index, item in enumerate(value):
        at = f"{where}[{index}]"
        if not isinstance(item, dict) or set(item) != {"turn", "contains_any"}:
            raise SessionError(f"{at}: a reply check has exactly turn and contains_any")
        turn = item["turn"]
        if not isinstance(turn, int) or isinstance(turn, bool) or not 0 <= turn < len(turns):
            raise SessionError(f"{at}: turn {turn!r} is not a turn of this session (0 to {len(turns) - 1})")
        if isinstance(turns[turn], Restart):
            raise SessionError(f"{at}: turn {turn} is a restart, which has no replies")
        checks.append(MessageCheck(turn, _phrases(item["contains_any"], f"{at}.contains_any")))
    return tuple(checks)


def _text(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise SessionError(f"{where}: {key} must be a non-empty string")
    return value.strip()


def parse_session(data: Any, source: str = "<session>") -> Session:
    """A session from its parsed YAML, or ``SessionError`` saying what is wrong and where."""
    if not isinstance(data, dict):
        raise SessionError(f"{source}: a session file is a mapping")
    unknown = sorted(set(data) - TOP_LEVEL)
    if unknown:
        raise SessionError(f"{source}: unknown key {unknown[0]!r} (known: {', '.join(sorted(TOP_LEVEL))})")
    for key in REQUIRED:
        if key not in data:
            raise SessionError(f"{source}: no {key}")
    session_id = _text(data, "id", source)
    if not SESSION_ID.match(session_id):
        raise SessionError(f"{source}: id {session_id!r} must be snake_case")
    where = f"{source} ({session_id})"
    kind = data["kind"]
    if kind not in KINDS:
        raise SessionError(f"{where}: kind must be one of {KINDS}, got {kind!r}")
    channel = data.get("channel", "actions")
    if channel not in CHANNELS:
        raise SessionError(f"{where}: channel must be one of {CHANNELS}, got {channel!r}")
    agreed = data.get("agreed")
    if agreed is not None and not isinstance(agreed, bool):
        raise SessionError(f"{where}: agreed must be true or false")
    schema = SCHEMAS[kind]
    turns = _turns(data["turns"], f"{where} turns")
    leaves, counts = _leaves(schema, data["expect"], f"{where} expect")
    absent = _absent(schema, data.get("absent"), f"{where} absent")
    both = sorted({leaf.field for leaf in leaves if leaf.position is None} & set(absent))
    if both:
        raise SessionError(f"{where}: {both[0]!r} is both expected and absent")
    about = data.get("about") or ""
    return Session(
        id=session_id,
        kind=kind,
        pupil=_text(data, "pupil", where),
        staff=_text(data, "staff", where),
        channel=channel,
        about=about if isinstance(about, str) else str(about),
        turns=turns,
        leaves=tuple(leaves),
        expected_counts=counts,
        absent=absent,
        agreed=agreed,
        messages=_messages(data.get("messages"), turns, f"{where} messages"),
        source=source,
    )


def load_sessions(folder: Path = SESSIONS_DIR) -> list[Session]:
    """Every session in ``folder`` (``*.yml``, in file order); ids must be unique."""
    found: list[Session] = []
    for path in sorted(folder.glob("*.yml")):
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as problem:
            raise SessionError(f"{path.name}: not valid YAML: {problem}") from problem
        found.append(parse_session(data, path.name))
    ids = [session.id for session in found]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise SessionError(f"session id {repeated[0]!r} is used by more than one file")
    return found


# Judging what is stored -------------------------------------------------------
#
# What is stored is a plain dict keyed like ``expect``: each field by its step key
# (choices by their value, dates as dates, text as text), each repeated group
# ("targets", "reviewed", "new") as a list of targets in order, each a dict of
# parts, with a provision as {"who", "what", "when", "how_often", "line"}.


@dataclass
class FieldResult:
    name: str
    status: str  # right, wrong or missing
    expected: str
    stored: str | None
    detail: str = ""


@dataclass
class AbsentResult:
    name: str
    violated: bool
    stored: list[str] = field(default_factory=list)


def normalised(text: str) -> str:
    """Text as compared: lower case, straight quotes, single spaces."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    return " ".join(text.lower().split())


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _shown(value: Any) -> str | None:
    if _empty(value):
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(getattr(value, "value", value))


def provision_line(parts: Mapping[str, Any]) -> str:
    """Who, what, when and how often, those stored, on one line (as ``bot.core.wording.provision_line``)."""
    return ", ".join(str(parts[name]) for name in PROVISION_PARTS if not _empty(parts.get(name)))


def stored_value(stored: Mapping[str, Any], leaf: Leaf) -> Any:
    """What is stored where ``leaf`` looks (None when nothing is)."""
    if leaf.position is None:
        return stored.get(leaf.field)
    rows = stored.get(leaf.field) or []
    if len(rows) < leaf.position or leaf.part is None:
        return None
    value = (rows[leaf.position - 1] or {}).get(leaf.part)
    if isinstance(value, Mapping):
        return value.get(leaf.sub) if leaf.sub else (value.get("line") or provision_line(value))
    return None if leaf.sub else value


def describe(check: Check) -> str:
    if isinstance(check, ChoiceCheck):
        return check.value
    if isinstance(check, DateCheck):
        return f"{{date{check.offset:+d}}}"
    said = [f"contains {list(check.contains)}"] if check.contains else []
    return "; ".join(said + ([f"excludes {list(check.excludes)}"] if check.excludes else []))


def judge(check: Check, value: Any, today: dt.date) -> tuple[str, str]:
    """Right, wrong or missing, with why when it is not right."""
    if _empty(value):
        return "missing", "nothing stored"
    if isinstance(check, ChoiceCheck):
        raw = str(getattr(value, "value", value))
        return ("right", "") if raw == check.value else ("wrong", f"stored {raw!r}, expected {check.value!r}")
    if isinstance(check, DateCheck):
        wanted = check.day(today)
        day = value
        if isinstance(value, str):
            try:
                day = dt.date.fromisoformat(value)
            except ValueError:
                return "wrong", f"stored {value!r}, not a date"
        if not isinstance(day, dt.date):
            return "wrong", f"stored {value!r}, not a date"
        return ("right", "") if day == wanted else ("wrong", f"stored {day.isoformat()}, expected {wanted.isoformat()}")
    text = normalised(str(value))
    lacking = [phrase for phrase in check.contains if normalised(phrase) not in text]
    unwanted = [phrase for phrase in check.excludes if normalised(phrase) in text]
    if not lacking and not unwanted:
        return "right", ""
    why = [f"lacks {lacking}"] if lacking else []
    return "wrong", "; ".join(why + ([f"has {unwanted}"] if unwanted else []))


def judge_fields(session: Session, stored: Mapping[str, Any], today: dt.date) -> list[FieldResult]:
    results = []
    for leaf in session.leaves:
        value = stored_value(stored, leaf)
        status, detail = judge(leaf.check, value, today)
        results.append(FieldResult(leaf.name, status, describe(leaf.check), _shown(value), detail))
    return results


def judge_absent(session: Session, stored: Mapping[str, Any]) -> list[AbsentResult]:
    """Each ``absent`` key, and whatever is stored for it (a repeated step: in any target of its group)."""
    schema = SCHEMAS[session.kind]
    results = []
    for key in session.absent:
        if key in schema.fields:
            shown = _shown(stored.get(key))
            results.append(AbsentResult(key, shown is not None, [shown] if shown else []))
            continue
        prefix, _, part = key.partition(".")
        group = schema.group_by_prefix(prefix) or schema.groups[prefix]
        found = []
        for row in stored.get(group.key) or []:
            value = (row or {}).get(part)
            if isinstance(value, Mapping):
                value = provision_line(value)
            shown = _shown(value)
            if shown is not None:
                found.append(shown)
        results.append(AbsentResult(key, bool(found), found))
    return results


def extra_targets(session: Session, stored: Mapping[str, Any]) -> dict[str, int]:
    """Targets stored beyond those ``expect`` lists, per group it lists (not judged, but shown)."""
    extra = {}
    for key, count in session.expected_counts.items():
        rows = [row for row in stored.get(key) or [] if any(not _empty(_shown(v)) for v in (row or {}).values())]
        if len(rows) > count:
            extra[key] = len(rows) - count
    return extra


# The store: each session on a fresh demo school ----------------------------------


@dataclass(frozen=True)
class Before:
    """What the pupil had before the session, to tell what the session made."""

    plan_version: int
    held_reviews: frozenset[int]


@dataclass(frozen=True)
class PreparedStore:
    url: str
    pupil_id: int
    staff_id: int
    staff_code: str
    before: Before


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for a block, and put back what was there."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def prepare_store(url: str, session: Session) -> PreparedStore:
    """Migrate and seed the store at ``url``; find the pupil and the staff member; issue the staff member a code."""
    from sqlalchemy import select

    from bot.store import accounts, demo, migrate
    from bot.store.db import sessions
    from bot.store.models import PlanStatus, Pupil, Review, ReviewStatus, Staff, SupportPlan

    migrate.upgrade(url)
    with sessions(url).begin() as db:
        demo.seed(db)
        pupils = [p for p in db.execute(select(Pupil)).scalars() if f"{p.first_name} {p.last_name}" == session.pupil]
        if len(pupils) != 1:
            raise SessionError(f"{session.id}: {len(pupils)} demo pupils are called {session.pupil!r}")
        staff = db.execute(select(Staff).where(Staff.name == session.staff)).scalars().all()
        if len(staff) != 1:
            raise SessionError(f"{session.id}: {len(staff)} demo staff are called {session.staff!r}")
        pupil_id, staff_id = int(pupils[0].id), int(staff[0].id)
        code = accounts.issue_staff_code(db, staff_id)
        versions = db.execute(select(SupportPlan.version).where(SupportPlan.pupil_id == pupil_id)).scalars().all()
        held = (
            db.execute(select(Review.id).where(Review.pupil_id == pupil_id, Review.status == ReviewStatus.held))
            .scalars()
            .all()
        )
        drafts = db.execute(
            select(SupportPlan.id).where(SupportPlan.pupil_id == pupil_id, SupportPlan.status == PlanStatus.draft)
        ).all()
        if drafts:
            raise SessionError(f"{session.id}: the demo store already holds a draft plan for {session.pupil}")
    return PreparedStore(url, pupil_id, staff_id, code, Before(max(versions, default=0), frozenset(held)))


@dataclass
class ReadBack:
    """What the store holds for the pupil after the session, keyed like ``expect``."""

    document: str  # what was read: "plan version 2 (agreed)", "review 7 (in progress)", or "nothing"
    agreed: bool
    values: dict[str, Any]


def _provision(row: Any) -> dict[str, Any]:
    parts = {name: getattr(row, f"provision_{name}") for name in PROVISION_PARTS}
    return {**parts, "line": provision_line(parts)}


def _rows(targets: Sequence[Any], group: Group) -> list[dict[str, Any]]:
    by_position = {int(t.position): t for t in targets}
    rows: list[dict[str, Any]] = []
    for position in range(1, max(by_position, default=0) + 1):
        target = by_position.get(position)
        row: dict[str, Any] = {}
        if target is not None:
            for part, step in group.parts.items():
                row[part] = _provision(target) if step.kind == "provision" else getattr(target, part)
        rows.append(row)
    return rows


def _values(document: Any, schema: Schema) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in schema.fields:
        value = getattr(document, key)
        values[key] = getattr(value, "value", value)
    return values


def read_back(prepared: PreparedStore, kind: str) -> ReadBack:
    """The plan agreed in the session (else the draft), or the review held in it (else the one in progress)."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from bot.store.db import sessions
    from bot.store.models import PlanStatus, Review, ReviewStatus, SupportPlan

    schema = SCHEMAS[kind]
    with sessions(prepared.url)() as db:
        if kind == "plan":
            plans = (
                db.execute(
                    select(SupportPlan)
                    .where(SupportPlan.pupil_id == prepared.pupil_id)
                    .options(selectinload(SupportPlan.targets))
                    .order_by(SupportPlan.version)
                )
                .scalars()
                .all()
            )
            made = [p for p in plans if p.version > prepared.before.plan_version]
            agreed = [p for p in made if p.status in (PlanStatus.agreed, PlanStatus.superseded)]
            drafts = [p for p in made if p.status == PlanStatus.draft]
            plan = agreed[-1] if agreed else drafts[-1] if drafts else None
            if plan is None:
                return ReadBack("nothing", False, {})
            values = _values(plan, schema)
            values["targets"] = _rows(list(plan.targets), schema.groups["targets"])
            return ReadBack(f"plan version {plan.version} ({plan.status.value})", bool(agreed), values)
        reviews = (
            db.execute(
                select(Review)
                .where(Review.pupil_id == prepared.pupil_id)
                .options(selectinload(Review.targets))
                .order_by(Review.id)
            )
            .scalars()
            .all()
        )
        held = [r for r in reviews if r.status == ReviewStatus.held and r.id not in prepared.before.held_reviews]
        open_now = [r for r in reviews if r.status == ReviewStatus.in_progress]
        review = held[-1] if held else open_now[-1] if open_now else None
        if review is None:
            return ReadBack("nothing", False, {})
        values = _values(review, schema)
        for key, group in schema.groups.items():
            values[key] = _rows([row for row in review.targets if row.kind == group.prefix], group)
        return ReadBack(f"review {review.id} ({review.status.value})", bool(held), values)


# Drivers: how the turns reach the assistant ---------------------------------------


@dataclass
class Exchange:
    """What one turn led to: the replies, and how the driver sent it."""

    replies: list[str]
    routed: str  # "plan_form", "start_plan", "resume_plan", "start_review", "unrouted", ...
    notes: list[str] = field(default_factory=list)


class Driver(Protocol):
    """Sends one session's turns to the assistant. A REST driver would send them to real servers."""

    async def link(self, code: str) -> list[str]: ...

    async def send(self, text: str) -> Exchange: ...

    async def restart(self) -> None: ...

    async def close(self) -> None: ...


DriverFactory = Callable[[Session, PreparedStore], Driver]
REST_BY_ACTIONS = (
    "a rest session replayed by the actions driver: a question asked midway reaches the walk as an answer "
    "(no NLU), and a restart only makes the actions afresh and drops the store's engines"
)

WALK_NOUN = re.compile(r"\b(?P<noun>plan|review)s?\b")
OPENING_WORDS = re.compile(
    r"\b(?:new|start|starting|update|updating|begin|open|record|carry on|carrying on|continue|resume|pick up|back to)\b"
)
RESUME_WORDS = re.compile(r"\b(?:carry on|carrying on|continue|resume|pick up|back to)\b")
BUTTON = re.compile(r"^/(?P<intent>\w+)(?P<entities>\{.*\})?$")


def opening_intent(kind: str, text: str) -> str | None:
    """The intent a message gets when no walk is open: the walk's start intent if it asks to open one, else None.

    Guessed without the NLU: the message must name the session's document ("plan" or "review") with a word
    that opens it. A plan carried on ("carry on with Daniel's plan") is ``resume_plan``; reviews have
    one intent for both.
    """
    said = normalised(text)
    nouns = {found.group("noun") for found in WALK_NOUN.finditer(said)}
    if kind not in nouns or not OPENING_WORDS.search(said):
        return None
    if kind == "plan":
        return "resume_plan" if RESUME_WORDS.search(said) else "start_plan"
    return "start_review"


class Conversation:
    """What Rasa's tracker store keeps of one chat: its events. A restart keeps them."""

    def __init__(self, sender_id: str, channel: str) -> None:
        self.sender_id, self.channel = sender_id, channel
        self.events: list[dict[str, Any]] = []
        self.latest: dict[str, Any] = {}

    def slots(self) -> dict[str, Any]:
        slots: dict[str, Any] = {}
        for event in self.events:
            if event.get("event") == "slot":
                slots[event["name"]] = event["value"]
        return slots

    def active_loop(self) -> str | None:
        loop = None
        for event in self.events:
            if event.get("event") == "active_loop":
                loop = event.get("name")
        return loop

    def user(self, text: str, intent: str | None, confidence: float, entities: Mapping[str, str] | None = None) -> None:
        self.latest = {
            "text": text,
            "intent": {"name": intent, "confidence": confidence} if intent else {},
            "intent_ranking": [{"name": intent, "confidence": confidence}] if intent else [],
            "entities": [{"entity": name, "value": value} for name, value in (entities or {}).items()],
        }
        self.events.append({"event": "user", "text": text, "input_channel": self.channel, "parse_data": self.latest})

    def took(self, events: Sequence[Mapping[str, Any]], messages: Sequence[Mapping[str, Any]]) -> list[str]:
        """Keep what an action returned and said; the texts it said."""
        self.events.extend(dict(event) for event in events)
        texts = []
        for message in messages:
            text = message.get("text") or ""
            self.events.append({"event": "bot", "text": text, "data": {"buttons": message.get("buttons")}})
            if text:
                texts.append(text)
        return texts

    def tracker(self) -> Any:
        from rasa_sdk import Tracker

        loop = self.active_loop()
        return Tracker(
            self.sender_id,
            self.slots(),
            dict(self.latest),
            list(self.events),
            False,
            None,
            {"name": loop} if loop else {},
            "action_listen",
        )


@dataclass
class _Actions:
    """The action server's actions, made afresh at each (re)start."""

    link: Any
    start: dict[str, Any]
    validate: dict[str, Any]
    ask: dict[str, Any]
    finished: dict[str, Any]

    @classmethod
    def load(cls) -> _Actions:
        from actions import linking, plans, reviews

        return cls(
            link=linking.ActionLinkAccount(),
            start={"plan": plans.ActionStartPlan(), "review": reviews.ActionStartReview()},
            validate={"plan": plans.ValidatePlanForm(), "review": reviews.ValidateReviewForm()},
            ask={"plan": plans.ActionAskPlanAnswer(), "review": reviews.ActionAskReviewAnswer()},
            finished={"plan": plans.ActionPlanFinished(), "review": reviews.ActionReviewFinished()},
        )


class ActionsDriver:
    """The real actions in this process, called as Rasa's rules and forms would call them (no NLU model).

    - No walk open: a message that asks to open the session's walk runs ``action_start_plan`` /
      ``action_start_review`` with the start intent; if the reply offers pupil buttons (a name that
      matches several pupils), the button for the session's pupil is pressed. Any other message is
      not sent ("unrouted"): only the NLU could say what it is.
    - A walk open (``plan_form`` / ``review_form`` active): the message fills ``<noun>_answer`` from the
      text whatever its intent (``data/rules``, ``domain``), so it goes to ``validate_<noun>_form`` as
      ``nlu_fallback`` at 0.2, as the action tests send answers; then ``action_ask_<noun>_answer``
      puts the next question, or, when the walk ended, ``action_<noun>_finished`` runs.
    - A restart makes the actions afresh and drops the store's engines; the conversation's events
      (the tracker store) and the store are kept.
    """

    intent_during_walk = "nlu_fallback"
    confidence_during_walk = 0.2

    # The trained model's reading of a message (its ``fields``), as a Rasa server would give the actions.
    parse: Callable[[str], Awaitable[dict[str, Any]]] | None = None

    def __init__(self, session: Session, prepared: PreparedStore, channel: str = "rest") -> None:
        self.session, self.prepared = session, prepared
        self.conversation = Conversation(f"staff-session-{session.id}", channel)
        self.actions = _Actions.load()

    async def _run(self, action: Any) -> tuple[list[str], list[dict[str, Any]], list[dict[str, Any]]]:
        from rasa_sdk.executor import CollectingDispatcher

        dispatcher = CollectingDispatcher()
        events = await action.run(dispatcher, self.conversation.tracker(), {})
        messages = list(dispatcher.messages)
        return self.conversation.took(events or [], messages), list(events or []), messages

    async def link(self, code: str) -> list[str]:
        self.conversation.user(f"my code is {code}", "link_account", 1.0)
        texts, _, _ = await self._run(self.actions.link)
        return texts

    async def _ask(self, noun: str) -> list[str]:
        texts, _, _ = await self._run(self.actions.ask[noun])
        return texts

    async def _open(self, text: str, intent: str, pupil_id: int | None = None) -> Exchange:
        noun = self.session.kind
        self.conversation.user(text, intent, 1.0, {"pupil_id": str(pupil_id)} if pupil_id else None)
        texts, events, messages = await self._run(self.actions.start[noun])
        if any(event.get("event") == "followup" and event.get("name") == f"{noun}_form" for event in events):
            self.conversation.events.append({"event": "active_loop", "name": f"{noun}_form"})
            return Exchange(texts + await self._ask(noun), intent)
        if pupil_id is None:
            for message in messages:
                for button in message.get("buttons") or []:
                    pressed = BUTTON.match(str(button.get("payload") or ""))
                    if not pressed or not pressed.group("entities"):
                        continue
                    carried = json.loads(pressed.group("entities")).get("pupil_id")
                    if str(carried) == str(self.prepared.pupil_id):
                        after = await self._open(
                            str(button["payload"]), pressed.group("intent"), self.prepared.pupil_id
                        )
                        note = f"pressed the button {button.get('title')!r}"
                        return Exchange(texts + after.replies, f"{intent}+button", [note, *after.notes])
        return Exchange(texts, intent, ["the walk did not open"])

    async def _walk(self, loop: str, text: str) -> Exchange:
        noun = loop.removesuffix("_form")
        self.conversation.user(text, self.intent_during_walk, self.confidence_during_walk)
        if ActionsDriver.parse is not None:
            self.conversation.latest["fields"] = (await ActionsDriver.parse(text)).get("fields") or []
        from rasa_sdk.executor import CollectingDispatcher

        dispatcher = CollectingDispatcher()
        validate = getattr(self.actions.validate[noun], f"validate_{noun}_answer")
        changes: dict[str, Any] = await validate(text, dispatcher, self.conversation.tracker(), {})
        slot_events = [{"event": "slot", "name": name, "value": value} for name, value in changes.items()]
        texts = self.conversation.took(slot_events, list(dispatcher.messages))
        if changes.get(f"{noun}_answer") is None:
            return Exchange(texts + await self._ask(noun), loop)
        self.conversation.events.append({"event": "active_loop", "name": None})
        finished, _, _ = await self._run(self.actions.finished[noun])
        return Exchange(texts + finished, loop, [f"the walk ended: {changes[f'{noun}_answer']}"])

    async def send(self, text: str) -> Exchange:
        loop = self.conversation.active_loop()
        if loop:
            return await self._walk(loop, text)
        intent = opening_intent(self.session.kind, text)
        if intent is None:
            self.conversation.user(text, None, 0.0)
            return Exchange([], "unrouted", ["no walk open and the message does not open one: not sent"])
        return await self._open(text, intent)

    def _drop_engines(self) -> None:
        from bot.store.db import engine_for

        engine_for(self.prepared.url).dispose()
        engine_for.cache_clear()

    async def restart(self) -> None:
        self._drop_engines()
        self.actions = _Actions.load()

    async def close(self) -> None:
        self._drop_engines()


# Replaying and reporting ----------------------------------------------------------


@dataclass
class TurnRecord:
    index: int
    text: str | None  # None for a restart
    replies: list[str]
    routed: str
    notes: list[str] = field(default_factory=list)


@dataclass
class MessageResult:
    turn: int
    contains_any: list[str]
    passed: bool


@dataclass
class SessionResult:
    id: str
    kind: str
    channel: str
    pupil: str
    staff: str
    source: str
    fields: list[FieldResult] = field(default_factory=list)
    absent: list[AbsentResult] = field(default_factory=list)
    extra_targets: dict[str, int] = field(default_factory=dict)
    agreed_expected: bool | None = None
    agreed_stored: bool | None = None
    read: str = "nothing"
    messages: list[MessageResult] = field(default_factory=list)
    turns: list[TurnRecord] = field(default_factory=list)
    error: dict[str, Any] | None = None
    seconds: float = 0.0
    driver_note: str = ""

    def count(self, status: str) -> int:
        return sum(1 for result in self.fields if result.status == status)

    @property
    def agreed_ok(self) -> bool | None:
        return None if self.agreed_expected is None else self.agreed_expected == self.agreed_stored

    @property
    def unrouted(self) -> list[int]:
        return [turn.index for turn in self.turns if turn.routed == "unrouted"]

    def figures(self) -> dict[str, Any]:
        return {
            "fields_expected": len(self.fields),
            "right": self.count("right"),
            "wrong": self.count("wrong"),
            "missing": self.count("missing"),
            "absent_checked": len(self.absent),
            "absent_violations": sum(1 for a in self.absent if a.violated),
            "extra_targets": sum(self.extra_targets.values()),
            "agreed_ok": self.agreed_ok,
            "messages_passed": sum(1 for m in self.messages if m.passed),
            "messages_checked": len(self.messages),
            "unrouted_turns": len(self.unrouted),
            "failed": self.error is not None,
        }


def message_results(session: Session, turns: Sequence[TurnRecord]) -> list[MessageResult]:
    said = {turn.index: normalised("\n".join(turn.replies)) for turn in turns}
    return [
        MessageResult(
            check.turn,
            list(check.contains_any),
            any(normalised(phrase) in said.get(check.turn, "") for phrase in check.contains_any),
        )
        for check in session.messages
    ]


def judge_session(
    session: Session, read: ReadBack, turns: Sequence[TurnRecord], today: dt.date, result: SessionResult
) -> SessionResult:
    result.read = read.document
    result.fields = judge_fields(session, read.values, today)
    result.absent = judge_absent(session, read.values)
    result.extra_targets = extra_targets(session, read.values)
    result.agreed_expected, result.agreed_stored = session.agreed, read.agreed
    result.messages = message_results(session, turns)
    return result


def _say(out: Callable[[str], None], prefix: str, text: str) -> None:
    lines = text.splitlines() or [""]
    out(f"{prefix}{lines[0]}")
    for line in lines[1:]:
        out(f"{' ' * len(prefix)}{line}")


async def replay(
    session: Session,
    today: dt.date | None = None,
    driver: DriverFactory = ActionsDriver,
    verbose: bool = False,
    out: Callable[[str], None] = print,
) -> SessionResult:
    """Replay one session from a fresh demo store and judge what is stored; never raises for the session's sake."""
    today = today or dates.today()
    started = time.monotonic()
    result = SessionResult(session.id, session.kind, session.channel, session.pupil, session.staff, session.source)
    if session.channel == "rest" and driver is ActionsDriver:
        result.driver_note = REST_BY_ACTIONS
    turn_index: int | None = None
    prepared: PreparedStore | None = None
    with tempfile.TemporaryDirectory(prefix="staff-session-") as folder:
        url = f"sqlite:///{Path(folder) / 'store.db'}"
        with environment(DATABASE_URL=url, SEN_IDENTITY_KEY=IDENTITY_KEY):
            running: Driver | None = None
            try:
                prepared = prepare_store(url, session)
                running = driver(session, prepared)
                linked = await running.link(prepared.staff_code)
                if verbose:
                    out(f"  (linked: {' '.join(linked)[:100]})")
                if not any("linked as" in text for text in linked):
                    raise RuntimeError(f"the chat was not linked to {session.staff}: {' '.join(linked)[:200]}")
                for turn_index, turn in enumerate(session.turns):
                    if isinstance(turn, Restart):
                        await running.restart()
                        result.turns.append(TurnRecord(turn_index, None, [], "restart"))
                        if verbose:
                            out(f"[{turn_index}] -- every server restarts --")
                        continue
                    text = render(turn, today)
                    exchange = await running.send(text)
                    result.turns.append(TurnRecord(turn_index, text, exchange.replies, exchange.routed, exchange.notes))
                    if verbose:
                        _say(out, f"[{turn_index}] > ", text)
                        for note in [f"({exchange.routed})", *exchange.notes]:
                            out(f"      {note}")
                        for reply in exchange.replies:
                            _say(out, "    < ", reply)
                turn_index = None
            except Exception as problem:  # one session's failure is reported, and the others still run
                result.error = {"type": type(problem).__name__, "message": str(problem)[:1000], "turn": turn_index}
            finally:
                if running is not None:
                    with contextlib.suppress(Exception):
                        await running.close()
            try:
                read = read_back(prepared, session.kind) if prepared is not None else ReadBack("nothing", False, {})
            except Exception as problem:
                read = ReadBack("nothing (the read failed)", False, {})
                if result.error is None:
                    result.error = {"type": type(problem).__name__, "message": str(problem)[:1000], "turn": None}
            try:
                # A failed session is still judged on what it stored, so the totals count every expected field.
                judge_session(session, read, result.turns, today, result)
            finally:
                from bot.store.db import engine_for

                with contextlib.suppress(Exception):
                    engine_for(url).dispose()
                    engine_for.cache_clear()
    result.seconds = round(time.monotonic() - started, 2)
    return result


TOTAL_KEYS = (
    "fields_expected",
    "right",
    "wrong",
    "missing",
    "absent_checked",
    "absent_violations",
    "extra_targets",
    "messages_passed",
    "messages_checked",
    "unrouted_turns",
)


def totals(results: Sequence[SessionResult]) -> dict[str, Any]:
    figures = [result.figures() for result in results]
    summed: dict[str, Any] = {key: sum(int(f[key]) for f in figures) for key in TOTAL_KEYS}
    summed["sessions"] = len(results)
    summed["failed"] = sum(1 for f in figures if f["failed"])
    summed["agreed_ok"] = sum(1 for f in figures if f["agreed_ok"] is True)
    summed["agreed_checked"] = sum(1 for f in figures if f["agreed_ok"] is not None)
    expected = summed["fields_expected"]
    summed["right_share"] = round(summed["right"] / expected, 4) if expected else None
    return summed


def table(results: Sequence[SessionResult]) -> str:
    """The figures per session and in total, as a plain-text table."""
    head = f"{'session':<44} {'kind':<6} {'chan':<7} {'exp':>4} {'right':>5} {'wrong':>5} {'miss':>5} "
    head += f"{'absent':>7} {'extra':>5} {'agreed':>6} {'msgs':>5}  error"
    lines = [head, "-" * len(head)]
    for result in results:
        f = result.figures()
        agreed = "-" if f["agreed_ok"] is None else "ok" if f["agreed_ok"] else "NO"
        error = ""
        if result.error:
            error = f"{result.error['type']} at turn {result.error['turn']}"
        lines.append(
            f"{result.id[:44]:<44} {result.kind:<6} {result.channel:<7} {f['fields_expected']:>4} {f['right']:>5} "
            f"{f['wrong']:>5} {f['missing']:>5} {f['absent_violations']:>3}/{f['absent_checked']:<3} "
            f"{f['extra_targets']:>5} {agreed:>6} {f['messages_passed']:>2}/{f['messages_checked']:<2}  {error}"
        )
    t = totals(results)
    lines.append("-" * len(head))
    lines.append(
        f"{'total (' + str(t['sessions']) + ' sessions, ' + str(t['failed']) + ' failed)':<59} "
        f"{t['fields_expected']:>4} {t['right']:>5} {t['wrong']:>5} {t['missing']:>5} "
        f"{t['absent_violations']:>3}/{t['absent_checked']:<3} {t['extra_targets']:>5} "
        f"{str(t['agreed_ok']) + '/' + str(t['agreed_checked']):>6} "
        f"{t['messages_passed']:>2}/{t['messages_checked']:<2}"
    )
    return "\n".join(lines)


def report(results: Sequence[SessionResult], today: dt.date, driver: str) -> dict[str, Any]:
    return {
        "run_at": dt.datetime.now().isoformat(timespec="seconds"),
        "today": today.isoformat(),
        "driver": driver,
        "totals": totals(results),
        "sessions": [{**asdict(result), "figures": result.figures()} for result in results],
    }


def _failures(result: SessionResult, out: Callable[[str], None]) -> None:
    out(f"{result.id}: read {result.read}")
    for item in result.fields:
        if item.status == "wrong":
            out(f"  wrong   {item.name}: {item.detail}; stored: {(item.stored or '')[:160]!r}")
        elif item.status == "missing":
            out(f"  missing {item.name}")
    for absent in result.absent:
        if absent.violated:
            out(f"  absent  {absent.name}: stored {absent.stored}")
    if result.agreed_ok is False:
        out(f"  agreed  expected {result.agreed_expected}, stored {result.agreed_stored}")
    for message in result.messages:
        if not message.passed:
            out(f"  reply   turn {message.turn}: none of {message.contains_any}")
    if result.unrouted:
        out(f"  unrouted turns: {result.unrouted}")
    if result.error:
        out(f"  error   {result.error['type']} at turn {result.error['turn']}: {result.error['message'][:300]}")


async def run_all(
    sessions: Sequence[Session], today: dt.date, verbose: bool, out: Callable[[str], None]
) -> list[SessionResult]:
    results = []
    for session in sessions:
        if verbose:
            out(f"=== {session.id} ({session.kind}, {session.channel}): {session.pupil}, {session.staff}")
        result = await replay(session, today, verbose=verbose, out=out)
        if verbose:
            _failures(result, out)
        results.append(result)
    return results


MODEL = Path(__file__).resolve().parents[1] / "models" / "sen-support.tar.gz"


def model_parser(model: Path) -> Callable[[str], Awaitable[dict[str, Any]]]:
    """The trained model's NLU, loaded once on first use, reading a message as a Rasa server does."""
    loaded: list[Any] = []

    async def parse(text: str) -> dict[str, Any]:
        if not loaded:
            from rasa.core.agent import Agent

            loaded.append(Agent.load(str(model)))
        parsed: dict[str, Any] = await loaded[0].parse_message(text)
        return parsed

    return parse


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--session", action="append", help="replay only this session id (may be repeated)")
    parser.add_argument("--verbose", action="store_true", help="print each turn, the replies and what was judged")
    parser.add_argument("--folder", type=Path, default=SESSIONS_DIR, help="where the session files are")
    parser.add_argument(
        "--json", type=Path, default=None, help=f"where to write the figures (default {RESULTS} for a full run)"
    )
    parser.add_argument(
        "--no-nlu", action="store_true", help="do not read messages with the trained model (no field readings)"
    )
    args = parser.parse_args(argv)
    try:
        sessions = load_sessions(args.folder)
    except SessionError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if args.session:
        unknown = sorted(set(args.session) - {s.id for s in sessions})
        if unknown:
            print(f"error: no session {unknown[0]!r}; known: {', '.join(s.id for s in sessions)}", file=sys.stderr)
            return 2
        sessions = [s for s in sessions if s.id in args.session]
    today = dates.today()
    if not args.no_nlu and MODEL.exists():
        ActionsDriver.parse = model_parser(MODEL)
    results = asyncio.run(run_all(sessions, today, args.verbose, print))
    print(table(results))
    destination = args.json or (RESULTS if not args.session else None)
    if destination is not None:
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(json.dumps(report(results, today, "actions"), indent=2, default=str) + "\n")
        print(f"Figures: {destination}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
