"""The scaled deployment (bot/ops/deploy.py) on the machine's PostgreSQL and Redis, behind nginx.

Two Rasa servers and two action servers share one PostgreSQL database and a
Redis lock store. The tests: one conversation alternating between the two Rasa
servers, 50 concurrent conversations counted in the tracker store, odd input,
and faults (a Rasa server, an action server or the Telegram app killed, and
PostgreSQL and Redis restarted), each mid-conversation. The fault tests restart
the machine's services, so they run after every other test (``conftest.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import re
import secrets
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import psycopg2
import pytest
import redis
from sqlalchemy import select

from bench.run import questions as question_texts
from bot.rasa_server import channels
from bot.store.db import sessions
from bot.store.models import Pupil, SupportPlan
from tests import conftest
from tests.actions.test_plan_actions import ANSWERS
from tests.support import deployment, servers
from tests.support import telegram_standin as tg
from tests.support.deployment import Deployment, text_of

TRY_AGAIN = channels.TRY_AGAIN


@pytest.fixture(scope="session")
def telegram_api() -> Iterator[Any]:
    from tests.servers.test_telegram import StandInThread

    stand_in = StandInThread()
    with stand_in as api:
        api.thread = stand_in
        yield api


@pytest.fixture(scope="session")
def scaled(trained_model: Path, tmp_path_factory: pytest.TempPathFactory, telegram_api: Any) -> Iterator[Deployment]:
    for name in conftest._fresh_postgres_database():
        running = deployment.start(
            tmp_path_factory.mktemp("scaled"),
            conftest.postgres_url(name),
            conftest.lock_prefix(name),
            SEN_IDENTITY_KEY=conftest.TEST_IDENTITY_KEY,
            TELEGRAM_BOT_TOKEN=tg.TOKEN,
            TELEGRAM_API_URL=telegram_api.url,
            TELEGRAM_PORT=str(deployment.servers.free_port()),
        )
        try:
            yield running
        finally:
            running.stop()
            from bot.store.db import engine_for

            engine_for(running.database_url).dispose()


def tracker_rows(scaled: Deployment, sender: str) -> list[tuple[str, str]]:
    """(type, text) of every event of a conversation in the tracker store, in order."""
    database = scaled.database_url.rsplit("/", 1)[1]
    with conftest.postgres_connect(database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT type_name, data::json->>'text' FROM events WHERE sender_id = %s ORDER BY id", (sender,))
        return cursor.fetchall()


def rasa_url(scaled: Deployment, number: int) -> str:
    return f"http://127.0.0.1:{scaled.port_of(f'Rasa server {number}')}"


def pupil_plan(store: str, first_name: str) -> SupportPlan:
    with sessions(store)() as session:
        pupil = session.execute(select(Pupil.id).where(Pupil.first_name == first_name)).scalar_one()
        plan = (
            session.execute(
                select(SupportPlan).where(SupportPlan.pupil_id == pupil).order_by(SupportPlan.version.desc())
            )
            .scalars()
            .first()
        )
        session.expunge_all()
        return plan


NEW_PUPILS = iter(
    [
        ("Isla", "Moreton"),
        ("Rowan", "Petts"),
        ("Keira", "Dunmore"),
        ("Theo", "Lindqvist"),
        ("Maisie", "Rudd"),
        ("Jude", "Ashcombe"),
        ("Elsie", "Farrant"),
        ("Ezra", "Pennock"),
    ]
)


def new_pupil(store: str) -> str:
    """A fictional pupil added to the demo school, with no plan yet; returns the first name."""
    from bot.store import demo

    first, last = next(NEW_PUPILS)
    with sessions(store).begin() as session:
        school = demo.find_demo(session)
        session.add(
            Pupil(
                school_id=school.school_id,
                first_name=first,
                last_name=last,
                date_of_birth=dt.date(2016, 5, 1),
                year_group="Year 4",
                form="4R",
                class_teacher_id=school.senco_id,
            )
        )
    return first


def start_new_plan(scaled: Deployment, url: str, sender: str) -> str:
    """Link as the demo SENCO and start a plan for a new pupil; returns the pupil's first name."""
    pupil = new_pupil(scaled.database_url)
    codes = conftest.demo_codes(scaled.database_url)
    assert "linked as Mrs Priya Ashdown" in text_of(deployment.say(url, sender, f"my code is {codes.staff_code}")[1])
    opening = text_of(deployment.say(url, sender, f"new plan for {pupil}")[1])
    assert "Section 1 of 14: Level of need." in opening, opening
    return pupil


