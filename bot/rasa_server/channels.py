"""The Rasa server's own input channels, loaded by their module path from ``credentials.yml``.

A chat user is one sender id on one channel, so the channel a message arrives
on must be one the caller cannot choose:

- ``RestChannel`` is Rasa's REST channel at ``/webhooks/rest/webhook``, except
  that it always records the channel as ``rest`` (Rasa's own lets the caller
  name any channel in the request body), and it refuses sender ids made only
  of digits (those are Telegram user ids, and a conversation belongs to one
  sender id whatever the channel) or shorter than 16 characters (easy to
  guess). Behind nginx it also needs ``SEN_REST_TOKEN`` as a bearer token.
- ``TelegramBridgeInput`` at ``/webhooks/telegram/webhook`` is how the Telegram
  app (``bot/telegram/app.py``) forwards messages. It accepts a request only
  with the shared secret ``SEN_TELEGRAM_BRIDGE_SECRET`` in the
  ``X-SEN-Bridge-Secret`` header, so a sender id on the ``telegram`` channel is
  always a Telegram user id vouched for by that app. With no secret configured
  it refuses every request.

Every channel here (and the web chat's, ``bot/rasa_server/webchat_channel.py``) passes its
messages through ``guarded``: an empty or overlong message gets a kind reply
without reaching the assistant, control characters are removed, and a turn that
fails (a database or action server that cannot be reached) or ends without a
word gets "please send it again in a moment" instead of silence. At start-up
the tracker store's failures are made visible to it (``bot/rasa_server/tracker_store.py``).

This module runs inside the Rasa server; the Telegram app never imports it.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request

from bot import settings
from bot.rasa_server import tuning
from bot.rasa_server.tracker_store import expose_failures

logger = logging.getLogger(__name__)
tuning.apply()

MAX_MESSAGE = 5000
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
TRY_AGAIN = (
    "Sorry, I couldn't take that message just now. Please send it again in a moment. "
    "Everything saved before it is safe."
)
EMPTY = "That message had no words in it. What would you like to ask?"
TOO_LONG = (
    f"That message is too long for me: please keep each message under {MAX_MESSAGE:,} characters, or send it in parts."
)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def guarded(on_new_message: OnNewMessage) -> OnNewMessage:
    """``on_new_message``, with bad input answered kindly and failures answered honestly."""

    async def handle(message: UserMessage) -> None:
        output = message.output_channel
        send = output.send_response
        text = CONTROL.sub("", message.text or "")
        if not text.strip():
            await send(message.sender_id, {"text": EMPTY})
            return
        if len(text) > MAX_MESSAGE:
            await send(message.sender_id, {"text": TOO_LONG})
            return
        message.text = text
        replies = 0

        async def counted(recipient_id: str, reply: dict[str, Any]) -> None:
            nonlocal replies
            replies += 1
            await send(recipient_id, reply)

        output.send_response = counted
        try:
            await on_new_message(message)
        except Exception as error:
            # The type only: an error's text can quote the message or the conversation.
            logger.error("A turn on the %s channel failed: %s", message.input_channel, error.__class__.__name__)
            replies = 0
        finally:
            output.send_response = send
        if replies == 0:
            await send(message.sender_id, {"text": TRY_AGAIN})

    return handle


def watch_failures(blueprint: Blueprint) -> None:
    """Once the server has loaded its model, let tracker store failures reach the channels."""

    @blueprint.listener("after_server_start")
    async def expose(app: Any, _loop: Any) -> None:
        agent = getattr(app.ctx, "agent", None)
        if agent is not None:
            expose_failures(agent)


SECRET_HEADER = "X-SEN-Bridge-Secret"
SECRET_ENV = "SEN_TELEGRAM_BRIDGE_SECRET"


MIN_SENDER_LENGTH = 16


def sender_problem(sender: str) -> str | None:
    """Why a REST caller's sender id cannot be used, or None.

    The sender id is the conversation: anyone who sends the same one carries it
    on, a linked member of staff's included, so it must be hard to guess.
    """
    if sender.isdigit():
        return "sender ids made only of digits are kept for Telegram users; use a long random id"
    if len(sender) < MIN_SENDER_LENGTH:
        return f"use a long random sender id (at least {MIN_SENDER_LENGTH} characters, for example a UUID)"
    return None


class RestChannel(RestInput):
    """Rasa's REST channel, with the channel name fixed to ``rest`` and Telegram's sender ids kept out."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def _extract_input_channel(self, req: Request) -> str:
        return self.name()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        rest: Blueprint = super().blueprint(guarded(on_new_message))
        watch_failures(rest)

        token = settings.rest_token()

        @rest.middleware("request")
        async def refuse_unsafe_callers(request: Request) -> response.HTTPResponse | None:
            if token and not hmac.compare_digest(
                request.headers.get("Authorization", "").encode(), f"Bearer {token}".encode()
            ):
                logger.warning("Refused a REST call without the channel's token")
                return response.json({"error": "this channel needs its bearer token"}, status=401)
            body = request.json if request.method == "POST" and isinstance(request.json, dict) else {}
            problem = sender_problem(str(body.get("sender") or "").strip())
            if problem:
                return response.json({"error": problem}, status=400)
            return None

        return rest


class TelegramBridgeInput(RestInput):
    """Messages from the Telegram app, accepted only with the shared secret."""

    def __init__(self, secret: str | None = None) -> None:
        self.secret = secret or ""

    @classmethod
    def name(cls) -> str:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TelegramBridgeInput:
        configured = (credentials or {}).get("secret") or settings.configured_bridge_secret()
        if not configured:
            logger.info("No %s set: the Telegram bridge channel refuses every request.", SECRET_ENV)
        return cls(secret=configured)

    def _extract_input_channel(self, req: Request) -> str:
        return self.name()

    def get_metadata(self, request: Request) -> dict[str, Any] | None:
        return None

    def authorised(self, request: Request) -> bool:
        given = request.headers.get(SECRET_HEADER, "")
        return bool(self.secret) and hmac.compare_digest(given.encode(), self.secret.encode())

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        bridge: Blueprint = super().blueprint(guarded(on_new_message))
        watch_failures(bridge)

        @bridge.middleware("request")
        async def require_secret(request: Request) -> response.HTTPResponse | None:
            if request.method != "POST":
                return None
            if not self.authorised(request):
                return response.json({"error": "unauthorised"}, status=401)
            body = request.json if isinstance(request.json, dict) else {}
            if not str(body.get("sender") or "").strip() or not isinstance(body.get("message"), str):
                return response.json({"error": "a sender and a message are required"}, status=400)
            return None

        return bridge
