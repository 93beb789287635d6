"""Who may do what right now, across processes: leases in the database, owned by a process.

`arxiv-digest build`, `push` and `run` may run at the same time on one database. A digest is built by
one process at a time (the lease "build:<digest key>"), and a message part is claimed before it is sent
(digest.delivery_log). A holder is `host:pid:nonce`; a lease held by a process of this host that no
longer exists is free at once, any other lease only when it expires (the holder renews it while it works,
so expiry means it died or hung on another host).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import sqlite3
import time
from collections.abc import AsyncIterator, Callable

from digest.transactions import immediate

log = logging.getLogger(__name__)

HOST = socket.gethostname()
WAIT_LIMIT_SECONDS = 3600.0  # a build is minutes; past an hour its holder is stuck


def new_owner() -> str:
    return f"{HOST}:{os.getpid()}:{secrets.token_hex(4)}"


def owner_alive(owner: str | None) -> bool:
    """False only when we know better: the owner ran on this host and its process is gone."""
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    pid_text = rest.split(":", 1)[0]
    if host != HOST or not pid_text.isdigit():
        return True
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


class Leases:
    def __init__(self, conn: sqlite3.Connection, owner: str):
        self.conn, self.owner = conn, owner

    def try_acquire(self, name: str, ttl: float) -> bool:
        now = time.time()
        with immediate(self.conn):
            row = self.conn.execute("select owner, expires_at from leases where name = ?", [name]).fetchone()
            if row is not None and row[0] != self.owner and row[1] > now and owner_alive(row[0]):
                return False
            self.conn.execute(
                "insert into leases (name, owner, expires_at) values (?, ?, ?) on conflict (name) "
                "do update set owner = excluded.owner, expires_at = excluded.expires_at",
                [name, self.owner, now + ttl],
            )
        return True

    def renew(self, name: str, ttl: float) -> None:
        with self.conn:
            self.conn.execute(
                "update leases set expires_at = ? where name = ? and owner = ?",
                [time.time() + ttl, name, self.owner],
            )

    def release(self, name: str) -> None:
        with self.conn:
            self.conn.execute("delete from leases where name = ? and owner = ?", [name, self.owner])

    def held_by_other(self, name: str) -> bool:
        row = self.conn.execute("select owner, expires_at from leases where name = ?", [name]).fetchone()
        return row is not None and row[0] != self.owner and row[1] > time.time() and owner_alive(row[0])

    async def wait_free(self, name: str, poll: float = 0.2, timeout: float = WAIT_LIMIT_SECONDS) -> bool:
        """Wait until nobody else holds `name` (without taking it); False if it was still held after
        `timeout` (a holder that renews but never finishes: the caller goes on with what is stored)."""
        deadline = time.monotonic() + timeout
        told = False
        while self.held_by_other(name):
            if time.monotonic() > deadline:
                log.warning("%s is still held by another process after %.0f s; going on", name, timeout)
                return False
            if not told:
                log.info("waiting for %s, held by another process", name)
                told = True
            await asyncio.sleep(poll)
        return True

    @contextlib.asynccontextmanager
    async def hold(
        self,
        names: list[str],
        ttl: float = 120.0,
        poll: float = 0.2,
        on_wait: Callable[[str], None] | None = None,
    ) -> AsyncIterator[None]:
        """Hold every lease in `names` (taken in sorted order, waiting for each), renewed in the
        background until the block ends."""
        taken: list[str] = []
        try:
            for name in sorted(set(names)):
                told = False
                while not self.try_acquire(name, ttl):
                    if not told and on_wait is not None:
                        on_wait(name)
                        told = True
                    await asyncio.sleep(poll)
                taken.append(name)
            renewer = asyncio.create_task(self._renew_forever(taken, ttl))
            try:
                yield
            finally:
                renewer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewer
        finally:
            for name in taken:
                try:
                    self.release(name)
                except sqlite3.Error:
                    log.exception("could not release the lease %s (it expires by itself)", name)

    @contextlib.asynccontextmanager
    async def one_by_one(self, ttl: float = 120.0, poll: float = 0.2) -> AsyncIterator[LeaseSet]:
        """A set of leases taken and given back one at a time while the block runs (a build's papers
        in flight), renewed in the background; whatever is still held is given back at the end."""
        held = LeaseSet(self, ttl, poll)
        renewer = asyncio.create_task(self._renew_forever(held.names, ttl))
        try:
            yield held
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            for name in list(held.names):
                held.give_back(name)

    async def _renew_forever(self, names: list[str] | set[str], ttl: float) -> None:
        while True:
            await asyncio.sleep(ttl / 3)
            for name in list(names):
                try:
                    self.renew(name, ttl)
                except sqlite3.Error:
                    log.warning("could not renew the lease %s; trying again", name)


class LeaseSet:
    """Leases of one holder taken and given back one at a time (see Leases.one_by_one)."""

    def __init__(self, leases: Leases, ttl: float, poll: float):
        self.leases, self.ttl, self.poll = leases, ttl, poll
        self.names: set[str] = set()

    async def take(self, name: str) -> None:
        """Take `name`, waiting while another process holds it."""
        while not self.leases.try_acquire(name, self.ttl):
            await asyncio.sleep(self.poll)
        self.names.add(name)

    def forget(self, name: str) -> None:
        """Stop counting `name` as held here without releasing it: another holder of this process (the
        same owner, so the same lease row) has it and releases it."""
        self.names.discard(name)

    def give_back(self, name: str) -> None:
        if name not in self.names:
            return
        self.names.discard(name)
        try:
            self.leases.release(name)
        except sqlite3.Error:
            log.exception("could not release the lease %s (it expires by itself)", name)
