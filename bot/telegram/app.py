"""The Telegram channel: a python-telegram-bot app that forwards to the Rasa server.

People chat with the assistant in a private Telegram chat. Each text message,
and each press of a button, is forwarded to the Rasa server's Telegram bridge
channel (``bot/rasa_server/channels.py``, with the shared secret) as the Telegram
user's id; the replies come back as messages, Rasa's buttons as inline
keyboards. ``/start``, ``/help`` and ``/privacy`` are answered here, so they
work even while the Rasa server is down. Group chats are refused: records about
children must stay in private chats.

Updates arrive by long polling, or by webhook when ``TELEGRAM_WEBHOOK_URL`` is
set. A small HTTP server on ``TELEGRAM_PORT`` answers ``/health`` once the bot
has logged in, and in webhook mode receives Telegram's posts at the webhook
URL's path, checking ``X-Telegram-Bot-Api-Secret-Token``.

``send(application, chat_id, text, buttons)`` is how every message goes out, so
messages the assistant starts itself can use it too; ``post_init`` is where
background tasks start. Outgoing calls are paced by python-telegram-bot's
``AIORateLimiter`` to Telegram's flood limits (``bot/telegram/sending.py``, shared
with the reminder schedule); the per-user limit here is on *incoming* messages.

Usage (``make run`` starts it when ``TELEGRAM_BOT_TOKEN`` is set)::

    TELEGRAM_BOT_TOKEN=... .venv/bin/python -m bot.telegram.app

This app never imports Rasa: it only talks to the Rasa server over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
import signal
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias
from urllib.parse import urlsplit

import httpx
from aiohttp import web
from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatAction, ChatType
from telegram.error import BadRequest, InvalidToken, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

import knowledge
from bot import settings
from bot.telegram import sending
from bot.telegram.sending import split_text

logger = logging.getLogger("sen-support.telegram")

# Any python-telegram-bot application: the one ``build_application`` makes has a rate-limited bot, while a
# handler's ``context.application`` is typed with the default context types; the functions here take either.
AnyApplication: TypeAlias = Application[Any, Any, Any, Any, Any, Any]

# The Rasa server's Telegram bridge channel (see bot/rasa_server/channels.py).
BRIDGE_PATH = "/webhooks/telegram/webhook"
BRIDGE_SECRET_HEADER = "X-SEN-Bridge-Secret"
WEBHOOK_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]

MAX_CALLBACK_DATA = 64  # Telegram's limit on a button's callback data, in bytes
KEY_PREFIX = "#k:"  # callback data standing for a payload kept in ButtonKeys

RATE_CAPACITY = 10  # incoming messages a user may send at once...
RATE_WINDOW = 30.0  # ...refilled evenly over this many seconds
CONNECT_ATTEMPTS = 3  # tries to reach the Rasa server when the connection is refused
BACKOFF = 0.5  # seconds before the second try, doubling after
RASA_TIMEOUT = 60.0  # seconds to wait for the Rasa server's answer
RASA_START_WAIT = 300.0  # seconds to wait at start for the Rasa server to come up before taking messages
CONCURRENT_UPDATES = 16

RASA_DOWN = "Sorry, I can't reach the assistant just now. Please try again in a moment."
SLOW_DOWN = "You're sending messages very quickly; please wait a few seconds."
PRIVATE_ONLY = (
    "Sorry, I only work in a private chat, because conversations about children's support "
    "must not appear in groups. Please message me directly{mention}."
)
TEXT_ONLY = "I can only read text messages. Please type your question."
EXPIRED_BUTTON = "That button has expired. Please type your question, or send /help."
CHOSEN = "You chose: {title}"
UNKNOWN_COMMAND = "I don't know that command. Send /help to see what I can do, or type your question."
SOMETHING_WENT_WRONG = "Sorry, something went wrong on my side. Please try again in a moment."
CHOOSE = "Please choose:"

START_TEXT = (
    "Hello! I'm the SEN Support Assistant. I answer questions about SEN support in schools "
    "in England, for families and school staff, and say where each answer comes from.\n\n"
    'Type a question, for example "what does assess, plan, do, review mean?".\n\n'
    "If you work at a school, or your child's school gave you a code, send "
    '"my code is XXXX-XXXX-XXXX" to link this chat.\n\n'
    "/help lists what I can do. /privacy says what is kept about you."
)
START_BUTTONS = [{"title": "What can you help with?", "payload": "/what_can_you_do"}]

HELP_TEXT = (
    "What I can do:\n\n"
    "- Answer questions about SEN support: the graduated approach, the SENCO, plans and reviews, "
    "funding, EHC needs assessments and your rights. Each answer gives its source and local "
    'contacts; "tell me more" gives more detail.\n'
    '- For school staff who have linked this chat: "which reviews are overdue?", '
    '"reviews due in the next 2 weeks", "when is Amy Carter\'s next review?", '
    '"new plan for Finley" to record a plan step by step.\n'
    "- For parents and carers who have linked this chat: \"what's in my child's plan?\", "
    '"when\'s the next meeting about my child?".\n\n'
    'To link this chat, send the code from the school: "my code is XXXX-XXXX-XXXX". Codes work once. '
    '"who am I linked as" shows the link, and "forget me on this device" removes it.\n\n'
    "I work only in private chats. Commands: /start, /help, /privacy."
)

PRIVACY_TEXT = (
    "What is kept:\n"
    "- If you link this chat, a keyed digest of your Telegram user id (a one-way code made "
    "with a secret key), so the assistant knows which account is yours.\n"
    "- The conversation (your messages and the replies), under your Telegram user id, in the "
    "assistant's conversation store, so it can follow what you are talking about, for {days} days, "
    "with codes and private links removed; then it is deleted.\n"
    "- An audit trail of every look-up of a pupil's record, every refusal and every change: "
    "who, what, when, and that it came through Telegram.\n\n"
    "What is not kept: your Telegram id, name or phone number in the records of schools, "
    "pupils and plans, and anything from group chats (I work only in private chats).\n\n"
    "Telegram carries the messages, under Telegram's own privacy policy.\n\n"
    'To unlink this chat from your account, send "forget me on this device".\n\n'
    "To ask about your data, or for a copy of it or its deletion, contact {contact}."
)


@dataclass(frozen=True)
class Config:
    """Everything the app needs, normally read from the environment (``bot/settings.py``)."""

    token: str
    rasa_url: str
    bridge_secret: str
    api_url: str = settings.TELEGRAM_API_URL
    webhook_url: str = ""
    webhook_secret: str = ""
    listen: str = "127.0.0.1"
    port: int = 5058
    privacy_contact: str = ""
    connect_attempts: int = CONNECT_ATTEMPTS
    backoff: float = BACKOFF
    rasa_timeout: float = RASA_TIMEOUT
    rasa_start_wait: float = RASA_START_WAIT

    @classmethod
    def from_environment(cls) -> Config:
        webhook_url = settings.telegram_webhook_url()
        return cls(
            token=settings.telegram_token(),
            rasa_url=settings.rasa_url(),
            bridge_secret=settings.telegram_bridge_secret(),
            api_url=settings.telegram_api_url(),
            webhook_url=webhook_url,
            webhook_secret=settings.telegram_webhook_secret() if webhook_url else "",
            listen=settings.telegram_listen(),
            port=settings.telegram_port(),
            privacy_contact=settings.privacy_contact() or default_privacy_contact(),
        )

    @property
    def mode(self) -> str:
        return "webhook" if self.webhook_url else "polling"

    @property
    def webhook_path(self) -> str:
        return urlsplit(self.webhook_url).path or "/"


def default_privacy_contact() -> str:
    """The council's data protection officer, found through the council's website."""
    place = knowledge.council(settings.council_id())
    site = urlsplit(place.local_offer.get("url", "")).netloc
    where = f" (see the privacy notice on {site})" if site else ""
    return f"{place.name}'s data protection officer{where}"


# Rate limit ------------------------------------------------------------------


class RateLimiter:
    """A token bucket per user: ``capacity`` messages at once, refilled evenly over ``window`` seconds.

    It limits what users send *in*, so one person cannot flood the assistant;
    the bot's ``AIORateLimiter`` paces what goes *out*. ``check`` says "ok" (go
    ahead), "warn" (the first refused message: tell the user once) or "drop"
    (refused again: stay quiet).
    """

    def __init__(
        self, capacity: int = RATE_CAPACITY, window: float = RATE_WINDOW, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.capacity, self.rate, self.clock = capacity, capacity / window, clock
        self._buckets: dict[int, tuple[float, float, bool]] = {}  # user -> (tokens, when, warned)

    def check(self, user_id: int) -> str:
        now = self.clock()
        tokens, when, warned = self._buckets.get(user_id, (float(self.capacity), now, False))
        tokens = min(float(self.capacity), tokens + (now - when) * self.rate)
        if tokens >= 1:
            self._buckets[user_id] = (tokens - 1, now, False)
            self._prune(now)
            return "ok"
        self._buckets[user_id] = (tokens, now, True)
        return "drop" if warned else "warn"

    def _prune(self, now: float) -> None:
        if len(self._buckets) > 10_000:
            full = self.capacity / self.rate
            self._buckets = {user: b for user, b in self._buckets.items() if now - b[1] < full}


# Buttons ---------------------------------------------------------------------


class ButtonKeys:
    """Short keys for button payloads longer than Telegram's 64-byte callback data, per chat.

    A payload that fits is used as the callback data itself, so its button
    keeps working after a restart; a longer one gets a random key, remembered
    for the chat's last ``per_chat`` such buttons.
    """

    def __init__(self, per_chat: int = 100, chats: int = 10_000) -> None:
        self.per_chat, self.chats = per_chat, chats
        self._keys: OrderedDict[int, OrderedDict[str, str]] = OrderedDict()

    def data_for(self, chat_id: int, payload: str) -> str:
        if len(payload.encode()) <= MAX_CALLBACK_DATA and not payload.startswith(KEY_PREFIX):
            return payload
        keys = self._keys.setdefault(chat_id, OrderedDict())
        self._keys.move_to_end(chat_id)
        key = KEY_PREFIX + secrets.token_urlsafe(9)
        keys[key] = payload
        while len(keys) > self.per_chat:
            keys.popitem(last=False)
        while len(self._keys) > self.chats:
            self._keys.popitem(last=False)
        return key

    def payload_for(self, chat_id: int, data: str) -> str | None:
        if data.startswith(KEY_PREFIX):
            keys = self._keys.get(chat_id)
            return keys.get(data) if keys is not None else None
        return data or None


def keyboard(keys: ButtonKeys, chat_id: int, buttons: Sequence[dict[str, Any]]) -> InlineKeyboardMarkup | None:
    """Rasa's buttons as an inline keyboard, one button a row."""
    rows = [
        [
            InlineKeyboardButton(
                str(button.get("title") or button["payload"]),
                callback_data=keys.data_for(chat_id, str(button["payload"])),
            )
        ]
        for button in buttons
        if button.get("payload")
    ]
    return InlineKeyboardMarkup(rows) if rows else None


