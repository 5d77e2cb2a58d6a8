"""Start the scaled deployment on one machine: several Rasa and action servers behind nginx.

Run with ``make scaled`` (or ``python -m bot.ops.deploy`` in the project's virtual
environment). It starts:

- ``SEN_RASA_SERVERS`` Rasa servers (default 2) sharing one PostgreSQL database
  for conversations (``bot/rasa_server/tracker_store.py``) and a Redis lock store, with the
  endpoints of ``deploy/endpoints.yml``;
- ``SEN_ACTION_SERVERS`` action servers (default 2) sharing the plan store on the
  same PostgreSQL database (``DATABASE_URL``);
- the web server, the reminder schedule, and the Telegram app when
  ``TELEGRAM_BOT_TOKEN`` is set;
- nginx (Debian's package) with ``deploy/nginx/sen-support.conf.template``: the
  public port (``SEN_PUBLIC_PORT``, default 8080) takes the REST, Telegram and
  web chat channels (socket.io kept on one server per browser) and the web
  server's pages; an internal port spreads the action calls.

It watches them: a process that stops is started again (after a pause that
grows if it keeps stopping), while the others carry the load. The state file
``var/scaled/run.json`` (under ``SEN_STATE_DIR``) says what runs where.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import string
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import psycopg2
from sqlalchemy.engine import make_url

from bot import settings
from bot.ops.run import prepare_demo, telegram_service
from bot.ops.services import (
    VENV_BIN,
    AlreadyRunning,
    Service,
    action_server_command,
    find_model,
    port_in_use,
    rasa_server_command,
    stop_all,
    wait_until_healthy,
)
from bot.store import migrate

REST_TOKEN_FILE = "rest-channel.key"

logger = logging.getLogger("sen-support")

DEPLOY = settings.PROJECT_ROOT / "deploy"
NGINX_TEMPLATE = DEPLOY / "nginx" / "sen-support.conf.template"
ENDPOINTS = DEPLOY / "endpoints.yml"
RESTART_PAUSE = (1.0, 30.0)  # first and longest pause before starting a stopped process again


@dataclass
class Layout:
    """Where every process of the deployment listens."""

    public_port: int
    action_proxy_port: int
    rasa_ports: list[int]
    action_ports: list[int]
    web_port: int
    telegram_port: int | None = None

    @classmethod
    def from_environment(cls) -> Layout:
        rasa_count, action_count = settings.scaled_rasa_servers(), settings.scaled_action_servers()
        rasa_base, action_base = settings.scaled_rasa_base_port(), settings.scaled_action_base_port()
        if rasa_count < 1 or action_count < 1:
            raise ValueError("SEN_RASA_SERVERS and SEN_ACTION_SERVERS must each be at least 1.")
        return cls(
            public_port=settings.public_port(),
            action_proxy_port=settings.action_proxy_port(),
            rasa_ports=[rasa_base + n for n in range(rasa_count)],
            action_ports=[action_base + n for n in range(action_count)],
            web_port=settings.web_port(),
            telegram_port=settings.telegram_port() if settings.telegram_token() else None,
        )

    def ports(self) -> dict[str, int]:
        named = {
            "nginx (public)": self.public_port,
            "nginx (actions)": self.action_proxy_port,
            "web server": self.web_port,
        }
        named.update({f"Rasa server {n + 1}": port for n, port in enumerate(self.rasa_ports)})
        named.update({f"action server {n + 1}": port for n, port in enumerate(self.action_ports)})
        if self.telegram_port is not None:
            named["Telegram app"] = self.telegram_port
        return named


def database_url() -> str:
    url = settings.scaled_database_url()
    if not url.startswith("postgresql"):
        raise ValueError("The scaled deployment keeps everything in PostgreSQL: set DATABASE_URL=postgresql://...")
    return url


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in ``url`` if it does not exist yet."""
    parsed = make_url(url)
    admin = psycopg2.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password or None,
        dbname="postgres",
    )
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,))
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        admin.close()


def store_environment(database: str, redis: str) -> dict[str, str]:
    """The variables ``deploy/endpoints.yml`` reads, from ``DATABASE_URL`` and ``REDIS_URL``."""
    pg = make_url(database)
    rd = urllib.parse.urlparse(redis)
    prefix = settings.redis_prefix()
    if not prefix.isalnum():
        raise ValueError("SEN_REDIS_PREFIX may hold only letters and digits (Rasa's rule for lock key prefixes).")
    return {
        "SEN_PG_HOST": pg.host or "127.0.0.1",
        "SEN_PG_PORT": str(pg.port or 5432),
        "SEN_PG_USER": pg.username or "postgres",
        "SEN_PG_PASSWORD": pg.password or "",
        "SEN_PG_DATABASE": pg.database or "sen_support",
        "SEN_REDIS_HOST": rd.hostname or "127.0.0.1",
        "SEN_REDIS_PORT": str(rd.port or 6379),
        "SEN_REDIS_DB": (rd.path or "/0").lstrip("/") or "0",
        "SEN_REDIS_PREFIX": prefix,
    }