# Sharing one conversation ------------------------------------------------------------


def test_one_conversation_alternates_between_two_rasa_servers_with_a_half_filled_plan(scaled: Deployment) -> None:
    first, second = rasa_url(scaled, 1), rasa_url(scaled, 2)
    assert first != second
    sender = f"alternating-{uuid.uuid4().hex[:16]}"
    pupil = start_new_plan(scaled, first, sender)
    replies = []
    for number, answer in enumerate(ANSWERS[:6]):
        status, reply = deployment.say(second if number % 2 == 0 else first, sender, answer)
        assert status == 200
        replies.append(text_of(reply))
    assert "Section 4 of 14" in replies[3] and "current attainment" in replies[4], replies
    # A question in the middle of the form, on the other server, then back to the plan.
    aside = text_of(deployment.say(second, sender, "what does the SENCO do?")[1])
    assert "Source:" in aside and "Now, back to the plan." in aside
    where = text_of(deployment.say(first, sender, "where am I")[1])
    assert "Section 4 of 14" in where or "Section 5 of 14" in where
    assert pupil_plan(scaled.database_url, pupil).previous_progress == ANSWERS[4]
    said = [text for kind, text in tracker_rows(scaled, sender) if kind == "user"]
    assert said[2:] == [*ANSWERS[:6], "what does the SENCO do?", "where am I"], "every message once, in order"


# Many conversations at once ----------------------------------------------------------


def test_fifty_concurrent_conversations_of_twenty_turns_lose_and_repeat_nothing(scaled: Deployment) -> None:
    texts = question_texts()
    run = uuid.uuid4().hex[:12]
    received: dict[str, list[int]] = {}
    failures: list[str] = []

    async def conversation(index: int, session: aiohttp.ClientSession) -> None:
        sender = f"crowd-{run}-{index}"
        received[sender] = []
        for turn in range(20):
            text = f"{texts[(index * 20 + turn) % len(texts)]} ({turn})"
            async with session.post(
                f"{scaled.url}/webhooks/rest/webhook", json={"sender": sender, "message": text}
            ) as response:
                replies = await response.json(content_type=None)
                if response.status != 200 or not replies or any(r.get("text") == TRY_AGAIN for r in replies):
                    failures.append(f"{sender} turn {turn}: {response.status}")
                received[sender].append(len(replies))

    async def everyone() -> None:
        async with aiohttp.ClientSession(
            headers=deployment.REST_HEADERS, timeout=aiohttp.ClientTimeout(total=900)
        ) as session:
            await asyncio.gather(*(conversation(index, session) for index in range(50)))

    asyncio.run(everyone())
    assert failures == []
    for index in range(50):
        sender = f"crowd-{run}-{index}"
        rows = tracker_rows(scaled, sender)
        said = [text for kind, text in rows if kind == "user"]
        assert said == [f"{texts[(index * 20 + turn) % len(texts)]} ({turn})" for turn in range(20)], sender
        assert Counter(kind for kind, _ in rows)["bot"] == sum(received[sender]), sender


# The web chat through nginx ----------------------------------------------------------------


