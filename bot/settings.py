"""Settings read from the environment, in one place.

Every process (launcher, action server, tests, bench) reads its configuration
here, so a deployment changes behaviour through the environment alone.
"""

from __future__ import annotations

import os
import re
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


def bind_host() -> str:
    """The address every server of the assistant listens on (``SEN_BIND_HOST``), by default this machine only.

    A container deployment sets it to 0.0.0.0 inside its private network, where
    nginx is the only service with a published port.
    """
    return os.environ.get("SEN_BIND_HOST", "127.0.0.1").strip() or "127.0.0.1"


def action_secret() -> str:
    """The secret every call from a Rasa server to an action server carries (``SEN_ACTION_SECRET``).

    Without it, a random one is made once and kept in the state folder; the
    launchers pass it to both sides. The action server refuses to start without one.
    """
    return os.environ.get("SEN_ACTION_SECRET") or kept_secret("action-server.key")


def configured_action_secret() -> str:
    """``SEN_ACTION_SECRET`` as set, or "" (the action server then refuses to start)."""
    return os.environ.get("SEN_ACTION_SECRET", "").strip()


def rest_token() -> str:
    """The bearer token Rasa's REST channel requires when set (``SEN_REST_TOKEN``); the scaled deployment sets one."""
    return os.environ.get("SEN_REST_TOKEN", "").strip()


def wrong_codes_per_hour() -> int:
    """Wrong link codes from everyone together in an hour before code checks pause (``SEN_WRONG_CODES_PER_HOUR``)."""
    return int(os.environ.get("SEN_WRONG_CODES_PER_HOUR", "100"))


def link_idle_days() -> int:
    """Days a linked chat may go unused before its link ends and it must link again (``SEN_LINK_IDLE_DAYS``)."""
    return int(os.environ.get("SEN_LINK_IDLE_DAYS", "90"))


def conversation_days() -> int:
    """Days conversation events are kept before the schedule's sweep deletes them (``SEN_CONVERSATION_DAYS``)."""
    return int(os.environ.get("SEN_CONVERSATION_DAYS", "90"))


def conversations_url() -> str:
    """The Rasa servers' tracker store as a database URL, from the variables their endpoints file reads.

    PostgreSQL (``SEN_PG_*``, the scaled deployment) or SQLite (``SEN_TRACKER_DB``, ``make run``);
    "" when neither is set.
    """
    host = os.environ.get("SEN_PG_HOST")
    if host:
        from urllib.parse import quote

        user = quote(os.environ.get("SEN_PG_USER", "postgres"))
        password = os.environ.get("SEN_PG_PASSWORD", "")
        login = f"{user}:{quote(password)}" if password else user
        port = os.environ.get("SEN_PG_PORT", "5432")
        return f"postgresql://{login}@{host}:{port}/{os.environ.get('SEN_PG_DATABASE', 'sen_support')}"
    tracker = os.environ.get("SEN_TRACKER_DB", "").strip()
    return f"sqlite:///{tracker}" if tracker else ""


def allowed_origins() -> list[str]:
    """The web pages allowed to open the web chat's connection (``SEN_ALLOWED_ORIGINS``, space-separated).

    By default the web server's own address, under both of this machine's names.
    """
    configured = os.environ.get("SEN_ALLOWED_ORIGINS", "").split()
    if configured:
        return [origin.rstrip("/") for origin in configured]
    page = public_url()
    twins = {page, page.replace("//localhost", "//127.0.0.1"), page.replace("//127.0.0.1", "//localhost")}
    scheme_host = [re.match(r"^[a-z]+://[^/]+", origin) for origin in sorted(twins)]
    return [found.group(0) for found in scheme_host if found]


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


# The Telegram app (bot/telegram/app.py); its token and the Bot API's address are further down.


def telegram_webhook_url() -> str:
    """The public HTTPS address Telegram posts updates to (``TELEGRAM_WEBHOOK_URL``); unset means long polling."""
    return os.environ.get("TELEGRAM_WEBHOOK_URL", "").strip()