# The Rasa server ---------------------------------------------------------------


class RasaUnavailable(Exception):
    """The Rasa server could not be reached, or did not answer properly."""


class RasaClient:
    """Forwards messages to the Rasa server's Telegram bridge channel.

    A connection that fails before the request is sent (refused, or timed out
    while connecting) is retried a few times with a short backoff; anything that
    may have reached the server is never sent again.
    """

    def __init__(
        self,
        base_url: str,
        secret: str,
        client: httpx.AsyncClient,
        attempts: int = CONNECT_ATTEMPTS,
        backoff: float = BACKOFF,
    ) -> None:
        self.url, self.secret, self.client = base_url.rstrip("/") + BRIDGE_PATH, secret, client
        self.attempts, self.backoff = attempts, backoff

    async def send(self, sender: str, text: str) -> list[dict[str, Any]]:
        for attempt in range(1, self.attempts + 1):
            try:
                response = await self.client.post(
                    self.url,
                    json={"sender": sender, "message": text},
                    headers={BRIDGE_SECRET_HEADER: self.secret},
                )
                break
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as problem:
                if attempt == self.attempts:
                    logger.warning("Rasa server unreachable after %d tries: %s", attempt, type(problem).__name__)
                    raise RasaUnavailable() from problem
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
            except httpx.HTTPError as problem:
                logger.warning("Rasa server failed to answer: %s", type(problem).__name__)
                raise RasaUnavailable() from problem
        if response.status_code == 401:
            logger.error("The Rasa server refused the bridge secret: check SEN_TELEGRAM_BRIDGE_SECRET on both.")
            raise RasaUnavailable()
        if response.status_code != 200:
            logger.warning("Rasa server answered with status %d", response.status_code)
            raise RasaUnavailable()
        try:
            replies = response.json()
        except ValueError as problem:
            raise RasaUnavailable() from problem
        return [reply for reply in replies if isinstance(reply, dict)] if isinstance(replies, list) else []


