"""The web server: private plan links open the plan as PDF and HTML; anything else gets a kind 404."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.store import access, document_links, records
from bot.store.access import Person
from bot.store.db import sessions
from tests.conftest import TEST_IDENTITY_KEY, _seeded
from tests.support import servers


@pytest.fixture
def web_server(tmp_path: Path) -> Iterator[tuple[int, str]]:
    store = _seeded(f"sqlite:///{tmp_path / 'store.db'}")
    port = servers.free_port()
    service = servers.start(
        "web server",
        [str(servers.BIN / "python"), "-m", "bot.web.server", "--port", str(port)],
        f"http://127.0.0.1:{port}/health",
        tmp_path / "web.log",
        servers.base_env(DATABASE_URL=store, SEN_IDENTITY_KEY=TEST_IDENTITY_KEY),
    )
    yield port, store
    service.stop()


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_a_link_opens_the_plan_as_pdf_and_html(web_server: tuple[int, str]) -> None:
    port, store = web_server
    from bot.store import demo

    with sessions(store).begin() as session:
        school = demo.find_demo(session)
        plan = records.current_plan(session, school.parent_pupil_id)
        parent = access.Viewer(Person("parent", school.parent_id, pupil_ids=(school.parent_pupil_id,)), "rest")
        token = document_links.issue_link(session, parent, plan.id)
    status, headers, body = _get(f"http://127.0.0.1:{port}/documents/{token}.pdf")
    assert status == 200 and headers["Content-Type"] == "application/pdf" and body.startswith(b"%PDF")
    assert headers["Cache-Control"] == "no-store"
    status, headers, body = _get(f"http://127.0.0.1:{port}/documents/{token}.html")
    assert status == 200 and "default-src 'none'" in headers["Content-Security-Policy"]
    assert b"Amy Carter" in body and b"Brambleway Primary School" in body


@pytest.mark.parametrize("path", ["/documents/nope.pdf", "/documents/nope.exe", "/documents/.pdf", "/anything"])
def test_wrong_links_get_a_kind_page(web_server: tuple[int, str], path: str) -> None:
    port, _ = web_server
    status, _, body = _get(f"http://127.0.0.1:{port}{path}")
    assert status == 404
    if path.startswith("/documents"):
        assert b"This link has expired or is not right" in body
