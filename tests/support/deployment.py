"""The scaled deployment (bot/ops/deploy.py) as a subprocess, for tests and the bench."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import servers


def free_block(size: int) -> int:
    """The first of ``size`` consecutive free ports."""
    for _ in range(200):
        first = servers.free_port()
        if first + size >= 65535:
            continue
        taken = []
        try:
            for port in range(first, first + size):
                sock = socket.socket()
                sock.bind(("127.0.0.1", port))
                taken.append(sock)
            return first
        except OSError:
            continue
        finally:
            for sock in taken:
                sock.close()
    raise RuntimeError("no block of free ports")


def answers(url: str, timeout: float = 2) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status: int = response.status
            return status == 200
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class Deployment:
    """A running scaled deployment: its launcher process and where its parts listen."""

    process: subprocess.Popen[bytes]
    state_dir: Path
    public_port: int
    database_url: str
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.public_port}"

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = json.loads((self.state_dir / "scaled" / "run.json").read_text())
        return state

    def service(self, name: str) -> dict[str, Any]:
        return next(s for s in self.state()["services"] if s["name"] == name)

    def port_of(self, name: str) -> int:
        return int(self.service(name)["health_url"].split(":")[2].split("/")[0])

    def kill(self, name: str) -> int:
        """Kill a service at once (SIGKILL to its process group), as a crash would; return its pid."""
        pid: int = self.service(name)["pid"]
        os.killpg(pid, signal.SIGKILL)
        return pid

    def wait_restarted(self, name: str, old_pid: int, timeout: float = 240) -> None:
        """Wait until the launcher has started ``name`` again and it answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            entry = self.service(name)
            healthy = entry["health_url"] is None or answers(entry["health_url"])
            if entry["pid"] != old_pid and healthy:
                return
            time.sleep(0.5)
        raise AssertionError(f"{name} was not started again within {timeout} s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


# The scaled deployment's REST channel is public behind nginx, so it needs a bearer token.
REST_TOKEN = "test-rest-token-" + "0" * 16
REST_HEADERS = {"Authorization": f"Bearer {REST_TOKEN}"}


def start(
    state_dir: Path,
    database_url: str,
    redis_prefix: str,
    rasa: int = 2,
    actions: int = 2,
    timeout: float = 420,
    **extra_env: str,
) -> Deployment:
    """Start ``python -m bot.ops.deploy`` on free ports and wait until every part answers."""
    state_dir.mkdir(parents=True, exist_ok=True)
    public, proxy, web = servers.free_port(), servers.free_port(), servers.free_port()
    env = servers.base_env(
        DATABASE_URL=database_url,
        REDIS_URL="redis://127.0.0.1:6379/0",
        SEN_REDIS_PREFIX=redis_prefix,
        SEN_STATE_DIR=str(state_dir),
        SEN_PUBLIC_PORT=str(public),
        SEN_ACTION_PROXY_PORT=str(proxy),
        WEB_PORT=str(web),
        SEN_RASA_SERVERS=str(rasa),
        SEN_ACTION_SERVERS=str(actions),
        SEN_RASA_BASE_PORT=str(free_block(rasa)),
        SEN_ACTION_BASE_PORT=str(free_block(actions)),
        SEN_REST_TOKEN=REST_TOKEN,
        # Every test client is one address (127.0.0.1): fifty chats at once are not one flooding machine.
        SEN_RATE_PER_ADDRESS="1000r/s",
        SEN_RATE_BURST="1000",
        **extra_env,
    )
    log = state_dir / "deploy.log"
    with log.open("ab") as output:
        process = subprocess.Popen(
            [str(servers.BIN / "python"), "-m", "bot.ops.deploy"],
            cwd=servers.ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deployment = Deployment(process, state_dir, public, database_url, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the scaled deployment stopped:\n{log.read_text()[-4000:]}")
        if "Press Ctrl-C to stop" in log.read_text():
            return deployment
        time.sleep(0.5)
    deployment.stop()
    raise RuntimeError(f"the scaled deployment did not start within {timeout} s:\n{log.read_text()[-4000:]}")


def say(
    base_url: str,
    sender: str,
    message: str,
    timeout: float = 60,
    path: str = "/webhooks/rest/webhook",
    headers: dict[str, str] | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Send one REST message (with the REST token unless ``headers`` say otherwise); the status and the replies."""
    request = urllib.request.Request(
        f"{base_url}{path}",
        data=json.dumps({"sender": sender, "message": message}).encode(),
        headers={"Content-Type": "application/json", **(REST_HEADERS if headers is None else headers)},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        body = error.read()
        try:
            return error.code, json.loads(body)
        except ValueError:
            return error.code, [{"text": body.decode(errors="replace")}]


def text_of(replies: list[dict[str, Any]] | None) -> str:
    return "\n".join(reply.get("text") or "" for reply in replies or [])
