"""The web server's side of the web chat: the demo page, its policy, and the chat's files."""
from __future__ import annotations

from typing import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot import web


@pytest.fixture
async def client(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[TestClient]:
    monkeypatch.setenv("SEN_COUNCIL", "kent")
    monkeypatch.setenv("RASA_PORT", "5123")
    monkeypatch.delenv("SEN_CHAT_SERVER", raising=False)
    async with TestClient(TestServer(web.make_app())) as test_client:
        yield test_client


async def test_the_demo_page_embeds_the_chat_with_one_tag_and_a_strict_policy(client: TestClient) -> None:
    response = await client.get("/", headers={"Host": "council.example:8080"})
    page = await response.text()
    assert response.status == 200
    assert page.count("<script") == 1
    assert '<script src="/chat/sen-chat.js" data-server="http://council.example:5123" defer></script>' in page
    assert '<html lang="en-GB">' in page and "Kent Local Offer" in page and "Information, Advice and Support Kent" in page
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
    assert "connect-src 'self' http://localhost:5123 ws://localhost:5123;" in response.headers["Content-Security-Policy"]


async def test_a_configured_chat_server_is_used_over_https(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEN_CHAT_SERVER", "https://chat.example.org/")
    response = await client.get("/")
    assert 'data-server="https://chat.example.org"' in await response.text()
    assert "connect-src 'self' https://chat.example.org wss://chat.example.org;" in response.headers[
        "Content-Security-Policy"]


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


@pytest.mark.parametrize("path", ["/chat/local-offer.html", "/chat/../web.py", "/chat/nothing.js", "/assets/sen-chat.js"])
async def test_nothing_else_is_served(client: TestClient, path: str) -> None:
    response = await client.get(path)
    assert response.status == 404


def test_the_widget_never_parses_text_as_html() -> None:
    source = (web.WEBCHAT_DIR / "sen-chat.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in source
