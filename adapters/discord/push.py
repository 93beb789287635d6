"""The daily push: every active Discord subscription gets the digest once.

The shared delivery log (store.delivered_parts / record_delivery) makes it idempotent: a part (the header
or a paper's card) is recorded as soon as the message holding it is posted, so a push that is interrupted
and run again sends only what is missing, and a second push sends nothing.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime

import discord

from adapters.discord import render
from adapters.discord.app import PLATFORM, DigestSource, send
from digest.ranking import ChatDigest
from digest.schedule import seconds_until
from digest.store import Store, Subscription

log = logging.getLogger(__name__)


async def push_digest(
    client: discord.Client, store: Store, service: DigestSource, day: date, start_at: datetime | None = None
) -> int:
    """Post the digest of `day` to every active subscribed channel that has not had it; return the
    number of messages posted. Sending starts at `start_at` (at once when None); channels go one at a
    time, in the order their cards become ready (service.ready_digest waits for a running build), each
    ranked for the channel beforehand. A missing or forbidden channel is deactivated and skipped; 429s
    are waited out by discord.py itself."""
    sent = 0

    async def ready(sub: Subscription) -> tuple[Subscription, ChatDigest | None]:
        try:
            digest = await service.ready_digest(day, sub)
        except Exception:
            log.exception("discord push: no digest of %s for %s", day, ",".join(sub.categories) or "default")
            return sub, None
        try:
            return sub, await service.chat_digest(digest, PLATFORM, sub.chat_id, for_push=True)
        except Exception:
            log.exception("discord push: could not rank the digest for channel %s", sub.chat_id)
            return sub, None

    waits = [asyncio.ensure_future(ready(sub)) for sub in store.active_subscriptions(PLATFORM)]
    try:
        for next_ready in asyncio.as_completed(waits):
            sub, mine = await next_ready
            if mine is not None:
                if start_at is not None:
                    await asyncio.sleep(seconds_until(start_at))
                sent += await _push_channel(client, store, service, sub, mine)
    finally:
        for wait in waits:
            wait.cancel()
    return sent


async def _push_channel(
    client: discord.Client, store: Store, service: DigestSource, sub: Subscription, mine: ChatDigest
) -> int:
    sent = 0
    digest = mine.digest
    try:
        channel = client.get_partial_messageable(int(sub.chat_id))
    except ValueError:
        store.deactivate(PLATFORM, sub.chat_id, "not a Discord channel id")
        return 0
    delivered = store.delivered_parts(PLATFORM, sub.chat_id, digest.key)
    for message in render.chat_digest_messages(mine, skip=delivered):
        try:
            posted = await send(channel, message)
        except (discord.NotFound, discord.Forbidden) as err:
            reason = f"{err.status} {err.text or type(err).__name__}"[:200]
            store.deactivate(PLATFORM, sub.chat_id, reason)
            log.warning("discord push: channel %s deactivated: %s", sub.chat_id, reason)
            break
        except discord.HTTPException as err:
            # Anything else (5xx after discord.py's retries, a rejected payload): try again next push.
            log.error(
                "discord push: channel %s failed (%s %s); will retry", sub.chat_id, err.status, err.text
            )
            break
        for part in message.parts:
            store.record_delivery(PLATFORM, sub.chat_id, digest.key, part, posted.id)
        sent += 1
    else:
        service.push_done(PLATFORM, sub.chat_id, digest.key)
        log.info("discord push: channel %s has the digest %s", sub.chat_id, digest.key)
    return sent
