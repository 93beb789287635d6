"""What the chat adapters may ask of the core. digest.service.DigestService fits it; tests may pass
anything else that does."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

from digest.interests import Interests
from digest.models import Digest, Paper, Summary
from digest.ranking import ChatDigest
from digest.store import Subscription


class DigestSource(Protocol):
    interests: Interests  # follows, mutes and ratings per chat

    async def ensure_digest(self, day: date, categories: Sequence[str] | None = None) -> Digest:
        """The stored digest of that day and category set, built first if it never was."""
        ...

    async def ready_digest(self, day: date, subscription: Subscription) -> Digest:
        """The digest this subscribed chat receives, once its own cards are ready (a push's view)."""
        ...

    def get_digest(self, day: date, categories: Sequence[str] | None = None) -> Digest | None:
        """The stored digest only; never builds."""
        ...

    def latest_digest(
        self,
        categories: Sequence[str] | None = None,
        on_or_before: date | None = None,
        non_empty: bool = True,
    ) -> Digest | None: ...

    def nearest_digest(self, day: date, categories: Sequence[str] | None = None) -> Digest | None:
        """The built digest closest in date to `day`; never builds."""
        ...

    def breakdown(self, paper_id: str) -> tuple[Paper, Summary | None] | None:
        """A paper and its stored texts, for a button press; never calls the LLM."""
        ...

    async def explain(self, paper_id: str) -> tuple[Paper, Summary | None] | None:
        """breakdown(), but a paper a build left for later is summarized now (once, for the first
        reader who asks)."""
        ...

    async def chat_digest(
        self,
        digest: Digest,
        platform: str,
        chat_id: str,
        for_push: bool = False,
        retry_failed: bool = False,
    ) -> ChatDigest:
        """The digest as one chat gets it: mutes left out, ranked, cut into cards and an overview.
        for_push keeps the order of the chat's first push of it, for every later push (resumed, healing);
        retry_failed asks the LLM again for cards whose summary failed (a push that is not due at a set
        time: it heals them)."""
        ...

    def push_done(self, platform: str, chat_id: str, digest_key: str) -> None: ...

    def subscriptions_to_heal(self, platform: str, day: date) -> list[Subscription]:
        """The subscriptions holding untranslated cards of that day's digest (a healing pass's)."""
        ...

    def max_cards(self, platform: str, chat_id: str) -> int: ...


class PlatformUnreachable(RuntimeError):
    """A chat platform's API could not be reached (connection refused, DNS, a timeout) or answered with a
    server error when the bot connected: an outside failure, not the set-up. The message names the URL
    tried (never the token) and what to check."""

    def __init__(self, problem: str, fix: str):
        super().__init__(f"{problem}; {fix}")
        self.problem, self.fix = problem, fix
