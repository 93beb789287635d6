"""SQLite transactions shared by the store's rooms (digest.store, digest.leases, digest.delivery_log)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator


@contextlib.contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A transaction that takes the write lock at once (waiting out others up to the busy timeout), so
    a read-then-write inside it cannot be overtaken by another process."""
    if conn.in_transaction:
        # Nested in a caller's transaction (e.g. a migration): its commit is the one that counts.
        yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.rollback()
        raise
    conn.commit()
