"""Honest replies when a message is out of scope or not understood."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

import knowledge
from actions.linking import ActionLinkAccount, links_codes_first
from actions.support import latest_intent
from actions.topics import PERSON_BUTTON, current_council, likely_topics, topic_buttons
from bot.core.codes import find_code


def _not_sure(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    dispatcher.utter_message(
        text=(
            "I'm not sure I've understood that. Did you mean one of these? If not, try "
            "asking another way, or talk to someone who can help: "
            f"{knowledge.sendiass_contact(current_council())}"
        ),
        buttons=[*topic_buttons(likely_topics(tracker)), PERSON_BUTTON],
    )


async def _link_or_not_sure(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any], events: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """A message holding a code links with it, whatever the classifier made of it; else "not sure"."""
    if find_code(tracker.latest_message.get("text") or ""):
        return await ActionLinkAccount().run(dispatcher, tracker, domain)
    _not_sure(dispatcher, tracker)
    return events


class ActionNotSure(Action):
    """For messages the classifier is not confident about."""

    def name(self) -> str:
        return "action_not_sure"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        return await _link_or_not_sure(dispatcher, tracker, domain, [])


class ActionDefaultFallback(Action):
    """When no rule or story fits the conversation: the same honest reply.

    The user's message is reverted so that it does not steer later turns.
    """

    def name(self) -> str:
        return "action_default_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        return await _link_or_not_sure(dispatcher, tracker, domain, [UserUtteranceReverted()])


class ActionOutOfScope(Action):
    """Says plainly that the question is outside what the assistant knows, and where to go."""

    def name(self) -> str:
        return "action_out_of_scope"

    @links_codes_first
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        entry = knowledge.out_of_scope().get(latest_intent(tracker) or "", knowledge.out_of_scope()["oos_other"])
        text = " ".join(entry["text"].split())
        links = entry.get("links") or []
        if links:
            text += "\n" + "; ".join(f"{link['title']}: {link['url']}" for link in links)
        text += (
            "\n\nI'm not sure I can help further with this, but your local SENDIASS may be able to: "
            f"{knowledge.sendiass_contact(current_council())}\n\nI can answer questions about SEN support, such as:"
        )
        dispatcher.utter_message(text=text, buttons=topic_buttons(knowledge.menu()[:3]))
        return []
