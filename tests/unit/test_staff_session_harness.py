"""The staff-session harness's own logic (bench/staff_sessions.py): placeholders, judging, parsing, routing.

No session is replayed here through the walks; that belongs to a later test.
Only the last tests open a store, with a stand-in driver, to show that a
session that raises is reported and the others still run.
"""

from __future__ import annotations

import copy
import datetime as dt
import enum
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench import staff_sessions as harness
from bench.staff_sessions import SessionError, judge_absent, judge_fields, parse_session

TODAY = dt.date(2026, 12, 1)
FILES = sorted(harness.SESSIONS_DIR.glob("*.yml"))
DEMO = (harness.ROOT / "bot" / "store" / "demo.py").read_text()


def _raw(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def _session(expect: dict[str, Any], absent: list[str] | None = None, kind: str = "plan") -> harness.Session:
    return parse_session(
        {
            "id": "hand_made",
            "kind": kind,
            "pupil": "Finley Shaw",
            "staff": "Mrs Priya Ashdown",
            "turns": ["new plan for finley" if kind == "plan" else "start finley's review"],
            "expect": expect,
            "absent": absent or [],
        },
        "hand_made.yml",
    )


def _statuses(session: harness.Session, stored: dict[str, Any]) -> dict[str, str]:
    return {result.name: result.status for result in judge_fields(session, stored, TODAY)}


# Placeholders ----------------------------------------------------------------


def test_placeholders_are_written_as_day_month_year_from_today() -> None:
    assert harness.render("review's booked for {date+63} btw", TODAY) == "review's booked for 2 February 2027 btw"
    assert harness.render("signed it off on {date-3}", TODAY) == "signed it off on 28 November 2026"
    assert harness.render("{date+0}", TODAY) == "1 December 2026"
    assert harness.render("from {date+35} to {date+400}", TODAY) == "from 5 January 2027 to 5 January 2028"
    assert harness.render("31 April", TODAY) == "31 April", "impossible dates are written literally"


def test_a_placeholder_in_expect_means_that_date() -> None:
    assert harness.placeholder_offset("{date-14}") == -14
    assert harness.placeholder_offset("{date+0}") == 0
    assert harness.placeholder_offset("on {date+3}") is None
    session = _session({"review_date": "{date+63}", "agreed_on": "{date-3}"})
    stored = {"review_date": dt.date(2027, 2, 2), "agreed_on": dt.date(2026, 11, 29)}
    assert _statuses(session, stored) == {"review_date": "right", "agreed_on": "wrong"}


# Judging ---------------------------------------------------------------------


def test_text_is_right_only_with_every_phrase_and_no_excluded_one() -> None:
    session = _session({"strengths": {"contains": ["trains", "jigsaws"], "excludes": ["review"]}})
    assert _statuses(session, {"strengths": "Loves TRAINS, brilliant at Jigsaws"}) == {"strengths": "right"}
    assert _statuses(session, {"strengths": "loves trains"}) == {"strengths": "wrong"}
    assert _statuses(session, {"strengths": "trains and jigsaws; review in March"}) == {"strengths": "wrong"}
    assert _statuses(session, {"strengths": "   "}) == {"strengths": "missing"}
    assert _statuses(session, {}) == {"strengths": "missing"}
    (result,) = judge_fields(session, {"strengths": "trains and jigsaws; review in March"}, TODAY)
    assert "review" in result.detail and result.stored == "trains and jigsaws; review in March"


def test_curly_apostrophes_match_straight_ones() -> None:
    session = _session({"child_role": {"contains": ["i'll point"]}})
    assert _statuses(session, {"child_role": "I\u2019ll point to my board"}) == {"child_role": "right"}


class Need(enum.Enum):
    semh = "semh"


def test_choices_are_exact_and_read_through_enums() -> None:
    session = _session({"cluster_funding": "no", "main_area_of_need": "semh"})
    assert _statuses(session, {"cluster_funding": "no", "main_area_of_need": Need.semh}) == {
        "cluster_funding": "right",
        "main_area_of_need": "right",
    }
    assert _statuses(session, {"cluster_funding": "requested", "main_area_of_need": None}) == {
        "cluster_funding": "wrong",
        "main_area_of_need": "missing",
    }


def test_dates_must_be_equal() -> None:
    session = _session({"agreed_on": "{date-1}"})
    assert _statuses(session, {"agreed_on": dt.date(2026, 11, 30)}) == {"agreed_on": "right"}
    assert _statuses(session, {"agreed_on": "2026-11-30"}) == {"agreed_on": "right"}
    assert _statuses(session, {"agreed_on": dt.date(2026, 12, 1)}) == {"agreed_on": "wrong"}
    assert _statuses(session, {"agreed_on": None}) == {"agreed_on": "missing"}


def _target(difficulty: str, who: str | None = None, how_often: str | None = None, **parts: str) -> dict[str, Any]:
    provision = {"who": who, "what": parts.get("what"), "when": parts.get("when"), "how_often": how_often}
    return {"difficulty": difficulty, "provision": provision, "outcome": parts.get("outcome")}


def test_targets_are_judged_in_order_part_by_part() -> None:
    session = _session(
        {
            "targets": [
                {
                    "difficulty": {"contains": ["anger"]},
                    "provision": {"contains": ["anger management"], "who": {"contains": ["elsa"]}},
                    "outcome": {"contains": ["4 of 5"]},
                },
                {"difficulty": {"contains": ["writing"]}, "provision": {"how_often": {"contains": ["daily"]}}},
            ]
        }
    )
    anger = _target("managing anger", "ELSA", "2x a week", what="1:1 anger management", outcome="4 of 5 incidents")
    writing = _target("getting started on writing", "TA", "daily", what="writing frames")
    assert set(_statuses(session, {"targets": [anger, writing]}).values()) == {"right"}
    swapped = _statuses(session, {"targets": [writing, anger]})
    assert swapped["targets.1.difficulty"] == "wrong" and swapped["targets.2.difficulty"] == "wrong"
    assert swapped["targets.1.provision.who"] == "wrong" and swapped["targets.2.provision.how_often"] == "wrong"
    only_one = _statuses(session, {"targets": [anger]})
    assert only_one["targets.1.outcome"] == "right"
    assert only_one["targets.2.difficulty"] == "missing" and only_one["targets.2.provision.how_often"] == "missing"


def test_a_provision_line_is_its_parts_and_each_part_is_judged_alone() -> None:
    provision = {"contains": ["ta, talk boost"], "excludes": ["cluster"], "who": {"contains": ["ta"]}}
    session = _session({"targets": [{"provision": provision}]})
    stored = {"targets": [_target("x", "TA", "3 times a week", what="talk boost")]}
    assert _statuses(session, stored) == {"targets.1.provision": "right", "targets.1.provision.who": "right"}
    who_only_in_what = {"targets": [_target("x", None, None, what="TA, talk boost, cluster funded")]}
    assert _statuses(session, who_only_in_what) == {
        "targets.1.provision": "wrong",
        "targets.1.provision.who": "missing",
    }


def test_absent_keys_are_violated_by_anything_stored() -> None:
    session = _session(
        {"level_of_need": "sen_support"}, absent=["cluster_funding_details", "review_date", "target.outcome"]
    )
    clean = {"cluster_funding_details": None, "review_date": None, "targets": [{"outcome": ""}]}
    assert [a.violated for a in judge_absent(session, clean)] == [False, False, False]
    stored = {"cluster_funding_details": "£1,200", "review_date": TODAY, "targets": [{}, {"outcome": "by June"}]}
    results = {a.name: a for a in judge_absent(session, stored)}
    assert all(a.violated for a in results.values())
    assert results["target.outcome"].stored == ["by June"] and results["review_date"].stored == ["2026-12-01"]
    assert _statuses(session, stored) == {"level_of_need": "missing"}, "absent keys are not expected fields"


def test_a_review_names_a_repeated_step_as_absent_to_mean_no_such_target() -> None:
    session = _session({"decision": "no_longer_needed"}, absent=["new.difficulty", "new.provision"], kind="review")
    reviewed_only = {"decision": "no_longer_needed", "reviewed": [{"achieved": "achieved"}], "new": []}
    assert [a.violated for a in judge_absent(session, reviewed_only)] == [False, False]
    provision = {"who": "TA", "what": None, "when": None, "how_often": None}
    with_new = {**reviewed_only, "new": [{"difficulty": "telling the time", "provision": provision}]}
    assert [a.violated for a in judge_absent(session, with_new)] == [True, True]


def test_targets_beyond_those_expected_are_counted() -> None:
    session = _session({"targets": [{"difficulty": {"contains": ["a"]}}]})
    assert harness.extra_targets(session, {"targets": [{"difficulty": "a"}]}) == {}
    assert harness.extra_targets(session, {"targets": [{"difficulty": "a"}, {"outcome": "b"}, {}]}) == {"targets": 1}


def test_replies_are_checked_at_their_own_turn() -> None:
    session = parse_session(
        {**_raw(FILES[0]), "messages": [{"turn": 6, "contains_any": ["Section 5", "still to answer"]}]}, FILES[0].name
    )
    said = [harness.TurnRecord(6, "where am i", ["Section 5 of 14: Interventions."], "plan_form")]
    assert [m.passed for m in harness.message_results(session, said)] == [True]
    elsewhere = [harness.TurnRecord(7, "x", ["Section 5 of 14"], "plan_form"), harness.TurnRecord(6, "y", [], "x")]
    assert [m.passed for m in harness.message_results(session, elsewhere)] == [False]


# The session files -------------------------------------------------------------


def test_there_are_session_files() -> None:
    assert len(FILES) >= 16


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_every_session_file_parses_with_only_known_keys(path: Path) -> None:
    raw = _raw(path)
    for key in ("id", "kind", "pupil", "staff", "turns", "expect"):
        assert raw.get(key), f"{path.name} has no {key}"
    session = parse_session(raw, path.name)
    schema = harness.SCHEMAS[session.kind]
    for key, value in raw["expect"].items():
        assert key in schema.fields or key in schema.groups, f"{path.name}: {key}"
        if key in schema.groups:
            assert all(set(row) <= set(schema.groups[key].parts) for row in value), f"{path.name}: {key}"
    assert len(session.turns) == len(raw["turns"]) and isinstance(session.turns[0], str)
    assert {leaf.field for leaf in session.leaves} == set(raw["expect"])
    assert session.pupil.split()[0] in DEMO and session.pupil.split()[-1] in DEMO, "a demo pupil"
    assert session.staff in DEMO, "a demo member of staff"
    assert harness.opening_intent(session.kind, session.turns[0]), "the first turn opens the walk"


def test_all_sessions_load_with_unique_ids() -> None:
    sessions = harness.load_sessions()
    assert [s.source for s in sessions] == [path.name for path in FILES]
    assert len({s.id for s in sessions}) == len(sessions)
    assert {s.kind for s in sessions} == {"plan", "review"}


def _spoiled(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(_raw(FILES[0]))
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda d: d["expect"].update(strenghts={"contains": ["trains"]}), "unknown step key 'strenghts'"),
        (lambda d: d["expect"]["targets"][0].update(provisions={"contains": ["x"]}), "unknown step key 'provisions'"),
        (lambda d: d["expect"]["targets"][0]["provision"].update(how_much={"contains": ["x"]}), "'how_much'"),
        (lambda d: d.update(absent=["cluster_details"]), "unknown step key 'cluster_details'"),
        (lambda d: d["expect"].update({"target.more": "no"}), "only steers the walk"),
        (lambda d: d["expect"].update(cluster_funding=False), "quoted string"),
        (lambda d: d["expect"].update(cluster_funding="maybe"), "not a choice"),
        (lambda d: d["expect"].update(review_date="2 February"), "placeholder"),
        (lambda d: d["turns"].append("on {date+x}"), "placeholder"),
        (lambda d: d["turns"].append({"restart": "yes"}), "restart"),
        (lambda d: d.update(messages=[{"turn": 99, "contains_any": ["x"]}]), "turn 99"),
        (lambda d: d.update(expected={}), "unknown key 'expected'"),
        (lambda d: d.pop("staff"), "no staff"),
    ],
)
def test_a_spoiled_session_file_is_rejected_saying_where(change: Any, said: str) -> None:
    with pytest.raises(SessionError) as raised:
        parse_session(_spoiled(change), FILES[0].name)
    assert said in str(raised.value)
    assert FILES[0].name in str(raised.value)