async def test_web_chats_over_socketio_long_polling_through_nginx(scaled: Deployment) -> None:
    """socket.io's polling needs every request of a socket on one server: nginx keeps it there."""
    from tests.servers.test_webchat_server import _socket

    chats = [await _socket(scaled.public_port) for _ in range(3)]
    try:
        for client, confirmed, replies in chats:
            session = secrets.token_hex(32)
            await client.emit("session_request", {"session_id": session})
            assert await asyncio.wait_for(confirmed.get(), 30) == session
            for question in ("what does assess plan do review mean", "who is the SENCO?"):
                await client.emit("user_uttered", {"message": question, "session_id": session})
                texts = [(await asyncio.wait_for(replies.get(), 60))["text"]]
                try:
                    while True:
                        texts.append((await asyncio.wait_for(replies.get(), 1.5))["text"])
                except asyncio.TimeoutError:
                    pass
                assert "Source:" in "\n".join(texts), texts
    finally:
        for client, _, _ in chats:
            await client.disconnect()


# Odd input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message, expected",
    [
        ("", channels.EMPTY),
        ("   \n\t ", channels.EMPTY),
        ("x" * 6000, channels.TOO_LONG),
        ("what is sen support? " * 200, ""),
        ("😀😀 what is sen support 🙏", "Source:"),
        ("ما هو دعم الاحتياجات التعليمية الخاصة؟", ""),
        ("特殊教育需要支持是什么", ""),
        ("<script>alert('x')</script><b>what is sen support</b>", ""),
        ("Robert'); DROP TABLE events;--", ""),
        ("\x00\x07what is sen support\x1b", "Source:"),
    ],
    ids=["empty", "spaces", "too-long", "long", "emoji", "arabic", "chinese", "markup", "sql", "control"],
)
def test_odd_messages_get_a_reply_and_no_error(scaled: Deployment, message: str, expected: str) -> None:
    sender = f"odd-{uuid.uuid4().hex[:16]}"
    status, replies = deployment.say(scaled.url, sender, message)
    assert status == 200 and replies, replies
    assert expected in text_of(replies)
    assert TRY_AGAIN not in text_of(replies)
    assert "Traceback" not in text_of(replies) and "<script>" not in text_of(replies)
    # The conversation still works afterwards.
    assert "Source:" in text_of(deployment.say(scaled.url, sender, "what is sen support")[1])


# Faults -------------------------------------------------------------------------------


def keep_talking(scaled: Deployment, sender: str, answers: list[str], fault: Any, settle: float = 0) -> list[str]:
    """Send ``answers`` through nginx, causing ``fault`` after the first; resend any the user was asked to resend.

    Returns every reply text, in order. Each message gets an answer or a clear "send it
    again" (never silence or an error page); a message is resent at most 60 times.
    """
    replies: list[str] = []
    for number, answer in enumerate(answers):
        if number == 1:
            fault()
        for _ in range(60):
            status, reply = deployment.say(scaled.url, sender, answer, timeout=120)
            text = text_of(reply)
            assert reply and text.strip(), f"no reply (status {status})"
            assert "Traceback" not in text and "<html" not in text.lower()
            if text.strip() != TRY_AGAIN:
                replies.append(text)
                break
            assert status in (200, 503)
            time.sleep(0.5)
        else:
            raise AssertionError(f"still 'try again' after a minute: {answer!r}")
    return replies


def plan_walk_with_fault(scaled: Deployment, fault: Any) -> tuple[str, str, list[str]]:
    sender = f"fault-{uuid.uuid4().hex[:16]}"
    pupil = start_new_plan(scaled, scaled.url, sender)
    replies = keep_talking(scaled, sender, ANSWERS[:6], fault)
    return sender, pupil, replies


def assert_plan_walk_carried_on(scaled: Deployment, sender: str, pupil: str, replies: list[str]) -> None:
    assert "Section 4 of 14" in replies[3] and "current attainment" in replies[4], replies
    where = text_of(deployment.say(scaled.url, sender, "where am I")[1])
    assert "Section 4 of 14" in where or "Section 5 of 14" in where, where
    plan = pupil_plan(scaled.database_url, pupil)
    assert plan.previous_progress == ANSWERS[4], "the answers given before and after the fault are saved"