# Shared state ------------------------------------------------------------------


@dataclass
class BotState:
    """What the handlers share, kept in ``application.bot_data``; the HTTP client opens in ``post_init``."""

    config: Config
    limiter: RateLimiter = field(default_factory=RateLimiter)
    keys: ButtonKeys = field(default_factory=ButtonKeys)
    rasa: RasaClient | None = None
    http: httpx.AsyncClient | None = None
    ready: bool = False
    _locks: dict[int, asyncio.Lock] = field(default_factory=dict)

    def lock_for(self, chat_id: int) -> asyncio.Lock:
        """One lock per chat, so a chat's messages reach the Rasa server in the order they were sent."""
        if len(self._locks) > 1000:
            self._locks = {chat: lock for chat, lock in self._locks.items() if lock.locked()}
        return self._locks.setdefault(chat_id, asyncio.Lock())


STATE_KEY = "sen"


def state_of(application: AnyApplication) -> BotState:
    state: BotState = application.bot_data[STATE_KEY]
    return state


# Sending -------------------------------------------------------------------------


async def send(
    application: AnyApplication, chat_id: int, text: str, buttons: Sequence[dict[str, Any]] | None = None
) -> list[Message]:
    """Send ``text`` to a chat as plain text, split to Telegram's limit, ``buttons`` as an inline keyboard.

    Buttons are Rasa's (``{"title", "payload"}``); a press sends the payload to
    the Rasa server as the user. Used for every reply, and for messages the
    assistant starts itself.
    """
    markup = keyboard(state_of(application).keys, chat_id, buttons) if buttons else None
    if markup is not None and not split_text(text or ""):
        text = CHOOSE  # a keyboard needs a message to hang on
    return await sending.send_text(application.bot, chat_id, text or "", markup)


