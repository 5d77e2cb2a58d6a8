"""The Telegram app end to end: a stand-in Bot API on localhost, the app, and real servers.

The app runs in this process, polling the stand-in (``tests/support/telegram_standin.py``)
or taking its posts by webhook, and forwards to a real Rasa server through the
Telegram bridge channel. Nothing reaches the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from telegram.ext import AIORateLimiter

import knowledge
from bot.ops import run, services
from bot.telegram import app as telegram_app
from bot.telegram import sending
from bot.telegram.app import (
    CHOSEN,
    HELP_TEXT,
    KEY_PREFIX,
    RASA_DOWN,
    SLOW_DOWN,
    START_TEXT,
    ButtonKeys,
    Config,
    RasaClient,
    RasaUnavailable,
    RateLimiter,
)
from bot.telegram.sending import split_text, utf16_length
from tests.conftest import TEST_BRIDGE_SECRET, demo_codes
from tests.support import telegram_standin as tg
from tests.support.replies import answer_given
from tests.support.servers import ROOT, base_env, free_port, say
from tests.support.telegram_standin import StandIn

PRIVACY_CONTACT = "Example Council's data protection officer"
QUIET = 0.4  # seconds without a new message after which a reply is taken as complete


# The app, running against the stand-in -----------------------------------------------


@pytest.fixture
async def standin() -> AsyncIterator[StandIn]:
    server = await StandIn().start()
    yield server
    await server.stop()


def config_for(standin: StandIn, rasa_url: str, **overrides: Any) -> Config:
    values: dict[str, Any] = dict(
        token=tg.TOKEN,
        rasa_url=rasa_url,
        bridge_secret=TEST_BRIDGE_SECRET,
        api_url=standin.url,
        port=free_port(),
        privacy_contact=PRIVACY_CONTACT,
        backoff=0.05,
    )
    values.update(overrides)
    return Config(**values)


@contextlib.asynccontextmanager
async def running(config: Config) -> AsyncIterator[Config]:
    """The Telegram app serving until the block ends; waits for its health check first."""
    stop = asyncio.Event()
    task = asyncio.create_task(telegram_app.serve(config, stop))
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                if task.done():
                    task.result()
                    raise AssertionError("the Telegram app stopped while starting")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"http://127.0.0.1:{config.port}/health")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the Telegram app's health check never answered")
        yield config
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


def rasa_at(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(message["text"] for message in messages)


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return [(button["text"], button["callback_data"]) for row in rows for button in row]


class Chat:
    """A Telegram user in a private chat with the bot, through the stand-in."""

    def __init__(self, standin: StandIn, user_id: int | None = None) -> None:
        self.standin, self.user_id = standin, user_id or tg.new_user_id()

    @property
    def received(self) -> list[dict[str, Any]]:
        return self.standin.sent_to(self.user_id)

    async def say(self, text: str, until: str = "", count: int = 1, timeout: float = 60.0) -> list[dict[str, Any]]:
        """Send ``text``; return the bot's messages once ``count`` have come (and one holds ``until``)."""
        seen = len(self.received)
        await self.standin.push(tg.message(self.user_id, text))
        return await self._wait(seen, until, count, timeout)

    async def press(self, sent: dict[str, Any], title: str, until: str = "", count: int = 1) -> list[dict[str, Any]]:
        seen = len(self.received)
        data = dict(buttons(sent))[title]
        await self.standin.push(tg.press(self.user_id, sent, data))
        return await self._wait(seen, until, count, 60.0)

    async def _wait(self, seen: int, until: str, count: int, timeout: float) -> list[dict[str, Any]]:
        """The messages after the first ``seen``, once they are there and no more come for a moment."""

        def arrived() -> Any:
            new = self.received[seen:]
            return len(new) >= count and (not until or until in texts(new)) and new

        new = await self.standin.wait_for(arrived, timeout)
        while True:
            await asyncio.sleep(QUIET)
            if len(self.received[seen:]) == len(new):
                return new
            new = self.received[seen:]