def nginx_site(layout: Layout, host: str = "127.0.0.1") -> str:
    """The template filled in for this machine."""

    def servers(ports: list[int]) -> str:
        return " ".join(f"server {host}:{port} max_fails=1 fail_timeout=3s;" for port in ports)

    return string.Template(NGINX_TEMPLATE.read_text()).safe_substitute(
        SEN_RASA_SERVERS=servers(layout.rasa_ports),
        SEN_ACTION_SERVERS=servers(layout.action_ports),
        SEN_WEB_SERVERS=f"server {host}:{layout.web_port};",
        SEN_PUBLIC_LISTEN=f"{settings.public_host()}:{layout.public_port}",
        SEN_ACTION_LISTEN=f"127.0.0.1:{layout.action_proxy_port}",
        SEN_RATE_PER_ADDRESS=settings.rate_per_address(),
        SEN_RATE_BURST=str(settings.rate_burst()),
    )


def write_nginx_config(layout: Layout, folder: Path) -> Path:
    """nginx's main configuration: the filled-in site, with every path inside ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sen-support.conf").write_text(nginx_site(layout))
    temp = folder / "temp"
    temp.mkdir(exist_ok=True)
    main = f"""# Written by bot/ops/deploy.py at start-up; the site is deploy/nginx/sen-support.conf.template.
