"""The Telegram adapter's seams: its platform name, the options it shows, and the core it reads (digest.ports)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from digest.ports import DigestSource

PLATFORM = "telegram"

__all__ = ["PLATFORM", "BotOptions", "DigestSource", "default_max_cards"]

MAX_CARDS_PRIVATE = 20  # one reader who opened the bot for it
MAX_CARDS_SHARED = 10  # a channel or group: everyone scrolls past what it posts
MAX_CARDS_LIMIT = 50


def default_max_cards(chat_id: str) -> int:
    """Telegram ids say the kind of chat: users (private chats) are positive, groups and channels
    negative."""
    try:
        return MAX_CARDS_PRIVATE if int(chat_id) > 0 else MAX_CARDS_SHARED
    except ValueError:
        return MAX_CARDS_SHARED


@dataclass(frozen=True)
class BotOptions:
    """The few settings the handlers show or use; built from Settings by bot/telegram_wiring.py."""

    categories: tuple[str, ...]  # the configured default
    language: str = "zh"
    timezone: str = "Asia/Shanghai"
    publish_at: str = "09:30"
    asking: bool = False  # questions to papers are answered (an LLM is configured)

    def today(self) -> date:
        return datetime.now(ZoneInfo(self.timezone)).date()