async def send_reply(application: AnyApplication, chat_id: int, reply: dict[str, Any]) -> None:
    """One of the Rasa server's replies: text and buttons, an image or attachment as its link."""
    text = reply.get("text") or ""
    custom = reply.get("custom")
    if isinstance(custom, dict) and isinstance(custom.get("text"), str):
        text = text or custom["text"]
    for link in (reply.get("image"), reply.get("attachment")):
        if isinstance(link, str) and link:
            text = f"{text}\n{link}".strip()
    buttons = reply.get("buttons") or []
    if text or buttons:
        await send(application, chat_id, text, buttons)


async def forward(application: AnyApplication, chat_id: int, user_id: int, text: str) -> None:
    """Send the user's message to the Rasa server and its replies back to the chat."""
    state = state_of(application)
    async with state.lock_for(chat_id):
        with contextlib.suppress(TelegramError):
            await application.bot.send_chat_action(chat_id, ChatAction.TYPING)
        try:
            assert state.rasa is not None, "post_init has not run"
            replies = await state.rasa.send(str(user_id), text)
        except RasaUnavailable:
            await send(application, chat_id, RASA_DOWN)
            return
        for reply in replies:
            await send_reply(application, chat_id, reply)


# Handlers --------------------------------------------------------------------------


async def in_private(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """True in a private chat; anywhere else, explain that the assistant works only in private chats."""
    chat = update.effective_chat
    if chat is not None and chat.type == ChatType.PRIVATE:
        return True
    username = context.bot.username
    text = PRIVATE_ONLY.format(mention=f": @{username}" if username else "")
    if update.callback_query:
        await update.callback_query.answer(text, show_alert=True)
    elif chat is not None:
        await context.bot.send_message(chat.id, text)
    return False


def _chat_id(update: Update) -> int:
    """The id of the update's chat, for an update that ``in_private`` let through."""
    chat = update.effective_chat
    assert chat is not None, "in_private lets through only updates in a chat"
    return chat.id


def _user_id(update: Update) -> int:
    """The id of the user who sent the update, for an update that ``in_private`` let through."""
    user = update.effective_user
    assert user is not None, "messages and button presses in a private chat come from a user"
    return user.id


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet and explain; the button asks the assistant what it can do."""
    if await in_private(update, context):
        await send(context.application, _chat_id(update), START_TEXT, START_BUTTONS)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """What the assistant does, and how to link an account."""
    if await in_private(update, context):
        await send(context.application, _chat_id(update), HELP_TEXT)


async def privacy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """What is kept and what is not, how to unlink, and whom to ask."""
    if await in_private(update, context):
        contact = state_of(context.application).config.privacy_contact or default_privacy_contact()
        text = PRIVACY_TEXT.format(contact=contact, days=settings.conversation_days())
        await send(context.application, _chat_id(update), text)


async def allowed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """The per-user rate limit: warn once when it is reached, then stay quiet until it refills."""
    decision = state_of(context.application).limiter.check(_user_id(update))
    if decision == "warn":
        if update.callback_query:
            await update.callback_query.answer(SLOW_DOWN)
        else:
            await send(context.application, _chat_id(update), SLOW_DOWN)
    elif decision == "drop" and update.callback_query:
        await update.callback_query.answer()
    return decision == "ok"


async def text_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A typed message: forwarded to the assistant."""
    if not await in_private(update, context) or not await allowed(update, context):
        return
    message = update.message
    assert message is not None and message.text is not None, "the handler's filters let through only text messages"
    await forward(context.application, _chat_id(update), _user_id(update), message.text)


async def other_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Photos, stickers, voice notes and the like: only text is understood."""
    if await in_private(update, context):
        await send(context.application, _chat_id(update), TEXT_ONLY)


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command other than /start, /help and /privacy."""
    if await in_private(update, context):
        await send(context.application, _chat_id(update), UNKNOWN_COMMAND)


async def button_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A press of an inline button: show the choice, and send its payload to the assistant."""
    query = update.callback_query
    if not await in_private(update, context):
        return
    assert query is not None, "CallbackQueryHandler passes only button presses"
    chat_id = _chat_id(update)
    payload = state_of(context.application).keys.payload_for(chat_id, query.data or "")
    if payload is None:
        await query.answer(EXPIRED_BUTTON, show_alert=True)
        return
    if not await allowed(update, context):
        return
    await query.answer()
    title = _button_title(query.message, query.data or "")
    if isinstance(query.message, Message):
        with contextlib.suppress(BadRequest):  # already edited, or too old to edit
            await query.edit_message_reply_markup(reply_markup=None)
    if title:
        await send(context.application, chat_id, CHOSEN.format(title=title))
    await forward(context.application, chat_id, _user_id(update), payload)


def _button_title(message: Any, data: str) -> str:
    markup = message.reply_markup if isinstance(message, Message) else None
    for row in markup.inline_keyboard if markup is not None else ():
        for button in row:
            if button.callback_data == data:
                return button.text
    return ""


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the error (never the message's text) and say sorry in the chat, if there is one."""
    logger.error("Error while handling an update: %s", type(context.error).__name__, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(update.effective_chat.id, SOMETHING_WENT_WRONG)


# Life cycle ------------------------------------------------------------------------


async def post_init(application: AnyApplication) -> None:
    """Open the connection pool to the Rasa server and list the commands in Telegram's menu.

    Background tasks that send messages on their own (with ``send``) start here.
    """
    state = state_of(application)
    config = state.config
    state.http = httpx.AsyncClient(timeout=httpx.Timeout(config.rasa_timeout, connect=5.0))
    state.rasa = RasaClient(config.rasa_url, config.bridge_secret, state.http, config.connect_attempts, config.backoff)
    await application.bot.set_my_commands(
        [
            BotCommand("start", "What this assistant is"),
            BotCommand("help", "What it can do, and linking your account"),
            BotCommand("privacy", "What is kept about you"),
        ]
    )


async def post_shutdown(application: AnyApplication) -> None:
    """Close the connection pool to the Rasa server."""
    state = state_of(application)
    if state.http is not None:
        await state.http.aclose()
        state.http = None


def build_application(config: Config) -> AnyApplication:
    """The app's handlers on a bot whose outgoing calls are paced to Telegram's flood limits."""
    builder = (
        ApplicationBuilder()
        .token(config.token)
        .base_url(sending.base_url(config.api_url))
        .base_file_url(sending.base_file_url(config.api_url))
        .rate_limiter(sending.rate_limiter())
        .concurrent_updates(CONCURRENT_UPDATES)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if config.webhook_url:
        builder = builder.updater(None)
    application = builder.build()
    application.bot_data[STATE_KEY] = BotState(config)
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(CommandHandler("privacy", privacy))
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND, text_message))
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.COMMAND, unknown_command))
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & ~filters.StatusUpdate.ALL, other_message))
    application.add_handler(CallbackQueryHandler(button_pressed))
    application.add_error_handler(error_handler)
    return application


