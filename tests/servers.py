"""Real servers for tests: the action server and the Rasa server as subprocesses."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Optional

import json

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MODEL = ROOT / "models" / "sen-support.tar.gz"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, log: Path, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {process.returncode}\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer in {timeout} s\n{log.read_text()[-3000:]}")


class ServerProcess:
    """A subprocess in its own process group, with its output in a log file."""

    def __init__(self, command: list[str], log: Path, env: Optional[dict[str, str]] = None) -> None:
        self.log = log
        handle = log.open("wb")
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        handle.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def base_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", SEN_COUNCIL="norfolk")
    env.update(extra)
    return env


def start_action_server(log_dir: Path, **env: str) -> tuple[ServerProcess, int]:
    port = free_port()
    server = ServerProcess(
        [str(BIN / "python"), "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
        log_dir / f"actions-{port}.log",
        base_env(**env),
    )
    wait_for(f"http://127.0.0.1:{port}/health", server.process, server.log)
    return server, port


def write_endpoints(path: Path, action_port: int, tracker_store: dict[str, Any], lock_store: Optional[dict[str, Any]] = None) -> Path:
    import yaml

    endpoints: dict[str, Any] = {
        "action_endpoint": {"url": f"http://127.0.0.1:{action_port}/webhook"},
        "tracker_store": tracker_store,
    }
    if lock_store:
        endpoints["lock_store"] = lock_store
    path.write_text(yaml.safe_dump(endpoints))
    return path


def start_rasa_server(log_dir: Path, endpoints: Path, **env: str) -> tuple[ServerProcess, int]:
    port = free_port()
    server = ServerProcess(
        [
            str(BIN / "rasa"), "run", "--model", str(MODEL), "--endpoints", str(endpoints),
            "--credentials", str(ROOT / "credentials.yml"), "--port", str(port),
        ],
        log_dir / f"rasa-{port}.log",
        base_env(**env),
    )
    wait_for(f"http://127.0.0.1:{port}/", server.process, server.log)
    return server, port


def say(port: int, sender: str, message: str) -> list[dict[str, Any]]:
    """Send one message through the REST channel and return the bot's replies."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": message}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())
