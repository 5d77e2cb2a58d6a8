"""The servers below the chat trust only each other: the action server's secret, and the REST channel's rules."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bot.action_server.app import SECRET_HEADER
from bot.ops.services import action_server_command
from tests.support import servers

# A name no demo record holds, so finding it anywhere means the call's content leaked.
MARKER = "Zephyrine Quillfeather"


def _post(url: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def action_call(action: str, sender: str, text: str) -> dict[str, Any]:
    """What a Rasa server sends to run ``action`` for ``sender`` on the REST channel."""
    latest = {"text": text, "intent": {"name": "ask_next_review", "confidence": 1.0}, "entities": []}
    return {
        "next_action": action,
        "sender_id": sender,
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": sender,
            "slots": {},
            "latest_message": latest,
            "events": [{"event": "user", "text": text, "input_channel": "rest", "parse_data": latest}],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


def test_a_forged_action_call_is_refused_and_the_real_path_works(action_server: int, server_logs: Path) -> None:
    base = f"http://127.0.0.1:{action_server}"
    forged = action_call("action_next_review", "test-forged-caller-0001", f"when is {MARKER}'s review")
    for headers in ({}, {SECRET_HEADER: "guess"}, {SECRET_HEADER: servers.ACTION_SECRET + "x"}):
        status, body = _post(f"{base}/webhook", forged, headers)
        assert status == 403 and MARKER not in body and "review" not in body
        assert _get(f"{base}/actions", headers)[0] == 403
    assert _get(f"{base}/health")[0] == 200

    status, body = _post(f"{base}/webhook", forged, {SECRET_HEADER: servers.ACTION_SECRET})
    assert status == 200
    assert "linked this chat" in json.loads(body)["responses"][0]["text"], "an unlinked caller is asked to link"
    listed = {item["name"] for item in json.loads(_get(f"{base}/actions", {SECRET_HEADER: servers.ACTION_SECRET})[1])}
    assert {"action_next_review", "action_pupil_plan"} <= listed
    log = (server_logs / f"actions-{action_server}.log").read_text()
    assert "Refused a call to /webhook without the action server's secret" in log


def test_a_failing_action_puts_no_conversation_in_its_reply_or_log(action_server: int, server_logs: Path) -> None:
    broken = action_call("action_next_review", "test-broken-call-0001", f"when is {MARKER}'s review")
    broken["tracker"]["latest_message"] = {"text": MARKER, "intent": MARKER}  # an intent must be a mapping
    status, body = _post(f"http://127.0.0.1:{action_server}/webhook", broken, {SECRET_HEADER: servers.ACTION_SECRET})
    assert status == 500
    assert MARKER not in body and "request_body" not in body
    log = (server_logs / f"actions-{action_server}.log").read_text()
    assert "An action call failed" in log and MARKER not in log


def test_the_action_server_will_not_start_without_its_secret(tmp_path: Path) -> None:
    env = servers.base_env(SEN_ACTION_SECRET="", SEN_STATE_DIR=str(tmp_path))
    ran = subprocess.run(
        action_server_command(servers.free_port()),
        cwd=servers.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 2
    assert "needs SEN_ACTION_SECRET" in ran.stderr


def test_the_rest_channel_refuses_guessable_sender_ids(rasa_sqlite: int) -> None:
    url = f"http://127.0.0.1:{rasa_sqlite}/webhooks/rest/webhook"
    for guessable in ("me", "default", "user-1", "01234567890123456789"):
        status, body = _post(url, {"sender": guessable, "message": "what is sen support"})
        assert status == 400, guessable
        assert "long random" in body
    status, body = _post(url, {"sender": "a-long-random-sender-0001", "message": "what is sen support"})
    assert status == 200 and "Source:" in body
