"""A local stand-in for the Telegram Bot API, for tests: an aiohttp server on 127.0.0.1.

It implements the methods the Telegram app uses, records every call, serves
queued updates to ``getUpdates`` (long polling) and keeps the messages it was
asked to send, so a test can play a Telegram user and read the bot's replies.
Setting ``too_many`` makes that many ``sendMessage`` calls fail with "429 Too
Many Requests" and ``retry_after``, as Telegram does when a bot sends too fast;
those go to ``refused``, not ``calls``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456:TEST-token-for-the-stand-in"
BOT_USER = {
    "id": 4242,
    "is_bot": True,
    "first_name": "SEN Support",
    "username": "sen_support_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
# Parameters Telegram receives as JSON inside the form; everything else stays a string.
JSON_PARAMS = {"reply_markup", "link_preview_options", "commands", "allowed_updates", "reply_parameters"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    result: Any = None


@dataclass
class StandIn:
    """The Bot API stand-in's state: calls made, updates waiting, messages sent."""

    calls: list[Call] = field(default_factory=list)
    refused: list[Call] = field(default_factory=list)
    too_many: int = 0
    retry_after: int = 1
    pending: list[dict[str, Any]] = field(default_factory=list)
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    url: str = ""
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _message_ids: Any = field(default_factory=lambda: itertools.count(1000))
    _changed: asyncio.Condition | None = None
    _runner: web.AppRunner | None = None

    # The server ---------------------------------------------------------------

    async def start(self) -> StandIn:
        self._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # aiohttp types the started server as optional
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params = await _params(request)
        if method == "sendMessage" and self.too_many > 0:
            self.too_many -= 1
            self.refused.append(Call(method, params))
            await self._notify()
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {self.retry_after}",
                    "parameters": {"retry_after": self.retry_after},
                },
                status=429,
            )
        handler = getattr(self, f"_{method}", None)
        result = await handler(params) if handler else True
        self.calls.append(Call(method, params, copy.deepcopy(result)))
        await self._notify()
        return web.json_response({"ok": True, "result": result})

    async def _notify(self) -> None:
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    # Bot API methods ------------------------------------------------------------

    async def _getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return BOT_USER

    async def _getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        self.pending = [update for update in self.pending if update["update_id"] >= offset]
        wait = min(float(params.get("timeout") or 0), 1.0)
        deadline = time.monotonic() + wait
        assert self._changed is not None
        async with self._changed:
            while not self.pending and time.monotonic() < deadline:
                try:
                    await asyncio.wait_for(self._changed.wait(), deadline - time.monotonic())
                except asyncio.TimeoutError:
                    break
        return list(self.pending)

    async def _sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": BOT_USER,
            "text": params["text"],
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self.messages[message["message_id"]] = message
        return message

    async def _editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self.messages[int(params["message_id"])]
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        else:
            message.pop("reply_markup", None)
        return message

    async def _getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}

    # For tests: playing a user, reading replies -----------------------------------

    async def push(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for the next ``getUpdates``."""
        update = dict(update, update_id=next(self._ids))
        self.pending.append(update)
        await self._notify()
        return update

    def new_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """An update with an id, not queued (for posting to a webhook)."""
        return dict(update, update_id=next(self._ids))

    def called(self, method: str) -> list[dict[str, Any]]:
        return [call.params for call in self.calls if call.method == method]

    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        """The messages sent to a chat as Telegram returned them (with ``reply_markup``), oldest first."""
        return [
            call.result
            for call in self.calls
            if call.method == "sendMessage" and int(call.params["chat_id"]) == chat_id
        ]

    async def wait_for(self, condition: Callable[[], Any], timeout: float = 30.0) -> Any:
        """Wait until ``condition()`` is true (it is checked after every call) and return its value."""
        assert self._changed is not None
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                value = condition()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout} s; calls: {[c.method for c in self.calls]}")
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), left)

    async def replies(self, chat_id: int, count: int, after: int = 0, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Wait for at least ``count`` messages to the chat after the first ``after`` and return them."""
        return await self.wait_for(
            lambda: len(self.sent_to(chat_id)) >= after + count and self.sent_to(chat_id)[after:], timeout
        )


async def _params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        return dict(await request.json())
    form = await request.post()
    params: dict[str, Any] = {}
    for name, value in form.items():
        params[name] = json.loads(value) if name in JSON_PARAMS and isinstance(value, str) else value
    return params


_users = itertools.count(700_001)


def new_user_id() -> int:
    return next(_users)


def user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Test", "language_code": "en"}


def message(user_id: int, text: str, chat_id: int | None = None, chat_type: str = "private") -> dict[str, Any]:
    """A ``message`` update's body: a user writing ``text`` (a command gets its entity)."""
    chat_id = user_id if chat_id is None else chat_id
    chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
    if chat_type == "private":
        chat["first_name"] = "Test"
    else:
        chat["title"] = "Staff room"
    body: dict[str, Any] = {
        "message_id": next(_users),
        "date": int(time.time()),
        "chat": chat,
        "from": user(user_id),
        "text": text,
    }
    if text.startswith("/"):
        body["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"message": body}


def press(user_id: int, sent: dict[str, Any], callback_data: str) -> dict[str, Any]:
    """A ``callback_query`` update: the user pressing a button of a message the bot sent."""
    return {
        "callback_query": {
            "id": f"cq{next(_users)}",
            "from": user(user_id),
            "chat_instance": "ci",
            "data": callback_data,
            "message": sent,
        }
    }
