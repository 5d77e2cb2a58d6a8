"""Custom actions, run directly on trackers (no servers)."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

import knowledge
from actions.conversation import ActionShowMenu, ActionTalkToPerson
from actions.fallback import ActionDefaultFallback, ActionNotSure, ActionOutOfScope
from actions.faq import ActionAnswerQuestion, ActionTellMore
from tests.conftest import make_tracker


def _payloads(dispatcher: CollectingDispatcher) -> list[str]:
    return [button["payload"] for message in dispatcher.messages for button in message.get("buttons") or []]


async def test_answer_gives_short_answer_source_and_local_help(dispatcher: CollectingDispatcher) -> None:
    events = await ActionAnswerQuestion().run(dispatcher, make_tracker("ask_graduated_approach"), {})
    topic = knowledge.topics()["graduated_approach"]
    [message] = dispatcher.messages
    assert message["text"].startswith(topic.answer)
    assert "Source: SEND Code of Practice (2015), para 6.44" in message["text"]
    assert "Norfolk SENDIASS (01603 704070)" in message["text"]
    assert "/tell_me_more" in _payloads(dispatcher)
    assert SlotSet("last_topic", "graduated_approach") in events
    assert SlotSet("more_given", False) in events


def _asking(intent: str, found: dict[str, str] | None = None, entities: dict[str, str] | None = None) -> Tracker:
    tracker = make_tracker(intent, entities=entities)
    if found is not None:
        tracker.latest_message["answer"] = found
    return tracker


async def test_a_specific_question_gets_its_own_answer_first(dispatcher: CollectingDispatcher) -> None:
    found = {"id": "what_is_sen_support.own_resources", "score": 0.8, "also": ""}
    events = await ActionAnswerQuestion().run(dispatcher, _asking("ask_what_is_sen_support", found), {})
    answer = knowledge.answers()["what_is_sen_support.own_resources"]
    [message] = dispatcher.messages
    assert message["text"].startswith(answer.text)
    assert f"Source: {answer.citation()}" in message["text"]
    assert "Norfolk SENDIASS (01603 704070)" in message["text"]
    titles = [button["title"] for button in message["buttons"]]
    assert titles[0] == "Tell me more"
    assert knowledge.answers()["what_is_sen_support.best_endeavours_duty"].question in titles
    assert SlotSet("last_topic", "what_is_sen_support") in events


async def test_a_question_button_names_its_answer(dispatcher: CollectingDispatcher) -> None:
    named = {"answer_id": "what_is_sen_support.best_endeavours_duty"}
    await ActionAnswerQuestion().run(dispatcher, _asking("ask_what_is_sen_support", entities=named), {})
    assert dispatcher.messages[0]["text"].startswith(knowledge.answers()[named["answer_id"]].text)


async def test_an_answer_from_another_topic_is_not_given(dispatcher: CollectingDispatcher) -> None:
    found = {"id": "what_is_sen_support.own_resources", "score": 0.8, "also": ""}
    await ActionAnswerQuestion().run(dispatcher, _asking("ask_graduated_approach", found), {})
    assert dispatcher.messages[0]["text"].startswith(knowledge.topics()["graduated_approach"].answer)


async def test_a_second_question_in_the_message_is_answered_too(dispatcher: CollectingDispatcher) -> None:
    found = {
        "id": "what_is_sen_support.best_endeavours_duty",
        "score": 0.7,
        "also": "what_is_sen_support.own_resources",
    }
    await ActionAnswerQuestion().run(dispatcher, _asking("ask_what_is_sen_support", found), {})
    [message] = dispatcher.messages
    answers = knowledge.answers()
    assert message["text"].startswith(answers["what_is_sen_support.best_endeavours_duty"].text)
    also = answers["what_is_sen_support.own_resources"]
    assert f"\n\nYou also asked: {also.question}\n{also.text}" in message["text"]
    assert message["buttons"][0]["title"] == "Tell me more"


@pytest.mark.parametrize("council_id, phone", [("dudley", "01384 817373"), ("stockton", "01642 527158")])
async def test_the_council_setting_changes_local_help(
    monkeypatch: pytest.MonkeyPatch, dispatcher: CollectingDispatcher, council_id: str, phone: str
) -> None:
    monkeypatch.setenv("SEN_COUNCIL", council_id)
    await ActionAnswerQuestion().run(dispatcher, make_tracker("ask_local_offer"), {})
    text = dispatcher.messages[0]["text"]
    assert phone in text
    assert "01603 704070" not in text
    assert knowledge.council(council_id).local_offer["url"] in text


async def test_tell_more_gives_the_detail_of_the_last_topic(dispatcher: CollectingDispatcher) -> None:
    tracker = make_tracker("tell_me_more", slots={"last_topic": "meetings_per_year", "more_given": False})
    events = await ActionTellMore().run(dispatcher, tracker, {})
    assert dispatcher.messages[0]["text"].startswith(knowledge.topics()["meetings_per_year"].more)
    assert events == [SlotSet("more_given", True)]


async def test_tell_more_twice_says_that_is_all_and_offers_a_person(dispatcher: CollectingDispatcher) -> None:
    tracker = make_tracker("tell_me_more", slots={"last_topic": "meetings_per_year", "more_given": True})
    await ActionTellMore().run(dispatcher, tracker, {})
    assert "That's everything I have" in dispatcher.messages[0]["text"]
    assert "/talk_to_person" in _payloads(dispatcher)


async def test_tell_more_with_no_topic_offers_the_menu(dispatcher: CollectingDispatcher) -> None:
    await ActionTellMore().run(dispatcher, make_tracker("tell_me_more"), {})
    assert "Tell you more about what?" in dispatcher.messages[0]["text"]
    assert len(_payloads(dispatcher)) == len(knowledge.menu())


async def test_not_sure_suggests_the_likeliest_topics_and_sendiass(dispatcher: CollectingDispatcher) -> None:
    ranking = [
        ("nlu_fallback", 0.5),
        ("ask_ehc_timescales", 0.3),
        ("greet", 0.2),
        ("ask_ehc_request", 0.25),
        ("ask_smart_targets", 0.01),
    ]
    await ActionNotSure().run(dispatcher, make_tracker("nlu_fallback", ranking=ranking), {})
    text = dispatcher.messages[0]["text"]
    assert text.startswith("I'm not sure")
    assert "01603 704070" in text
    assert _payloads(dispatcher) == ["/ask_ehc_timescales", "/ask_ehc_request", "/talk_to_person"]


async def test_not_sure_with_no_ranking_still_offers_two_topics(dispatcher: CollectingDispatcher) -> None:
    await ActionNotSure().run(dispatcher, make_tracker("nlu_fallback"), {})
    topic_payloads = [p for p in _payloads(dispatcher) if p.startswith("/ask_")]
    assert len(topic_payloads) == 2


async def test_default_fallback_reverts_the_message(dispatcher: CollectingDispatcher) -> None:
    events = await ActionDefaultFallback().run(dispatcher, make_tracker("affirm"), {})
    assert events == [UserUtteranceReverted()]
    assert dispatcher.messages[0]["text"].startswith("I'm not sure")


@pytest.mark.parametrize("intent", sorted(knowledge.out_of_scope()))
async def test_out_of_scope_is_honest_and_signposts(dispatcher: CollectingDispatcher, intent: str) -> None:
    await ActionOutOfScope().run(dispatcher, make_tracker(intent), {})
    text = dispatcher.messages[0]["text"]
    assert "I'm not sure I can help further" in text
    assert "Norfolk SENDIASS" in text and "01603 704070" in text
    assert 2 <= len(_payloads(dispatcher)) <= 3


async def test_benefits_question_points_to_benefits_help(dispatcher: CollectingDispatcher) -> None:
    await ActionOutOfScope().run(dispatcher, make_tracker("oos_benefits"), {})
    assert "Disability Living Allowance" in dispatcher.messages[0]["text"]
    assert "outside what I cover" in dispatcher.messages[0]["text"]


async def test_menu_has_buttons_for_topics_and_a_person(dispatcher: CollectingDispatcher) -> None:
    await ActionShowMenu().run(dispatcher, make_tracker("what_can_you_do"), {})
    payloads = _payloads(dispatcher)
    assert payloads[-1] == "/talk_to_person"
    assert payloads[:-1] == [f"/ask_{key}" for key in knowledge.menu()]


async def test_talk_to_person_gives_the_sendiass_contact(
    monkeypatch: pytest.MonkeyPatch, dispatcher: CollectingDispatcher
) -> None:
    monkeypatch.setenv("SEN_COUNCIL", "kent")
    await ActionTalkToPerson().run(dispatcher, make_tracker("talk_to_person"), {})
    text = dispatcher.messages[0]["text"]
    assert "Information, Advice and Support Kent (IASK)" in text
    assert "03000 41 3000" in text
