"""nginx's per-address limit on the public paths, with the deployment's own site, in front of stand-in servers."""

from __future__ import annotations

import http.server
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.ops import deploy
from bot.ops.services import wait_until_healthy
from tests.support import servers


class StandIn(http.server.BaseHTTPRequestHandler):
    """Any Rasa or web server: answers every request at once."""

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'[{"recipient_id": "x", "text": "hello"}]'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def limited_nginx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setenv("SEN_RATE_PER_ADDRESS", "1r/m")
    monkeypatch.setenv("SEN_RATE_BURST", "4")
    stand_in = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    threading.Thread(target=stand_in.serve_forever, daemon=True).start()
    port = stand_in.server_address[1]
    layout = deploy.Layout(
        public_port=servers.free_port(),
        action_proxy_port=servers.free_port(),
        rasa_ports=[port],
        action_ports=[port],
        web_port=port,
    )
    nginx = deploy.nginx_service(layout, deploy.write_nginx_config(layout, tmp_path / "nginx"), tmp_path)
    nginx.start({})
    try:
        wait_until_healthy([nginx], lambda: False, timeout=30)
        yield layout.public_port
    finally:
        nginx.stop()
        stand_in.shutdown()


def _status(url: str, body: bytes | None = None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def test_a_burst_from_one_address_is_slowed_kindly_and_the_telegram_bridge_is_not(limited_nginx: int) -> None:
    base = f"http://127.0.0.1:{limited_nginx}"
    burst = [_status(f"{base}/webhooks/rest/webhook", b"{}") for _ in range(12)]
    assert [status for status, _ in burst[:5]] == [200] * 5, "one request and the burst of four pass"
    assert {status for status, _ in burst[5:]} == {429}
    assert "Please wait a few seconds and send your message again" in burst[-1][1]
    assert _status(f"{base}/")[0] == 429, "the address is limited on every public path"
    bridged = [_status(f"{base}/webhooks/telegram/webhook", b"{}")[0] for _ in range(12)]
    assert bridged == [200] * 12, "the Telegram app speaks for every Telegram user from one address"
