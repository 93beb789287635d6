"""The delivery log: which message part (the header, a paper's card) went to which chat, claimed before
it is sent and marked after, so that pushes running at once never send a part twice.

The protocol every platform's push follows, per message:

    if not log.claim(platform, chat, digest_key, parts):   # someone else has (or had) these parts
        skip
    send
    log.mark_sent(..., message_id, translated_parts)       # or log.release(...) when the send failed

A claim left by a process that died is taken over when its lease is over (at once when the process
ran on this host and is gone), so a crash between a send and its mark repeats at most that one message.
A card sent without its translation is remembered (`translated` = 0) with its message id, so a later
push can edit it in place once a build has filled the translation in (`untranslated` / `mark_healed`).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from digest.leases import owner_alive
from digest.transactions import immediate

CLAIM_LEASE_SECONDS = 600.0  # longer than any single send, with its retries and rate-limit waits


@dataclass(frozen=True)
class SentPart:
    chat_id: str
    part: str
    message_id: str


class DeliveryLog:
    def __init__(self, conn: sqlite3.Connection, owner: str, lease_seconds: float = CLAIM_LEASE_SECONDS):
        self.conn, self.owner, self.lease_seconds = conn, owner, lease_seconds

    def _taken(self, state: str | None, owner: str | None, claimed_at: float | None, now: float) -> bool:
        """Whether a row keeps its part from being claimed by this process."""
        if state != "claimed":
            return True  # sent or skipped
        if owner == self.owner:
            return False
        return (claimed_at or 0) + self.lease_seconds > now and owner_alive(owner)

    def done_parts(self, platform: str, chat_id: str, digest_key: str) -> set[str]:
        """Parts sent, skipped or claimed by another live push: not to be sent by this one."""
        now = time.time()
        return {
            part
            for part, state, owner, claimed_at in self.conn.execute(
                "select part, state, owner, claimed_at from deliveries "
                "where platform = ? and chat_id = ? and digest_key = ?",
                [platform, str(chat_id), digest_key],
            )
            if self._taken(state, owner, claimed_at, now)
        }

    def claim(self, platform: str, chat_id: str, digest_key: str, parts: Iterable[str]) -> bool:
        """Claim all `parts` (one message's) for this process, or none of them."""
        parts = list(dict.fromkeys(parts))
        now = time.time()
        with immediate(self.conn):
            rows = self.conn.execute(
                "select part, state, owner, claimed_at from deliveries where platform = ? and chat_id = ? "
                "and digest_key = ? and part in (select value from json_each(?))",
                [platform, str(chat_id), digest_key, _json_list(parts)],
            ).fetchall()
            if any(self._taken(state, owner, at, now) for _, state, owner, at in rows):
                return False
            self.conn.executemany(
                "insert into deliveries (platform, chat_id, digest_key, part, state, owner, claimed_at) "
                "values (?, ?, ?, ?, 'claimed', ?, ?) on conflict (platform, chat_id, digest_key, part) "
                "do update set state = 'claimed', owner = excluded.owner, claimed_at = excluded.claimed_at",
                [(platform, str(chat_id), digest_key, part, self.owner, now) for part in parts],
            )
        return True

    def mark_sent(
        self,
        platform: str,
        chat_id: str,
        digest_key: str,
        parts: Iterable[str],
        message_id: str | int | None,
        translated: Iterable[str] = (),
        state: str = "sent",
    ) -> None:
        """The message holding `parts` was accepted; `translated` are the parts whose card carried the
        translation (the header counts as translated: there is nothing to heal in it)."""
        done = set(translated)
        with self.conn:
            self.conn.executemany(
                "insert into deliveries (platform, chat_id, digest_key, part, state, owner, claimed_at, "
                "message_id, delivered_at, translated) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "on conflict (platform, chat_id, digest_key, part) do update set state = excluded.state, "
                "message_id = excluded.message_id, delivered_at = excluded.delivered_at, "
                "translated = excluded.translated",
                [
                    (
                        platform,
                        str(chat_id),
                        digest_key,
                        part,
                        state,
                        self.owner,
                        time.time(),
                        None if message_id is None else str(message_id),
                        datetime.now(UTC).isoformat(timespec="seconds"),
                        int(part == "header" or part in done),
                    )
                    for part in parts
                ],
            )

    def mark_skipped(self, platform: str, chat_id: str, digest_key: str, parts: Iterable[str]) -> None:
        """Parts that no rendering could get accepted: not tried again, not healed."""
        parts = list(parts)
        self.mark_sent(platform, chat_id, digest_key, parts, None, translated=parts, state="skipped")

    def release(self, platform: str, chat_id: str, digest_key: str, parts: Iterable[str]) -> None:
        """Give back this process's claims (the send failed): the next push tries them again."""
        with self.conn:
            self.conn.execute(
                "delete from deliveries where platform = ? and chat_id = ? and digest_key = ? "
                "and state = 'claimed' and owner = ? and part in (select value from json_each(?))",
                [platform, str(chat_id), digest_key, self.owner, _json_list(parts)],
            )

    def untranslated(self, platform: str, chat_id: str, digest_key: str) -> list[SentPart]:
        """Cards this chat got without their translation, with the message ids to edit."""
        return [
            SentPart(str(chat_id), part, message_id)
            for part, message_id in self.conn.execute(
                "select part, message_id from deliveries where platform = ? and chat_id = ? "
                "and digest_key = ? and state = 'sent' and translated = 0 and message_id is not null "
                "order by rowid",
                [platform, str(chat_id), digest_key],
            )
        ]

    def chats_to_heal(self, platform: str, day: date) -> dict[str, set[str]]:
        """The chats that got a card of a digest of `day` without its translation, not healed since,
        with the keys of those digests."""
        found: dict[str, set[str]] = {}
        for chat_id, digest_key in self.conn.execute(
            "select distinct chat_id, digest_key from deliveries where platform = ? "
            "and substr(digest_key, 1, 11) = ? and state = 'sent' and translated = 0 "
            "and message_id is not null",
            [platform, f"{day.isoformat()}|"],
        ):
            found.setdefault(chat_id, set()).add(digest_key)
        return found

    def parts_of_message(self, platform: str, chat_id: str, digest_key: str, message_id: str) -> list[str]:
        return [
            row[0]
            for row in self.conn.execute(
                "select part from deliveries where platform = ? and chat_id = ? and digest_key = ? "
                "and message_id = ? order by rowid",
                [platform, str(chat_id), digest_key, str(message_id)],
            )
        ]

    def mark_healed(self, platform: str, chat_id: str, digest_key: str, parts: Iterable[str]) -> None:
        with self.conn:
            self.conn.execute(
                "update deliveries set translated = 1 where platform = ? and chat_id = ? and digest_key = ? "
                "and part in (select value from json_each(?))",
                [platform, str(chat_id), digest_key, _json_list(parts)],
            )


def _json_list(values: Iterable[str]) -> str:
    return json.dumps(list(values))
