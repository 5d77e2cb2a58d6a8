"""The Rasa server's own input channels, loaded by their module path from ``credentials.yml``.

A chat user is one sender id on one channel, so the channel a message arrives
on must be one the caller cannot choose:

- ``RestChannel`` is Rasa's REST channel at ``/webhooks/rest/webhook``, except
  that it always records the channel as ``rest`` (Rasa's own lets the caller
  name any channel in the request body), and it refuses sender ids made only
  of digits: those are Telegram user ids, and a conversation belongs to one
  sender id whatever the channel.
- ``TelegramBridgeInput`` at ``/webhooks/telegram/webhook`` is how the Telegram
  app (``bot/telegram_app.py``) forwards messages. It accepts a request only
  with the shared secret ``SEN_TELEGRAM_BRIDGE_SECRET`` in the
  ``X-SEN-Bridge-Secret`` header, so a sender id on the ``telegram`` channel is
  always a Telegram user id vouched for by that app. With no secret configured
  it refuses every request.

This module runs inside the Rasa server; the Telegram app never imports it.
"""
from __future__ import annotations

import hmac
import logging
import os
from typing import Any, Awaitable, Callable, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-SEN-Bridge-Secret"
SECRET_ENV = "SEN_TELEGRAM_BRIDGE_SECRET"


class RestChannel(RestInput):
    """Rasa's REST channel, with the channel name fixed to ``rest`` and Telegram's sender ids kept out."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    def _extract_input_channel(self, req: Request) -> Text:
        return self.name()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        rest = super().blueprint(on_new_message)

        @rest.middleware("request")
        async def refuse_telegram_ids(request: Request) -> Optional[response.HTTPResponse]:
            body = request.json if request.method == "POST" and isinstance(request.json, dict) else {}
            if str(body.get("sender") or "").strip().isdigit():
                return response.json(
                    {"error": "sender ids made only of digits are kept for Telegram users; use a long random id"},
                    status=400,
                )
            return None

        return rest


class TelegramBridgeInput(RestInput):
    """Messages from the Telegram app, accepted only with the shared secret."""

    def __init__(self, secret: Optional[str] = None) -> None:
        self.secret = secret or ""

    @classmethod
    def name(cls) -> Text:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: Optional[dict[Text, Any]]) -> "TelegramBridgeInput":
        configured = (credentials or {}).get("secret") or os.environ.get(SECRET_ENV, "")
        if not configured:
            logger.info("No %s set: the Telegram bridge channel refuses every request.", SECRET_ENV)
        return cls(secret=configured)

    def _extract_input_channel(self, req: Request) -> Text:
        return self.name()

    def get_metadata(self, request: Request) -> Optional[dict[Text, Any]]:
        return None

    def authorised(self, request: Request) -> bool:
        given = request.headers.get(SECRET_HEADER, "")
        return bool(self.secret) and hmac.compare_digest(given.encode(), self.secret.encode())

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        bridge = super().blueprint(on_new_message)

        @bridge.middleware("request")
        async def require_secret(request: Request) -> Optional[response.HTTPResponse]:
            if request.method != "POST":
                return None
            if not self.authorised(request):
                return response.json({"error": "unauthorised"}, status=401)
            body = request.json if isinstance(request.json, dict) else {}
            if not str(body.get("sender") or "").strip() or not isinstance(body.get("message"), str):
                return response.json({"error": "a sender and a message are required"}, status=400)
            return None

        return bridge