def test_an_unknown_step_key_in_a_file_stops_the_whole_load(tmp_path: Path) -> None:
    (tmp_path / "01_ok.yml").write_text(FILES[0].read_text())
    spoiled = _spoiled(lambda d: (d.update(id="other_session"), d["expect"].update(strengths_and_likes="x")))
    (tmp_path / "02_spoiled.yml").write_text(yaml.safe_dump(spoiled))
    with pytest.raises(SessionError, match=r"02_spoiled\.yml.*unknown step key 'strengths_and_likes'"):
        harness.load_sessions(tmp_path)
    assert harness.main(["--folder", str(tmp_path)]) == 2


# Routing without the NLU ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "text", "intent"),
    [
        ("plan", "new plan for finley", "start_plan"),
        ("plan", "update amy carter's plan", "start_plan"),
        ("plan", "carry on with daniel's plan", "resume_plan"),
        ("review", "start oscar bellamy's review", "start_review"),
        ("review", "carry on with ellie's review", "start_review"),
        ("review", "carry on", None),
        ("plan", "start ben okafor's review", None),
        ("plan", "what's in finley's plan?", None),
    ],
)
def test_with_no_walk_open_only_a_message_opening_one_is_sent(kind: str, text: str, intent: str | None) -> None:
    assert harness.opening_intent(kind, text) == intent


