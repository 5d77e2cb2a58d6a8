"""A chat user driving a form's actions on trackers, as the Rasa server would: for plan and review tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions import linking
from actions import plans as plan_actions
from actions import reviews as review_actions
from tests.conftest import make_tracker


@dataclass(frozen=True)
class Form:
    noun: str
    intent: str
    start: type
    ask: type
    validate: type


PLAN = Form(
    "plan", "start_plan", plan_actions.ActionStartPlan, plan_actions.ActionAskPlanAnswer, plan_actions.ValidatePlanForm
)
REVIEW = Form(
    "review",
    "start_review",
    review_actions.ActionStartReview,
    review_actions.ActionAskReviewAnswer,
    review_actions.ValidateReviewForm,
)


class Chat:
    """One chat user driving a form's actions (the plan's, by default) as the Rasa server would."""

    def __init__(self, store: dict[str, Any], sender: str, channel: str = "rest", form: Form = PLAN) -> None:
        self.store, self.sender, self.channel, self.form = store, sender, channel, form
        self.slots: dict[str, Any] = {}
        self.seen: list[str] = []
        self.in_form = False
        self.result: str | None = None

    async def link(self, code: str) -> str:
        dispatcher = CollectingDispatcher()
        tracker = make_tracker("link_account", f"my code is {code}", sender_id=self.sender, channel=self.channel)
        await linking.ActionLinkAccount().run(dispatcher, tracker, {})
        return dispatcher.messages[0]["text"]

    async def start(self, text: str, intent: str | None = None, pupil_id: int | None = None) -> list[str]:
        dispatcher = CollectingDispatcher()
        entities = {"pupil_id": str(pupil_id)} if pupil_id else None
        tracker = make_tracker(
            intent or self.form.intent,
            text,
            sender_id=self.sender,
            channel=self.channel,
            entities=entities,
            slots=dict(self.slots),
        )
        events = await self.form.start().run(dispatcher, tracker, {})
        for event in events:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
        self.in_form = any(event.get("event") == "followup" for event in events)
        texts = [m["text"] for m in dispatcher.messages]
        if self.in_form:
            texts += await self._ask()
        self.seen += texts
        return texts

    async def _ask(self) -> list[str]:
        dispatcher = CollectingDispatcher()
        tracker = make_tracker(sender_id=self.sender, slots=self.slots, channel=self.channel)
        await self.form.ask().run(dispatcher, tracker, {})
        self.buttons = [b["title"] for m in dispatcher.messages for b in m.get("buttons") or []]
        return [m["text"] for m in dispatcher.messages]

    async def say(self, text: str, intent: str = "nlu_fallback", confidence: float = 0.2) -> list[str]:
        assert self.in_form, f"the {self.form.noun} form is not active"
        dispatcher = CollectingDispatcher()
        tracker = make_tracker(
            intent, text, slots=self.slots, sender_id=self.sender, channel=self.channel, ranking=[(intent, confidence)]
        )
        tracker.latest_message["intent"]["confidence"] = confidence
        validate = getattr(self.form.validate(), f"validate_{self.form.noun}_answer")
        changes = await validate(text, dispatcher, tracker, {})
        self.slots.update(changes)
        texts = [m["text"] for m in dispatcher.messages]
        if changes.get(f"{self.form.noun}_answer") is None:
            texts += await self._ask()
        else:
            self.in_form = False
            self.result = changes[f"{self.form.noun}_answer"]
        self.seen += texts
        return texts