@pytest.mark.restarts_services
@pytest.mark.parametrize("victim", ["Rasa server 1", "action server 1"])
def test_a_server_killed_mid_conversation_loses_nothing_and_comes_back(scaled: Deployment, victim: str) -> None:
    killed: list[int] = []
    sender, pupil, replies = plan_walk_with_fault(scaled, lambda: killed.append(scaled.kill(victim)))
    assert_plan_walk_carried_on(scaled, sender, pupil, replies)
    scaled.wait_restarted(victim, killed[0])
    if victim.startswith("Rasa"):
        answer = text_of(deployment.say(rasa_url(scaled, 1), sender, "what is the SEN register?")[1])
        assert "Source:" in answer, "the restarted server carries on the same conversation"


@pytest.mark.restarts_services
def test_a_message_in_flight_when_its_server_dies_gets_try_again(scaled: Deployment) -> None:
    """A message whose action server dies while it runs gets "send it again", not silence."""
    sender = f"inflight-{uuid.uuid4().hex[:16]}"
    deployment.say(scaled.url, sender, "hello")
    result: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: result.update(reply=deployment.say(scaled.url, sender, "what is the SEN register?"))
    )
    # The launcher is paused, so nothing is started again until the message has failed;
    # with action server 1 gone, every action call goes to action server 2.
    os.kill(scaled.process.pid, signal.SIGSTOP)
    try:
        first = scaled.kill("action server 1")
        victim = scaled.service("action server 2")["pid"]
        os.killpg(victim, signal.SIGSTOP)  # the action call hangs...
        thread.start()
        time.sleep(1.5)
        os.killpg(victim, signal.SIGKILL)  # ...and its server dies under it
        thread.join(120)
    finally:
        os.kill(scaled.process.pid, signal.SIGCONT)
    status, replies = result["reply"]
    assert status == 200 and text_of(replies).strip() == TRY_AGAIN
    scaled.wait_restarted("action server 1", first)
    scaled.wait_restarted("action server 2", victim)
    assert "Source:" in text_of(deployment.say(scaled.url, sender, "what is the SEN register?")[1])


@pytest.mark.restarts_services
def test_the_telegram_app_killed_mid_conversation_comes_back_and_answers(scaled: Deployment, telegram_api: Any) -> None:
    user = tg.new_user_id()
    telegram_api.thread.push(tg.message(user, "what is sen support"))
    asyncio.run_coroutine_threadsafe(telegram_api.replies(user, 1, timeout=60), telegram_api.thread.loop).result(70)
    pid = scaled.kill("Telegram app")
    before = len(telegram_api.sent_to(user))
    telegram_api.thread.push(tg.message(user, "what is the SEN register?"))  # sent while the app is down
    scaled.wait_restarted("Telegram app", pid)
    later = asyncio.run_coroutine_threadsafe(
        telegram_api.replies(user, 1, after=before, timeout=90), telegram_api.thread.loop
    ).result(100)
    assert any("register" in (m.get("text") or "").lower() for m in later), later


def restart_postgres() -> None:
    version = subprocess.run(["ls", "/etc/postgresql"], capture_output=True, text=True, check=True).stdout.split()[0]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True, timeout=120)