def test_the_conversation_keeps_slots_and_the_open_walk_in_its_events() -> None:
    chat = harness.Conversation("sender", "rest")
    chat.user("new plan for finley", "start_plan", 1.0)
    chat.took([{"event": "slot", "name": "plan_id", "value": "7"}], [{"text": "Starting", "buttons": []}])
    chat.events.append({"event": "active_loop", "name": "plan_form"})
    chat.user("sen support", "nlu_fallback", 0.2)
    tracker = chat.tracker()
    assert tracker.slots == {"plan_id": "7"} and tracker.active_loop == {"name": "plan_form"}
    assert tracker.latest_message["text"] == "sen support" and tracker.get_latest_input_channel() == "rest"
    chat.events.append({"event": "active_loop", "name": None})
    chat.took([{"event": "slot", "name": "plan_id", "value": None}], [])
    assert chat.active_loop() is None and chat.slots() == {"plan_id": None}


# A session that raises ------------------------------------------------------------


class _Failing:
    """Links, then raises at the third turn of the session called ``fail_at_two``."""

    def __init__(self, session: harness.Session, prepared: harness.PreparedStore) -> None:
        self.session, self.sent = session, 0

    async def link(self, code: str) -> list[str]:
        return ["Thank you, you're now linked as someone"]

    async def send(self, text: str) -> harness.Exchange:
        self.sent += 1
        if self.session.id == "fail_at_two" and self.sent == 3:
            raise KeyError("boom")
        return harness.Exchange([f"heard {text}"], "stand-in")

    async def restart(self) -> None:
        return None

    async def close(self) -> None:
        return None


async def test_a_session_that_raises_is_reported_with_its_turn_and_judged_on_what_is_stored() -> None:
    raw = _raw(FILES[0])
    failing = parse_session({**raw, "id": "fail_at_two"}, FILES[0].name)
    result = await harness.replay(failing, TODAY, driver=_Failing)
    assert result.error is not None and result.error["type"] == "KeyError" and result.error["turn"] == 2
    assert [turn.index for turn in result.turns] == [0, 1]
    figures = result.figures()
    assert figures["failed"] and figures["fields_expected"] == len(failing.leaves)
    assert figures["missing"] == figures["fields_expected"], "the stand-in stored nothing"
    fine = await harness.replay(parse_session(raw, FILES[0].name), TODAY, driver=_Failing)
    assert fine.error is None and len(fine.turns) == len(raw["turns"])
    assert fine.turns[3].replies == [f"heard {harness.render(raw['turns'][3], TODAY)}"]
    assert harness.totals([result, fine])["failed"] == 1
    assert "KeyError at turn 2" in harness.table([result, fine])
