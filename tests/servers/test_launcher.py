"""The run command: starts both servers, refuses a second copy, stops everything on Ctrl-C."""

from __future__ import annotations

import os
import queue
import re
import signal
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.ops import run, services
from bot.store import migrate
from tests.support.servers import BIN, ROOT, base_env, free_port, listening_addresses, say


def _start(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "python"), "-m", "bot.ops.run"],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _lines(process: subprocess.Popen) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in process.stdout:  # type: ignore[union-attr]  # started with stdout=PIPE, so never None
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _wait_for_line(lines: queue.Queue[str], needle: str, timeout: float) -> str:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        seen.append(line)
        if needle in line:
            return "".join(seen)
    raise AssertionError(f"no line with {needle!r} in {timeout} s:\n{''.join(seen)}")


@pytest.fixture
def launcher_env(tmp_path: Path, trained_model: Path) -> Iterator[dict[str, str]]:
    yield base_env(
        RASA_PORT=str(free_port()),
        ACTION_PORT=str(free_port()),
        WEB_PORT=str(free_port()),
        SEN_STATE_DIR=str(tmp_path),
        SEN_ACTION_SECRET="",  # the run command makes its own
    )


def test_run_serves_refuses_a_second_copy_and_stops_cleanly(launcher_env: dict[str, str], tmp_path: Path) -> None:
    first = _start(launcher_env)
    lines = _lines(first)
    try:
        banner = _wait_for_line(lines, "Press Ctrl-C to stop", timeout=300)
        rasa_port = int(launcher_env["RASA_PORT"])
        assert f"http://localhost:{rasa_port}/webhooks/rest/webhook" in banner
        web_port = int(launcher_env["WEB_PORT"])
        assert f"Web chat:      http://localhost:{web_port}/" in banner
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/", timeout=30) as page:
            assert f'data-server="http://127.0.0.1:{rasa_port}"'.encode() in page.read()
        replies = say(rasa_port, "launcher-test-0001-abcd", "what is sen support")
        assert "Source:" in replies[0]["text"]

        demo_text = _wait_for_line(lines, "Codes work once", timeout=10)
        staff_code = re.search(r"Staff code for the SENCO, [^:]+: (\S+)", demo_text).group(1)
        parent_code = re.search(r"Parent code for [^:]+: (\S+)", demo_text).group(1)
        linked = say(rasa_port, "newcomer-senco-0001-abcd", f"my code is {staff_code}")
        assert "linked as Mrs Priya Ashdown (SENCO)" in linked[0]["text"]
        overdue = say(rasa_port, "newcomer-senco-0001-abcd", "which reviews are overdue?")
        assert "Ben Okafor (Year 4): was due" in overdue[0]["text"]
        linked = say(rasa_port, "newcomer-parent-0001-abcd", f"my code is {parent_code}")
        assert "parent or carer of Amy" in linked[0]["text"]

        ports = {int(launcher_env[name]) for name in ("RASA_PORT", "ACTION_PORT", "WEB_PORT")}
        assert listening_addresses(ports) == {(port, "127.0.0.1") for port in ports}, (
            "every server on this machine only"
        )
        forged = urllib.request.Request(
            f"http://127.0.0.1:{launcher_env['ACTION_PORT']}/webhook",
            data=b"{}",
            headers={"Content-Type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(forged, timeout=30)
        assert refused.value.code == 403
        assert (tmp_path / "action-server.key").stat().st_mode & 0o077 == 0, "the secret it made is its owner's only"

        second = subprocess.run(
            [str(BIN / "python"), "-m", "bot.ops.run"],
            cwd=ROOT,
            env=launcher_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 1
        assert "already running" in second.stderr

        os.killpg(first.pid, signal.SIGINT)
        assert first.wait(timeout=60) == 0
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert not services.port_in_use(int(launcher_env["RASA_PORT"]))
    assert not services.port_in_use(int(launcher_env["ACTION_PORT"]))
    assert not services.port_in_use(int(launcher_env["WEB_PORT"]))
    assert not (tmp_path / "run.json").exists()
    assert (tmp_path / "tracker.db").exists()
    with sqlite3.connect(tmp_path / "sen_support.db") as database:
        assert database.execute("SELECT version_num FROM alembic_version").fetchone() == (migrate.head(),)


def test_busy_port_is_reported_clearly(launcher_env: dict[str, str]) -> None:
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", int(launcher_env["RASA_PORT"])))
        holder.listen()
        result = subprocess.run(
            [str(BIN / "python"), "-m", "bot.ops.run"],
            cwd=ROOT,
            env=launcher_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 1
    assert f"Rasa port {launcher_env['RASA_PORT']}" in result.stderr


def test_unknown_council_is_refused_before_starting(launcher_env: dict[str, str]) -> None:
    env = dict(launcher_env, SEN_COUNCIL="atlantis")
    result = subprocess.run(
        [str(BIN / "python"), "-m", "bot.ops.run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "Unknown council 'atlantis'" in result.stderr


def test_stop_with_nothing_running_says_so(launcher_env: dict[str, str]) -> None:
    result = subprocess.run(
        [str(BIN / "python"), "-m", "bot.ops.run", "--stop"],
        cwd=ROOT,
        env=launcher_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0
    assert "not running" in result.stdout


def test_a_stale_record_from_a_crashed_run_does_not_block(
    launcher_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEN_STATE_DIR", str(tmp_path))
    dead_pid = subprocess.Popen(["true"])
    dead_pid.wait()
    (tmp_path / "run.json").write_text(f'{{"pid": {dead_pid.pid}, "rasa_port": 5005}}')
    run.check_not_running({"Rasa": int(launcher_env["RASA_PORT"])})
    assert not (tmp_path / "run.json").exists()