def http_app(application: AnyApplication) -> web.Application:
    """The app's own HTTP server: ``/health``, and in webhook mode Telegram's posts."""
    state = state_of(application)
    config = state.config
    server = web.Application()

    async def health(request: web.Request) -> web.Response:
        if not state.ready:
            return web.json_response({"status": "starting"}, status=503)
        return web.json_response({"status": "ok", "bot": application.bot.username, "mode": config.mode})

    async def webhook(request: web.Request) -> web.Response:
        given = request.headers.get(WEBHOOK_SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), config.webhook_secret.encode()):
            return web.Response(status=403)
        try:
            update = Update.de_json(await request.json(), application.bot)
        except (ValueError, TypeError, KeyError):
            return web.Response(status=400)
        await application.update_queue.put(update)
        return web.Response()

    server.router.add_get("/health", health)
    if config.webhook_url:
        if not config.webhook_secret:
            raise ValueError("Webhook mode needs a secret token (TELEGRAM_WEBHOOK_SECRET).")
        server.router.add_post(config.webhook_path, webhook)
    return server


async def wait_for_rasa(state: BotState, stop: asyncio.Event) -> None:
    """Wait until the Rasa server's Telegram channel answers, for at most ``rasa_start_wait`` seconds.

    Messages sent while the bot was down are waiting in Telegram; taking them
    before the Rasa server is up would tell each that the assistant is unreachable.
    """
    assert state.http is not None
    url = state.config.rasa_url.rstrip("/") + BRIDGE_PATH.rsplit("/", 1)[0] + "/"
    deadline = time.monotonic() + state.config.rasa_start_wait
    while not stop.is_set():
        try:
            if (await state.http.get(url, timeout=5.0)).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() >= deadline:
            logger.warning("The Rasa server is not answering yet; starting anyway.")
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


