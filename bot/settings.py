"""Settings read from the environment, in one place.

Every process (launcher, action server, tests, bench) reads its configuration
here, so a deployment changes behaviour through the environment alone.
"""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]

DEFAULT_COUNCIL = "norfolk"


def council_id() -> str:
    """The council whose Local Offer and SENDIASS the assistant points to."""
    return os.environ.get("SEN_COUNCIL", DEFAULT_COUNCIL).strip().lower()


def rasa_port() -> int:
    return int(os.environ.get("RASA_PORT", "5005"))


def action_port() -> int:
    return int(os.environ.get("ACTION_PORT", "5055"))


def demo_enabled() -> bool:
    """Whether the run command seeds the fictional demo school and prints codes (``SEN_DEMO``)."""
    return os.environ.get("SEN_DEMO", "1").strip().lower() not in {"0", "no", "false", "off"}


def web_port() -> int:
    return int(os.environ.get("WEB_PORT", "5056"))


def public_url() -> str:
    """Where people reach the web server, for links given in the chat (``SEN_PUBLIC_URL``)."""
    return os.environ.get("SEN_PUBLIC_URL", f"http://localhost:{web_port()}").rstrip("/")


def chat_server_url() -> str:
    """Where browsers reach the Rasa server for the web chat (``SEN_CHAT_SERVER``).

    Empty when not set: the web server then points the chat at the host the page
    was opened on, on the Rasa port.
    """
    return os.environ.get("SEN_CHAT_SERVER", "").strip().rstrip("/")


def state_dir() -> Path:
    """Where running processes keep their pid file and logs."""
    return Path(os.environ.get("SEN_STATE_DIR", PROJECT_ROOT / "var"))


def identity_key() -> bytes:
    """The secret that turns chat user ids into digests before they are stored.

    Set ``SEN_IDENTITY_KEY`` in production. Without it, a random key is made
    once and kept in the state folder, which is enough for one machine.
    """
    configured = os.environ.get("SEN_IDENTITY_KEY")
    if configured:
        return configured.encode()
    path = state_dir() / "identity.key"
    if not path.exists():
        import secrets

        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip().encode()
