"""Start the assistant: the action server and the Rasa server, together.

Run from the project root with the project's virtual environment, normally
through ``make run``. It checks that nothing else holds its ports, starts both
servers, waits until they answer, prints where to reach them and stops both on
Ctrl-C. A second copy started while one is up says so and exits. When
``TELEGRAM_BOT_TOKEN`` is set it also starts the Telegram app
(``bot/telegram/app.py``), sharing a secret with the Rasa server's Telegram
channel.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from sqlalchemy import select

import knowledge
from bot import settings
from bot.ops import admin
from bot.ops.services import (
    VENV_BIN,
    AlreadyRunning,
    Service,
    action_server_command,
    find_model,
    pid_alive,
    port_in_use,
    rasa_server_command,
    stop_all,
    wait_until_healthy,
)
from bot.store import demo, migrate
from bot.store.db import database_url, sessions
from bot.store.models import School

logger = logging.getLogger("sen-support")


def pid_file() -> Path:
    return settings.state_dir() / "run.json"


def check_not_running(ports: dict[str, int]) -> None:
    """Raise ``AlreadyRunning`` with a clear message if the assistant, or anything, is in the way."""
    record = pid_file()
    if record.exists():
        try:
            previous = json.loads(record.read_text())
        except ValueError:
            previous = {}
        pid = int(previous.get("pid", 0))
        if pid and pid_alive(pid):
            raise AlreadyRunning(
                f"The assistant is already running (process {pid}), answering at "
                f"http://localhost:{previous.get('rasa_port')}/webhooks/rest/webhook. "
                "Use that one, or stop it with Ctrl-C in its terminal (or `make stop`) first."
            )
        record.unlink()
    busy = [f"{name} port {port}" for name, port in ports.items() if port_in_use(port)]
    if busy:
        raise AlreadyRunning(
            f"Something else is already listening on {' and '.join(busy)}. Stop it, or choose "
            "other ports with RASA_PORT=... ACTION_PORT=... WEB_PORT=... make run."
        )


def services(rasa_port: int, action_port: int, log_dir: Path, model: Path, web_port: int) -> list[Service]:
    actions = Service(
        name="action server",
        command=action_server_command(action_port),
        health_url=f"http://127.0.0.1:{action_port}/health",
        log_path=log_dir / "actions.log",
    )
    rasa = Service(
        name="Rasa server",
        command=rasa_server_command(model, "endpoints.yml", rasa_port),
        health_url=f"http://127.0.0.1:{rasa_port}/",
        log_path=log_dir / "rasa.log",
    )
    documents = Service(
        name="web server",
        command=[str(VENV_BIN / "python"), "-m", "bot.web.server", "--port", str(web_port)],
        health_url=f"http://127.0.0.1:{web_port}/health",
        log_path=log_dir / "web.log",
    )
    return [actions, rasa, documents]


def reminder_service(log_dir: Path) -> Service:
    """The reminder schedule (``bot/ops/reminders.py``), a round every ``SEN_REMINDER_INTERVAL`` seconds."""
    return Service(
        name="reminder schedule",
        command=[str(VENV_BIN / "python"), "-m", "bot.ops.reminders", "--every", f"{settings.reminder_interval():g}"],
        health_url=None,
        log_path=log_dir / "reminders.log",
    )


def telegram_service(log_dir: Path, telegram_port: int) -> Service:
    """The Telegram app (``bot/telegram/app.py``), healthy once it has logged in and the Rasa server answers."""
    return Service(
        name="Telegram app",
        command=[str(VENV_BIN / "python"), "-m", "bot.telegram.app"],
        health_url=f"http://127.0.0.1:{telegram_port}/health",
        log_path=log_dir / "telegram.log",
    )


def telegram_line(telegram_port: int | None) -> str:
    """The banner's line about the Telegram app, from its health check ("" when it is not running)."""
    if telegram_port is None:
        return ""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{telegram_port}/health", timeout=2) as response:
            health = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        health = {}
    how = "webhook" if health.get("mode") == "webhook" else "long polling"
    return f"  Telegram:      @{health.get('bot', '?')}, by {how} (private chats only)\n"


