"""A local stand-in for the Telegram Bot API: an aiohttp server on 127.0.0.1, in a thread of its own.

It answers ``getMe`` and ``sendMessage`` the way Telegram does
(``{"ok": true, "result": ...}``) and records every message it was asked to
send. ``fail_first`` makes the first sends fail with "502 Bad Gateway", as a
Bot API having a bad moment would; ``too_many_first`` makes them fail with
"429 Too Many Requests" and ``retry_after`` seconds to wait, as Telegram does
when a bot sends too fast. Both are recorded too, as not delivered.

    with BotApiStandIn() as api:
        env["TELEGRAM_API_URL"] = api.url
        ... api.delivered() ...
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

TOKEN = "123456:reminder-test-token"
BOT_USER = {
    "id": 4242,
    "is_bot": True,
    "first_name": "SEN Support",
    "username": "sen_support_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass(frozen=True)
class Sent:
    chat_id: int
    text: str
    delivered: bool


class BotApiStandIn:
    def __init__(
        self, token: str = TOKEN, fail_first: int = 0, delay: float = 0.0, too_many_first: int = 0, retry_after: int = 1
    ) -> None:
        self.token = token
        self.fail_first = fail_first
        self.too_many_first = too_many_first
        self.retry_after = retry_after
        self.delay = delay
        self.url = ""
        self._sent: list[Sent] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # What tests read.
    def sent(self) -> list[Sent]:
        with self._lock:
            return list(self._sent)

    def delivered(self) -> list[Sent]:
        return [message for message in self.sent() if message.delivered]

    # The API.
    @staticmethod
    def _reply(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        if request.content_type == "application/json":
            params = await request.json()
        else:
            params = dict(await request.post())
        if method == "getMe":
            return self._reply(BOT_USER)
        if method != "sendMessage":
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        if self.delay:
            await asyncio.sleep(self.delay)
        chat_id, text = int(params["chat_id"]), str(params["text"])
        with self._lock:
            too_many = self.too_many_first > 0
            failing = not too_many and self.fail_first > 0
            if too_many:
                self.too_many_first -= 1
            elif failing:
                self.fail_first -= 1
            self._sent.append(Sent(chat_id, text, delivered=not (failing or too_many)))
        if too_many:
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {self.retry_after}",
                    "parameters": {"retry_after": self.retry_after},
                },
                status=429,
            )
        if failing:
            return web.Response(status=502, text="Bad Gateway")
        message = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "text": text,
            "chat": {"id": chat_id, "type": "private", "first_name": "Staff"},
            "from": {key: BOT_USER[key] for key in ("id", "is_bot", "first_name", "username")},
        }
        return self._reply(message)

    # Starting and stopping.
    def __enter__(self) -> BotApiStandIn:
        started = threading.Event()
        problem: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                app = web.Application()
                app.router.add_route("*", "/bot{token}/{method}", self._method)
                self._runner = web.AppRunner(app)
                loop.run_until_complete(self._runner.setup())
                site = web.TCPSite(self._runner, "127.0.0.1", 0)
                loop.run_until_complete(site.start())
                port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # aiohttp types the started server as optional
                self.url = f"http://127.0.0.1:{port}"
            except BaseException as error:
                problem.append(error)
                started.set()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        started.wait(10)
        if problem:
            raise problem[0]
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)


def as_json(messages: list[Sent]) -> str:
    return json.dumps([message.__dict__ for message in messages], indent=1)