def telegram_webhook_secret() -> str:
    """What Telegram must send in ``X-Telegram-Bot-Api-Secret-Token`` (``TELEGRAM_WEBHOOK_SECRET``, or kept)."""
    return os.environ.get("TELEGRAM_WEBHOOK_SECRET") or kept_secret("telegram-webhook.key")


def telegram_port() -> int:
    """The Telegram app's own HTTP port: its health check, and the webhook in webhook mode."""
    return int(os.environ.get("TELEGRAM_PORT", "5058"))


def telegram_listen() -> str:
    """The address the Telegram app's HTTP server binds (``TELEGRAM_LISTEN``)."""
    return os.environ.get("TELEGRAM_LISTEN", "127.0.0.1")


def telegram_bridge_secret() -> str:
    """The secret the Telegram app and the Rasa server's Telegram channel share (``SEN_TELEGRAM_BRIDGE_SECRET``).

    Without it, a random one is made once and kept in the state folder; the
    run command passes it to both processes.
    """
    return os.environ.get("SEN_TELEGRAM_BRIDGE_SECRET") or kept_secret("telegram-bridge.key")


def rasa_url() -> str:
    """Where the Telegram app reaches the Rasa server (``SEN_RASA_URL``)."""
    return os.environ.get("SEN_RASA_URL", f"http://127.0.0.1:{rasa_port()}").rstrip("/")


def privacy_contact() -> str:
    """Who people ask about their data (``SEN_PRIVACY_CONTACT``); by default the council's data protection officer."""
    return os.environ.get("SEN_PRIVACY_CONTACT", "").strip()


def kept_secret(name: str) -> str:
    """A random secret made once and kept in the state folder, readable by its owner only."""
    path = state_dir() / name
    if not path.exists():
        import secrets

        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


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


TELEGRAM_API_URL = "https://api.telegram.org"


def telegram_token() -> str:
    """The bot's token from BotFather (``TELEGRAM_BOT_TOKEN``); the run command starts the app when it is set."""
    return os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()


def telegram_api_url() -> str:
    """The Bot API server (``TELEGRAM_API_URL``): Telegram's, a local Bot API server, or a stand-in in tests."""
    return os.environ.get("TELEGRAM_API_URL", TELEGRAM_API_URL).rstrip("/")


def reminder_interval() -> float:
    """Seconds between rounds of the reminder schedule (``SEN_REMINDER_INTERVAL``, 15 minutes)."""
    return float(os.environ.get("SEN_REMINDER_INTERVAL", "900"))


def reminder_horizon() -> int:
    """How many days ahead of a review staff are reminded of it (``SEN_REMINDER_DAYS``, 7)."""
    return int(os.environ.get("SEN_REMINDER_DAYS", "7"))


def tensorflow_env() -> dict[str, str]:
    """TensorFlow's settings for a Rasa server: quiet, and one thread per process.

    A turn's model work is small, so extra TensorFlow threads only compete with
    the other processes for the cores (measured: 54 against 64 messages a second
    for the scaled deployment on 2 cores). Each can be overridden by setting it.
    """
    return {
        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
        "TF_INTER_OP_PARALLELISM_THREADS": os.environ.get("TF_INTER_OP_PARALLELISM_THREADS", "1"),
        "TF_INTRA_OP_PARALLELISM_THREADS": os.environ.get("TF_INTRA_OP_PARALLELISM_THREADS", "1"),
    }


# The store ---------------------------------------------------------------------

SCALED_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/sen_support"


def database_url() -> str:
    """The store's database (``DATABASE_URL``); by default a SQLite file in the state folder (nothing to install)."""
    return os.environ.get("DATABASE_URL") or f"sqlite:///{state_dir() / 'sen_support.db'}"


