"""The daily push: the digest of its own categories to every active subscriber, each part once.

Each part (the header, a card) is claimed in the shared delivery log before it is sent and marked sent
after (digest.delivery_log), so pushes running at once, or one after a crash halfway, send exactly
what is missing. A card that went out without its translation is edited in place by a later push once
the store has it. Pacing is PTB's AIORateLimiter (set up by the wiring): it queues sends under
Telegram's limits and retries a 429 after its retry_after; whatever 429 still gets through is waited
out here.

Only Telegram's own answers that a chat is gone (blocked, kicked, deactivated, not found) deactivate
the subscription; any other failure leaves it active and stops that chat for this push only (it resumes
from the log next time), keeping cards in order. A card Telegram refuses goes out as title and link.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from adapters.telegram.ports import PLATFORM, DigestSource
from adapters.telegram.render import (
    Message,
    has_translation,
    render_card,
    render_chat_digest,
    render_minimal_card,
)
from adapters.telegram.sending import edit, send
from config.settings import ConfigError
from digest.models import Digest
from digest.ranking import ChatDigest, why_line
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
    refused: list[str] = field(default_factory=list)  # chats given no digest by a rule (e.g. [limits])
    deactivated: list[str] = field(default_factory=list)
    rate_limited: int = 0  # 429s that reached this code (after the rate limiter's own retries)
    healed: int = 0  # cards sent without their translation, edited in place since


# Telegram's own answers that mean the chat is gone for this bot. Anything else (a proxy's 403 page,
# "not enough rights", a 5xx) keeps the subscription: the next push tries again.
GONE_ANSWERS = (
    "bot was blocked by the user",
    "bot was kicked",
    "user is deactivated",
    "chat not found",
    "bot is not a member of the",
    "group chat was deactivated",
)


def still_subscribed(store: Store, subscription: Subscription) -> bool:
    """Whether a chat prepared before `publish_at` still wants that digest when the time comes: it may
    have unsubscribed, or changed its categories (then its digest is another one), meanwhile."""
    current = store.get_subscription(subscription.platform, subscription.chat_id)
    return current is not None and current.active and current.categories == subscription.categories


def chat_gone(err: TelegramError) -> bool:
    return isinstance(err, Forbidden | BadRequest) and any(a in err.message.lower() for a in GONE_ANSWERS)


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

    async def push(self, day: date, start_at: datetime | None = None, heal_only: bool = False) -> PushReport:
        """Deliver the digest of `day` to every active subscriber; sending starts at `start_at` (at once
        when None). Each chat's messages are prepared as soon as its cards are ready (a build may still
        be running), so at `start_at` every ready chat's messages go out with no work left before them.
        heal_only: only the chats holding cards of that day sent without their translation."""
        report = PushReport()
        if heal_only:
            subscriptions = self.service.subscriptions_to_heal(PLATFORM, day)
        else:
            subscriptions = self.store.active_subscriptions(PLATFORM)
        gate = asyncio.Semaphore(self.concurrency)

        async def one(subscription: Subscription) -> None:
            chat_id = subscription.chat_id
            # Waits for the chat's own cards outside the gate, so chats that are ready go first.
            try:
                digest = await self.service.ready_digest(day, subscription)
            except ConfigError as err:  # e.g. a subscription past [limits]: the chat's to fix, not Telegram's
                log.warning("telegram push: no digest for chat %s: %s", chat_id, err)
                report.refused.append(chat_id)
                return
            except Exception:
                log.exception(
                    "telegram push: no digest for chat %s (%s)", chat_id, ",".join(subscription.categories)
                )
                report.failed.append(chat_id)
                return
            try:
                # A push due at publish_at sends what the build made; any other (a hand-run push, a
                # healing pass) asks again for cards whose summary failed, and heals them.
                mine, parts = await self._prepare(digest, chat_id, retry_failed=start_at is None)
            except Exception:
                log.exception("telegram push: could not rank the digest for chat %s", chat_id)
                report.failed.append(chat_id)
                return
            if start_at is not None:
                await asyncio.sleep(seconds_until(start_at))
                if not still_subscribed(self.store, subscription):
                    log.info("telegram push: chat %s unsubscribed meanwhile; not sent", chat_id)
                    return
            async with gate:
                try:
                    await self._push_chat(subscription, digest, mine, parts, report)
                except Exception:  # a bug met in one chat's digest must not stop everyone else's
                    log.exception("telegram push to chat %s failed", chat_id)
                    report.failed.append(chat_id)

        tasks = [asyncio.ensure_future(one(s)) for s in subscriptions]
        try:
            if start_at is not None and not heal_only:
                # The push begins before publish_at (as soon as the build has fixed the day's
                # membership): a chat that subscribes in between gets the digest too.
                await asyncio.sleep(seconds_until(start_at))
                known = {s.chat_id for s in subscriptions}
                late = [s for s in self.store.active_subscriptions(PLATFORM) if s.chat_id not in known]
                tasks += [asyncio.ensure_future(one(s)) for s in late]
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()  # only matters when the push itself is cancelled
        log.info(
            "telegram push %s: %d messages to %d chats; %d cards healed; %d stopped early, %d deactivated",
            day,
            report.sent,
            report.chats_done,
            report.healed,
            len(report.failed),
            len(report.deactivated),
        )
        return report

    async def _prepare(
        self, digest: Digest, chat_id: str, retry_failed: bool = False
    ) -> tuple[ChatDigest, list[tuple[str, Message]]]:
        """The digest ranked and cut for the chat, and its messages, rendered."""
        mine = await self.service.chat_digest(
            digest, PLATFORM, chat_id, for_push=True, retry_failed=retry_failed
        )
        return mine, render_chat_digest(mine, self.bot.username)

    async def _push_chat(
        self,
        subscription: Subscription,
        digest: Digest,
        mine: ChatDigest,
        parts: list[tuple[str, Message]],
        report: PushReport,
    ) -> None:
        chat_id = subscription.chat_id
        deliveries = self.store.deliveries
        # From the chat's digest as ranked: with the cards summarized just now (if a build left them).
        items = {item.paper.base_id: item for item in mine.digest.items}
        whys = (
            {entry.paper.base_id: why_line(entry.why, digest.language) for entry in mine.cards}
            if mine.personalised
            else {}
        )
        done = deliveries.done_parts(PLATFORM, chat_id, digest.key)
        for part, message in parts:
            if part in done:
                continue
            # Claimed before it is sent. A part another push holds (or has just sent) means that push
            # is going through this chat in the same order: leave the rest to it, so the chat's cards
            # never arrive out of order.
            if not deliveries.claim(PLATFORM, chat_id, digest.key, [part]):
                log.info("telegram push: chat %s is being pushed by another process", chat_id)
                break
            try:
                sent = await self._send_part(chat_id, part, message, items, report)
            except ChatMigrated as err:
                deliveries.release(PLATFORM, chat_id, digest.key, [part])
                # a group became a supergroup: same members, new id; follow it and go on there
                new_id = str(err.new_chat_id)
                self.store.subscribe(PLATFORM, new_id, subscription.categories, subscription.title)
                self.store.deactivate(PLATFORM, chat_id, f"migrated to supergroup {new_id}")
                log.info("telegram chat %s became supergroup %s; subscription moved", chat_id, new_id)
                moved = replace(subscription, chat_id=new_id)
                await self._push_chat(moved, digest, *await self._prepare(digest, new_id), report)
                return
            except TelegramError as err:
                deliveries.release(PLATFORM, chat_id, digest.key, [part])
                if chat_gone(err):
                    reason = f"{403 if isinstance(err, Forbidden) else 400} on send: {err.message}"
                    if self.store.deactivate(PLATFORM, chat_id, reason):
                        log.warning("telegram chat %s deactivated: %s", chat_id, reason)
                    report.deactivated.append(chat_id)
                else:
                    # Not Telegram saying the chat is gone (a proxy's 403, a 5xx, a timeout): the
                    # subscription stays and the next push resumes here, keeping the cards in order.
                    log.error("telegram push to chat %s stopped at %s: %s", chat_id, part, err)
                    report.failed.append(chat_id)
                return
            except BaseException:
                deliveries.release(PLATFORM, chat_id, digest.key, [part])
                raise
            if sent is None:
                deliveries.mark_skipped(PLATFORM, chat_id, digest.key, [part])
                continue
            message_id, translated = sent
            item = items.get(part)
            full = translated and (item is None or has_translation(item))
            deliveries.mark_sent(PLATFORM, chat_id, digest.key, [part], message_id, [part] if full else [])
            if item is not None:  # a card: a reader's reply to it asks its paper
                self.store.remember_message(PLATFORM, chat_id, message_id, item.paper.versioned_id)
            report.sent += 1
        await self._heal(chat_id, mine.digest, whys, report)
        self.service.push_done(PLATFORM, chat_id, digest.key)
        report.chats_done += 1

    async def _send_part(
        self, chat_id: str, part: str, message: Message, items: dict, report: PushReport
    ) -> tuple[int, bool] | None:
        """Send one part: (message id, whether it is the full card), or None when Telegram refused
        even the minimal card for it (logged; the rest of the digest still goes out)."""
        try:
            sent = await send_paced(self.bot, int(chat_id), message, report)
            return sent.message_id, True
        except BadRequest as err:
            item = items.get(part)
            if chat_gone(err) or item is None:
                raise
            log.error(
                "telegram push: card %s refused in chat %s (%s); sending title and link", part, chat_id, err
            )
        try:
            sent = await send_paced(self.bot, int(chat_id), render_minimal_card(item.paper), report)
            return sent.message_id, False
        except BadRequest as err:
            if chat_gone(err):
                raise
            log.error("telegram push: card %s skipped in chat %s: %s", part, chat_id, err)
            return None

    async def _heal(self, chat_id: str, digest: Digest, whys: dict[str, str], report: PushReport) -> None:
        """Edit the cards this chat got without a translation that the store now has."""
        deliveries = self.store.deliveries
        items = {item.paper.base_id: item for item in digest.items}
        for sent in deliveries.untranslated(PLATFORM, chat_id, digest.key):
            item = items.get(sent.part)
            if item is None or not has_translation(item):
                continue
            try:
                card = render_card(item, digest.language, whys.get(sent.part, ""))
                await edit(self.bot, int(chat_id), int(sent.message_id), card)
            except ValueError:
                continue  # the full card cannot be rendered: the minimal one stays
            except BadRequest as err:
                if "not modified" not in err.message.lower():
                    # gone, or too old to edit: nothing left to heal there
                    log.warning("telegram: card %s in chat %s not healed: %s", sent.part, chat_id, err)
            except TelegramError as err:
                log.warning("telegram: healing in chat %s stopped (%s); the next push retries", chat_id, err)
                return
            deliveries.mark_healed(PLATFORM, chat_id, digest.key, [sent.part])
            report.healed += 1
