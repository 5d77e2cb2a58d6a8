"""The server side of the web chat: the demo page, its policy, the chat's files, and its Rasa channel."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.web import server as web_server
from tests.conftest import demo_codes
from tests.support.replies import answer_given


@pytest.fixture
async def client(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[TestClient]:
    monkeypatch.setenv("SEN_COUNCIL", "kent")
    monkeypatch.setenv("RASA_PORT", "5123")
    monkeypatch.delenv("SEN_CHAT_SERVER", raising=False)
    async with TestClient(TestServer(web_server.make_app())) as test_client:
        yield test_client


async def test_the_demo_page_embeds_the_chat_with_one_tag_and_a_strict_policy(client: TestClient) -> None:
    response = await client.get("/", headers={"Host": "council.example:8080"})
    page = await response.text()
    assert response.status == 200
    assert page.count("<script") == 1
    assert (
        '<script src="/chat/sen-chat.js" data-server="http://council.example:5123" data-kept-days="90" defer>' in page
    )
    assert (
        '<html lang="en-GB">' in page and "Kent Local Offer" in page and "Information, Advice and Support Kent" in page
    )
    assert "It is not a page of\n  Kent County Council" in page
    policy = response.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';")
    assert "connect-src 'self' http://council.example:5123 ws://council.example:5123;" in policy
    assert "'unsafe-inline'" not in policy and "frame-ancestors 'none'" in policy


@pytest.mark.parametrize("host", ['evil.example"><script>alert(1)</script>', "a b;c", "x:5;script-src *"])
async def test_a_strange_host_header_cannot_reach_the_page_or_its_policy(client: TestClient, host: str) -> None:
    response = await client.get("/", headers={"Host": host})
    page = await response.text()
    assert 'data-server="http://localhost:5123"' in page
    assert "alert(1)" not in page
    assert (
        "connect-src 'self' http://localhost:5123 ws://localhost:5123;" in response.headers["Content-Security-Policy"]
    )


async def test_the_privacy_line_gives_the_days_the_server_keeps_conversations(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert 'data-kept-days="90"' in await (await client.get("/")).text()
    monkeypatch.setenv("SEN_CONVERSATION_DAYS", "30")
    assert 'data-kept-days="30"' in await (await client.get("/")).text()
    widget = await (await client.get("/chat/sen-chat.js")).text()
    assert 'server keeps it for " + KEPT_DAYS + " days, without codes or private links, then deletes it.' in widget


async def test_a_configured_chat_server_is_used_over_https(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEN_CHAT_SERVER", "https://chat.example.org/")
    response = await client.get("/")
    assert 'data-server="https://chat.example.org"' in await response.text()
    assert (
        "connect-src 'self' https://chat.example.org wss://chat.example.org;"
        in response.headers["Content-Security-Policy"]
    )


@pytest.mark.parametrize(
    "path, kind, needle",
    [
        ("/chat/sen-chat.js", "text/javascript", b"textContent"),
        ("/chat/sen-chat.css", "text/css", b".launcher"),
        ("/chat/socket.io.min.js", "text/javascript", b"Socket.IO"),
        ("/chat/icon.svg", "image/svg+xml", b"<svg"),
        ("/assets/local-offer.css", "text/css", b".masthead"),
    ],
)
async def test_the_chat_files_are_served(client: TestClient, path: str, kind: str, needle: bytes) -> None:
    response = await client.get(path)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith(kind)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert needle in await response.read()


@pytest.mark.parametrize(
    "path", ["/chat/local-offer.html", "/chat/../web.py", "/chat/nothing.js", "/assets/sen-chat.js"]
)
async def test_nothing_else_is_served(client: TestClient, path: str) -> None:
    response = await client.get(path)
    assert response.status == 404


def test_the_widget_never_parses_text_as_html() -> None:
    source = (web_server.WEBCHAT_DIR / "sen-chat.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in source


async def _socket(port: int, origin: str | None = None) -> tuple[Any, asyncio.Queue[Any], asyncio.Queue[Any]]:
    import socketio

    client = socketio.AsyncClient(reconnection=False)
    confirmed: asyncio.Queue[Any] = asyncio.Queue()
    replies: asyncio.Queue[Any] = asyncio.Queue()
    client.on("session_confirm", confirmed.put)
    client.on("bot_uttered", replies.put)
    # Long-polling: the installed aiohttp is older than python-engineio's WebSocket client needs.
    headers = {"Origin": origin} if origin else {}
    await client.connect(f"http://127.0.0.1:{port}", transports=["polling"], headers=headers)
    return client, confirmed, replies


async def test_only_the_chats_own_pages_may_open_it(rasa_sqlite: int, chat_page_port: int) -> None:
    import socketio

    with pytest.raises(socketio.exceptions.ConnectionError):
        await _socket(rasa_sqlite, origin="https://another-site.example")
    own, confirmed, _ = await _socket(rasa_sqlite, origin=f"http://127.0.0.1:{chat_page_port}")
    try:
        await own.emit("session_request", {"session_id": secrets.token_hex(32)})
        assert re.fullmatch(r"[0-9a-f]{64}", await asyncio.wait_for(confirmed.get(), 30))
    finally:
        await own.disconnect()


async def test_the_channel_keeps_each_socket_to_its_own_long_random_session(rasa_sqlite: int) -> None:
    first, confirmed, replies = await _socket(rasa_sqlite)
    other, _, other_replies = await _socket(rasa_sqlite)
    try:
        await first.emit("session_request", {"session_id": "me"})
        given = await asyncio.wait_for(confirmed.get(), 30)
        assert re.fullmatch(r"[0-9a-f]{32}", given)

        mine = secrets.token_hex(32)
        await first.emit("session_request", {"session_id": mine})
        assert await asyncio.wait_for(confirmed.get(), 30) == mine

        # A socket that did not ask for the session cannot speak in it.
        await other.emit("user_uttered", {"message": "my code is AAAA-BBBB", "session_id": mine})
        await first.emit("user_uttered", {"message": "what does assess plan do review mean", "session_id": mine})
        reply = await asyncio.wait_for(replies.get(), 60)
        assert answer_given("graduated_approach", reply["text"], cited=False), (
            "the question's own answer, to the socket that asked"
        )
        assert other_replies.empty()
    finally:
        await first.disconnect()
        await other.disconnect()


async def test_start_again_unlinks_the_old_session_on_the_server(rasa_sqlite: int, demo_store: str) -> None:
    codes = demo_codes(demo_store)
    tab, confirmed, replies = await _socket(rasa_sqlite)
    later, later_confirmed, later_replies = await _socket(rasa_sqlite)
    try:
        old = secrets.token_hex(32)
        await tab.emit("session_request", {"session_id": old})
        assert await asyncio.wait_for(confirmed.get(), 30) == old
        await tab.emit("user_uttered", {"message": f"my code is {codes.staff_code}", "session_id": old})
        assert "linked as Mrs Priya Ashdown" in (await asyncio.wait_for(replies.get(), 60))["text"]
        await asyncio.sleep(2)  # the SENCO's reminders follow the link's reply
        while not replies.empty():
            replies.get_nowait()

        fresh = secrets.token_hex(32)
        await tab.emit("session_request", {"session_id": fresh, "forget_previous": True})
        assert await asyncio.wait_for(confirmed.get(), 30) == fresh
        await asyncio.sleep(2)
        assert replies.empty(), "nothing of the old session is shown in the new one"

        # Whoever opens the old session again finds it no longer linked.
        await later.emit("session_request", {"session_id": old})
        assert await asyncio.wait_for(later_confirmed.get(), 30) == old
        await later.emit("user_uttered", {"message": "which reviews are overdue?", "session_id": old})
        refused = (await asyncio.wait_for(later_replies.get(), 60))["text"]
        assert refused.startswith("Lists of reviews are for school staff") and "Ben Okafor" not in refused
    finally:
        await tab.disconnect()
        await later.disconnect()
