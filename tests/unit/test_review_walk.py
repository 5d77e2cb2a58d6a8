"""The review meeting's walk: every section in order, what depends on earlier answers, and the checks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.core import dates
from bot.core.review_template import REVIEW_WALK, TOTAL_SECTIONS, review_sequence
from bot.core.walker import Turn

TODAY = dt.date(2026, 11, 23)
TARGETS = {
    "reviewed.1.outcome": "Amy will read 40 of the 50 Phase 5 words by the end of term.",
    "reviewed.2.outcome": "Amy will recall 15 of 20 number bonds within 5 seconds each.",
}


class Meeting:
    """Plays the chat and the store around the review walk."""

    def __init__(self, targets: int = 2) -> None:
        self.state: dict[str, Any] = {"answered": [], "reviewed": targets}
        self.values: dict[str, Any] = {k: v for k, v in TARGETS.items() if int(k.split(".")[1]) <= targets}
        self.saved: list[tuple[str | None, int | None, dict[str, Any]]] = []

    def start(self) -> Turn:
        return REVIEW_WALK.ask(self.state, "Amy", self.values)

    def say(self, text: str) -> Turn:
        turn = REVIEW_WALK.handle(self.state, text, "Amy", self.values, TODAY)
        self.state = turn.state
        if turn.save:
            self.saved.append((turn.group, turn.target_position, turn.save))
            for key, value in turn.save.items():
                self.values[key if turn.group is None else f"{turn.group}.{turn.target_position}.{key}"] = value
        return turn

    def fields(self) -> dict[tuple[str | None, int | None], dict[str, Any]]:
        merged: dict[tuple[str | None, int | None], dict[str, Any]] = {}
        for group, position, save in self.saved:
            merged.setdefault((group, position), {}).update(save)
        return merged


def test_a_whole_review_in_order() -> None:
    meeting = Meeting()
    first = meeting.start()
    assert first.say[0].startswith(f"Section 1 of {TOTAL_SECTIONS}: The meeting.")
    assert meeting.say("today").asked == "attendees"
    turn = meeting.say("Mum, Mr Ellery, Mrs Ashdown and Amy")
    assert turn.asked == "reviewed.1.achieved"
    assert 'Target 1: "Amy will read 40 of the 50 Phase 5 words by the end of term."' in turn.say[-1]
    assert [b["title"] for b in turn.buttons][:3] == ["Achieved", "Some progress", "Not achieved"]
    meeting.say("some progress")
    meeting.say("Reads 31 of 50 words on the termly check")
    assert meeting.say("carry on").asked == "reviewed.2.achieved"
    meeting.say("not achieved")
    meeting.say("Recalls 8 of 20")
    turn = meeting.say("different provision")
    assert turn.asked == "reviewed.2.provision"
    turn = meeting.say("TA, number bond games, mornings, daily")
    assert turn.asked == "parent_views"
    assert turn.say[-1].startswith("Section 3 of 8: The parents' views.")
    meeting.say("Mum is pleased with reading, worried about maths")
    assert meeting.say("I like the reading games").asked == "new_information"
    meeting.say("Sleeping better since the new routine")
    turn = meeting.say("yes")
    assert turn.asked == "new.1.difficulty"
    meeting.say("Telling the time")
    meeting.say("Class teacher, clock practice, maths lessons, twice a week")
    turn = meeting.say("Amy will tell the time to the half hour on 4 of 5 tries by the next review")
    assert turn.asked == "new.1.more"
    turn = meeting.say("no")
    assert turn.asked == "decision"
    assert "Consider an EHC needs assessment" in [b["title"] for b in turn.buttons]
    turn = meeting.say("carry on with SEN support")
    assert turn.asked == "next_review_date"
    turn = meeting.say(dates.long_date(TODAY + dt.timedelta(weeks=10)))
    assert turn.finished == "ready"

    fields = meeting.fields()
    assert fields[(None, None)] == {
        "held_on": TODAY,
        "attendees": "Mum, Mr Ellery, Mrs Ashdown and Amy",
        "parent_views": "Mum is pleased with reading, worried about maths",
        "pupil_views": "I like the reading games",
        "new_information": "Sleeping better since the new routine",
        "decision": "carry_on",
        "next_review_date": TODAY + dt.timedelta(weeks=10),
    }
    assert fields[("reviewed", 1)] == {
        "achieved": "progress",
        "evidence": "Reads 31 of 50 words on the termly check",
        "next_step": "carry_on",
    }
    assert fields[("reviewed", 2)]["next_step"] == "different_provision"
    assert fields[("reviewed", 2)]["provision_who"] == "TA"
    assert fields[("reviewed", 2)]["provision_how_often"] == "daily"
    assert fields[("new", 1)]["difficulty"] == "Telling the time"
    assert fields[("new", 1)]["outcome"].startswith("Amy will tell the time")
    assert "new_targets" not in fields[(None, None)]


def test_no_new_targets_and_no_longer_needed_skip_their_questions() -> None:
    state = {"answered": [], "reviewed": 1, "choices": {"new_targets": "no", "decision": "no_longer_needed"}}
    ids = review_sequence(state)
    assert not any(step_id.startswith("new.") for step_id in ids)
    assert "next_review_date" not in ids
    assert ids[-1] == "decision"
    state["choices"]["decision"] = "consider_ehc_assessment"
    assert review_sequence(state)[-1] == "next_review_date"


def test_a_pupil_with_no_plan_targets_goes_straight_to_views() -> None:
    meeting = Meeting(targets=0)
    meeting.start()
    meeting.say("today")
    assert meeting.say("Dad and the SENCO").asked == "parent_views"


def test_meeting_dates_and_next_review_dates_are_checked() -> None:
    meeting = Meeting()
    meeting.start()
    turn = meeting.say(dates.long_date(TODAY + dt.timedelta(days=3)))
    assert "is in the future" in turn.say[0] and turn.asked == "held_on" and not meeting.saved
    meeting.say("not a date at all")
    assert meeting.state["answered"] == []
    meeting.say("20/11/2026")
    assert meeting.values["held_on"] == dt.date(2026, 11, 20)

    meeting.state["answered"] = [
        s
        for s in review_sequence({**meeting.state, "choices": {"new_targets": "no"}})
        if s not in ("next_review_date", "decision")
    ]
    meeting.state["choices"] = {"new_targets": "no", "decision": "carry_on"}
    meeting.state["answered"].append("decision")
    asked = REVIEW_WALK.ask(meeting.state, "Amy", meeting.values)
    assert asked.asked == "next_review_date"
    suggested = dates.today() + dt.timedelta(weeks=12)
    assert {"title": dates.long_date(suggested), "payload": suggested.strftime("%d/%m/%Y")} in asked.buttons
    turn = meeting.say("1/9/2026")
    assert "is in the past" in turn.say[0]
    turn = meeting.say(dates.long_date(TODAY + dt.timedelta(days=200)))
    assert "more than about four months away" in turn.say[0]
    assert "the Code expects schools to meet parents at least three times a year (paragraph 6.65)" in turn.say[0]
    assert "next_review_date" not in meeting.values
    turn = meeting.say("yes")
    assert meeting.values["next_review_date"] == TODAY + dt.timedelta(days=200)
    assert turn.finished == "ready"


def test_new_targets_are_smart_checked_as_in_plans() -> None:
    meeting = Meeting(targets=0)
    meeting.state["answered"] = ["held_on", "attendees", "parent_views", "pupil_views", "new_information"]
    meeting.say("yes")
    meeting.say("Making friends")
    meeting.say("TA, lunchtime club, lunchtimes, twice a week")
    turn = meeting.say("Amy will be happier at lunchtime")
    assert "isn't yet measurable" in turn.say[0]
    assert not any(group == "new" and "outcome" in save for group, _, save in meeting.saved)
    meeting.say("keep mine")
    assert meeting.values["new.1.outcome"] == "Amy will be happier at lunchtime"


def test_commands_work_in_reviews() -> None:
    meeting = Meeting()
    meeting.start()
    meeting.say("today")
    meeting.say("Mum and the SENCO")
    turn = meeting.say("where am I")
    assert turn.say[0].startswith("Section 2 of 8: How the targets went.")
    turn = meeting.say("change the attendees")
    assert turn.asked == "attendees" and 'At the moment: "Mum and the SENCO"' in turn.say[-1]
    assert meeting.say("keep").asked == "reviewed.1.achieved"
    meeting.say("achieved")
    meeting.say("Reads 44 of 50")
    meeting.say("new target")
    turn = meeting.say("change target 1")
    assert turn.asked == "reviewed.1.achieved"
    assert 'At the moment: "Achieved"' in turn.say[-1]
    turn = meeting.say("skip")
    assert turn.asked == "reviewed.2.achieved"
    turn = meeting.say("stop for now")
    assert turn.finished == "stopped"
    assert "carry on with Amy's review" in turn.say[0]
