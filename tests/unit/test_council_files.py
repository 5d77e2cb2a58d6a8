"""Council files are checked against knowledge/council.schema.json, by the loader and by `admin council-check`."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

import knowledge
from bot.ops import admin

SEEDED = ("norfolk", "kent", "dudley", "stockton")
SEEDED_DIR = knowledge.COUNCILS_DIR  # kept, as some tests point the loader at a folder of their own


def _norfolk() -> dict[str, Any]:
    """A sound council to break one field at a time."""
    loaded: dict[str, Any] = yaml.safe_load((SEEDED_DIR / "norfolk.yml").read_text(encoding="utf-8"))
    return copy.deepcopy(loaded)


def _write(folder: Path, raw: dict[str, Any], name: str | None = None) -> Path:
    path = folder / f"{name or raw['id']}.yml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def councils_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The loader reads its councils from an empty folder for the test, then from knowledge/councils again."""
    monkeypatch.setattr(knowledge, "COUNCILS_DIR", tmp_path)
    knowledge.councils.cache_clear()
    yield tmp_path
    knowledge.councils.cache_clear()


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = json.loads(knowledge.COUNCIL_SCHEMA.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("name", sorted(path.name for path in SEEDED_DIR.glob("*.yml")))
def test_each_council_file_passes(name: str) -> None:
    assert knowledge.council_problems(SEEDED_DIR / name) == []


def test_the_loader_loads_the_seeded_councils() -> None:
    assert set(SEEDED) <= set(knowledge.councils())


def test_a_sound_copy_loads(councils_dir: Path) -> None:
    # The cases below each break one field of this copy, so each fails for that field alone.
    _write(councils_dir, _norfolk())
    assert knowledge.council("norfolk").sendiass["phone"] == "01603 704070"


def _set(*steps: str, to: Any) -> Callable[[dict[str, Any]], None]:
    def change(raw: dict[str, Any]) -> None:
        *parents, last = steps
        for step in parents:
            raw = raw[step]
        raw[last] = to

    return change


def _remove(*steps: str) -> Callable[[dict[str, Any]], None]:
    def change(raw: dict[str, Any]) -> None:
        *parents, last = steps
        for step in parents:
            raw = raw[step]
        del raw[last]

    return change


def _rename(part: str, old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def change(raw: dict[str, Any]) -> None:
        raw[part][new] = raw[part].pop(old)

    return change


BROKEN = {
    "wrong type": (
        _set("sendiass", "phone", "confirmed", to="yes"),
        "sendiass.phone.confirmed: 'yes' is not of type 'boolean'",
    ),
    "missing required field": (_remove("short_name"), "short_name: required but missing"),
    "missing contact": (_remove("local_offer", "url"), "local_offer.url: required but missing"),
    "missing checked": (_remove("sendiass", "email", "checked"), "sendiass.email.checked: required but missing"),
    "typo in a field name": (_rename("sendiass", "phone", "phnoe"), "sendiass.phnoe: unknown field"),
    "typo in a contact": (_rename("local_offer", "url", "ulr"), "local_offer.ulr: unknown field"),
    "confirmed without a date": (
        _set("sendiass", "phone", "checked", to=None),
        "sendiass.phone.checked: a confirmed contact needs the date it was checked",
    ),
    "confirmed without what against": (
        _remove("sendiass", "phone", "against"),
        "sendiass.phone.against: a confirmed contact says what it was checked against",
    ),
    "date written another way": (
        _set("sendiass", "phone", "checked", to="01/12/2026"),
        "sendiass.phone.checked: '01/12/2026' is not a date written YYYY-MM-DD",
    ),
    "date that does not exist": (
        _set("sendiass", "url", "checked", to="2026-13-01"),
        "sendiass.url.checked: '2026-13-01' is not a date written YYYY-MM-DD",
    ),
    # What YAML makes of an unquoted 01603704070: an octal number.
    "phone number not in quotes": (
        _set("sendiass", "phone", "value", to=235898936),
        "sendiass.phone.value: 235898936 is not a phone number",
    ),
    "web address without https": (
        _set("local_offer", "url", "value", to="www.norfolk.gov.uk/send"),
        "local_offer.url.value: 'www.norfolk.gov.uk/send' is not a web address",
    ),
    "hours not text": (_set("sendiass", "hours", to=9), "sendiass.hours: 9 is not opening hours written as text"),
    "hand-over inbox not an email address": (
        _set("sendiass", "handover_inbox", to={"value": "norfolk.gov.uk", "confirmed": False, "checked": None}),
        "sendiass.handover_inbox.value: 'norfolk.gov.uk' is not an email address",
    ),
    "no sources": (_set("sources", to=[]), "sources: must not be empty"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_a_broken_file_is_rejected_naming_the_field(case: str, councils_dir: Path) -> None:
    change, problem = BROKEN[case]
    raw = _norfolk()
    change(raw)
    path = _write(councils_dir, raw)
    assert any(line.startswith(f"{path}: {problem}") for line in knowledge.council_problems(path))
    with pytest.raises(knowledge.KnowledgeError, match=re.escape(f"{path}: {problem}")):
        knowledge.councils()


def test_the_id_must_match_the_file_name(councils_dir: Path) -> None:
    path = _write(councils_dir, _norfolk(), name="norwich")
    expected = f"{path}: id: 'norfolk' does not match the file name: the id must be 'norwich'"
    assert knowledge.council_problems(path) == [expected]
    with pytest.raises(knowledge.KnowledgeError, match=re.escape(expected)):
        knowledge.councils()


def test_every_problem_in_a_file_is_named(councils_dir: Path) -> None:
    raw = _norfolk()
    raw["sendiass"]["phone"]["confirmed"] = "yes"
    del raw["short_name"]
    problems = knowledge.council_problems(_write(councils_dir, raw))
    assert [line.split(": ")[1] for line in problems] == ["short_name", "sendiass.phone.confirmed"]


def test_a_file_that_is_not_yaml_or_not_a_council_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("id: [unclosed\n", encoding="utf-8")
    assert knowledge.council_problems(broken)[0].startswith(f"{broken}: is not valid YAML")
    listed = tmp_path / "listed.yml"
    listed.write_text("- norfolk\n", encoding="utf-8")
    assert knowledge.council_problems(listed)[0].startswith(f"{listed}: should hold a council's fields")


def test_files_in_the_project_are_named_from_its_root() -> None:
    assert knowledge._shown_path(SEEDED_DIR / "x.yml") == "knowledge/councils/x.yml"


def test_hours_and_a_handover_inbox_are_optional_and_the_inbox_is_a_checked_contact(councils_dir: Path) -> None:
    raw = _norfolk()
    raw["sendiass"]["hours"] = "Monday to Friday, 9am to 5pm"
    raw["sendiass"]["handover_inbox"] = {
        "value": "handover@norfolk.gov.uk",
        "confirmed": True,
        "checked": "2026-12-01",
        "against": "the council's SEND team, by email",
    }
    _write(councils_dir, raw)
    place = knowledge.council("norfolk")
    assert place.sendiass["hours"] == "Monday to Friday, 9am to 5pm"
    assert place.confirmed("sendiass", "handover_inbox")
    assert place.checks["sendiass.handover_inbox"].checked == "2026-12-01"
    # It is for handing a conversation to a person, not one of the ways people are told to reach the service.
    assert "handover@" not in knowledge.sendiass_contact(place) + knowledge.local_help(place)


def test_an_unquoted_date_is_read_as_the_same_date(councils_dir: Path) -> None:
    raw = _norfolk()
    raw["sendiass"]["phone"]["checked"] = dt.date(2026, 12, 1)  # written unquoted, as YAML reads it back
    path = _write(councils_dir, raw)
    assert "checked: 2026-12-01\n" in path.read_text(encoding="utf-8")
    assert knowledge.council("norfolk").checks["sendiass.phone"].checked == "2026-12-01"


def test_an_unconfirmed_contact_needs_no_date(councils_dir: Path) -> None:
    raw = _norfolk()
    raw["sendiass"]["phone"] = {"value": "01603 704070", "confirmed": False, "checked": None}
    _write(councils_dir, raw)
    assert knowledge.council("norfolk").contact("sendiass", "phone") == f"01603 704070 {knowledge.UNCONFIRMED}"


@pytest.fixture
def no_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """council-check fails the test if it touches the database."""

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("council-check used the database")

    monkeypatch.setattr(admin.migrate, "upgrade", refuse)
    monkeypatch.setattr(admin, "sessions", refuse)


def test_council_check_passes_a_sound_file(
    no_database: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, _norfolk())
    assert admin.main(["council-check", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: ok\n"


def test_council_check_fails_a_broken_file_naming_the_field(
    no_database: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sound = _write(tmp_path, _norfolk())
    raw = _norfolk()
    raw["sendiass"]["phone"]["confirmed"] = "yes"
    broken = _write(tmp_path, raw, name="broken")
    assert admin.main(["council-check", str(sound), str(broken)]) == 1
    printed = capsys.readouterr()
    assert f"{sound}: ok" in printed.err
    assert f"{broken}: sendiass.phone.confirmed: 'yes' is not of type 'boolean'" in printed.err
    assert f"{broken}: id: 'norfolk' does not match the file name" in printed.err


def test_council_check_passes_the_seeded_councils(no_database: None, capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(SEEDED_DIR / f"{council_id}.yml") for council_id in SEEDED]
    assert admin.main(["council-check", *files]) == 0
    assert capsys.readouterr().out.splitlines() == [f"{name}: ok" for name in files]


def test_council_check_names_a_missing_file(
    no_database: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.yml"
    assert admin.main(["council-check", str(missing)]) == 1
    assert f"{missing}: cannot be read" in capsys.readouterr().err
