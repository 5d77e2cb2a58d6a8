"""Real servers for tests: the action server and the Rasa server as subprocesses."""

from __future__ import annotations

import ipaddress
import json
import socket
import sys
import urllib.request
from pathlib import Path
from typing import Any

from bot import settings
from bot.ops.services import Service, action_server_command, rasa_server_command, wait_until_healthy

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MODEL = ROOT / "models" / "sen-support.tar.gz"
TRACKER_STORE = "bot.rasa_server.tracker_store.SessionTrackerStore"
# The secret between the test Rasa servers and action servers (bot/action_server/app.py).
ACTION_SECRET = "test-action-secret"
# The key of chat identities and code digests on every server the tests start, and in the tests
# themselves, so a code the tests issue is the code the servers check.
IDENTITY_KEY = "tests-identity-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(name: str, command: list[str], health_url: str, log: Path, env: dict[str, str]) -> Service:
    """Start a server the way the launcher does and wait until it answers."""
    service = Service(name=name, command=command, health_url=health_url, log_path=log)
    service.start(env)
    try:
        wait_until_healthy([service], lambda: False, timeout=240)
    except RuntimeError as problem:
        service.stop()
        raise RuntimeError(f"{problem}\n{log.read_text()[-3000:]}") from None
    return service


def base_env(**extra: str) -> dict[str, str]:
    env = settings.process_environment(
        SEN_COUNCIL="norfolk", SEN_ACTION_SECRET=ACTION_SECRET, SEN_IDENTITY_KEY=IDENTITY_KEY
    )
    env.update(settings.tensorflow_env())
    env.update(extra)
    return env


def start_action_server(log_dir: Path, **env: str) -> tuple[Service, int]:
    port = free_port()
    server = start(
        "action server",
        action_server_command(port),
        f"http://127.0.0.1:{port}/health",
        log_dir / f"actions-{port}.log",
        base_env(**env),
    )
    return server, port


def write_endpoints(
    path: Path, action_port: int, tracker_store: dict[str, Any], lock_store: dict[str, Any] | None = None
) -> Path:
    import yaml

    endpoints: dict[str, Any] = {
        "action_endpoint": {
            "url": f"http://127.0.0.1:{action_port}/webhook",
            "headers": {"X-SEN-Action-Secret": ACTION_SECRET},
        },
        "tracker_store": tracker_store,
    }
    if lock_store:
        endpoints["lock_store"] = lock_store
    path.write_text(yaml.safe_dump(endpoints))
    return path


def start_rasa_server(log_dir: Path, endpoints: Path, **env: str) -> tuple[Service, int]:
    port = free_port()
    server = start(
        "Rasa server",
        rasa_server_command(MODEL, endpoints, port),
        f"http://127.0.0.1:{port}/",
        log_dir / f"rasa-{port}.log",
        base_env(**env),
    )
    return server, port


def say(port: int, sender: str, message: str) -> list[dict[str, Any]]:
    """Send one message through the REST channel and return the bot's replies."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": message}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        replies: list[dict[str, Any]] = json.loads(response.read())
        return replies


def listening_addresses(ports: set[int]) -> set[tuple[int, str]]:
    """(port, address) of every listening TCP socket on one of ``ports``, IPv4 and IPv6, as ``ss -ltn`` shows them."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, port = fields[1].split(":")
            if fields[3] == "0A" and int(port, 16) in ports:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                if width == 8:
                    shown = ".".join(str(b) for b in reversed(raw))
                else:
                    shown = str(ipaddress.IPv6Address(b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))))
                found.add((int(port, 16), shown))
    return found
