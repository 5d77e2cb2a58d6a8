"""Recording a plan through the actions, against a store: the whole walk, stop and resume, asides, two editors."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from bot.core import dates
from bot.store.db import sessions
from bot.store.models import PlanStatus, SupportPlan
from tests.support.walk_chat import Chat

REVIEW = dates.today() + dt.timedelta(days=60)


def _pdf_text(html: str) -> str:
    """The text of the plan's PDF, without white space (table cells wrap)."""
    import io

    from pypdf import PdfReader

    from bot.documents.pdf import pdf_from_html

    reader = PdfReader(io.BytesIO(pdf_from_html(html)))
    return "".join("".join(page.extract_text().split()) for page in reader.pages)


def _plan(store: dict[str, Any], pupil: str) -> list[SupportPlan]:
    with sessions(store["url"])() as session:
        rows = (
            session.execute(
                select(SupportPlan).where(SupportPlan.pupil_id == store["ids"][pupil]).order_by(SupportPlan.version)
            )
            .scalars()
            .all()
        )
        for row in rows:
            list(row.targets)
        return rows


ANSWERS = [
    "SEN support",
    "Social, emotional and mental health",
    "no",
    "At the expected standard",
    "good",
    "Working towards in writing",
    "slowing this term",
    "Expected standard by July",
    "Check-in with a trusted adult daily",
    "Teacher observations and a Boxall profile",
    "none yet",
    "Sleeping badly since moving house",
    "Funny, loves football",
    "I go quiet and pull my hood up",
    "a quiet word, not in front of everyone",
    "Share worries at home",
    "Use my calm card",
    "Greet Finley at the door",
    "Joining in at playtime",
    "TA, lunchtime club, lunchtimes, twice a week",
    "Finley will join a group game for 10 minutes on 3 of 5 days by half term",
    "no",
    "Mrs Priya Ashdown",
    "today",
    dates.long_date(REVIEW),
]


async def test_the_summary_is_agreed_as_people_say_it_and_a_mixed_reply_is_asked_about(store: dict[str, Any]) -> None:
    chat = Chat(store, "senco-plan-ends")
    await chat.link(store["codes"].staff_code)
    await chat.start("new plan for Finley")
    for answer in ANSWERS:
        await chat.say(answer)
    replies = await chat.say("yes but change the review date")
    assert replies[-1].startswith("I'm not sure whether to save it yet. Shall I save it as Finley's plan?")
    (draft,) = _plan(store, "Finley Shaw")
    assert draft.status == PlanStatus.draft, "nothing is agreed on a mixed reply"
    replies = await chat.say("looks good, save it")
    assert chat.result == "agreed" and "version 1 is now Finley's agreed plan" in replies[0]


async def test_a_whole_new_plan_by_chat_then_agreed(store: dict[str, Any]) -> None:
    chat = Chat(store, "senco-plan")
    await chat.link(store["codes"].staff_code)
    opening = await chat.start("new plan for Finley")
    assert opening[0].startswith("Starting a new SEN Support Plan for Finley, in 14 sections.")
    assert opening[1].startswith("Section 1 of 14: Level of need.")
    assert chat.buttons == ["SEN support", "EHC plan", "Skip for now"]
    for answer in ANSWERS:
        replies = await chat.say(answer)
    assert replies[-1].endswith('Say "agree" to save it as the agreed plan, or "change ..." to change a section.')
    assert "• Strengths: Funny, loves football" in replies[-1]
    (draft,) = _plan(store, "Finley Shaw")
    assert draft.status == PlanStatus.draft and draft.review_date == REVIEW
    assert draft.targets[0].provision_how_often == "twice a week"
    replies = await chat.say("agree")
    assert chat.result == "agreed"
    assert "version 1 is now Finley's agreed plan" in replies[0]
    assert replies[1].startswith("The printable plan, to share with the parents: http://localhost:")
    from bot.web import server as web_server

    html = web_server.render(replies[1].split("/documents/")[1].split(".pdf")[0])
    assert "Finley Shaw" in html and "Funny, loves football" in html and "Parents were told of this plan on" in html
    text = _pdf_text(html)
    for answer in [
        *ANSWERS[3:21],
        "Mrs Priya Ashdown",
        dates.long_date(REVIEW),
        "☑ SEN Support",
        "☑ Social, Emotional",
    ]:
        if answer not in ("none yet", "no"):
            assert "".join(answer.split(",")[0].split()) in text, answer
    (agreed,) = _plan(store, "Finley Shaw")
    assert agreed.status == PlanStatus.agreed and agreed.parents_notified_on == dates.today()
    assert agreed.strengths == "Funny, loves football" and agreed.main_area_of_need.value == "semh"


async def test_stop_and_carry_on_from_another_channel(store: dict[str, Any]) -> None:
    web = Chat(store, "senco-web", "socketio")
    await web.link(store["codes"].staff_code)
    await web.start("new plan for Finley Shaw")
    for answer in ANSWERS[:5]:
        await web.say(answer)
    await web.say("skip")
    replies = await web.say("stop for now")
    assert web.result == "stopped" and "carry on with Finley's plan" in replies[0]

    from bot.store import demo

    with sessions(store["url"]).begin() as session:
        fresh = demo.codes(session, store["school"])
    phone = Chat(store, "4242", "telegram")
    await phone.link(fresh.staff_code)
    replies = await phone.start("carry on with Finley's plan", intent="resume_plan")
    assert replies[0].startswith("Carrying on with Finley's plan (version 1), where it was left.")
    assert replies[1].startswith("Section 4 of 14: Attainment and progress.\nWhat is Finley's current attainment?")
    (draft,) = _plan(store, "Finley Shaw")
    assert draft.previous_progress == "good" and draft.current_attainment is None


