"""The daily push: the digest of its own categories to every active subscriber, each part once.

Idempotent through the shared delivery log: a part is recorded right after Telegram accepted it, and a
push skips recorded parts, so a second push, or one after a crash halfway, sends exactly what is missing.
Pacing is PTB's AIORateLimiter (set up by the wiring): it queues sends under Telegram's limits and
retries a 429 after its retry_after; whatever 429 still gets through is waited out here.

A 403 (bot kicked, or blocked by the user) deactivates the subscription; any other failure leaves it
active and stops that chat for this push only (it resumes from the log next time), keeping cards in order.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from telegram import Bot
from telegram.error import ChatMigrated, Forbidden, RetryAfter, TelegramError

from adapters.telegram.ports import PLATFORM, DigestSource
from adapters.telegram.render import Message, render_chat_digest
from adapters.telegram.sending import send
from digest.models import Digest
from digest.schedule import seconds_until
from digest.store import Store, Subscription

log = logging.getLogger(__name__)

RETRY_AFTER_ATTEMPTS = 5  # on top of AIORateLimiter's own retries


def retry_seconds(err: RetryAfter) -> float:
    # an int or a timedelta, depending on PTB_TIMEDELTA (the wiring opts in to timedelta)
    value = err.retry_after
    return (value.total_seconds() if isinstance(value, timedelta) else float(value)) + 0.1


@dataclass
class PushReport:
    sent: int = 0
    chats_done: int = 0
    failed: list[str] = field(default_factory=list)  # chat ids that stopped early (retried next push)
    deactivated: list[str] = field(default_factory=list)
    rate_limited: int = 0  # 429s that reached this code (after the rate limiter's own retries)


async def send_paced(bot: Bot, chat_id: int | str, message: Message, report: PushReport | None = None):
    """send(), waiting out any RetryAfter the rate limiter let through."""
    for attempt in range(RETRY_AFTER_ATTEMPTS + 1):
        try:
            return await send(bot, chat_id, message)
        except RetryAfter as err:
            if report is not None:
                report.rate_limited += 1
            if attempt == RETRY_AFTER_ATTEMPTS:
                raise
            await asyncio.sleep(retry_seconds(err))
    raise AssertionError("unreachable")


class Pusher:
    def __init__(self, bot: Bot, store: Store, service: DigestSource, concurrency: int = 64):
        self.bot, self.store, self.service = bot, store, service
        self.concurrency = concurrency

    async def push(self, day: date, start_at: datetime | None = None) -> PushReport:
        """Deliver the digest of `day` to every active subscriber; sending starts at `start_at` (at once
        when None). Each chat's messages are prepared as soon as its cards are ready (a build may still
        be running), so at `start_at` every ready chat's messages go out with no work left before them."""
        report = PushReport()
        subscriptions = self.store.active_subscriptions(PLATFORM)
        gate = asyncio.Semaphore(self.concurrency)

        async def one(subscription: Subscription) -> None:
            chat_id = subscription.chat_id
            # Waits for the chat's own cards outside the gate, so chats that are ready go first.
            try:
                digest = await self.service.ready_digest(day, subscription)
            except Exception:
                log.exception(
                    "telegram push: no digest for chat %s (%s)", chat_id, ",".join(subscription.categories)
                )
                report.failed.append(chat_id)
                return
            try:
                parts = await self._prepare(digest, chat_id)
            except Exception:
                log.exception("telegram push: could not rank the digest for chat %s", chat_id)
                report.failed.append(chat_id)
                return
            if start_at is not None:
                await asyncio.sleep(seconds_until(start_at))
            async with gate:
                await self._push_chat(subscription, digest, parts, report)

        await asyncio.gather(*(one(s) for s in subscriptions))
        log.info(
            "telegram push %s: %d messages to %d chats; %d stopped early, %d deactivated",
            day,
            report.sent,
            report.chats_done,
            len(report.failed),
            len(report.deactivated),
        )
        return report

    async def _prepare(self, digest: Digest, chat_id: str) -> list[tuple[str, Message]]:
        """The chat's messages: the digest ranked and cut for it, rendered."""
        mine = await self.service.chat_digest(digest, PLATFORM, chat_id, for_push=True)
        return render_chat_digest(mine, self.bot.username)

    async def _push_chat(
        self, subscription: Subscription, digest: Digest, parts: list[tuple[str, Message]], report: PushReport
    ) -> None:
        chat_id = subscription.chat_id
        done = self.store.delivered_parts(PLATFORM, chat_id, digest.key)
        for part, message in parts:
            if part in done:
                continue
            try:
                sent = await send_paced(self.bot, int(chat_id), message, report)
            except ChatMigrated as err:
                # a group became a supergroup: same members, new id; follow it and go on there
                new_id = str(err.new_chat_id)
                self.store.subscribe(PLATFORM, new_id, subscription.categories, subscription.title)
                self.store.deactivate(PLATFORM, chat_id, f"migrated to supergroup {new_id}")
                log.info("telegram chat %s became supergroup %s; subscription moved", chat_id, new_id)
                moved = replace(subscription, chat_id=new_id)
                await self._push_chat(moved, digest, await self._prepare(digest, new_id), report)
                return
            except Forbidden as err:
                reason = f"403 on send: {err.message}"
                if self.store.deactivate(PLATFORM, chat_id, reason):
                    log.warning("telegram chat %s deactivated: %s", chat_id, reason)
                report.deactivated.append(chat_id)
                return
            except TelegramError as err:
                log.error("telegram push to chat %s stopped at %s: %s", chat_id, part, err)
                report.failed.append(chat_id)
                return
            self.store.record_delivery(PLATFORM, chat_id, digest.key, part, sent.message_id)
            report.sent += 1
        self.service.push_done(PLATFORM, chat_id, digest.key)
        report.chats_done += 1
