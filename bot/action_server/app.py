"""The action server: the project's actions (``actions/``) behind Rasa SDK's endpoint, for Rasa servers only.

Rasa SDK's own server answers anyone who can reach its port, and an action call
names its sender and channel, so a forged call could read or change a school's
records as one of its staff. This one:

- refuses every call to ``/webhook`` and ``/actions`` that does not carry the
  shared secret (``SEN_ACTION_SECRET``) in the ``X-SEN-Action-Secret`` header,
  compared in constant time, with one log line and no detail in the reply; the
  Rasa servers send it from the ``action_endpoint`` in their endpoints file;
- will not start without a secret;
- listens on ``SEN_BIND_HOST`` (this machine only by default) and sends no CORS
  headers: only servers call it, never browsers;
- never puts an action call's tracker, which holds children's data, in a reply
  or a log when an action fails (Rasa SDK's handler returns the whole request
  body, and Rasa servers log what they get back).

Run with ``python -m bot.action_server.app --port 5055``.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import sys
from collections.abc import Sequence

from rasa_sdk import utils
from rasa_sdk.endpoint import create_app
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic, response
from sanic.request import Request

from bot import settings

logger = logging.getLogger("sen-support.actions")

SECRET_HEADER = "X-SEN-Action-Secret"
OPEN_PATHS = frozenset({"/health"})  # a status only, for the launchers and load balancers
ACTIONS_PACKAGE = "actions"


class MissingSecret(RuntimeError):
    """The action server was asked to start without ``SEN_ACTION_SECRET``."""


def carries_secret(request: Request, secret: str) -> bool:
    offered = request.headers.get(SECRET_HEADER, "")
    return hmac.compare_digest(offered.encode(), secret.encode())


def build_app(secret: str, package: str = ACTIONS_PACKAGE) -> Sanic:
    """Rasa SDK's endpoint for ``package``, open only to callers that carry ``secret``."""
    if not secret:
        raise MissingSecret(
            "The action server needs SEN_ACTION_SECRET, the secret the Rasa servers send with each call "
            "(`make run` and `make scaled` make one and pass it to both)."
        )
    app: Sanic = create_app(package, cors_origins=[])

    @app.middleware("request")
    async def refuse_without_secret(request: Request) -> response.HTTPResponse | None:
        if request.path in OPEN_PATHS or carries_secret(request, secret):
            return None
        logger.warning("Refused a call to %s without the action server's secret", request.path)
        return response.json({"error": "forbidden"}, status=403)

    async def failed(request: Request, error: Exception) -> response.HTTPResponse:
        # The type only: the request body is a conversation, and an error's text can quote it.
        logger.error("An action call failed: %s", error.__class__.__name__)
        return response.json({"error": "the action failed"}, status=500)

    app.error_handler.add(Exception, failed)
    return app


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.action_server.app", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=settings.action_port())
    args = parser.parse_args(argv)
    utils.configure_colored_logging("INFO")
    utils.update_sanic_log_level()
    try:
        app = build_app(settings.configured_action_secret())
    except MissingSecret as problem:
        print(problem, file=sys.stderr)
        return 2
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    host = settings.bind_host()
    logger.info("Action server listening on http://%s:%d", host, args.port)
    app.run(host, args.port, workers=utils.number_of_sanic_workers(), access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