def banner(rasa_port: int, place: knowledge.Council, log_dir: Path, telegram: str = "") -> str:
    url = f"http://localhost:{rasa_port}/webhooks/rest/webhook"
    return (
        "\nThe SEN Support Assistant is running.\n"
        f"  Council:       {place.name} (set SEN_COUNCIL to change: {', '.join(sorted(knowledge.councils()))})\n"
        f"  REST channel:  {url}\n"
        f"  Try it:        curl -s -X POST {url} -H 'Content-Type: application/json' \\\n"
        f'                   -d \'{{"sender": "{secrets.token_hex(16)}", '
        '"message": "what does assess plan do review mean"}\'\n'
        f"  Web chat:      {settings.public_url()}/ (a demo Local Offer page with the chat on it)\n"
        f"  Plan links:    {settings.public_url()}/documents/...\n"
        f"{telegram}"
        f"  Logs:          {log_dir}\n"
        "Press Ctrl-C to stop.\n"
    )


def prepare_demo(database: str | None = None) -> str:
    """Seed the fictional demo school into an empty database, and give codes to try it.

    Fresh codes are printed on every start while the demo school exists (codes
    are kept only as digests, so old ones cannot be shown again). ``SEN_DEMO=0``
    turns this off.
    """
    if not settings.demo_enabled():
        return ""
    with sessions(database).begin() as session:
        empty = session.execute(select(School.id).limit(1)).first() is None
        found = demo.seed(session, council=settings.council_id()) if empty else demo.find_demo(session)
        if found is None:
            return ""
        return admin.demo_banner(demo.codes(session, found))


def stop_running() -> int:
    """Ask a copy started in another terminal to stop, as Ctrl-C would."""
    record = pid_file()
    pid = int(json.loads(record.read_text()).get("pid", 0)) if record.exists() else 0
    if not pid or not pid_alive(pid):
        print("The assistant is not running.")
        return 0
    os.kill(pid, signal.SIGTERM)
    print(f"Asked the assistant (process {pid}) to stop.")
    return 0


def main(argv: list[str]) -> int:
    if "--stop" in argv[1:]:
        return stop_running()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    rasa_port, action_port, web_port = settings.rasa_port(), settings.action_port(), settings.web_port()
    telegram_port = settings.telegram_port() if settings.telegram_token() else None
    ports = {"Rasa": rasa_port, "action server": action_port, "web server": web_port}
    if telegram_port is not None:
        ports["Telegram app"] = telegram_port
    try:
        place = knowledge.council(settings.council_id())
        check_not_running(ports)
        model = find_model()
    except (AlreadyRunning, knowledge.KnowledgeError, FileNotFoundError) as problem:
        print(problem, file=sys.stderr)
        return 1

    state = settings.state_dir()
    log_dir = state / "log"
    state.mkdir(parents=True, exist_ok=True)
    logger.info("Migrating the database (%s)...", database_url().split("@")[-1])
    migrate.upgrade()
    demo_text = prepare_demo()
    record = pid_file()
    record.write_text(json.dumps({"pid": os.getpid(), "rasa_port": rasa_port, "action_port": action_port}))

    env = settings.process_environment(
        **settings.tensorflow_env(),
        SEN_ACTION_URL=f"http://127.0.0.1:{action_port}/webhook",
        SEN_ACTION_SECRET=settings.action_secret(),
        SEN_TRACKER_DB=str(state / "tracker.db"),
    )
    running = [*services(rasa_port, action_port, log_dir, model, web_port), reminder_service(log_dir)]
    stopping = False
    if telegram_port is not None:
        env.update(
            SEN_TELEGRAM_BRIDGE_SECRET=settings.telegram_bridge_secret(), SEN_RASA_URL=f"http://127.0.0.1:{rasa_port}"
        )
        running.append(telegram_service(log_dir, telegram_port))

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        logger.info("Starting the action server, the Rasa server and the web server (model %s)...", model.name)
        if telegram_port is not None:
            logger.info("Starting the Telegram app (TELEGRAM_BOT_TOKEN is set)...")
        for service in running:
            service.start(env)
        if wait_until_healthy(running, lambda: stopping):
            print(banner(rasa_port, place, log_dir, telegram_line(telegram_port)), flush=True)
            if demo_text:
                print(demo_text + "\n", flush=True)
        while not stopping:
            for service in running:
                code = service.exited()
                if code is not None:
                    print(
                        f"The {service.name} stopped unexpectedly (exit code {code}). See {service.log_path}.",
                        file=sys.stderr,
                    )
                    return 1
            time.sleep(0.5)
        print("Stopping...", flush=True)
        return 0
    except RuntimeError as problem:
        print(problem, file=sys.stderr)
        return 1
    finally:
        stop_all(running, record)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
