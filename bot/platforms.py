"""The contract between the composition root and each chat platform's wiring (bot/*_wiring.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol


class PlatformRuntime(Protocol):
    name: str  # "telegram" | "discord"
    failed: int  # chats the last push() left unfinished: the platform failed them; the next push resumes

    async def start(self, receive: bool = True) -> None:
        """Connect. With receive=True also start taking updates (polling / gateway) in the background."""

    async def push(self, day: date, start_at: datetime | None = None, heal_only: bool = False) -> int:
        """Deliver the digest of `day` to every active subscriber that has not had it; return messages sent.
        Sending starts at `start_at` (at once when None); each chat's messages are prepared before, as
        soon as its cards are ready. Cards sent without their translation are edited in place once it
        is there; heal_only: only the chats holding such cards of that day are pushed."""

    async def stop(self) -> None:
        """Disconnect cleanly; safe to call twice."""