def with_buttons(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return next(message for message in messages if buttons(message))


# Pieces on their own ------------------------------------------------------------------


def test_rate_limiter_allows_ten_then_warns_once_then_refills() -> None:
    now = [0.0]
    limiter = RateLimiter(capacity=10, window=30.0, clock=lambda: now[0])
    assert [limiter.check(1) for _ in range(10)] == ["ok"] * 10
    assert limiter.check(1) == "warn"
    assert limiter.check(1) == "drop"
    assert limiter.check(2) == "ok", "another user has a bucket of their own"
    now[0] += 3.0  # one message's worth
    assert limiter.check(1) == "ok"
    assert limiter.check(1) == "warn", "a new stretch of refusals is told again"
    now[0] += 30.0
    assert [limiter.check(1) for _ in range(10)] == ["ok"] * 10


def test_long_replies_are_split_at_breaks_within_telegrams_limit() -> None:
    paragraph = "A line about SEN support that goes on for a while. " * 30
    text = "\n\n".join([paragraph.strip()] * 10)
    parts = split_text(text)
    assert len(parts) == 5 and all(part.count("\n\n") == 1 for part in parts), "two whole paragraphs a part"
    assert all(utf16_length(part) <= 4096 for part in parts)
    assert " ".join(" ".join(parts).split()) == " ".join(text.split())
    assert all(part.endswith("a while.") for part in parts)
    emoji = "\U0001f600" * 3000  # two UTF-16 code units each, no breaks
    parts = split_text(emoji)
    assert [utf16_length(part) for part in parts] == [4096, 1904]
    assert split_text("short") == ["short"] and split_text("") == []


def test_long_payloads_get_a_short_key_per_chat() -> None:
    keys = ButtonKeys(per_chat=2)
    assert keys.data_for(1, "/tell_me_more") == "/tell_me_more"
    long_payload = '/choose_pupil{"pupil_id": 12345, "pupil_name": "' + "x" * 80 + '"}'
    key = keys.data_for(1, long_payload)
    assert key.startswith(KEY_PREFIX) and len(key.encode()) <= 64
    assert keys.payload_for(1, key) == long_payload
    assert keys.payload_for(2, key) is None, "a key is good only in its own chat"
    assert keys.payload_for(1, KEY_PREFIX + "made-up") is None
    keys.data_for(1, long_payload + "2")
    keys.data_for(1, long_payload + "3")
    assert keys.payload_for(1, key) is None, "only the chat's latest keys are kept"


def test_outgoing_messages_are_paced_by_ptbs_rate_limiter() -> None:
    api = "http://127.0.0.1:9"
    application = telegram_app.build_application(
        Config(token=tg.TOKEN, rasa_url="http://127.0.0.1:9", bridge_secret="s", api_url=api)
    )
    assert isinstance(application.bot.rate_limiter, AIORateLimiter)
    assert application.bot.base_url == f"{api}/bot{tg.TOKEN}"
    reminders_bot = sending.make_bot(tg.TOKEN, api)
    assert isinstance(reminders_bot.rate_limiter, AIORateLimiter), "the reminder schedule's bot is paced the same way"
    assert reminders_bot.base_url == application.bot.base_url
    assert reminders_bot.rate_limiter is not application.bot.rate_limiter, "each bot keeps its own pace"


def test_the_app_never_imports_rasa() -> None:
    code = "import sys, bot.telegram.app; sys.exit(any(m == 'rasa' or m.startswith('rasa.') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_the_app_and_the_channel_agree_on_the_secret_header() -> None:
    from bot.rasa_server import channels

    assert telegram_app.BRIDGE_SECRET_HEADER == channels.SECRET_HEADER
    assert f"/webhooks/{channels.TelegramBridgeInput.name()}/webhook" == telegram_app.BRIDGE_PATH


def test_with_no_secret_configured_the_bridge_refuses_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.rasa_server import channels

    class Request:
        def __init__(self, secret: str) -> None:
            self.headers = {channels.SECRET_HEADER: secret}

    monkeypatch.delenv(channels.SECRET_ENV, raising=False)
    unset = channels.TelegramBridgeInput.from_credentials(None)
    assert not unset.authorised(Request("")) and not unset.authorised(Request("anything"))
    monkeypatch.setenv(channels.SECRET_ENV, "from-the-environment")
    configured = channels.TelegramBridgeInput.from_credentials(None)
    assert configured.authorised(Request("from-the-environment")) and not configured.authorised(Request("from-the"))


def _client(handler: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_a_refused_connection_is_retried_then_reported() -> None:
    tries = []

    def refuse(request: httpx.Request) -> httpx.Response:
        tries.append(request)
        raise httpx.ConnectError("refused", request=request)

    async with _client(refuse) as client:
        with pytest.raises(RasaUnavailable):
            await RasaClient("http://rasa", "s", client, attempts=3, backoff=0.01).send("1", "hello")
    assert len(tries) == 3


async def test_a_retry_that_gets_through_is_answered() -> None:
    tries = []

    def second_time_lucky(request: httpx.Request) -> httpx.Response:
        tries.append(request)
        if len(tries) == 1:
            raise httpx.ConnectError("refused", request=request)
        assert request.headers["X-SEN-Bridge-Secret"] == "s"
        assert json.loads(request.content) == {"sender": "42", "message": "hello"}
        return httpx.Response(200, json=[{"recipient_id": "42", "text": "Hi"}])

    async with _client(second_time_lucky) as client:
        replies = await RasaClient("http://rasa", "s", client, attempts=3, backoff=0.01).send("42", "hello")
    assert replies == [{"recipient_id": "42", "text": "Hi"}] and len(tries) == 2


@pytest.mark.parametrize("failure", ["read timeout", "dropped", "status 500", "status 401", "not json"])
async def test_a_message_that_may_have_arrived_is_never_sent_again(failure: str) -> None:
    tries = []

    def fail(request: httpx.Request) -> httpx.Response:
        tries.append(request)
        if failure == "read timeout":
            raise httpx.ReadTimeout("slow", request=request)
        if failure == "dropped":
            raise httpx.RemoteProtocolError("closed", request=request)
        if failure.startswith("status"):
            return httpx.Response(int(failure.split()[1]), json={})
        return httpx.Response(200, text="<html>")

    async with _client(fail) as client:
        with pytest.raises(RasaUnavailable):
            await RasaClient("http://rasa", "s", client, attempts=3, backoff=0.01).send("1", "hello")
    assert len(tries) == 1


# The run command ------------------------------------------------------------------------


class StandInThread:
    """The stand-in on an event loop of its own, for tests that are not async."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> StandIn:
        self.thread.start()
        self.standin = asyncio.run_coroutine_threadsafe(StandIn().start(), self.loop).result(10)
        return self.standin

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.standin.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def push(self, update: dict[str, Any]) -> None:
        asyncio.run_coroutine_threadsafe(self.standin.push(update), self.loop).result(10)


def test_services_without_a_token_are_unchanged(tmp_path: Path) -> None:
    names = [service.name for service in run.services(1, 2, tmp_path, tmp_path / "m.tar.gz", 3)]
    assert names == ["action server", "Rasa server", "web server"]
    assert run.telegram_line(None) == ""
    telegram = run.telegram_service(tmp_path, 4)
    assert telegram.name == "Telegram app" and telegram.health_url == "http://127.0.0.1:4/health"


def test_run_starts_the_telegram_app_when_a_token_is_set(tmp_path: Path, trained_model: Path) -> None:
    from tests.servers.test_launcher import _lines, _start, _wait_for_line

    stand_in = StandInThread()
    with stand_in as api:
        telegram_port = free_port()
        env = base_env(
            RASA_PORT=str(free_port()),
            ACTION_PORT=str(free_port()),
            WEB_PORT=str(free_port()),
            TELEGRAM_PORT=str(telegram_port),
            SEN_STATE_DIR=str(tmp_path),
            TELEGRAM_BOT_TOKEN=tg.TOKEN,
            TELEGRAM_API_URL=api.url,
        )
        env.pop("SEN_TELEGRAM_BRIDGE_SECRET", None)
        process = _start(env)
        lines = _lines(process)
        try:
            banner = _wait_for_line(lines, "Press Ctrl-C to stop", timeout=300)
            assert "Telegram:      @sen_support_test_bot, by long polling" in banner
            secret = tmp_path / "telegram-bridge.key"
            assert secret.exists() and oct(secret.stat().st_mode & 0o777) == "0o600"

            user = tg.new_user_id()
            stand_in.push(tg.message(user, "what is sen support"))
            deadline = time.monotonic() + 60
            while "Source:" not in texts(api.sent_to(user)) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert "Source:" in texts(api.sent_to(user)), texts(api.sent_to(user))

            os.killpg(process.pid, signal.SIGINT)
            assert process.wait(timeout=60) == 0
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    assert not services.port_in_use(telegram_port)
    assert not services.port_in_use(int(env["RASA_PORT"]))
    log = (tmp_path / "log" / "telegram.log").read_text()
    assert tg.TOKEN not in log and "what is sen support" not in log


# A fake Rasa server, for what the real one does not show -------------------------------


@contextlib.asynccontextmanager
async def fake_rasa(
    replies: list[dict[str, Any]], delay: float = 0.0, port: int | None = None
) -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A bridge endpoint that records what it is sent and answers ``replies``."""
    received: list[dict[str, Any]] = []

    async def bridge(request: web.Request) -> web.Response:
        received.append({"body": await request.json(), "secret": request.headers.get("X-SEN-Bridge-Secret")})
        await asyncio.sleep(delay)
        return web.json_response(replies)

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post(telegram_app.BRIDGE_PATH, bridge)
    app.router.add_get("/webhooks/telegram/", health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = port or free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", received
    finally:
        await runner.cleanup()


async def test_long_replies_and_long_payloads_through_the_app(standin: StandIn) -> None:
    long_payload = '/choose_pupil{"pupil_id": 31, "note": "' + "y" * 90 + '"}'
    long_text = ("Word " * 1000).strip()  # 4999 characters
    reply = {"text": long_text, "buttons": [{"title": "Amy Carter (Year 3)", "payload": long_payload}]}
    async with fake_rasa([reply]) as (url, received), running(config_for(standin, url)):
        chat = Chat(standin)
        messages = await chat.say("anything", count=2)
        assert [len(m["text"]) for m in messages] == [4094, 904]
        assert not buttons(messages[0]), "the keyboard goes on the last part"
        [(title, data)] = buttons(messages[1])
        assert title == "Amy Carter (Year 3)" and data.startswith(KEY_PREFIX) and len(data.encode()) <= 64
        await chat.press(messages[1], "Amy Carter (Year 3)", count=3)
        assert [r["body"] for r in received] == [
            {"sender": str(chat.user_id), "message": "anything"},
            {"sender": str(chat.user_id), "message": long_payload},
        ]
        assert all(r["secret"] == TEST_BRIDGE_SECRET for r in received)

        await standin.push(tg.press(chat.user_id, messages[1], KEY_PREFIX + "forgotten"))
        answered = await standin.wait_for(lambda: [c for c in standin.called("answerCallbackQuery") if c.get("text")])
        assert "expired" in answered[0]["text"]
        assert len(received) == 2, "an unknown key forwards nothing"


async def test_a_reply_refused_with_retry_after_is_sent_once_after_the_wait(standin: StandIn) -> None:
    async with fake_rasa([{"text": "Hello"}]) as (url, _), running(config_for(standin, url)):
        chat = Chat(standin)
        standin.too_many, standin.retry_after = 1, 1
        started = time.monotonic()
        [hello] = await chat.say("hi", timeout=20)
        assert hello["text"] == "Hello"
        assert time.monotonic() - started >= 1.0, "the retry waits as long as Telegram asked"
        assert [call.params["text"] for call in standin.refused] == ["Hello"]
        assert [message["text"] for message in chat.received] == ["Hello"], "sent once, not twice"


async def test_the_app_takes_messages_only_once_the_rasa_server_answers(standin: StandIn) -> None:
    port = free_port()
    stop = asyncio.Event()
    task = asyncio.create_task(telegram_app.serve(config_for(standin, rasa_at(port), rasa_start_wait=60), stop))
    try:
        await standin.wait_for(lambda: standin.called("getMe"))
        await asyncio.sleep(1.5)
        assert not standin.called("getUpdates"), "no polling while the Rasa server is down"
        async with fake_rasa([{"text": "Hello"}], port=port):
            await standin.wait_for(lambda: standin.called("getUpdates"), timeout=10)
            chat = Chat(standin)
            assert texts(await chat.say("hello")) == "Hello"
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


# End to end, against the real servers -----------------------------------------------------


@pytest.fixture
async def app(standin: StandIn, rasa_sqlite: int) -> AsyncIterator[StandIn]:
    async with running(config_for(standin, rasa_at(rasa_sqlite))):
        yield standin


async def test_a_question_is_answered_with_buttons_and_a_press_is_answered(app: StandIn) -> None:
    chat = Chat(app)
    topic = knowledge.topics()["graduated_approach"]
    answer = await chat.say("what does assess plan do review mean", until="Source:")
    assert answer_given("graduated_approach", texts(answer))
    assert "Norfolk SENDIASS (01603 704070)" in texts(answer)
    with_keyboard = with_buttons(answer)
    assert ("Tell me more", "/tell_me_more") in buttons(with_keyboard)
    sent = [call for call in app.called("sendMessage") if int(call["chat_id"]) == chat.user_id]
    assert all("parse_mode" not in call for call in sent), "replies are plain text"
    assert [c["action"] for c in app.called("sendChatAction") if int(c["chat_id"]) == chat.user_id] == ["typing"]

    more = await chat.press(with_keyboard, "Tell me more", until=topic.more[:80], count=2)
    assert more[0]["text"] == CHOSEN.format(title="Tell me more")
    [answered] = app.called("answerCallbackQuery")
    assert "text" not in answered
    [edited] = app.called("editMessageReplyMarkup")
    assert int(edited["message_id"]) == with_keyboard["message_id"] and not edited.get("reply_markup")
    assert "reply_markup" not in app.messages[with_keyboard["message_id"]], "the keyboard is gone"


async def test_start_help_and_privacy(app: StandIn) -> None:
    chat = Chat(app)
    [started] = await chat.say("/start")
    assert started["text"] == START_TEXT
    assert buttons(started) == [("What can you help with?", "/what_can_you_do")]
    menu = await chat.press(started, "What can you help with?", until="Pick a topic", count=2)
    payloads = [data for _, data in buttons(with_buttons(menu))]
    assert payloads[: len(knowledge.menu())] == [f"/ask_{key}" for key in knowledge.menu()]

    [helped] = await chat.say("/help")
    assert helped["text"] == HELP_TEXT and "my code is XXXX-XXXX-XXXX" in HELP_TEXT
    [kept] = await chat.say("/privacy")
    for words in (
        "keyed digest of your Telegram user id",
        "conversation store",
        "for 90 days, with codes and private links removed; then it is deleted",
        "audit trail",
        "forget me on this device",
        PRIVACY_CONTACT,
    ):
        assert words in kept["text"]
    assert [c["command"] for c in app.called("setMyCommands")[0]["commands"]] == ["start", "help", "privacy"]
    [unknown] = await chat.say("/frobnicate")
    assert "/help" in unknown["text"]


def _audit_since(store: str, since: int) -> list[Any]:
    from sqlalchemy import select

    from bot.store.db import sessions
    from bot.store.models import AuditEvent

    with sessions(store)() as session:
        return session.execute(select(AuditEvent).where(AuditEvent.id > since).order_by(AuditEvent.id)).scalars().all()


async def test_a_senco_links_looks_up_reviews_and_picks_a_pupil(
    app: StandIn, rasa_sqlite: int, demo_store: str
) -> None:
    codes = demo_codes(demo_store)
    start = max([event.id for event in _audit_since(demo_store, 0)] or [0])
    chat = Chat(app)
    linked = await chat.say(f"my code is {codes.staff_code}", until="linked as")
    assert "linked as Mrs Priya Ashdown (SENCO)" in texts(linked)
    overdue = texts(await chat.say("which reviews are overdue?", until="Overdue reviews"))
    assert "Ben Okafor (Year 4): was due" in overdue and "Chloe Hartley (Year 2): no review booked" in overdue

    which = with_buttons(await chat.say("when is amy's next review"))
    assert [title for title, _ in buttons(which)] == ["Amy Carter (Year 3)", "Amy Fenwick (Year 5)"]
    answer = await chat.press(which, "Amy Carter (Year 3)", until="next review is on", count=2)
    assert answer[0]["text"] == CHOSEN.format(title="Amy Carter (Year 3)")
    assert "Amy Carter's next review is on " in texts(answer)

    events = _audit_since(demo_store, start)
    assert {event.channel for event in events} == {"telegram"}
    assert [event.action for event in events if event.action == "link"] == ["link"]

    # Over the REST channel, a Telegram user's id is refused, and naming the channel changes nothing.
    def rest(sender: str, **extra: str) -> tuple[int, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{rasa_sqlite}/webhooks/rest/webhook",
            data=json.dumps({"sender": sender, "message": "which reviews are overdue?", **extra}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as refused:
            return refused.code, None

    for extra in ({}, {"input_channel": "telegram"}):
        assert (await asyncio.to_thread(rest, str(chat.user_id), **extra))[0] == 400
    rest_user = f"rest-user-{chat.user_id}"
    status, replies = await asyncio.to_thread(rest, rest_user, input_channel="telegram")
    assert status == 200 and texts(replies).startswith("Lists of reviews are for school staff")

    assert "no longer linked" in texts(await chat.say("forget me on this device", until="linked"))
    refused = await chat.say("which reviews are overdue?", until="for school staff")
    assert "Ben Okafor" not in texts(refused)


async def test_a_parent_links_and_reads_the_plan_and_staff_start_a_plan(app: StandIn, demo_store: str) -> None:
    codes = demo_codes(demo_store)
    parent = Chat(app)
    assert "parent or carer of Amy" in texts(await parent.say(f"my code is {codes.parent_code}", until="linked"))
    plan = texts(await parent.say("what's in my child's plan?", until="Support Plan"))
    assert plan.startswith("Amy's SEN Support Plan") and "Strengths:" in plan

    senco = Chat(app)
    await senco.say(f"my code is {codes.staff_code}", until="linked as")
    opening = texts(await senco.say("new plan for Finley", until="Section 1 of 14"))
    assert "SEN Support Plan for Finley" in opening
    stopped = texts(await senco.say("stop for now", until="Everything so far is saved"))
    assert "carry on with Finley's plan" in stopped


async def test_rate_limit_warns_once_and_forwards_nothing_more(app: StandIn) -> None:
    chat = Chat(app)
    for _number in range(12):
        await app.push(tg.message(chat.user_id, "thank you"))
    await app.wait_for(lambda: SLOW_DOWN in texts(chat.received))
    await app.wait_for(lambda: len([m for m in chat.received if m["text"] != SLOW_DOWN]) >= 10)
    await asyncio.sleep(1.0)
    assert [m["text"] for m in chat.received].count(SLOW_DOWN) == 1
    forwarded = [c for c in app.called("sendChatAction") if int(c["chat_id"]) == chat.user_id]
    assert len(forwarded) == 10


async def test_group_chats_are_refused_and_nothing_is_forwarded(app: StandIn) -> None:
    member = tg.new_user_id()
    group = -1000 - member
    for text in ("which reviews are overdue?", "/start", "/help"):
        await app.push(tg.message(member, text, chat_id=group, chat_type="group"))
    refusals = await app.wait_for(lambda: len(app.sent_to(group)) >= 3 and app.sent_to(group))
    await asyncio.sleep(0.5)
    assert len(app.sent_to(group)) == 3
    for refusal in refusals:
        assert refusal["text"].startswith("Sorry, I only work in a private chat")
        assert "@sen_support_test_bot" in refusal["text"] and "reply_markup" not in refusal
    assert not [c for c in app.called("sendChatAction") if int(c["chat_id"]) == group]
    assert not app.sent_to(member)


async def test_rasa_down_gives_a_clear_message(standin: StandIn) -> None:
    closed = rasa_at(free_port())
    async with running(config_for(standin, closed, rasa_start_wait=0.5)):
        chat = Chat(standin)
        [sorry] = await chat.say("what is sen support", timeout=20)
        assert sorry["text"] == RASA_DOWN
        [helped] = await chat.say("/help")
        assert helped["text"] == HELP_TEXT, "the app's own commands work without the Rasa server"


async def test_webhook_mode_checks_telegrams_secret(standin: StandIn, rasa_sqlite: int) -> None:
    port = free_port()
    hook = f"http://127.0.0.1:{port}/telegram/hook"
    config = config_for(standin, rasa_at(rasa_sqlite), port=port, webhook_url=hook, webhook_secret="hook-secret-1")
    async with running(config), httpx.AsyncClient() as client:
        [registered] = standin.called("setWebhook")
        assert registered["url"] == hook and registered["secret_token"] == "hook-secret-1"
        assert registered["allowed_updates"] == ["message", "callback_query"]
        health = (await client.get(f"http://127.0.0.1:{port}/health")).json()
        assert health == {"status": "ok", "bot": "sen_support_test_bot", "mode": "webhook"}

        chat = Chat(standin)
        update = standin.new_update(tg.message(chat.user_id, "what is sen support"))
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
            assert (await client.post(hook, json=update, headers=headers)).status_code == 403
        await asyncio.sleep(0.5)
        assert chat.received == []

        accepted = await client.post(hook, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "hook-secret-1"})
        assert accepted.status_code == 200
        answer = await standin.wait_for(lambda: "Source:" in texts(chat.received) and chat.received)
        assert answer_given("what_is_sen_support", texts(answer))
    assert not standin.called("getUpdates") and not standin.called("deleteWebhook")


def test_the_bridge_channel_refuses_requests_without_the_secret(rasa_sqlite: int) -> None:
    url = f"http://127.0.0.1:{rasa_sqlite}/webhooks/telegram/webhook"

    def post(headers: dict[str, str], body: dict[str, Any] | None = None) -> tuple[int, Any]:
        body = body if body is not None else {"sender": "555", "message": "what is sen support"}
        request = urllib.request.Request(
            url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **headers}
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as refused:
            return refused.code, None

    assert post({})[0] == 401
    assert post({"X-SEN-Bridge-Secret": "guess"})[0] == 401
    assert post({"X-SEN-Bridge-Secret": TEST_BRIDGE_SECRET}, {"message": "hi"})[0] == 400
    status, replies = post({"X-SEN-Bridge-Secret": TEST_BRIDGE_SECRET})
    assert status == 200 and "Source:" in texts(replies)
    on_rest = say(rasa_sqlite, "rest-user-0123456789abcdef", "what is sen support")
    assert "Source:" in texts(on_rest), "REST needs no secret"