worker_processes 1;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} warn;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
    client_body_temp_path {temp / "body"};
    proxy_temp_path {temp / "proxy"};
    fastcgi_temp_path {temp / "fastcgi"};
    uwsgi_temp_path {temp / "uwsgi"};
    scgi_temp_path {temp / "scgi"};
    include {folder / "sen-support.conf"};
}}
"""
    config = folder / "nginx.conf"
    config.write_text(main)
    return config


def nginx_path() -> str:
    configured = settings.nginx_binary()
    found = configured if Path(configured).exists() else shutil.which("nginx")
    if not found:
        raise FileNotFoundError(
            "The scaled deployment needs nginx: `make scaled` installs Debian's package "
            "(or install it yourself: apt-get install nginx-light)."
        )
    return found


@dataclass
class Watched:
    """A service of the deployment, started again whenever it stops."""

    service: Service
    started_at: float = 0.0
    next_start: float | None = None  # set while it is stopped and waiting to start again
    pause: float = 0.0

    def start(self, env: dict[str, str]) -> None:
        self.service.start(env)
        self.started_at, self.next_start = time.monotonic(), None

    def stopped(self, now: float) -> float:
        """Plan the next start; the pause doubles while the process keeps stopping within a minute."""
        quick = now - self.started_at < 60
        self.pause = min(RESTART_PAUSE[1], self.pause * 2) if quick and self.pause else RESTART_PAUSE[0]
        self.next_start = now + self.pause
        return self.pause


def nginx_service(layout: Layout, nginx_config: Path, log_dir: Path) -> Service:
    """nginx in the foreground with the configuration ``write_nginx_config`` wrote."""
    return Service(
        name="nginx",
        command=[
            nginx_path(),
            "-e",
            str(nginx_config.parent / "error.log"),
            "-c",
            str(nginx_config),
            "-g",
            "daemon off;",
        ],
        health_url=f"http://127.0.0.1:{layout.public_port}/healthz",
        log_path=log_dir / "nginx.log",
    )


def build_services(layout: Layout, model: Path, log_dir: Path, nginx_config: Path) -> list[Service]:
    python = str(VENV_BIN / "python")
    running: list[Service] = []
    for n, port in enumerate(layout.action_ports, start=1):
        running.append(
            Service(
                name=f"action server {n}",
                command=action_server_command(port),
                health_url=f"http://127.0.0.1:{port}/health",
                log_path=log_dir / f"actions-{n}.log",
            )
        )
    for n, port in enumerate(layout.rasa_ports, start=1):
        running.append(
            Service(
                name=f"Rasa server {n}",
                command=rasa_server_command(model, ENDPOINTS, port),
                health_url=f"http://127.0.0.1:{port}/",
                log_path=log_dir / f"rasa-{n}.log",
            )
        )
    running.append(
        Service(
            name="web server",
            command=[python, "-m", "bot.web.server", "--port", str(layout.web_port)],
            health_url=f"http://127.0.0.1:{layout.web_port}/health",
            log_path=log_dir / "web.log",
        )
    )
    running.append(
        Service(
            name="reminder schedule",
            command=[python, "-m", "bot.ops.reminders", "--every", f"{settings.reminder_interval():g}"],
            health_url=None,
            log_path=log_dir / "reminders.log",
        )
    )
    running.append(nginx_service(layout, nginx_config, log_dir))
    if layout.telegram_port is not None:
        running.append(telegram_service(log_dir, layout.telegram_port))
    return running


def write_state(path: Path, layout: Layout, running: list[Service]) -> None:
    state = {
        "pid": os.getpid(),
        "public_url": f"http://127.0.0.1:{layout.public_port}",
        "services": [
            {
                "name": s.name,
                "pid": s.process.pid if s.process else None,
                "health_url": s.health_url,
                "log": str(s.log_path),
            }
            for s in running
        ],
    }
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(state, indent=2))
    temporary.replace(path)


def banner(layout: Layout, log_dir: Path) -> str:
    url = f"http://localhost:{layout.public_port}"
    return (
        "\nThe SEN Support Assistant is running as a scaled deployment.\n"
        f"  Behind nginx:  {len(layout.rasa_ports)} Rasa servers, {len(layout.action_ports)} action servers, "
        "PostgreSQL and Redis\n"
        f"  REST channel:  {url}/webhooks/rest/webhook\n"
        f"                 with 'Authorization: Bearer <SEN_REST_TOKEN, or {settings.state_dir() / REST_TOKEN_FILE}>'\n"
        f"  Web chat:      {url}/\n"
        f"  Logs:          {log_dir}\n"
        "A process that stops is started again. Press Ctrl-C to stop.\n"
    )


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        layout = Layout.from_environment()
        database = database_url()
        redis = settings.redis_url()
        stores = store_environment(database, redis)
        busy = [f"{name} port {port}" for name, port in layout.ports().items() if port_in_use(port)]
        if busy:
            raise AlreadyRunning(
                f"Something is already listening on {', '.join(busy)}. Stop it (`make stop` stops `make run`), "
                "or choose other ports with SEN_PUBLIC_PORT, SEN_RASA_BASE_PORT, SEN_ACTION_BASE_PORT and WEB_PORT."
            )
        model = find_model()
        nginx_path()
    except (AlreadyRunning, ValueError, FileNotFoundError) as problem:
        print(problem, file=sys.stderr)
        return 1

    state = settings.state_dir() / "scaled"
    log_dir = state / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    logger.info("Preparing PostgreSQL (%s)...", database.split("@")[-1])
    ensure_database(database)
    migrate.upgrade(database)
    demo_text = prepare_demo(database)

    public = f"http://localhost:{layout.public_port}"
    env = settings.process_environment(
        **stores,
        DATABASE_URL=database,
        **settings.tensorflow_env(),
        SEN_ACTION_URL=f"http://127.0.0.1:{layout.action_proxy_port}/webhook",
        SEN_ACTION_SECRET=settings.action_secret(),
        # Behind nginx the REST channel is public, so it needs a bearer token.
        SEN_REST_TOKEN=settings.rest_token() or settings.kept_secret(REST_TOKEN_FILE),
        SEN_PUBLIC_URL=settings.public_url_or(public),
        SEN_CHAT_SERVER=settings.chat_server_url_or(public),
        SEN_RASA_URL=f"http://127.0.0.1:{layout.public_port}",
    )
    if layout.telegram_port is not None:
        env["SEN_TELEGRAM_BRIDGE_SECRET"] = settings.telegram_bridge_secret()
    running = build_services(layout, model, log_dir, write_nginx_config(layout, state / "nginx"))
    watched = [Watched(service) for service in running]
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    record = state / "run.json"
    try:
        logger.info("Starting %d processes...", len(running))
        for item in watched:
            item.start(env)
        write_state(record, layout, running)
        if wait_until_healthy(running, lambda: stopping):
            print(banner(layout, log_dir), flush=True)
            if demo_text:
                print(demo_text + "\n", flush=True)
        while not stopping:
            now = time.monotonic()
            for item in watched:
                code = item.service.exited()
                if code is None:
                    continue
                if item.next_start is None:
                    pause = item.stopped(now)
                    print(
                        f"The {item.service.name} stopped (exit code {code}); starting it again in "
                        f"{pause:g} s. See {item.service.log_path}.",
                        file=sys.stderr,
                        flush=True,
                    )
                elif now >= item.next_start:
                    item.start(env)
                    write_state(record, layout, running)
            time.sleep(0.2)
        print("Stopping...", flush=True)
        return 0
    except RuntimeError as problem:
        print(problem, file=sys.stderr)
        return 1
    finally:
        stop_all(running, record)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