def restart_redis() -> None:
    client = redis.Redis(host=conftest.REDIS_HOST, port=6379)
    with contextlib.suppress(redis.exceptions.ConnectionError):
        client.shutdown(nosave=True)
    time.sleep(1)
    subprocess.run(
        [
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            "6379",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        check=True,
        timeout=30,
    )
    for _ in range(50):
        try:
            if client.ping():
                return
        except redis.exceptions.ConnectionError:
            time.sleep(0.2)


@pytest.mark.restarts_services
@pytest.mark.parametrize("restart", [restart_postgres, restart_redis], ids=["postgres", "redis"])
def test_a_database_restarted_mid_conversation_loses_no_saved_answer(scaled: Deployment, restart: Any) -> None:
    sender, pupil, replies = plan_walk_with_fault(scaled, restart)
    assert_plan_walk_carried_on(scaled, sender, pupil, replies)
    said = [text for kind, text in tracker_rows(scaled, sender) if kind == "user"]
    for answer in ANSWERS[:6]:
        assert answer in said
    assert psycopg2.connect(conftest.POSTGRES_DSN).close() is None


# The deployment's own pieces ----------------------------------------------------------


def test_below_nginx_every_server_is_private_and_a_forged_action_call_is_refused(scaled: Deployment) -> None:
    site = (scaled.state_dir / "scaled" / "nginx" / "sen-support.conf").read_text()
    proxy = int(re.findall(r"listen 127\.0\.0\.1:(\d+);", site)[1])  # the private side, for the Rasa servers
    action_ports = [scaled.port_of(f"action server {n}") for n in (1, 2)]
    forged = json.dumps({"next_action": "action_reviews_due", "sender_id": "test-forged-0001", "tracker": {}}).encode()
    for port in [*action_ports, proxy]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/webhook", data=forged, headers={"Content-Type": "application/json"}
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 403, port
    service_ports = {scaled.port_of(s["name"]) for s in scaled.state()["services"] if s["health_url"]}
    assert {address for _, address in servers.listening_addresses(service_ports)} == {"127.0.0.1"}

    status, _ = deployment.say(scaled.url, "test-no-token-000000001", "what is sen support", headers={})
    assert status == 401, "the REST channel behind nginx needs its bearer token"
    status, replies = deployment.say(scaled.url, "test-with-token-00000001", "what is sen support")
    assert status == 200 and "Source:" in text_of(replies)


def test_the_nginx_site_lists_every_server_and_passes_nginxs_own_check(tmp_path: Path) -> None:
    from bot.ops import deploy

    layout = deploy.Layout(
        public_port=8181,
        action_proxy_port=8155,
        rasa_ports=[6001, 6002, 6003],
        action_ports=[6101, 6102],
        web_port=6200,
    )
    config = deploy.write_nginx_config(layout, tmp_path / "nginx")
    site = (tmp_path / "nginx" / "sen-support.conf").read_text()
    assert site.count("server 127.0.0.1:6003") == 2, "both Rasa upstreams (REST and sticky socket.io) list it"
    assert "server 127.0.0.1:6102" in site and "listen 127.0.0.1:8181;" in site and "listen 127.0.0.1:8155;" in site
    assert "${" not in site.split("\n", 3)[3], "every value is filled in"
    checked = subprocess.run(
        [deploy.nginx_path(), "-t", "-e", str(tmp_path / "nginx" / "error.log"), "-c", str(config)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr


def test_the_deployment_reads_its_stores_from_two_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.ops import deploy

    monkeypatch.setenv("SEN_REDIS_PREFIX", "schoolsA1")
    values = deploy.store_environment("postgresql://sen:secret@db.example:6543/plans", "redis://cache.example:6380/2")
    assert values == {
        "SEN_PG_HOST": "db.example",
        "SEN_PG_PORT": "6543",
        "SEN_PG_USER": "sen",
        "SEN_PG_PASSWORD": "secret",
        "SEN_PG_DATABASE": "plans",
        "SEN_REDIS_HOST": "cache.example",
        "SEN_REDIS_PORT": "6380",
        "SEN_REDIS_DB": "2",
        "SEN_REDIS_PREFIX": "schoolsA1",
    }
    monkeypatch.setenv("SEN_REDIS_PREFIX", "not_allowed")
    with pytest.raises(ValueError, match="letters and digits"):
        deploy.store_environment("postgresql://localhost/x", "redis://localhost")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///x.db")
    with pytest.raises(ValueError, match="PostgreSQL"):
        deploy.database_url()
