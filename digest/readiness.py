"""What a running build has done so far, so that a push can start on a chat whose cards are ready.

A build first fixes the day's membership (the digests and their papers), then summarizes the papers that
have no summary yet, storing each as it finishes. A push started meanwhile (the daily job at
`publish_at`, a `/today`) waits here, in the same process, for exactly what it will show: the membership,
then its own papers. A paper counts as ready once the build is done with it, whether its summary
succeeded or failed for good (a failed one is shown with its abstract and retried by the next build, as
after any build). When the build ends, or fails, every waiter is released and reads the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence


class BuildProgress:
    """One day's build in this process; waiters re-check their condition after every change."""

    def __init__(self) -> None:
        self.running = False
        self.selected = False  # the running build has fixed the day's membership
        self._pending: set[str] = set()
        # Each subscribed chat's cards (versioned ids) as the build ranked them, by (platform, chat id).
        self.cards: Mapping[tuple[str, str], Sequence[str]] = {}
        self._changed = asyncio.Event()

    def _notify(self) -> None:
        # Wake everyone waiting on the current event; later waiters wait on a fresh one.
        self._changed.set()
        self._changed = asyncio.Event()

    async def until(self, ready: Callable[[], bool]) -> None:
        while not ready():
            await self._changed.wait()

    # -- the build's side ------------------------------------------------------------------------
    def begin(self) -> None:
        self.running, self.selected = True, False
        self._pending.clear()
        self.cards = {}
        self._notify()

    def select(
        self, pending: Iterable[str], cards: Mapping[tuple[str, str], Sequence[str]] | None = None
    ) -> None:
        """Membership is fixed; these papers (versioned ids) still need a summary, in this order."""
        self.selected = True
        self._pending = set(pending)
        self.cards = cards or {}
        self._notify()

    def done(self, paper_id: str) -> None:
        self._pending.discard(paper_id)
        self._notify()

    def end(self) -> None:
        self.running = False
        self._pending.clear()
        self.cards = {}
        self._notify()

    # -- the push's side -------------------------------------------------------------------------
    async def membership(self) -> None:
        """Until a build has fixed the day's membership (however many failed attempts come first)."""
        await self.until(lambda: self.selected)

    async def membership_or_end(self) -> None:
        """Until the running build has fixed the membership, or has ended without."""
        await self.until(lambda: not self.running or self.selected)

    async def papers(self, paper_ids: Iterable[str]) -> None:
        """Until the running build has fixed its membership and none of these papers waits for it (or
        the build ended)."""
        wanted = set(paper_ids)
        await self.until(lambda: not self.running or (self.selected and self._pending.isdisjoint(wanted)))