def scaled_database_url() -> str:
    """The scaled deployment's database (``DATABASE_URL``): PostgreSQL, where every process shares its store."""
    return os.environ.get("DATABASE_URL") or SCALED_DATABASE_URL


def redis_url() -> str:
    """The scaled deployment's Redis, for Rasa's lock store (``REDIS_URL``)."""
    return os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_prefix() -> str:
    """The prefix of the lock store's keys in Redis (``SEN_REDIS_PREFIX``; letters and digits only)."""
    return os.environ.get("SEN_REDIS_PREFIX", "sensupport")


# The scaled deployment (bot/ops/deploy.py) ------------------------------------


def nginx_binary() -> str:
    """Where nginx is (``SEN_NGINX``): Debian's nginx-light by default."""
    return os.environ.get("SEN_NGINX", "/usr/sbin/nginx")


def scaled_rasa_servers() -> int:
    """How many Rasa servers the scaled deployment runs (``SEN_RASA_SERVERS``, 2)."""
    return int(os.environ.get("SEN_RASA_SERVERS", "2"))


def scaled_action_servers() -> int:
    """How many action servers the scaled deployment runs (``SEN_ACTION_SERVERS``, 2)."""
    return int(os.environ.get("SEN_ACTION_SERVERS", "2"))


def scaled_rasa_base_port() -> int:
    """The first Rasa server's port in the scaled deployment; the others follow (``SEN_RASA_BASE_PORT``)."""
    return int(os.environ.get("SEN_RASA_BASE_PORT", "5105"))


def scaled_action_base_port() -> int:
    """The first action server's port in the scaled deployment (``SEN_ACTION_BASE_PORT``)."""
    return int(os.environ.get("SEN_ACTION_BASE_PORT", "5155"))


def public_port() -> int:
    """nginx's public port in the scaled deployment (``SEN_PUBLIC_PORT``)."""
    return int(os.environ.get("SEN_PUBLIC_PORT", "8080"))


def rate_per_address() -> str:
    """Requests one address may send to nginx's public paths (``SEN_RATE_PER_ADDRESS``, nginx's form: "5r/s")."""
    return os.environ.get("SEN_RATE_PER_ADDRESS", "5r/s").strip()


def rate_burst() -> int:
    """How many requests above that rate one address may send at once (``SEN_RATE_BURST``)."""
    return int(os.environ.get("SEN_RATE_BURST", "40"))


def public_host() -> str:
    """The address nginx's public side listens on in the scaled deployment (``SEN_PUBLIC_HOST``, this machine only).

    nginx is the deployment's only public face: set this to 0.0.0.0 to open it
    to the network; every other server stays on ``SEN_BIND_HOST``.
    """
    return os.environ.get("SEN_PUBLIC_HOST", "127.0.0.1").strip() or "127.0.0.1"


def action_proxy_port() -> int:
    """nginx's port in front of the action servers (``SEN_ACTION_PROXY_PORT``)."""
    return int(os.environ.get("SEN_ACTION_PROXY_PORT", "5055"))


def public_url_or(default: str) -> str:
    """``SEN_PUBLIC_URL`` if set, else ``default`` (the scaled deployment's nginx)."""
    return os.environ.get("SEN_PUBLIC_URL", default)


def chat_server_url_or(default: str) -> str:
    """``SEN_CHAT_SERVER`` if set, else ``default``."""
    return os.environ.get("SEN_CHAT_SERVER", default)


def process_environment(**overrides: str) -> dict[str, str]:
    """The environment for a process the launchers start: this one's, with Rasa's telemetry off and ``overrides``."""
    return {**os.environ, "RASA_TELEMETRY_ENABLED": "false", **overrides}


def configured_bridge_secret() -> str:
    """``SEN_TELEGRAM_BRIDGE_SECRET`` as set, or "" (the Rasa server's Telegram channel then refuses everything)."""
    return os.environ.get("SEN_TELEGRAM_BRIDGE_SECRET", "")
