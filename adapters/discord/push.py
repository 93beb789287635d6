"""The daily push: every active Discord subscription gets the digest once.

Each message's parts (the header, or the cards packed into it) are claimed in the shared delivery log
before it is posted and marked sent after (digest.delivery_log), so pushes running at once, or one
after a crash halfway, post exactly what is missing. A message whose cards went out without their
translation is edited in place by a later push once the store has them.

Only Discord's own answers that the channel is gone for the bot (10003 Unknown Channel, 50001 Missing
Access) deactivate the subscription; any other failure (a proxy's 403 page, a 5xx after discord.py's
retries) is logged and the next push tries again. A message Discord refuses (400) goes out again as
titles and links, so one bad paper never stops the digest.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime

import discord

from adapters.discord import render
from adapters.discord.app import PLATFORM, DigestSource, make_view, send
from config.settings import ConfigError
from digest.models import Digest
from digest.ranking import ChatDigest
from digest.schedule import seconds_until
from digest.store import Store, Subscription

log = logging.getLogger(__name__)

# Discord's JSON error codes that mean this channel is gone for the bot.
GONE_CODES = {10003, 50001}  # Unknown Channel, Missing Access


def channel_gone(err: discord.HTTPException) -> bool:
    return err.code in GONE_CODES


async def push_digest(
    client: discord.Client,
    store: Store,
    service: DigestSource,
    day: date,
    start_at: datetime | None = None,
    heal_only: bool = False,
    failed: list[str] | None = None,
) -> int:
    """Post the digest of `day` to every active subscribed channel that has not had it; return the
    number of messages posted. Sending starts at `start_at` (at once when None); channels go one at a
    time, in the order their cards become ready (service.ready_digest waits for a running build), each
    ranked for the channel beforehand. 429s are waited out by discord.py itself. heal_only: only the
    channels holding cards of that day posted without their translation. `failed` collects the
    channels left unfinished by an error (not those Discord says are gone): the next push resumes them."""
    sent = 0
    failed = failed if failed is not None else []

    async def ready(sub: Subscription) -> tuple[Subscription, ChatDigest | None]:
        try:
            digest = await service.ready_digest(day, sub)
        except ConfigError as err:  # e.g. a subscription past [limits]
            log.warning("discord push: no digest for channel %s: %s", sub.chat_id, err)
            return sub, None
        except Exception:
            log.exception("discord push: no digest of %s for %s", day, ",".join(sub.categories) or "default")
            failed.append(sub.chat_id)
            return sub, None
        try:
            # A push due at publish_at sends what the build made; any other (a hand-run push, a
            # healing pass) asks again for cards whose summary failed, and heals them.
            mine = await service.chat_digest(
                digest, PLATFORM, sub.chat_id, for_push=True, retry_failed=start_at is None
            )
            return sub, mine
        except Exception:
            log.exception("discord push: could not rank the digest for channel %s", sub.chat_id)
            failed.append(sub.chat_id)
            return sub, None

    if heal_only:
        subscriptions = service.subscriptions_to_heal(PLATFORM, day)
    else:
        subscriptions = store.active_subscriptions(PLATFORM)

    async def post(sub: Subscription, mine: ChatDigest | None) -> None:
        nonlocal sent
        if mine is None:
            return
        if start_at is not None:
            await asyncio.sleep(seconds_until(start_at))
            current = store.get_subscription(PLATFORM, sub.chat_id)
            if current is None or not current.active or current.categories != sub.categories:
                # unsubscribed (or on other categories) since its digest was prepared
                log.info("discord push: channel %s unsubscribed meanwhile; not sent", sub.chat_id)
                return
        try:
            sent += await _push_channel(client, store, service, sub, mine, failed)
        except Exception:  # a bug met in one channel's digest must not stop everyone else's
            log.exception("discord push to channel %s failed", sub.chat_id)
            failed.append(sub.chat_id)

    async def latecomers() -> list[Subscription]:
        # The push begins before publish_at (as soon as the build has fixed the day's membership): a
        # channel that subscribes in between gets the digest too.
        await asyncio.sleep(seconds_until(start_at) if start_at is not None else 0)
        known = {sub.chat_id for sub in subscriptions}
        return [sub for sub in store.active_subscriptions(PLATFORM) if sub.chat_id not in known]

    waits = [asyncio.ensure_future(ready(sub)) for sub in subscriptions]
    late = asyncio.ensure_future(latecomers()) if start_at is not None and not heal_only else None
    try:
        for next_ready in asyncio.as_completed(waits):
            await post(*await next_ready)
        for sub in await late if late is not None else []:
            await post(*await ready(sub))
    finally:
        for wait in [*waits, *([late] if late else [])]:
            wait.cancel()
    return sent


async def _push_channel(
    client: discord.Client,
    store: Store,
    service: DigestSource,
    sub: Subscription,
    mine: ChatDigest,
    failed: list[str],
) -> int:
    try:
        channel = client.get_partial_messageable(int(sub.chat_id))
    except ValueError:
        store.deactivate(PLATFORM, sub.chat_id, "not a Discord channel id")
        return 0
    posted = await _post_missing(channel, store, sub, mine)
    if posted is None:
        now = store.get_subscription(PLATFORM, sub.chat_id)
        if now is not None and now.active:  # stopped by an error, not deactivated as gone
            failed.append(sub.chat_id)
        return 0
    await heal(channel, store, sub.chat_id, mine)
    service.push_done(PLATFORM, sub.chat_id, mine.digest.key)
    return posted


async def _post_missing(channel, store: Store, sub: Subscription, mine: ChatDigest) -> int | None:
    """Post what this channel has not had; the number of messages, or None when it stopped early."""
    digest = mine.digest
    deliveries = store.deliveries
    items = {item.paper.base_id: item for item in digest.items}
    done = deliveries.done_parts(PLATFORM, sub.chat_id, digest.key)
    sent = 0
    for message in render.chat_digest_messages(mine, skip=done):
        if not deliveries.claim(PLATFORM, sub.chat_id, digest.key, message.parts):
            # Another push holds (or has just sent) these parts and goes through the channel in the
            # same order: leave the rest to it, so the messages never arrive out of order.
            log.info("discord push: channel %s is being pushed by another process", sub.chat_id)
            break
        try:
            posted, full = await _post(channel, message, digest)
        except discord.HTTPException as err:
            deliveries.release(PLATFORM, sub.chat_id, digest.key, message.parts)
            if channel_gone(err):
                reason = f"{err.status} {err.code} {err.text or type(err).__name__}"[:200]
                store.deactivate(PLATFORM, sub.chat_id, reason)
                log.warning("discord push: channel %s deactivated: %s", sub.chat_id, reason)
            else:
                log.error(
                    "discord push: channel %s failed (%s %s); will retry", sub.chat_id, err.status, err.text
                )
            return None
        except BaseException:
            deliveries.release(PLATFORM, sub.chat_id, digest.key, message.parts)
            raise
        if posted is None:
            deliveries.mark_skipped(PLATFORM, sub.chat_id, digest.key, message.parts)
            continue
        translated = [
            p for p in message.parts if full and (p not in items or render.has_translation(items[p]))
        ]
        deliveries.mark_sent(PLATFORM, sub.chat_id, digest.key, message.parts, posted.id, translated)
        sent += 1
    log.info("discord push: channel %s has the digest %s", sub.chat_id, digest.key)
    return sent


async def _post(channel, message: render.OutMessage, digest: Digest) -> tuple[discord.Message | None, bool]:
    """(the posted message, whether it holds the full cards); (None, False) when Discord refused even
    the titles and links."""
    try:
        return await send(channel, message), True
    except discord.HTTPException as err:
        cards = [item for item in digest.items if item.paper.base_id in message.parts]
        if err.status != 400 or not cards:
            raise
        log.error(
            "discord: a message of cards was refused (%s %s); sending titles and links", err.code, err.text
        )
    minimal = render.OutMessage(
        parts=list(message.parts), embeds=[render.minimal_embed(i.paper) for i in cards]
    )
    try:
        return await send(channel, minimal), False
    except discord.HTTPException as err:
        if err.status != 400:
            raise
        log.error("discord: cards %s skipped: %s %s", ",".join(message.parts), err.code, err.text)
        return None, False


async def heal(channel, store: Store, chat_id: str, mine: ChatDigest) -> int:
    """Edit the messages whose cards went out without a translation the store now has; the number of
    messages edited."""
    digest = mine.digest
    deliveries = store.deliveries
    items = {item.paper.base_id: item for item in digest.items}
    stale: dict[str, list[str]] = {}
    for part in deliveries.untranslated(PLATFORM, chat_id, digest.key):
        if part.part in items and render.has_translation(items[part.part]):
            stale.setdefault(part.message_id, []).append(part.part)
    edited = 0
    for message_id in stale:
        parts = deliveries.parts_of_message(PLATFORM, chat_id, digest.key, message_id)
        blocks = render.chat_card_blocks(mine, parts)
        # The cards stay in the message they were posted in: translations longer than the abstracts
        # they replace are shortened to fit (marked so), never spilled into a new message.
        message = render.fit_one_message(blocks, digest.language)
        if len(blocks) != len(parts):
            # a card muted since: editing would take it out of the channel, and no other message has it
            log.warning("discord: message %s holds cards no longer in the digest; left as it is", message_id)
        elif message is None:
            log.warning("discord: message %s cannot fit its cards translated; left as it is", message_id)
        else:
            try:
                await channel.get_partial_message(int(message_id)).edit(
                    embeds=message.embeds, view=make_view(message.buttons)
                )
                edited += 1
            except discord.HTTPException as err:
                if err.status == 400 or err.code in (10008, 50005, *GONE_CODES):
                    # refused, deleted, or not ours to edit: nothing left to heal there
                    log.warning("discord: message %s not healed (%s %s)", message_id, err.code, err.text)
                else:
                    log.warning(
                        "discord: healing in %s stopped (%s); the next push retries", chat_id, err.status
                    )
                    return edited
        deliveries.mark_healed(PLATFORM, chat_id, digest.key, parts)
    if edited:
        log.info("discord: %d messages in channel %s healed with their translations", edited, chat_id)
    return edited
