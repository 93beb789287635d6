"""What the Telegram adapter needs from the core, as a protocol (digest.service.DigestService fits it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from digest.models import Digest, Paper, Summary

PLATFORM = "telegram"


class DigestSource(Protocol):
    async def ensure_digest(self, day: date, categories: Sequence[str] | None = None) -> Digest: ...

    def latest_digest(
        self,
        categories: Sequence[str] | None = None,
        on_or_before: date | None = None,
        non_empty: bool = True,
    ) -> Digest | None: ...

    def breakdown(self, paper_id: str) -> tuple[Paper, Summary | None] | None: ...


@dataclass(frozen=True)
class BotOptions:
    """The few settings the handlers show or use; built from Settings by bot/telegram_wiring.py."""

    categories: tuple[str, ...]  # the configured default
    language: str = "zh"
    timezone: str = "Asia/Shanghai"
    publish_at: str = "09:30"

    def today(self) -> date:
        return datetime.now(ZoneInfo(self.timezone)).date()