async def test_a_question_midway_is_answered_and_the_plan_carries_on(store: dict[str, Any]) -> None:
    chat = Chat(store, "senco-question")
    await chat.link(store["codes"].staff_code)
    await chat.start("new plan for Finley")
    await chat.say("SEN support")
    replies = await chat.say("what are the four broad areas of need?", "ask_four_areas_of_need", 0.95)
    assert "Source:" in replies[0] and replies[1] == "Now, back to the plan."
    assert replies[2].startswith("Section 2 of 14: Main area of need.")
    (draft,) = _plan(store, "Finley Shaw")
    assert draft.main_area_of_need is None, "the question was not taken as an answer"
    replies = await chat.say("my answer is semh", "ask_semh", 0.9)
    assert replies[0].startswith("Section 3 of 14"), "a statement is an answer even when it sounds like a topic"


async def test_updating_keeps_what_is_there_unless_changed(store: dict[str, Any]) -> None:
    chat = Chat(store, "senco-update")
    await chat.link(store["codes"].staff_code)
    replies = await chat.start("update Amy Carter's plan")
    assert replies[0].startswith("Updating Amy's plan: version 2")
    assert 'At the moment: "SEN support"' in replies[1] and "Keep" in chat.buttons
    await chat.say("keep")
    await chat.say("keep")
    await chat.say("keep")
    await chat.say("stop for now")
    plans = _plan(store, "Amy Carter")
    assert [(p.version, p.status) for p in plans] == [(1, PlanStatus.agreed), (2, PlanStatus.draft)]
    assert plans[1].strengths == plans[0].strengths and len(plans[1].targets) == 3


async def test_two_staff_on_one_draft_are_told_about_each_other(store: dict[str, Any]) -> None:
    from bot.store import accounts
    from bot.store.models import Staff

    first = Chat(store, "senco-a")
    await first.link(store["codes"].staff_code)
    await first.start("new plan for Finley")
    with sessions(store["url"]).begin() as session:
        teacher = session.execute(select(Staff.id).where(Staff.name == "Mr Tom Ellery")).scalar_one()
        teacher_code = accounts.issue_staff_code(session, teacher)
    second = Chat(store, "teacher-b", "telegram")
    assert "Mr Tom Ellery" in await second.link(teacher_code)
    await second.start("carry on with Finley's plan", intent="resume_plan")
    await second.say("EHC plan")
    replies = await first.say("SEN support")
    assert replies[0].startswith(
        'Mr Tom Ellery changed this answer a moment ago, to "EHC plan". I haven\'t overwritten it.'
    )
    (draft,) = _plan(store, "Finley Shaw")
    assert draft.level_of_need.value == "ehcp"
    await first.say("SEN support")
    (draft,) = _plan(store, "Finley Shaw")
    assert draft.level_of_need.value == "sen_support", "having been told, the user may replace it"


async def test_parents_and_other_schools_cannot_record(store: dict[str, Any]) -> None:
    parent = Chat(store, "parent-plan")
    await parent.link(store["codes"].parent_code)
    replies = await parent.start("new plan for Amy")
    assert replies[0].startswith("Recording SEN Support Plans is for school staff") and not parent.in_form
    other = Chat(store, "other-plan")
    await other.link(store["other_code"])
    replies = await other.start("update Amy Carter's plan")
    assert (
        replies[0] == "I couldn't find a pupil by that name at Harbour View Primary School. Please check the spelling."
    )
    stranger = Chat(store, "stranger-plan")
    replies = await stranger.start("new plan for Amy Carter")
    assert replies[0].startswith("Recording SEN Support Plans is for school staff who have linked this chat.")
    assert len(_plan(store, "Amy Carter")) == 1


async def test_walk_commands_are_never_taken_for_questions(store: dict[str, Any]) -> None:
    chat = Chat(store, "senco-commands")
    await chat.link(store["codes"].staff_code)
    await chat.start("new plan for Finley")
    await chat.say("SEN support")
    replies = await chat.say("where am I?", "ask_graduated_approach", 0.95)
    assert replies[0].startswith("Section 2 of 14: Main area of need.") and "Source:" not in " ".join(replies)


async def test_back_and_change_reopen_answers_in_the_store(store: dict[str, Any]) -> None:
    chat = Chat(store, "senco-back")
    await chat.link(store["codes"].staff_code)
    await chat.start("new plan for Finley")
    await chat.say("SEN support")
    assert (await chat.say("back"))[0].startswith("Section 1 of 14")
    assert (await chat.say("EHC plan"))[0].startswith("Section 2 of 14")
    await chat.say("medical")
    assert (await chat.say("change section 1"))[0].startswith("Section 1 of 14")
    assert (await chat.say("keep"))[0].startswith("Section 3 of 14")
    (draft,) = _plan(store, "Finley Shaw")
    assert draft.level_of_need.value == "ehcp" and draft.main_area_of_need.value == "medical"