async def serve(config: Config, stop: asyncio.Event) -> None:
    """Run the bot until ``stop`` is set: log in, start the HTTP server, then poll or take the webhook."""
    application = build_application(config)
    state = state_of(application)
    runner = web.AppRunner(http_app(application), access_log=None)
    await application.initialize()  # getMe: a wrong token fails here
    try:
        assert application.post_init is not None, "build_application sets it"
        await application.post_init(application)
        await wait_for_rasa(state, stop)
        await runner.setup()
        await web.TCPSite(runner, config.listen, config.port).start()
        if config.webhook_url:
            await application.bot.set_webhook(
                config.webhook_url, secret_token=config.webhook_secret, allowed_updates=ALLOWED_UPDATES
            )
        else:
            assert application.updater is not None, "without a webhook the application keeps its updater"
            await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
        await application.start()
        state.ready = True
        logger.info("Telegram bot @%s is running (%s).", application.bot.username, config.mode)
        await stop.wait()
    finally:
        state.ready = False
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        if runner.server is not None:
            await runner.cleanup()
        await application.shutdown()
        if application.post_shutdown is not None:  # build_application sets it
            await application.post_shutdown(application)


async def run_until_signalled(config: Config) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await serve(config, stop)


def main() -> int:
    logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s", level=logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines carry the bot token
    config = Config.from_environment()
    if not config.token:
        print("Set TELEGRAM_BOT_TOKEN to the token BotFather gave you.", file=sys.stderr)
        return 1
    try:
        asyncio.run(run_until_signalled(config))
    except InvalidToken:
        logger.error("Telegram refused the bot token: check TELEGRAM_BOT_TOKEN.")
        return 1
    except (TelegramError, OSError) as problem:
        logger.error("The Telegram app could not start: %s", problem)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
