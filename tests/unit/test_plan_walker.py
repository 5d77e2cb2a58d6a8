"""The plan walk's logic: every section in order, commands, checks and follow-up questions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bot.core import dates, walker
from bot.core.plan_template import TOTAL_SECTIONS
from bot.core.smart import check_outcome, parse_provision

TODAY = dt.date(2026, 11, 23)  # a Monday


class Walk:
    """Plays the part of the chat and the store around the walker."""

    def __init__(self, state: dict[str, Any] | None = None, values: dict[str, Any] | None = None) -> None:
        self.state = state or {"answered": []}
        self.values: dict[str, Any] = dict(values or {})
        self.saved: list[tuple[dict[str, Any], Any]] = []

    def start(self) -> walker.Turn:
        return walker.ask(self.state, "Amy", self.values)

    def say(self, text: str, fields: list[dict[str, Any]] | None = None) -> walker.Turn:
        turn = walker.PLAN_WALK.handle(self.state, text, "Amy", self.values, TODAY, fields=fields)
        self.state = turn.state
        if turn.save:
            self.saved.append((turn.save, turn.target_position))
            for key, value in turn.save.items():
                self.values[key if turn.target_position is None else f"target.{turn.target_position}.{key}"] = value
        return turn

    @property
    def last_question(self) -> str:
        return walker.progress(self.state, "Amy")


WHOLE_PLAN = [
    ("SEN support", {"level_of_need": "sen_support"}),
    ("Cognition and learning", {"main_area_of_need": "cognition_learning"}),
    ("requested", {"cluster_funding": "requested"}),
    ("3/10/2026", {"cluster_funding_requested_on": dt.date(2026, 10, 3)}),
    ("Working towards in reading", {"previous_attainment": "Working towards in reading"}),
    ("slow", {"previous_progress": "slow"}),
    ("Year 1 level", {"current_attainment": "Year 1 level"}),
    ("steady since phonics began", {"current_progress": "steady since phonics began"}),
    ("Year 2 level by July", {"expected_attainment": "Year 2 level by July"}),
    ("Small-group phonics; overlays", {"interventions": "Small-group phonics; overlays"}),
    ("Phonics check and observations", {"how_needs_identified": "Phonics check and observations"}),
    ("Ed psych last spring", {"professionals_involved": "Ed psych last spring"}),
    ("Reads with mum every night", {"parent_new_information": "Reads with mum every night"}),
    ("Kind, loves drawing", {"strengths": "Kind, loves drawing"}),
    ("I go quiet", {"finding_things_hard_when": "I go quiet"}),
    ("being shown an example", {"how_i_like_support": "being shown an example"}),
    ("Read at home", {"parent_role": "Read at home"}),
    ("Use my overlay", {"child_role": "Use my overlay"}),
    ("Check understanding", {"class_teacher_role": "Check understanding"}),
    ("Blending sounds", {"difficulty": "Blending sounds"}),
    (
        "TA, phonics group, mornings, 3 times a week",
        {
            "provision_who": "TA",
            "provision_what": "phonics group",
            "provision_when": "mornings",
            "provision_how_often": "3 times a week",
        },
    ),
    (
        "Amy will read 40 of 50 Phase 5 words by the end of term",
        {"outcome": "Amy will read 40 of 50 Phase 5 words by the end of term"},
    ),
    ("no", None),
    ("Mrs Priya Ashdown", {"agreed_by_senco_name": "Mrs Priya Ashdown"}),
    ("today", {"agreed_on": TODAY}),
    ("14 January 2027", {"review_date": dt.date(2027, 1, 14)}),
]


def test_a_whole_plan_in_order_with_where_we_are() -> None:
    walk = Walk()
    first = walk.start()
    assert first.say == [
        f"Section 1 of {TOTAL_SECTIONS}: Level of need.\nIs Amy on SEN support, or does Amy have an EHC plan?"
    ]
    assert [b["title"] for b in first.buttons] == ["SEN support", "EHC plan", "Skip for now"]
    sections_seen = []
    for answer, expected in WHOLE_PLAN:
        turn = walk.say(answer)
        assert turn.save == (expected or {}), answer
        if turn.say:
            sections_seen.append(int(turn.say[-1].split()[1]))
    assert turn.finished == "ready"
    assert sections_seen == sorted(sections_seen) and sections_seen[-1] == TOTAL_SECTIONS
    assert walker.unanswered(walk.state) == []


def test_cluster_details_only_when_they_apply() -> None:
    walk = Walk()
    walk.say("EHCP")
    walk.say("SEMH")
    turn = walk.say("no")
    assert "previous attainment" in turn.say[-1]
    walk = Walk()
    walk.say("sen support"), walk.say("medical")
    assert "What is the cluster funding for" in walk.say("yes").say[-1]


def test_a_choice_with_more_in_it_fills_what_follows_from_it() -> None:
    walk = Walk()
    walk.say("sen support"), walk.say("medical")
    turn = walk.say("nope, still waiting to hear since we applied on the 2nd")
    assert turn.save == {"cluster_funding": "requested", "cluster_funding_requested_on": dt.date(2026, 11, 2)}
    assert 'for "When was the cluster funding requested?": Monday 2 November 2026.' in turn.say[0]
    assert turn.say[-1].startswith("Section 4 of 14"), "the date is not asked again"

    walk = Walk()
    walk.say("sen support"), walk.say("medical")
    turn = walk.say("yes, £3,000 a year towards 1:1 TA time")
    assert turn.save == {"cluster_funding": "yes", "cluster_funding_details": "£3,000 a year towards 1:1 TA time"}
    assert turn.say[-1].startswith("Section 4 of 14")


def test_a_choice_that_reads_two_ways_is_asked_about() -> None:
    walk = Walk()
    walk.say("sen support"), walk.say("medical")
    turn = walk.say("not yet, we applied")
    assert turn.say[0] == "I can read that two ways: did you mean No or Requested?" and not turn.save
    assert turn.say[-1].startswith("Section 3 of 14")


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("agree", True),
        ("that's right", True),
        ("looks good, save it", True),
        ("yes agree", True),
        ("ok go ahead", True),
        ("no, the strengths are wrong", False),
        ("change target 2", False),
        ("hmm", False),
        ("yes but change the review date", None),
        ("looks good but hang on", None),
    ],
)
def test_the_summary_is_agreed_the_way_people_say_it(typed: str, meant: bool | None) -> None:
    assert walker.agreement(typed) is meant


@pytest.mark.parametrize("typed", ["no more targets", "that's all", "looks good, save it", "that's everything"])
def test_ends_close_the_targets(typed: str) -> None:
    walk = _at_targets()
    for answer in ("TA, phonics group, mornings, 3 times a week", WHOLE_PLAN[21][0]):
        walk.say(answer)
    turn = walk.say(typed)
    assert turn.say[-1].startswith("Section 13 of 14"), turn.say
    assert walk.state.get("targets", 1) == 1


def test_yes_agree_while_asked_for_another_target_is_asked_about() -> None:
    walk = _at_targets()
    for answer in ("TA, phonics group, mornings, 3 times a week", WHOLE_PLAN[21][0]):
        walk.say(answer)
    turn = walk.say("yes agree")
    assert turn.say[0] == "I can read that two ways: did you mean Yes or No?"
    assert walk.state.get("targets", 1) == 1


def test_skip_back_change_keep_and_where_am_i() -> None:
    walk = Walk()
    walk.say("sen support")
    assert "Skipped for now" in walk.say("skip").say[0]
    assert walk.say("back").say[-1].startswith("Section 2 of 14: Main area of need.")
    walk.say("communication")
    walk.say("no")
    for answer in ("a", "b", "c", "d", "e", "f", "g", "h", "i", "Kind"):
        walk.say(answer)
    assert walk.values["professionals_involved"] == "h" and walk.values["strengths"] == "Kind"
    assert "Section 9 of 14" in walk.say("where am I?").say[0]
    turn = walk.say("change the strengths")
    assert turn.say[-1].startswith("Section 8 of 14: Strengths and what Amy likes doing.")
    walk.say("Great at maths")
    assert walk.values["strengths"] == "Great at maths"
    assert walk.say("where am i").say[0].startswith("Section 9 of 14"), "carries on where it was"
    turn = walk.say("change section 2")
    assert 'At the moment: "Communication and interaction"' in turn.say[-1]
    assert walk.say("keep").say[-1].startswith("Section 9 of 14")


def test_stop_and_resume_at_the_first_unanswered() -> None:
    walk = Walk()
    walk.say("sen support")
    walk.say("skip")
    walk.say("no")
    turn = walk.say("stop for now")
    assert turn.finished == "stopped" and "carry on with Amy's plan" in turn.say[0]
    again = Walk(walker.resume(walk.state), walk.values)
    assert again.start().say[0].startswith("Section 2 of 14: Main area of need.")


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ("banana", "Please choose one of: SEN support, EHC plan."),
        ("", "I didn't catch an answer there."),
    ],
)
def test_bad_choices_are_explained_and_asked_again(answer: str, problem: str) -> None:
    walk = Walk()
    turn = walk.say(answer)
    assert problem in turn.say[0] and turn.save == {}
    assert turn.say[-1].startswith("Section 1 of 14")


def _at_review_date() -> Walk:
    walk = Walk()
    for answer, _ in WHOLE_PLAN[:-1]:
        walk.say(answer)
    return walk


def test_review_dates_in_the_past_are_refused_and_far_ones_questioned() -> None:
    walk = _at_review_date()
    turn = walk.say("1/11/2026")
    assert "Sunday 1 November 2026 is in the past" in turn.say[0] and not turn.save
    turn = walk.say("the day after never")
    assert "couldn't read that as a date" in turn.say[0]
    turn = walk.say("30 June 2027")
    assert "more than about four months away" in turn.say[0] and not turn.save
    assert "The review can be on any date you agree (Code of Practice, paragraph 6.54)" in turn.say[0]
    assert "the Code expects schools to meet parents at least three times a year (paragraph 6.65)" in turn.say[0]
    turn = walk.say("no")
    assert turn.say[-1].startswith("Section 14 of 14")
    walk.say("30 June 2027")
    turn = walk.say("yes")
    assert turn.save == {"review_date": dt.date(2027, 6, 30)} and turn.finished == "ready"


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("31 April", "April has only 30 days, so there is no 31 April."),
        ("we're meeting on the 31st of June", "June has only 30 days, so there is no 31 June."),
        ("30/2", "February has only 29 days, so there is no 30 February."),
        ("29 February 2027", "2027 is not a leap year, so February 2027 has only 28 days."),
        ("14/13/2027", "There is no month 13"),
        ("0 May", "There is no day 0 in May."),
    ],
)
def test_a_date_that_cannot_exist_is_named_and_asked_again(typed: str, problem: str) -> None:
    walk = _at_review_date()
    turn = walk.say(typed)
    assert turn.say[0].startswith(problem) and "Please give the date again." in turn.say[0]
    assert not turn.save and turn.say[-1].startswith("Section 14 of 14")


@pytest.mark.parametrize("typed", ["30 April", "29 February 2028", "29/2", "April 30th", "31/12"])
def test_dates_that_exist_are_not_called_impossible(typed: str) -> None:
    assert dates.impossible_date(typed) is None


def test_next_tuesday_and_day_first_dates() -> None:
    walk = _at_review_date()
    assert walk.say("next Tuesday").save == {"review_date": dt.date(2026, 11, 24)}


def _at_targets() -> Walk:
    walk = Walk()
    for answer, _ in WHOLE_PLAN[:19]:
        walk.say(answer)
    assert walk.say("Blending sounds").save == {"difficulty": "Blending sounds"}
    return walk


def test_provision_without_who_or_how_often_is_asked_about() -> None:
    walk = _at_targets()
    turn = walk.say("precision teaching")
    assert turn.say == [walker.provision_question("who")] and not turn.save
    turn = walk.say("Mrs Khan, the TA")
    assert turn.say == [walker.provision_question("how often")]
    turn = walk.say("three times a week")
    assert turn.save == {
        "provision_who": "Mrs Khan, the TA",
        "provision_what": "precision teaching",
        "provision_when": None,
        "provision_how_often": "three times a week",
    }
    assert turn.target_position == 1


def test_vague_targets_get_a_suggested_rewrite() -> None:
    walk = _at_targets()
    walk.say("TA, phonics, mornings, daily")
    turn = walk.say("Ben will use his calm card when upset")
    assert "isn't yet time-bound" in turn.say[0] and not turn.save
    turn = walk.say("use the suggestion")
    assert turn.save == {"outcome": "By the next review, Ben will use his calm card when upset."}
    turn = walk.say("yes")
    assert turn.say[-1].startswith("Section 12 of 14: Targets.\nTarget 2:")
    walk.say("Number bonds")
    walk.say("class teacher, games, maths lessons, twice a week")
    turn = walk.say("improve her maths")
    assert "isn't yet measurable and time-bound" in turn.say[0]
    turn = walk.say("keep mine")
    assert turn.save == {"outcome": "improve her maths"} and turn.target_position == 2


def test_a_suggestion_with_a_gap_asks_for_the_measure() -> None:
    walk = _at_targets()
    walk.say("TA, phonics, mornings, daily")
    walk.say("improve reading")
    turn = walk.say("yes")
    assert "in place of the part in brackets" in turn.say[0] and not turn.save
    turn = walk.say("By the end of term Amy will read 30 of 50 words")
    assert turn.save == {"outcome": "By the end of term Amy will read 30 of 50 words"}


@pytest.mark.parametrize(
    ("outcome", "measurable", "time_bound"),
    [
        ("Amy will read 40 of 50 words by the end of term", True, True),
        ("improve her reading", False, False),
        ("be more confident", False, False),
        ("Ben will use his calm card when upset", True, False),
        ("to understand number bonds by Christmas", False, True),
        ("write a sentence with a full stop in 4 out of 5 pieces of writing by half term", True, True),
        ("sit with the group for 10 minutes within 6 weeks", True, True),
    ],
)
def test_smart_check(outcome: str, measurable: bool, time_bound: bool) -> None:
    check = check_outcome(outcome, "Amy", "Thursday 14 January 2027")
    assert (check.measurable, check.time_bound) == (measurable, time_bound)
    assert (check.suggestion is None) == (measurable and time_bound)


@pytest.mark.parametrize(
    ("text", "who", "what", "when", "how_often"),
    [
        ("TA, phonics group, mornings, 3 times a week", "TA", "phonics group", "mornings", "3 times a week"),
        ("small group phonics with the TA daily", "TA", "small group phonics", None, "daily"),
        ("precision teaching", None, "precision teaching", None, None),
        (
            "speech and language therapist, social skills group, twice a week",
            "speech and language therapist",
            "social skills group",
            None,
            "twice a week",
        ),
        ("Mrs Patel, reading, Mondays and Thursdays", "Mrs Patel", "reading", "Mondays", "Mondays and Thursdays"),
    ],
)
def test_provision_is_split(text: str, who: str, what: str, when: str, how_often: str) -> None:
    parsed = parse_provision(text)
    assert (parsed.who, parsed.what, parsed.when, parsed.how_often) == (who, what, when, how_often)


def test_a_sentence_with_a_name_and_a_date_fills_both() -> None:
    walk = _at_targets()
    for answer in ("TA, phonics group, mornings, 3 times a week", WHOLE_PLAN[21][0], "no"):
        walk.say(answer)
    turn = walk.say("Mr Patel signed it off on the 4th")
    assert turn.save == {"agreed_by_senco_name": "Mr Patel", "agreed_on": dt.date(2026, 11, 4)}
    assert 'for "On what date was the plan agreed?": Wednesday 4 November 2026.' in turn.say[0]
    assert turn.say[-1].startswith("Section 14 of 14"), "the date is not asked again"
    assert "On what date was the plan agreed?" in walk.say("back").say[-1], "and can be gone back to"


def _at(section_answers: int) -> Walk:
    walk = Walk()
    for answer, _ in WHOLE_PLAN[:section_answers]:
        walk.say(answer)
    return walk


def test_add_to_any_section_from_anywhere_appends_and_carries_on() -> None:
    walk = _at(9)  # asked about interventions (section 5)
    turn = walk.say("add to strengths: loves lego and drawing")
    assert turn.save == {"strengths": "loves lego and drawing"}
    assert turn.say[0] == 'Put "loves lego and drawing" under strengths.'
    assert turn.say[-1].startswith("Section 5 of 14"), "the question it was on is asked again"
    turn = walk.say("Add to the strengths: kind to younger children")
    assert turn.save == {"strengths": "loves lego and drawing; kind to younger children"}
    assert turn.say[0].startswith("Added to strengths. It now reads:")


def test_change_a_section_to_new_words_shows_the_old_and_replaces_it() -> None:
    walk = _at(len(WHOLE_PLAN) - 1)  # asked for the review date
    walk.values["target.1.provision"] = "TA, phonics group, mornings, 3 times a week"  # as the plan shows it
    turn = walk.say("change target 1's provision to SaLT, 1:1 sessions, afternoons, twice a week")
    assert turn.target_position == 1 and turn.save["provision_who"] == "SaLT"
    assert turn.save["provision_how_often"] == "twice a week"
    assert turn.say[0].startswith('Changed target 1\'s provision from "TA, phonics group, mornings, 3 times a week"')
    assert turn.say[-1].startswith("Section 14 of 14")
    turn = walk.say("change the area of need to SEMH")
    assert turn.save == {"main_area_of_need": "semh"} and turn.say[-1].startswith("Section 14 of 14")


def test_a_correction_typed_while_a_follow_up_is_open_goes_where_it_belongs() -> None:
    walk = _at_targets()
    assert walk.say("precision teaching").say == [walker.provision_question("who")]
    turn = walk.say("change cluster funding to yes")
    assert turn.save == {"cluster_funding": "yes"}
    assert turn.say[-1] == walker.provision_question("who"), "the follow-up is asked again"
    assert walk.say("Mrs Khan, the TA").say == [walker.provision_question("how often")]
    turn = walk.say("three times a week")
    assert turn.save["provision_who"] == "Mrs Khan, the TA" and turn.save["provision_how_often"] == "three times a week"
    assert "What is the cluster funding for" in turn.say[-1], "then the question the change opened"


def test_whats_left_lists_the_sections_still_to_answer_and_asks_again() -> None:
    walk = _at(9)
    walk.say("skip – will ask the class teacher")
    turn = walk.say("what's left?")
    assert turn.say[0].startswith("Still to answer: 16 questions, in Current interventions and adjustments;")
    assert "Targets (target 1)" in turn.say[0] and not turn.save
    assert turn.say[-1].startswith("Section 6 of 14"), "the question it was on"


@pytest.mark.parametrize(
    "typed", ["skip - will ask her at lunch", "dont know yet, skip", "skip for now, mum to confirm"]
)
def test_skip_with_a_reason_is_still_a_skip(typed: str) -> None:
    walk = _at(9)
    turn = walk.say(typed)
    assert not turn.save and turn.say[0].startswith("Skipped for now")


def _read_as(*parts: tuple[str, list[tuple[str, float]]]) -> list[dict[str, Any]]:
    """A message's parts as the field reader gives them: each with its likeliest plan steps."""
    return [{"text": words, "plan": [[step, chance] for step, chance in steps]} for words, steps in parts]


