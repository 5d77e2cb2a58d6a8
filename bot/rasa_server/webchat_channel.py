"""The web chat's Rasa channel: Rasa's socket.io channel, with each tab's session kept to itself.

Configured in ``credentials.yml`` as ``bot.rasa_server.webchat_channel.WebChatInput``. It is
Rasa 3.6's ``SocketIOInput`` (same events, same ``socketio`` channel name, so
account links and the audit trail say "socketio") with six changes:

- the socket joins its session's room before the session is confirmed (Rasa 3.6
  calls python-socketio 5's ``enter_room`` coroutine without awaiting it, so
  replies to a kept session never arrived);
- a browser may connect only from the chat's own pages (``SEN_ALLOWED_ORIGINS``),
  over long-polling and WebSocket alike;
- a session id must be long and random (32 to 128 hex digits, as the widget makes
  with ``crypto.getRandomValues``); anything else gets a fresh random id, so a
  chat user can never be a short, guessable sender id;
- a message is taken only for the session its socket asked for, and the client's
  metadata is not passed on;
- a socket that asks for a new session with ``forget_previous`` (the widget's
  "Start again") also unlinks the session it had, silently, so a shared
  computer's old conversation cannot see a child's records again;
- messages pass through ``bot.rasa_server.channels.guarded``, as on the other channels:
  an empty or overlong message gets a kind reply, and a failed turn gets "please
  send it again in a moment".
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint

from bot import settings
from bot.rasa_server.channels import guarded, watch_failures

logger = logging.getLogger(__name__)

SESSION_ID = re.compile(r"[0-9a-f]{32,128}")
UNLINK = "/unlink_account"  # the intent "forget me on this device" has, sent as a payload


class WebChatInput(SocketIOInput):
    """Rasa's socket.io input channel, with rooms awaited and sessions checked."""

    @classmethod
    def name(cls) -> str:
        return "socketio"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        on_new_message = guarded(on_new_message)
        blueprint: Blueprint = super().blueprint(on_new_message)
        watch_failures(blueprint)
        sio = self.sio
        namespace = self.namespace

        allowed = set(settings.allowed_origins())

        # Registering an event again replaces Rasa's handler for it.
        @sio.on("connect", namespace=namespace)
        async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
            # Only the chat's own pages may open it in a browser, over long-polling and WebSocket alike.
            origin = str(environ.get("HTTP_ORIGIN") or "").rstrip("/")
            if origin and origin not in allowed:
                logger.warning("Refused a web chat connection from a page that is not the chat's own")
                return False
            return True

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: dict[str, Any] | None = None) -> None:
            asked = data.get("session_id") if isinstance(data, dict) else None
            session_id = asked if isinstance(asked, str) and SESSION_ID.fullmatch(asked) else uuid.uuid4().hex
            kept = await sio.get_session(sid, namespace=namespace)
            if kept.get("session_id") and kept["session_id"] != session_id:
                await sio.leave_room(sid, kept["session_id"], namespace=namespace)
                if isinstance(data, dict) and data.get("forget_previous") is True:
                    # "Start again": the old session's link to a person ends too, with nothing said.
                    await on_new_message(
                        UserMessage(UNLINK, CollectingOutputChannel(), kept["session_id"], input_channel=self.name())
                    )
            await sio.save_session(sid, {"session_id": session_id}, namespace=namespace)
            await sio.enter_room(sid, session_id, namespace=namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, data: Any = None) -> None:
            session_id = (await sio.get_session(sid, namespace=namespace)).get("session_id")
            if not session_id or not isinstance(data, dict) or data.get("session_id") != session_id:
                logger.debug("Ignored a web chat message from a socket without that session.")
                return
            text = data.get("message")
            if not isinstance(text, str):
                return
            output = SocketIOOutput(sio, self.bot_message_evt)
            await on_new_message(UserMessage(text, output, session_id, input_channel=self.name()))

        return blueprint
