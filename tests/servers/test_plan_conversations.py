"""Recording a plan through the REST channel against real servers, including a restart midway."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.core import dates
from bot.store.db import sessions
from bot.store.models import PlanStatus, Pupil, SupportPlan
from bot.web import server as web_server
from tests.actions.test_plan_actions import ANSWERS, REVIEW, _pdf_text
from tests.conftest import TEST_IDENTITY_KEY, _seeded, demo_codes
from tests.support import servers


def _texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(reply.get("text", "") for reply in replies)


class Assistant:
    """An action server and a Rasa server on one store and one tracker database, restartable."""

    def __init__(self, folder: Path, store: str, trained_model: Path) -> None:
        self.folder, self.store = folder, store
        self.running: list[Any] = []

    def start(self) -> None:
        action, action_port = servers.start_action_server(
            self.folder, DATABASE_URL=self.store, SEN_IDENTITY_KEY=TEST_IDENTITY_KEY
        )
        endpoints = servers.write_endpoints(
            self.folder / "endpoints.yml",
            action_port,
            {"type": servers.TRACKER_STORE, "dialect": "sqlite", "db": str(self.folder / "tracker.db")},
        )
        rasa, self.port = servers.start_rasa_server(self.folder, endpoints)
        self.running = [rasa, action]

    def stop(self) -> None:
        for service in self.running:
            service.stop()
        self.running = []

    def say(self, sender: str, text: str) -> str:
        return _texts(servers.say(self.port, sender, text))


@pytest.fixture
def assistant(tmp_path: Path, trained_model: Path) -> Any:
    store = _seeded(f"sqlite:///{tmp_path / 'store.db'}")
    running = Assistant(tmp_path, store, trained_model)
    running.start()
    yield running
    running.stop()


def _finley(store: str) -> SupportPlan:
    with sessions(store)() as session:
        pupil = session.execute(select(Pupil.id).where(Pupil.first_name == "Finley")).scalar_one()
        plan = session.execute(select(SupportPlan).where(SupportPlan.pupil_id == pupil)).scalar_one()
        list(plan.targets)
        return plan


def test_a_plan_recorded_interrupted_restarted_and_agreed(
    assistant: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", assistant.store)
    codes = demo_codes(assistant.store)
    browser = f"web-{uuid.uuid4().hex[:16]}"
    assert "linked as Mrs Priya Ashdown" in assistant.say(browser, f"my code is {codes.staff_code}")
    opening = assistant.say(browser, "new plan for Finley")
    assert "Starting a new SEN Support Plan for Finley" in opening and "Section 1 of 14: Level of need." in opening
    for answer in ANSWERS[:4]:
        reply = assistant.say(browser, answer)
    assert "Section 4 of 14" in reply

    interrupted = assistant.say(browser, "what does the SENCO do?")
    assert "Source:" in interrupted and "Now, back to the plan." in interrupted
    assert "Section 4 of 14" in interrupted

    assistant.stop()
    assistant.start()
    reply = assistant.say(browser, ANSWERS[4])
    assert "Section 4 of 14" in reply and "current attainment" in reply, "the form carried on after the restart"
    assert "carry on with Finley's plan" in assistant.say(browser, "stop for now")
    assert _finley(assistant.store).previous_progress == ANSWERS[4]

    phone = f"phone-{uuid.uuid4().hex[:16]}"
    again = demo_codes(assistant.store)
    assistant.say(phone, f"my code is {again.staff_code}")
    resumed = assistant.say(phone, "carry on with Finley's plan")
    assert "Carrying on with Finley's plan" in resumed and "current attainment" in resumed
    for answer in ANSWERS[5:]:
        reply = assistant.say(phone, answer)
    assert "Is this right?" in reply and "• Strengths: Funny, loves football" in reply
    agreed = assistant.say(phone, "agree")
    assert "version 1 is now Finley's agreed plan" in agreed
    token = agreed.split("/documents/")[1].split(".pdf")[0]
    text = _pdf_text(web_server.render(token))
    for answer in [
        *ANSWERS[3:21],
        "Mrs Priya Ashdown",
        dates.long_date(REVIEW),
        "☑ SEN Support",
        "☑ Social, Emotional",
    ]:
        if answer not in ("none yet", "no"):
            assert "".join(answer.split(",")[0].split()) in text, answer
    plan = _finley(assistant.store)
    assert plan.status == PlanStatus.agreed and plan.parents_notified_on == dates.today()
    assert plan.targets[0].outcome == ANSWERS[20]
    after = assistant.say(phone, "which reviews are overdue?")
    assert "Overdue reviews" in after, "the conversation is back to normal after the plan"


def test_corrections_and_bad_answers_over_rest(assistant: Assistant) -> None:
    codes = demo_codes(assistant.store)
    sender = f"web-{uuid.uuid4().hex[:16]}"
    assistant.say(sender, f"my code is {codes.staff_code}")
    assistant.say(sender, "new plan for Finley Shaw")
    assert "Please choose one of: SEN support, EHC plan." in assistant.say(sender, "banana")
    assistant.say(sender, "SEN support")
    assert "Section 1 of 14" in assistant.say(sender, "back")
    assistant.say(sender, "EHCP")
    for answer in ANSWERS[1:13]:
        assistant.say(sender, answer)
    assert "Section 9 of 14" in assistant.say(sender, "where am I")
    assert "Section 8 of 14" in assistant.say(sender, "change the strengths")
    assert "Section 9 of 14" in assistant.say(sender, "Brilliant at football")
    for answer in ANSWERS[13:20]:
        reply = assistant.say(sender, answer)
    assert "Target 1" not in reply and "SMART outcome" in reply
    vague = assistant.say(sender, "be happier at playtime")
    assert "isn't yet measurable and time-bound" in vague
    assert "another target" in assistant.say(sender, "keep mine")
    for answer in ("no", "Mrs Priya Ashdown"):
        assistant.say(sender, answer)
    assert "is in the future" in assistant.say(sender, "next Tuesday")
    assistant.say(sender, "yesterday")
    assert "couldn't read that as a date" in assistant.say(sender, "the day after never")
    assert "is in the past" in assistant.say(sender, "1/1/2020")
    assert "more than about four months away" in assistant.say(
        sender, dates.long_date(dates.today() + dt.timedelta(days=200))
    )
    assert "Section 14 of 14" in assistant.say(sender, "no")
    summary = assistant.say(sender, dates.long_date(REVIEW))
    assert "Is this right?" in summary and "• Strengths: Brilliant at football" in summary
    plan = _finley(assistant.store)
    assert plan.level_of_need.value == "ehcp" and plan.targets[0].outcome == "be happier at playtime"
    assert plan.status == PlanStatus.draft, "nothing is agreed until the user says so"
