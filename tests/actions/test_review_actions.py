"""Capturing review meetings through the actions, against a store, and what parents are told afterwards."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import reviews as review_actions
from bot.core import dates
from bot.store import accounts, demo
from bot.store.db import sessions
from bot.store.models import (
    AuditEvent,
    PlanStatus,
    Review,
    ReviewEdit,
    ReviewStatus,
    Staff,
    SupportPlan,
    Target,
    TargetProgress,
)
from tests.conftest import make_tracker
from tests.support.walk_chat import REVIEW, Chat

NEXT = dates.today() + dt.timedelta(weeks=11)
AMY_REVIEW = [
    "today",
    "Sarah Carter (mum), Mr Ellery, Mrs Ashdown and Amy",
    "some progress",
    "Reads 31 of 50 Phase 5 words",
    "carry on",
    "not achieved",
    "Recalls 8 of 20 bonds",
    "different provision",
    "TA, number bond games, mornings, daily",
    "achieved",
    "Uses her help card in most lessons",
    "carry on",
    "Pleased with reading, worried about maths homework",
    "I like the reading games but maths is hard",
    "Amy is sleeping better since a new bedtime routine",
    "yes",
    "Telling the time",
    "Class teacher, clock practice, maths lessons, twice a week",
    "Amy will tell the time to the half hour on 4 of 5 tries by the next review",
    "no",
    "Carry on with SEN support",
    dates.long_date(NEXT),
]


def _reviews(store: dict[str, Any], pupil: str) -> list[Review]:
    with sessions(store["url"])() as session:
        rows = (
            session.execute(
                select(Review).where(Review.pupil_id == store["ids"][pupil]).order_by(Review.scheduled_for, Review.id)
            )
            .scalars()
            .all()
        )
        for row in rows:
            list(row.targets), list(row.notes)
        return rows


async def _ask(action: Any, store: dict[str, Any], sender: str, text: str, intent: str) -> list[str]:
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, make_tracker(intent, text, sender_id=sender, channel="rest"), {})
    return [m["text"] for m in dispatcher.messages]


async def test_a_review_captured_by_chat_with_notes_then_told_to_the_parent(store: dict[str, Any]) -> None:
    chat = Chat(store, "senco-review", form=REVIEW)
    await chat.link(store["codes"].staff_code)
    booked = _reviews(store, "Amy Carter")[1].scheduled_for
    replies = await chat.start("start Amy Carter's review")
    assert replies[0].startswith(
        f"Starting Amy's review (booked for {dates.long_date(booked)}), in 8 sections, "
        "looking back on the 3 targets of the current plan."
    )
    assert replies[1].startswith("Section 1 of 8: The meeting.")
    for answer in AMY_REVIEW[:4]:
        await chat.say(answer)
    replies = await chat.say("note: mum says sleep has improved")
    assert replies[0] == 'Noted on Amy\'s review: "mum says sleep has improved"'
    assert replies[1].startswith("Section 2 of 8: How the targets went.\nWhat next for this target?")
    replies = await chat.say("how often should the school meet with us?", "ask_meetings_per_year", 0.95)
    assert "Source:" in replies[0] and replies[1] == "Now, back to the review."
    for answer in AMY_REVIEW[4:]:
        replies = await chat.say(answer)
    assert replies[-1].startswith("Here is Amy's review:")
    assert (
        '• Target 2 "By the next review Amy will recall 15 of 20 number bonds within 5 seconds each.": '
        "Not achieved; next: different provision" in replies[-1]
    )
    assert "Achieved; next: carry on\n" in replies[-1], "a target's next step is not the review's decision"
    assert f"• Next review: {dates.long_date(NEXT)}" in replies[-1] and "• Notes: 1" in replies[-1]
    replies = await chat.say("confirm")
    assert chat.result == "agreed"
    assert replies[0].startswith(f"Saved: Amy's review of {dates.long_date(dates.today())} is recorded as held")
    assert f"The next review is booked for {dates.long_date(NEXT)}." in replies[0]
    assert 'say "update Amy\'s plan"' in replies[0]

    held, *later = [r for r in _reviews(store, "Amy Carter") if r.scheduled_for >= booked]
    assert held.status == ReviewStatus.held and held.held_on == dates.today() and held.draft_state is None
    assert held.new_information == "Amy is sleeping better since a new bedtime routine"
    assert [n.text for n in held.notes] == ["mum says sleep has improved"]
    assert [(r.scheduled_for, r.status) for r in later] == [(NEXT, ReviewStatus.booked)]
    with sessions(store["url"])() as session:
        targets = (
            session.execute(
                select(Target)
                .join(SupportPlan)
                .where(SupportPlan.pupil_id == store["ids"]["Amy Carter"], SupportPlan.status == PlanStatus.agreed)
                .order_by(Target.position)
            )
            .scalars()
            .all()
        )
        assert [t.progress for t in targets] == [
            TargetProgress.progress,
            TargetProgress.not_achieved,
            TargetProgress.achieved,
        ]
        assert (
            targets[1].next_steps == "Keep the target with different support: TA, number bond games, mornings, daily."
        )
        edits = session.execute(select(ReviewEdit).where(ReviewEdit.review_id == held.id)).scalars().all()
        assert len(edits) >= 20 and {e.channel for e in edits} == {"rest"}
        actions = set(session.execute(select(AuditEvent.action).where(AuditEvent.pupil_id == held.pupil_id)).scalars())
        assert {"open_review", "edit_review", "note_review", "complete_review"} <= actions

    parent = "parent-after-review"
    await Chat(store, parent).link(store["codes"].parent_code)
    told = "\n".join(
        await _ask(
            review_actions.ActionLastReview(), store, parent, "how did the last review go?", "lookup_last_review"
        )
    )
    assert told.startswith(f"Amy's last review was on {dates.long_date(dates.today())}, with Sarah Carter (mum)")
    assert '• "By the end of term Amy will read 40 of the 50 Phase 5 words correctly.": some progress (Reads 31' in told
    assert "Amy carries on with SEN support" in told and f"booked for {dates.long_date(NEXT)}" in told
    assert "SEND Code of Practice" in told and "Norfolk SENDIASS" in told
    nxt = "\n".join(
        await _ask(review_actions.ActionNextSteps(), store, parent, "what happens next?", "lookup_next_steps")
    )
    assert "Keep the target with different support: TA, number bond games, mornings, daily." in nxt
    assert "• A new target: Amy will tell the time to the half hour" in nxt

    update = Chat(store, "senco-review")
    replies = await update.start("update Amy Carter's plan")
    with sessions(store["url"])() as session:
        draft = session.execute(
            select(SupportPlan).where(
                SupportPlan.pupil_id == store["ids"]["Amy Carter"], SupportPlan.status == PlanStatus.draft
            )
        ).scalar_one()
        assert [t.difficulty for t in draft.targets][-1] == "Telling the time"
        assert draft.targets[1].provision_how_often == "daily"


async def test_stop_and_carry_on_from_another_channel_with_a_note_in_between(store: dict[str, Any]) -> None:
    web = Chat(store, "senco-review-web", "socketio", form=REVIEW)
    await web.link(store["codes"].staff_code)
    await web.start("start Ben's review")
    await web.say("today")
    await web.say("skip")
    replies = await web.say("stop for now")
    assert web.result == "stopped" and "carry on with Ben's review" in replies[0]
    noted = await _ask(
        review_actions.ActionReviewNote(), store, "senco-review-web", "note: dad starts night shifts", "add_review_note"
    )
    assert noted[0].startswith("Notes on review meetings are for school staff who have linked this chat"), (
        "the same sender on another channel is another chat user, not linked"
    )
    with sessions(store["url"]).begin() as session:
        fresh = demo.codes(session, store["school"])
    phone = Chat(store, "5151", "telegram", form=REVIEW)
    await phone.link(fresh.staff_code)
    dispatcher = CollectingDispatcher()
    await review_actions.ActionReviewNote().run(
        dispatcher,
        make_tracker(
            "add_review_note", "add a note that dad starts night shifts", sender_id="5151", channel="telegram"
        ),
        {},
    )
    assert dispatcher.messages[0]["text"] == 'Noted on Ben\'s review: "dad starts night shifts"'
    replies = await phone.start("carry on with Ben's review")
    assert replies[0].startswith("Carrying on with Ben's review, where it was left.")
    assert replies[1].startswith("Section 1 of 8: The meeting.\nWho is at the meeting"), "skipped questions come back"
    (review,) = [r for r in _reviews(store, "Ben Okafor")]
    assert review.status == ReviewStatus.in_progress and review.held_on == dates.today()
    assert [n.text for n in review.notes] == ["dad starts night shifts"]


async def test_a_note_with_no_review_open_is_not_lost_silently(store: dict[str, Any]) -> None:
    chat = Chat(store, "senco-no-review")
    await chat.link(store["codes"].staff_code)
    replies = await _ask(
        review_actions.ActionReviewNote(), store, "senco-no-review", "note: mum phoned", "add_review_note"
    )
    assert replies[0].startswith(
        "There's no review meeting in progress for you to add that note to, so I haven't saved it."
    )


async def test_parents_other_schools_and_strangers_cannot_capture_reviews(store: dict[str, Any]) -> None:
    parent = Chat(store, "parent-review", form=REVIEW)
    await parent.link(store["codes"].parent_code)
    replies = await parent.start("start Amy's review")
    assert replies[0].startswith("Capturing review meetings is for school staff") and not parent.in_form
    other = Chat(store, "other-review", form=REVIEW)
    await other.link(store["other_code"])
    replies = await other.start("start Amy Carter's review")
    assert (
        replies[0] == "I couldn't find a pupil by that name at Harbour View Primary School. Please check the spelling."
    )
    stranger = Chat(store, "stranger-review", form=REVIEW)
    replies = await stranger.start("start Amy Carter's review")
    assert replies[0].startswith("Capturing review meetings is for school staff who have linked this chat.")
    assert all(r.status != ReviewStatus.in_progress for r in _reviews(store, "Amy Carter"))
    told = await _ask(
        review_actions.ActionLastReview(),
        store,
        "stranger-review",
        "how did Amy Carter's review go",
        "lookup_last_review",
    )
    assert "linked this chat" in told[0] and "Amy" not in told[0]
    general = await _ask(
        review_actions.ActionNextSteps(), store, "stranger-review", "what happens next?", "lookup_next_steps"
    )
    assert "Source:" in general[0] and "access code" in general[0]


async def test_two_staff_in_one_review_and_an_assessment_outcome(store: dict[str, Any]) -> None:
    first = Chat(store, "senco-two", form=REVIEW)
    await first.link(store["codes"].staff_code)
    await first.start("start Chloe Hartley's review")
    with sessions(store["url"]).begin() as session:
        teacher = session.execute(select(Staff.id).where(Staff.name == "Mr Tom Ellery")).scalar_one()
        teacher_code = accounts.issue_staff_code(session, teacher)
    second = Chat(store, "teacher-two", "telegram", form=REVIEW)
    await second.link(teacher_code)
    replies = await second.start("carry on with Chloe's review")
    assert replies[0].startswith("Carrying on with Chloe's review")
    await second.say("21/11/2026" if dates.today() >= dt.date(2026, 11, 21) else "today")
    replies = await first.say("today")
    assert replies[0].startswith("Mr Tom Ellery changed this answer a moment ago")
    await first.say("today")
    for answer in [
        "Mum, class teacher, SENCO",
        "Worried she is falling further behind",
        "Writing hurts my hand",
        "OT appointment next month",
        "no",
        "consider an EHC needs assessment",
        dates.long_date(NEXT),
    ]:
        replies = await first.say(answer)
    assert "• Outcome: Consider an EHC needs assessment" in replies[-1]
    replies = await first.say("confirm")
    assert 'say "evidence summary for Chloe"' in replies[0]
    parent_view = review_actions.outcome_words("Chloe", _reviews(store, "Chloe Hartley")[-2], NEXT)
    assert "consider asking the council for an EHC needs assessment" in parent_view[0]
    assert "Children and Families Act 2014" in parent_view[1]
    unbooked = review_actions.outcome_words("Chloe", _reviews(store, "Chloe Hartley")[-2], None)
    assert unbooked[0].endswith(
        "No date is booked for the next review yet. A review happens on the date agreed in the plan, and schools "
        "should also meet parents at least three times a year."
    )


async def test_evidence_summary_by_chat_for_a_pupil_with_three_cycles(store: dict[str, Any]) -> None:
    from bot.web import server as web_server

    senco = "senco-evidence"
    await Chat(store, senco).link(store["codes"].staff_code)
    replies = await _ask(
        review_actions.ActionEvidenceSummary(), store, senco, "evidence summary for Oscar", "evidence_summary"
    )
    assert replies[0].startswith("Here is the evidence summary for Oscar: every cycle of assess, plan, do and review")
    token = replies[0].split("/documents/")[1].split(".pdf")[0]
    html = web_server.render(token)
    assert "Oscar Bellamy" in html and html.count("Cycle 3") >= 1 and "s36(8)" in html

    parent = "parent-evidence"
    await Chat(store, parent).link(store["codes"].parent_code)
    refused = await _ask(
        review_actions.ActionEvidenceSummary(), store, parent, "evidence summary for Oscar Bellamy", "evidence_summary"
    )
    assert refused[0].startswith("Sorry, I can only share the records of the child your access code is for (Amy)")
    own = await _ask(
        review_actions.ActionEvidenceSummary(),
        store,
        parent,
        "the evidence summary for my daughter please",
        "evidence_summary",
    )
    assert own[0].startswith("Here is the evidence summary for Amy")
