"""The deployment files keep the servers private: secrets required, one public face, no open CORS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import settings
from bot.ops import deploy
from bot.ops.services import action_server_command, rasa_server_command

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "deploy" / "compose.yml").read_text())
    return loaded


@pytest.mark.parametrize("endpoints", ["endpoints.yml", "deploy/endpoints.yml"])
def test_every_rasa_server_sends_the_action_secret(endpoints: str) -> None:
    action = yaml.safe_load((ROOT / endpoints).read_text())["action_endpoint"]
    assert action["headers"] == {"X-SEN-Action-Secret": "${SEN_ACTION_SECRET}"}


def test_in_compose_only_nginx_is_published_and_the_secrets_are_required() -> None:
    services = compose()["services"]
    assert [name for name, service in services.items() if service.get("ports")] == ["nginx"]
    environment = services["actions"]["environment"]
    for secret in ("SEN_ACTION_SECRET", "SEN_REST_TOKEN", "SEN_IDENTITY_KEY"):
        assert ":?" in environment[secret], f"{secret} must be set for compose to start"
    assert environment["RASA_TELEMETRY_ENABLED"] == "false"
    assert "SEN_TELEGRAM_BRIDGE_SECRET" in services["rasa"]["environment"], "the Rasa servers' Telegram channel"
    assert services["actions"]["command"][:3] == ["python", "-m", "bot.action_server.app"]
    rasa = services["rasa"]["command"]
    assert "*" not in rasa and rasa[rasa.index("--cors") + 1].startswith("${SEN_PUBLIC_URL")


def test_the_launchers_bind_this_machine_only_and_name_their_origins(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SEN_BIND_HOST", "SEN_ALLOWED_ORIGINS", "SEN_PUBLIC_URL", "SEN_PUBLIC_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WEB_PORT", "5056")
    rasa = rasa_server_command(Path("model.tar.gz"), "endpoints.yml", 5005)
    assert rasa[rasa.index("--interface") + 1] == "127.0.0.1"
    assert rasa[rasa.index("--cors") + 1 :] == ["http://127.0.0.1:5056", "http://localhost:5056"]
    assert action_server_command(5055)[1:3] == ["-m", "bot.action_server.app"]
    layout = deploy.Layout(public_port=8080, action_proxy_port=5070, rasa_ports=[5101], action_ports=[5201], web_port=1)
    site = deploy.nginx_site(layout)
    assert "listen 127.0.0.1:8080;" in site and "listen 127.0.0.1:5070;" in site

    monkeypatch.setenv("SEN_ALLOWED_ORIGINS", "https://www.norfolk.gov.uk/ https://send.example.org")
    assert settings.allowed_origins() == ["https://www.norfolk.gov.uk", "https://send.example.org"]
    monkeypatch.setenv("SEN_PUBLIC_HOST", "0.0.0.0")
    assert "listen 0.0.0.0:8080;" in deploy.nginx_site(layout)
