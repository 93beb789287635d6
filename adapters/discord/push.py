"""The daily push: every active Discord subscription gets the digest once.

The shared delivery log (store.delivered_parts / record_delivery) makes it idempotent: a part (the header
or a paper's card) is recorded as soon as the message holding it is posted, so a push that is interrupted
and run again sends only what is missing, and a second push sends nothing.
"""

from __future__ import annotations

import logging
from datetime import date

import discord

from adapters.discord import render
from adapters.discord.app import PLATFORM, DigestSource, send
from digest.models import Digest, category_key
from digest.store import Store

log = logging.getLogger(__name__)


async def push_digest(client: discord.Client, store: Store, service: DigestSource, day: date) -> int:
    """Post the digest of `day` to every active subscribed channel that has not had it; return the
    number of messages posted. A missing or forbidden channel is deactivated and skipped; 429s are
    waited out by discord.py itself."""
    sent = 0
    digests: dict[str, Digest] = {}
    for sub in store.active_subscriptions(PLATFORM):
        categories = list(sub.categories) or None
        wanted = category_key(categories) if categories else ""
        try:
            digest = digests.get(wanted) or await service.ensure_digest(day, categories)
        except Exception:
            log.exception("discord push: no digest of %s for %s", day, categories or "the default set")
            continue
        digests[wanted] = digest
        try:
            channel = client.get_partial_messageable(int(sub.chat_id))
        except ValueError:
            store.deactivate(PLATFORM, sub.chat_id, "not a Discord channel id")
            continue
        try:
            mine = await service.chat_digest(digest, PLATFORM, sub.chat_id, for_push=True)
        except Exception:
            log.exception("discord push: could not rank the digest for channel %s", sub.chat_id)
            continue
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