def test_one_message_that_answers_several_questions_fills_them_all_and_says_where() -> None:
    walk = _at(4)  # asked for previous attainment
    fields = _read_as(
        ("end of Y2 WTS in reading,", [("previous_attainment", 0.71), ("current_attainment", 0.2)]),
        ("now working at ARE", [("current_attainment", 0.83), ("previous_attainment", 0.09)]),
        ("aiming for GDS by July", [("expected_attainment", 0.9), ("current_attainment", 0.05)]),
    )
    turn = walk.say("end of Y2 WTS in reading, now working at ARE, aiming for GDS by July", fields)
    assert turn.save == {
        "previous_attainment": "end of Y2 WTS in reading,",
        "current_attainment": "now working at ARE",
        "expected_attainment": "aiming for GDS by July",
    }
    assert turn.say[0].startswith(
        'Put under previous attainment, current attainment and expected attainment. (Say "undo"'
    )
    assert turn.say[-1].startswith("Section 4 of 14") and "previous progress" in turn.say[-1]


def test_an_answer_for_another_section_is_filed_there_said_and_the_question_asked_again() -> None:
    walk = _at(9)  # asked about interventions
    news = "mum says he's sleeping much better since the new routine"
    turn = walk.say(news, _read_as((news, [("parent_new_information", 0.82), ("interventions", 0.04)])))
    assert turn.save == {"parent_new_information": news}
    assert turn.say[0].startswith("That sounds like new information from parents, so I've put it there")
    assert turn.say[-1].startswith("Section 5 of 14"), "the question asked, again"
    turn = walk.say("undo")
    assert turn.save == {"parent_new_information": None} and turn.say[0].startswith("Done: I've taken that back.")
    assert "parent_new_information" not in walk.state["answered"]
    assert turn.say[-1].startswith("Section 5 of 14")


