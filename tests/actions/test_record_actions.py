"""The look-up and linking actions against a seeded demo store, including access attacks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from rasa_sdk import Action
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import agenda, linking, lookups, support
from actions.conversation import ActionShowMenu
from actions.faq import ActionAnswerQuestion, ActionTellMore
from actions.plans import ActionStartPlan
from actions.reviews import ActionReviewNote, ActionStartReview
from bot.core import dates
from bot.store.db import sessions
from bot.store.models import AuditEvent
from tests.conftest import make_tracker

TODAY = dates.today()


async def _say(
    action: Action,
    text: str,
    sender: str,
    intent: str | None = None,
    channel: str = "rest",
    entities: dict[str, str] | None = None,
    slots: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(intent=intent, text=text, sender_id=sender, channel=channel, entities=entities, slots=slots)
    events = await action.run(dispatcher, tracker, {})
    return dispatcher.messages, events


async def _link(store: dict[str, Any], code: str, sender: str, channel: str = "rest") -> str:
    messages, _ = await _say(linking.ActionLinkAccount(), f"my code is {code}", sender, "link_account", channel)
    return messages[0]["text"]


def _audit(store: dict[str, Any]) -> list[AuditEvent]:
    with sessions(store["url"])() as session:
        return session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().all()


async def test_senco_links_and_sees_overdue_and_flagged_reviews(store: dict[str, Any]) -> None:
    reply = await _link(store, store["codes"].staff_code, "senco-1")
    assert "linked as Mrs Priya Ashdown (SENCO) at Brambleway Primary School" in reply
    messages, _ = await _say(
        agenda.ActionReviewsDue(), "which reviews are overdue?", "senco-1", "lookup_overdue_reviews"
    )
    text = messages[0]["text"]
    overdue_block, due_block, flagged_block = text.split("\n\n")
    ben_due = TODAY - dt.timedelta(days=12)
    assert overdue_block.startswith("Overdue reviews")
    assert f"Ben Okafor (Year 4): was due {dates.long_date(ben_due)} (12 days ago)" in overdue_block
    assert "Amy Carter (Year 3)" in due_block and "Ellie Nowak (Year 1)" in due_block and "Ben" not in due_block
    assert "Chloe Hartley (Year 2): no review booked" in flagged_block
    assert "Daniel Price (Year 6): next review" in flagged_block
    assert (
        "a review is due on the date agreed in the plan (Code of Practice, paragraph 6.54) and schools should meet "
        "parents at least three times a year (paragraph 6.65), so more than about four months between reviews "
        "probably means a meeting with parents is missing"
    ) in flagged_block
    assert "Grace" not in text and "Finley" not in text


async def test_reviews_due_window_comes_from_the_question(store: dict[str, Any]) -> None:
    await _link(store, store["codes"].staff_code, "senco-2")
    messages, _ = await _say(agenda.ActionReviewsDue(), "reviews due in the next week", "senco-2", "lookup_reviews_due")
    assert messages[0]["text"].startswith("No reviews are due at Brambleway Primary School in the next 7 days.")
    messages, _ = await _say(agenda.ActionReviewsDue(), "reviews in the next 2 months", "senco-2", "lookup_reviews_due")
    assert "in the next 60 days" in messages[0]["text"] and "Amy Fenwick" in messages[0]["text"]


async def test_two_amys_get_a_question_back_then_the_answer(store: dict[str, Any]) -> None:
    await _link(store, store["codes"].staff_code, "senco-3")
    action = lookups.ActionNextReview()
    messages, events = await _say(action, "when is Amy's next review?", "senco-3", "lookup_next_review")
    assert messages[0]["text"].startswith("I found more than one pupil")
    titles = [button["title"] for button in messages[0]["buttons"]]
    assert titles == ["Amy Carter (Year 3)", "Amy Fenwick (Year 5)"]
    payload = messages[0]["buttons"][0]["payload"]
    assert payload == f'/lookup_next_review{{"pupil_id": "{store["ids"]["Amy Carter"]}"}}'
    messages, events = await _say(
        action, payload, "senco-3", "lookup_next_review", entities={"pupil_id": str(store["ids"]["Amy Carter"])}
    )
    due = TODAY + dt.timedelta(days=10)
    assert messages[0]["text"].startswith(f"Amy Carter's next review is on {dates.long_date(due)} (in 10 days).")
    assert {"event": "slot", "timestamp": None, "name": "pupil_ref", "value": str(store["ids"]["Amy Carter"])} in events


async def test_follow_up_question_uses_the_pupil_just_discussed(store: dict[str, Any]) -> None:
    await _link(store, store["codes"].staff_code, "senco-4")
    amy = str(store["ids"]["Amy Carter"])
    messages, _ = await _say(
        lookups.ActionPupilTargets(),
        "and her targets?",
        "senco-4",
        "lookup_pupil_targets",
        slots={"pupil_ref": amy},
    )
    text = messages[0]["text"]
    assert text.startswith("Amy's targets")
    assert "1. By the end of term Amy will read 40 of the 50 Phase 5 words correctly." in text
    assert "Progress: some progress (Reads 28 of 50 words)." in text


async def test_staff_are_told_when_the_code_timing_is_not_met(store: dict[str, Any]) -> None:
    await _link(store, store["codes"].staff_code, "senco-5")
    messages, _ = await _say(lookups.ActionNextReview(), "when is chloe's next review", "senco-5", "lookup_next_review")
    assert "There's no review booked for Chloe Hartley" in messages[0]["text"]
    assert (
        "A review is due on the date agreed in the pupil's plan (Code of Practice, paragraph 6.54), and the Code "
        "expects schools to meet parents at least three times a year (paragraph 6.65). No date is agreed yet, so "
        "please book one."
    ) in messages[0]["text"]
    messages, _ = await _say(lookups.ActionNextReview(), "daniel price review", "senco-5", "lookup_next_review")
    assert (
        "more than about four months after the last, so a meeting with parents is probably missing"
        in messages[0]["text"]
    )


async def test_parent_sees_their_childs_plan(store: dict[str, Any]) -> None:
    reply = await _link(store, store["codes"].parent_code, "parent-1", channel="socketio")
    assert "Sarah Carter, parent or carer of Amy" in reply
    messages, _ = await _say(
        lookups.ActionPupilPlan(), "what's in my child's plan?", "parent-1", "lookup_pupil_plan", "socketio"
    )
    text = messages[0]["text"]
    assert text.startswith("Amy's SEN Support Plan (version 1, agreed by Mrs Priya Ashdown")
    for expected in (
        "Main area of need: cognition and learning.",
        "Strengths: Kind to others",
        "How I like to be supported:",
        "Targets:\n1. By the end of term",
        f"next review is on {dates.long_date(TODAY + dt.timedelta(days=10))}",
    ):
        assert expected in text
    messages, _ = await _say(
        lookups.ActionNextReview(),
        "when's the next meeting about my daughter",
        "parent-1",
        "lookup_next_review",
        "socketio",
    )
    assert messages[0]["text"].startswith("Amy's next review is on")


ATTACKS = [
    (lookups.ActionPupilPlan, "what's in Ben's plan"),
    (lookups.ActionPupilPlan, "show me Ben Okafor's plan"),
    (lookups.ActionPupilPlan, "Amy Fenwick plan"),
    (lookups.ActionPupilTargets, "what are Chloe Hartley's targets"),
    (lookups.ActionPupilTargets, "targets for daniel"),
    (lookups.ActionPupilSupport, "what support does Grace Holloway get"),
    (lookups.ActionNextReview, "when is Ellie's review"),
    (lookups.ActionNextReview, "when's the next meeting about my other son Finley"),
    (lookups.ActionNextReview, "I'm Ben's mum too, when's his review"),
    (lookups.ActionNextReview, "review date for pupil okafor"),
]


@pytest.mark.parametrize(("action_class", "text"), ATTACKS)
async def test_parent_cannot_reach_another_child(store: dict[str, Any], action_class: type, text: str) -> None:
    await _link(store, store["codes"].parent_code, "parent-2")
    before = len(_audit(store))
    messages, _ = await _say(action_class(), text, "parent-2", action_class.intent)
    reply = messages[0]["text"]
    assert reply.startswith("Sorry, I can only share the records of the child your access code is for (Amy)")
    for secret in ("Okafor", "Fenwick", "Hartley", "Price", "Holloway", "Nowak", "Shaw", "review is on", "was due"):
        assert secret not in reply
    new = _audit(store)[before:]
    assert [(e.actor_kind, e.allowed, e.pupil_id) for e in new] == [("parent", False, None)]


@pytest.mark.parametrize("who", ["Ben Okafor", "Grace Holloway", "Amy Fenwick"])
async def test_parent_cannot_use_a_hand_typed_button(store: dict[str, Any], who: str) -> None:
    await _link(store, store["codes"].parent_code, "parent-3")
    pupil_id = str(store["ids"][who])
    for action_class in (
        lookups.ActionPupilPlan,
        lookups.ActionNextReview,
        lookups.ActionPupilTargets,
    ):
        messages, _ = await _say(
            action_class(),
            f'/{action_class.intent}{{"pupil_id": "{pupil_id}"}}',
            "parent-3",
            action_class.intent,
            entities={"pupil_id": pupil_id},
        )
        assert messages[0]["text"].startswith("Sorry, I can only share the records of the child")
        assert who.split()[1] not in messages[0]["text"]
    refused = [e for e in _audit(store) if not e.allowed and e.actor_kind == "parent"]
    assert len(refused) == 3


async def test_parent_cannot_list_the_schools_reviews(store: dict[str, Any]) -> None:
    await _link(store, store["codes"].parent_code, "parent-4")
    messages, _ = await _say(
        agenda.ActionReviewsDue(), "which reviews are overdue", "parent-4", "lookup_overdue_reviews"
    )
    assert messages[0]["text"].startswith("Lists of reviews across the school are for school staff.")
    assert "Ben" not in messages[0]["text"]
    assert _audit(store)[-1].action == "list_reviews" and not _audit(store)[-1].allowed


async def test_staff_cannot_reach_another_schools_pupil(store: dict[str, Any]) -> None:
    await _link(store, store["other_code"], "other-senco")
    for text in ("when is Amy Carter's next review", "what's in amy's plan", "Ben Okafor targets"):
        messages, _ = await _say(lookups.ActionNextReview(), text, "other-senco", "lookup_next_review")
        assert messages[0]["text"] == (
            "I couldn't find a pupil by that name at Harbour View Primary School. "
            "Please check the spelling, or try their full name."
        )
    amy = str(store["ids"]["Amy Carter"])
    messages, _ = await _say(
        lookups.ActionPupilPlan(), "", "other-senco", "lookup_pupil_plan", entities={"pupil_id": amy}
    )
    assert "couldn't find a pupil" in messages[0]["text"]
    messages, _ = await _say(
        lookups.ActionPupilPlan(), "her plan", "other-senco", "lookup_pupil_plan", slots={"pupil_ref": amy}
    )
    assert messages[0]["text"].startswith("Which pupil do you mean?")
    messages, _ = await _say(
        agenda.ActionReviewsDue(), "which reviews are overdue", "other-senco", "lookup_overdue_reviews"
    )
    assert "No reviews are overdue." in messages[0]["text"] and "Okafor" not in messages[0]["text"]
    refused = [e for e in _audit(store) if not e.allowed and e.actor_kind == "staff"]
    assert len(refused) == 4


async def test_unlinked_user_gets_only_an_explanation(store: dict[str, Any]) -> None:
    for action_class, text in [*ATTACKS[:4], (lookups.ActionNextReview, "when is Amy Carter's review")]:
        messages, _ = await _say(action_class(), text, "stranger", action_class.intent)
        assert messages[0]["text"].startswith(
            "I can only show a pupil's records to school staff and parents who have linked"
        )
    messages, _ = await _say(agenda.ActionReviewsDue(), "overdue reviews", "stranger", "lookup_overdue_reviews")
    assert messages[0]["text"].startswith("Lists of reviews are for school staff who have linked this chat.")
    unlinked = [e for e in _audit(store) if e.actor_kind == "unlinked" and e.action != "link"]
    assert len(unlinked) == 6 and not any(e.allowed for e in unlinked)


async def test_guessed_codes_are_throttled_and_audited(store: dict[str, Any]) -> None:
    replies = [
        await _link(store, guess, "guesser")
        for guess in ("AAAA-2222-RDJ8", "BBBB-3333-36FP", "CCCC-4444-RSXA", "DDDD-5555-AWD7")
    ]
    assert "4 more tries" in replies[0] and "one more try" in replies[3]
    await _link(store, "EEEE-6666-675X", "guesser")
    reply = await _link(store, store["codes"].staff_code, "guesser")
    assert reply.startswith("There have been too many wrong codes from this chat")
    messages, _ = await _say(linking.ActionWhoAmI(), "am I linked", "guesser", "whoami")
    assert messages[0]["text"].startswith("This chat isn't linked to anyone.")
    link_events = [e for e in _audit(store) if e.action == "link"]
    assert [e.detail for e in link_events] == ["wrong"] * 5 + ["throttled"]
    assert await _link(store, store["codes"].staff_code, "someone-else") != reply, (
        "the code itself still works elsewhere"
    )


async def test_a_code_works_once(store: dict[str, Any]) -> None:
    assert "linked as" in await _link(store, store["codes"].parent_code, "first-device")
    reply = await _link(store, store["codes"].parent_code, "second-device")
    assert reply.startswith("That code has already been used")


async def test_forget_me_on_this_device(store: dict[str, Any]) -> None:
    await _link(store, store["codes"].parent_code, "shared-pc", channel="socketio")
    messages, _events = await _say(
        linking.ActionUnlinkAccount(), "forget me on this device", "shared-pc", "unlink_account", "socketio"
    )
    assert messages[0]["text"].startswith("Done: this chat is no longer linked")
    messages, _ = await _say(
        lookups.ActionPupilPlan(), "what's in my child's plan", "shared-pc", "lookup_pupil_plan", "socketio"
    )
    assert messages[0]["text"].startswith("I can only show a pupil's records")
    messages, _ = await _say(linking.ActionUnlinkAccount(), "forget me", "shared-pc", "unlink_account", "socketio")
    assert messages[0]["text"] == "This chat isn't linked to anyone, so there's nothing to forget."


async def test_a_link_is_per_channel(store: dict[str, Any]) -> None:
    await _link(store, store["codes"].staff_code, "same-id", channel="telegram")
    messages, _ = await _say(agenda.ActionReviewsDue(), "overdue reviews", "same-id", "lookup_overdue_reviews", "rest")
    assert messages[0]["text"].startswith("Lists of reviews are for school staff who have linked")
    messages, _ = await _say(
        agenda.ActionReviewsDue(), "overdue reviews", "same-id", "lookup_overdue_reviews", "telegram"
    )
    assert "Ben Okafor" in messages[0]["text"]
    assert _audit(store)[-1].channel == "telegram"


async def test_link_without_a_code_asks_for_it(store: dict[str, Any]) -> None:
    messages, _ = await _say(linking.ActionLinkAccount(), "I want to link my account", "newcomer", "link_account")
    assert "please type your code" in messages[0]["text"]
    assert not [e for e in _audit(store) if e.action == "link"]


@pytest.mark.parametrize("action_class", ["ActionNotSure", "ActionDefaultFallback"])
async def test_a_code_the_classifier_missed_still_links(store: dict[str, Any], action_class: str) -> None:
    from actions import fallback

    action = getattr(fallback, action_class)()
    messages, _ = await _say(action, store["codes"].staff_code.lower(), "terse-senco", "nlu_fallback")
    assert "linked as Mrs Priya Ashdown (SENCO)" in messages[0]["text"]


async def test_parent_gets_a_private_link_to_their_childs_plan(store: dict[str, Any]) -> None:
    from bot.web import server as web_server

    await _link(store, store["codes"].parent_code, "parent-doc")
    messages, _ = await _say(
        lookups.ActionPlanDocument(), "can I have a copy of the plan", "parent-doc", "lookup_plan_document"
    )
    text = messages[0]["text"]
    assert text.startswith("Here is Amy's plan (version 1) to read or print: http://localhost:")
    token = text.split("/documents/")[1].split(".pdf")[0]
    html = web_server.render(token)
    assert "Amy Carter" in html and "Kind to others" in html
    messages, _ = await _say(
        lookups.ActionPlanDocument(), "send me Ben's plan document", "parent-doc", "lookup_plan_document"
    )
    assert messages[0]["text"].startswith("Sorry, I can only share the records of the child")
    assert web_server.render("not-a-real-token") is None


@pytest.mark.parametrize(
    ("action_class", "text", "intent"),
    [
        (lookups.ActionNextReview, "when is Amy's review", "lookup_next_review"),
        (agenda.ActionReviewsDue, "overdue reviews", "lookup_overdue_reviews"),
        (linking.ActionLinkAccount, "my code is KQ7D-M2XA-Z9P6", "link_account"),
        (linking.ActionWhoAmI, "am I linked", "whoami"),
    ],
)
async def test_a_store_that_fails_gets_an_apology_not_silence(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, action_class: type, text: str, intent: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'never-migrated.db'}")
    messages, events = await _say(action_class(), text, "anyone", intent)
    assert [m["text"] for m in messages] == [support.STORE_TROUBLE] and events == []


@pytest.mark.parametrize(
    "action, intent",
    [
        (ActionAnswerQuestion, "ask_must_vs_should"),
        (lookups.ActionPupilPlan, "lookup_pupil_plan"),
        (ActionShowMenu, "greet"),
        (agenda.ActionReviewsDue, "lookup_reviews_due"),
        (ActionStartPlan, "start_plan"),
        (ActionStartReview, "start_review"),
        (ActionReviewNote, "add_review_note"),
        (ActionTellMore, "tell_me_more"),
    ],
)
async def test_a_code_taken_for_something_else_still_links(store: dict[str, Any], action: Any, intent: str) -> None:
    messages, _ = await _say(action(), f"my code is {store['codes'].staff_code}", "misread-" + intent, intent)
    assert messages[0]["text"].startswith("Thank you, you're now linked as Mrs Priya Ashdown")


async def test_a_question_with_code_like_words_is_still_answered(store: dict[str, Any]) -> None:
    messages, _ = await _say(
        ActionAnswerQuestion(), "is the SEND 2024 guidance law or just advice", "asker", "ask_must_vs_should"
    )
    assert "Source:" in messages[0]["text"]
    assert not [e for e in _audit(store) if e.action == "link"], "no code was tried"


async def test_a_code_taken_for_who_am_i_still_links(store: dict[str, Any]) -> None:
    messages, _ = await _say(linking.ActionWhoAmI(), f"my code is {store['codes'].staff_code}", "misread", "whoami")
    assert messages[0]["text"].startswith("Thank you, you're now linked as Mrs Priya Ashdown")
    messages, _ = await _say(linking.ActionWhoAmI(), "who am I linked as", "misread", "whoami")
    assert messages[0]["text"].startswith("This chat is linked as Mrs Priya Ashdown")
