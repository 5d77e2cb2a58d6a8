"""Sending on Telegram: the bot, its pacing, and long texts split to Telegram's limit.

The Telegram app (``bot/telegram/app.py``) and the reminder schedule
(``bot/ops/reminders.py``) both send through a bot made here, so both keep to
Telegram's flood limits the same way: python-telegram-bot's ``AIORateLimiter``
paces every outgoing call, and waits out a "429 Too Many Requests" before
trying again. Both split long texts with ``split_text``.

This module never imports Rasa or the store.
"""

from __future__ import annotations

from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.constants import FloodLimit
from telegram.ext import AIORateLimiter, ExtBot

from bot import settings

MAX_TEXT = 4096  # Telegram's limit on a message, in UTF-16 code units

# Telegram's documented limits (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this):
# about 30 messages a second in all, and 20 a minute in any one group.
OVERALL_PER_SECOND = FloodLimit.MESSAGES_PER_SECOND
GROUP_PER_MINUTE = FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP
# How often a call refused with "retry after" is tried again, after the wait Telegram asks for.
RETRIES = 3

ChatId = int | str


def rate_limiter() -> AIORateLimiter:
    """A fresh pacer for one bot's outgoing calls, at Telegram's limits, retrying after "429 retry after"."""
    return AIORateLimiter(
        overall_max_rate=OVERALL_PER_SECOND,
        overall_time_period=1,
        group_max_rate=GROUP_PER_MINUTE,
        group_time_period=60,
        max_retries=RETRIES,
    )


def base_url(api_url: str) -> str:
    """The address python-telegram-bot puts the token and method after, for the Bot API at ``api_url``."""
    return f"{api_url.rstrip('/')}/bot"


def base_file_url(api_url: str) -> str:
    """The address files are fetched from, for the Bot API at ``api_url``."""
    return f"{api_url.rstrip('/')}/file/bot"


def make_bot(token: str | None = None, api_url: str | None = None) -> ExtBot[int]:
    """A bot paced by ``rate_limiter()``, for sending outside the app (the reminder schedule).

    The token and the Bot API's address default to ``TELEGRAM_BOT_TOKEN`` and
    ``TELEGRAM_API_URL``. Open it with ``async with bot:`` (or ``initialize``
    and ``shutdown``) around the sends: that starts and closes its HTTP client.
    """
    api = api_url or settings.telegram_api_url()
    return ExtBot(
        token or settings.telegram_token(),
        base_url=base_url(api),
        base_file_url=base_file_url(api),
        rate_limiter=rate_limiter(),
    )


def utf16_length(text: str) -> int:
    """The length Telegram counts: UTF-16 code units, so an emoji beyond the first plane counts twice."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split text into parts Telegram accepts, at a paragraph, line or word break when there is one."""
    parts: list[str] = []
    while utf16_length(text) > limit:
        fits = _longest_prefix(text, limit)
        breaks = (text.rfind(mark, 0, fits) for mark in ("\n\n", "\n", " "))
        cut = next((at for at in breaks if at > fits // 2), fits)
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text.strip():
        parts.append(text)
    return parts


def _longest_prefix(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` UTF-16 code units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


async def send_text(
    bot: Bot, chat_id: ChatId, text: str, reply_markup: InlineKeyboardMarkup | None = None
) -> list[Message]:
    """Send ``text`` as plain text in as many messages as it needs, in order, without link previews.

    ``reply_markup`` goes on the last part, so buttons come after everything
    they are about. A part that fails raises, and the parts after it are not sent.
    """
    parts = split_text(text)
    sent: list[Message] = []
    for number, part in enumerate(parts, start=1):
        sent.append(
            await bot.send_message(
                chat_id,
                part,
                reply_markup=reply_markup if number == len(parts) else None,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
    return sent
