"""What both launchers share: starting a process, waiting until it answers, and stopping it.

``bot.ops.run`` (one of each server, ``make run``) and ``bot.ops.deploy`` (the
scaled deployment, ``make scaled``) both start the project's processes with
these, so a process is started, checked and stopped the same way in both.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot import settings

START_TIMEOUT = 300.0
VENV_BIN = Path(sys.executable).parent


class AlreadyRunning(RuntimeError):
    """Another copy of the assistant, or another program, holds what we need."""


@dataclass
class Service:
    name: str
    command: list[str]
    health_url: str | None  # None: a worker with no port, healthy while it runs
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self, env: dict[str, str]) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command,
            cwd=settings.PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def healthy(self) -> bool:
        if self.health_url is None:
            return self.process is not None and self.process.poll() is None
        try:
            with urllib.request.urlopen(self.health_url, timeout=2) as response:
                status: int = response.status
                return status == 200
        except (urllib.error.URLError, OSError):
            return False

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def stop(self, grace: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def action_server_command(port: int) -> list[str]:
    """The action server (``bot/action_server/app.py``), which needs ``SEN_ACTION_SECRET`` in its environment."""
    return [str(VENV_BIN / "python"), "-m", "bot.action_server.app", "--port", str(port)]


def rasa_server_command(model: Path, endpoints: Path | str, port: int) -> list[str]:
    """A Rasa server on ``SEN_BIND_HOST``, open to the web chat's own pages only."""
    return [
        str(VENV_BIN / "rasa"),
        "run",
        "--model",
        str(model),
        "--endpoints",
        str(endpoints),
        "--credentials",
        str(settings.PROJECT_ROOT / "credentials.yml"),
        "--interface",
        settings.bind_host(),
        "--port",
        str(port),
        "--cors",
        *settings.allowed_origins(),
    ]


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def find_model() -> Path:
    models = sorted((settings.PROJECT_ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise FileNotFoundError("No trained model in models/. Run `make train` (or `make run`, which trains).")
    return models[-1]


def wait_until_healthy(
    running: list[Service], stop_requested: Callable[[], bool], timeout: float = START_TIMEOUT
) -> bool:
    """Wait for every service to answer; False if a stop was requested first."""
    deadline = time.monotonic() + timeout
    pending = list(running)
    while pending:
        if stop_requested():
            return False
        for service in list(pending):
            code = service.exited()
            if code is not None:
                raise RuntimeError(
                    f"The {service.name} stopped while starting (exit code {code}). See {service.log_path}."
                )
            if service.healthy():
                pending.remove(service)
        if time.monotonic() > deadline:
            names = ", ".join(service.name for service in pending)
            raise RuntimeError(
                f"Gave up waiting for the {names} after {timeout:.0f} s. See the logs in {running[0].log_path.parent}."
            )
        time.sleep(0.5)
    return True


def stop_all(running: list[Service], record: Path) -> None:
    """Stop every service, last started first, and remove the running copy's record."""
    for service in reversed(running):
        service.stop()
    if record.exists():
        record.unlink()
    print("Stopped.", flush=True)