@pytest.mark.parametrize(
    "steps",
    [
        [("strengths", 0.41), ("interventions", 0.1)],  # not sure enough of the other section
        [("strengths", 0.6), ("interventions", 0.2)],  # the section asked is likely too
    ],
)
def test_an_answer_that_may_belong_to_the_question_asked_stays_there(steps: list[tuple[str, float]]) -> None:
    walk = _at(9)
    turn = walk.say("lego club at lunchtime", _read_as(("lego club at lunchtime", steps)))
    assert turn.save == {"interventions": "lego club at lunchtime"}


def test_a_part_for_a_section_already_answered_is_added_to_it() -> None:
    walk = _at(14)  # strengths answered ("Kind, loves drawing"), asked "you'll know I'm finding things hard when"
    fields = _read_as(
        ("i go quiet and put my head down.", [("finding_things_hard_when", 0.8)]),
        ("also brilliant at football", [("strengths", 0.77), ("finding_things_hard_when", 0.02)]),
    )
    turn = walk.say("i go quiet and put my head down. also brilliant at football", fields)
    assert turn.save == {
        "finding_things_hard_when": "i go quiet and put my head down.",
        "strengths": "Kind, loves drawing; also brilliant at football",
    }


def test_a_one_part_answer_is_never_moved_to_a_neighbouring_question_of_its_section() -> None:
    walk = _at(4)  # asked for previous attainment: current and expected attainment read alike
    words = "At the expected standard in all subjects"
    turn = walk.say(words, _read_as((words, [("expected_attainment", 0.8), ("previous_attainment", 0.05)])))
    assert turn.save == {"previous_attainment": words}
